//! The pipeline on a bad day: what providers and handsets send that the code does not expect, leases
//! that keep running out, replays that outlive their validation, duties that fail.

use std::time::Duration;

use herald::Roles;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::helpers::*;

fn with(s: &mut std::collections::HashMap<String, String>, pairs: &[(&str, &str)]) {
    s.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
}

async fn aggregator_app(server: &MockServer) -> TestApp {
    let url = format!("{}/send", server.uri());
    spawn_app_with(Roles::ALL, move |s| {
        s.insert("SMS_PROVIDER".into(), "http".into());
        s.insert("SMS_HTTP_URL".into(), url);
        s.insert("SMS_HTTP_TOKEN".into(), "agg-token".into());
        with(s, &SHORT_LEASE);
    })
    .await
}

#[tokio::test]
async fn a_nul_in_a_successful_answer_is_stored_sanitised_and_the_provider_is_called_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/send"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"messageId":"agg-1","status":"accepted","note":"a\u0000b","balance":12}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let app = aggregator_app(&server).await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    let m = app.wait_for_status(&key, &id, "SENT").await;
    assert_eq!(m["providerMessageId"], "agg-1");
    // Well past a lease: nothing hands the message over again.
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let sent = app
        .timeline(&key, &id)
        .await
        .into_iter()
        .find(|e| e["status"] == "SENT")
        .unwrap();
    assert_eq!(sent["detail"]["messageId"], "agg-1");
    assert!(sent["detail"].get("balance").is_none(), "{sent}");
    let stored: Value = sqlx::query_scalar(
        "SELECT provider_answer FROM events WHERE message_id = $1::uuid AND status = 'SENT'",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored["note"], "ab");
    assert_eq!(stored["balance"], 12, "operators keep the whole answer");
}

#[tokio::test]
async fn an_answer_without_a_usable_id_is_sent_once_with_a_note() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/send"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messageId": "has spaces and \u{0}", "status": "ok"})),
        )
        .mount(&server)
        .await;
    let app = aggregator_app(&server).await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    let m = app.wait_for_status(&key, &id, "SENT").await;
    assert!(m["providerMessageId"].is_null());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let sent = app
        .timeline(&key, &id)
        .await
        .into_iter()
        .find(|e| e["status"] == "SENT")
        .unwrap();
    assert!(
        sent["detail"]["note"]
            .as_str()
            .unwrap()
            .contains("no usable message id")
    );
}

/// A message PROCESSING whose lease ran out `rescues` times already, as a dead worker leaves it.
async fn expired_lease(app: &TestApp, key: &str, rescues: i32) -> String {
    let id = app.send_sms_id(key, "+2348067000111").await;
    sqlx::query(
        "UPDATE messages SET status = 'PROCESSING', send_attempts = 1, lease_rescues = $2,
             lease_until = now() - interval '1 second' WHERE id = $1::uuid",
    )
    .bind(&id)
    .bind(rescues)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn a_lease_that_runs_out_for_the_third_time_fails_the_message_instead_of_sending_it_again() {
    // The API only: the test runs the duties itself, and no worker picks the rescued jobs up, so
    // what the duty did stays visible.
    let app = spawn_app_with(Roles::API, |_| {}).await;
    let (_, key) = app.sms_tenant("Acme").await;
    let rescued = expired_lease(&app, &key, 1).await;
    let exhausted = expired_lease(&app, &key, 2).await;
    let config = domain::Config::from_source(&base_settings(&app.database_url)).unwrap();
    let settings = scheduler::Settings::from_config(&config);
    assert_eq!(settings.lease_rescues, 3);
    assert_eq!(scheduler::run_once(&app.pool, &settings).await, 0);

    let m = app.message(&key, &exhausted).await;
    assert_eq!(m["status"], "FAILED");
    assert_eq!(m["error"]["code"], "LEASE_EXHAUSTED");
    let failed = app.timeline(&key, &exhausted).await;
    assert_eq!(
        failed.last().unwrap()["detail"]["reason"],
        "lease_exhausted"
    );

    let m = app.message(&key, &rescued).await;
    assert_eq!(m["status"], "PROCESSING");
    let (rescues, jobs): (i32, i64) = sqlx::query_as(
        "SELECT lease_rescues, (SELECT count(*) FROM apalis.jobs WHERE job_type = 'herald.send'
                                 AND convert_from(job, 'UTF8')::jsonb ->> 'message_id' = $1)
         FROM messages WHERE id = $1::uuid",
    )
    .bind(&rescued)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(rescues, 2);
    assert_eq!(jobs, 2, "the first send job and the rescue's");
    let note = app.timeline(&key, &rescued).await;
    let note = note.iter().find(|e| e["type"] == "note").unwrap();
    assert_eq!(note["detail"]["reason"], "lease_expired");
    assert_eq!(note["detail"]["rescue"], 2);
}

#[tokio::test]
async fn one_failing_duty_does_not_keep_the_others_from_running() {
    let app = spawn_app_with(Roles::API, |_| {}).await;
    let (_, key) = app.sms_tenant("Acme").await;
    let rescued = expired_lease(&app, &key, 0).await;
    // The idempotency-key duty now fails on every run.
    sqlx::query("ALTER TABLE idempotency_keys RENAME TO idempotency_keys_gone")
        .execute(&app.pool)
        .await
        .unwrap();
    let config = domain::Config::from_source(&base_settings(&app.database_url)).unwrap();
    let failed = scheduler::run_once(&app.pool, &scheduler::Settings::from_config(&config)).await;
    assert_eq!(failed, 1);
    let rescues: i32 = sqlx::query_scalar("SELECT lease_rescues FROM messages WHERE id = $1::uuid")
        .bind(&rescued)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rescues, 1, "the lease duty still ran");
}

#[tokio::test]
async fn a_scheduled_sms_to_a_handset_that_texts_stop_before_it_is_due_is_never_sent() {
    let app = spawn_app_with(Roles::ALL, |s| {
        s.insert("SMS_INBOUND_TOKEN".into(), "inbound-token".into());
    })
    .await;
    let (_, key) = app.sms_tenant("Acme").await;
    let at = (chrono::Utc::now() + chrono::Duration::seconds(3)).to_rfc3339();
    let res = app
        .post(
            "/v1/public/sms/send",
            Some(&key),
            json!({"to": "+2348067000123", "body": "later", "senderId": "Herald", "scheduledAt": at}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post(
            "/v1/webhooks/sms/inbound-opt-out?token=inbound-token",
            None,
            json!({"from": "+2348067000123", "to": "Herald", "text": "STOP"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let m = app.wait_for_status(&key, &id, "FAILED").await;
    assert_eq!(m["error"]["code"], "RECIPIENT_OPTED_OUT");
    assert_eq!(sandbox_calls(&app, &id).await, 0);
    let statuses = statuses(&app.timeline(&key, &id).await);
    assert_eq!(statuses, vec!["QUEUED", "FAILED"]);
}

#[tokio::test]
async fn a_message_of_a_channel_without_a_provider_fails_at_once() {
    // The cloud provider switched off: WhatsApp has no provider that can send. A message queued
    // while it was on is failed, never claimed.
    let app = spawn_app_with(Roles::ALL, |s| {
        s.insert("WHATSAPP_PROVIDER".into(), "cloud".into());
    })
    .await;
    let tenant = app.signup("Acme").await;
    let id = uuid::Uuid::now_v7();
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO messages (id, organization_id, channel, status, recipient, search_text, created_at, updated_at)
         VALUES ($1, $2::uuid, 'whatsapp', 'QUEUED', '+2348067000111', '', now(), now())",
    )
    .bind(id)
    .bind(&tenant.organization_id)
    .execute(&mut *tx)
    .await
    .unwrap();
    domain::queue::push(
        &mut tx,
        domain::queue::SendMessage {
            message_id: id,
            attempt: 0,
        },
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, code): (String, Option<String>) =
            sqlx::query_as("SELECT status, error_code FROM messages WHERE id = $1")
                .bind(id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        if status == "FAILED" {
            assert_eq!(code.as_deref(), Some("CHANNEL_NOT_CONFIGURED"));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn status_polling_gives_up_counting_from_the_send_not_the_creation() {
    let server = MockServer::start().await;
    let sid = "AC0123456789";
    Mock::given(method("POST"))
        .and(path(format!("/2010-04-01/Accounts/{sid}/Messages.json")))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"sid": "SM900", "status": "queued"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/2010-04-01/Accounts/{sid}/Messages/SM900.json"
        )))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"sid": "SM900", "status": "sent"})),
        )
        .mount(&server)
        .await;
    let uri = server.uri();
    let app = spawn_app_with(Roles::ALL, move |s| {
        with(
            s,
            &[
                ("SMS_PROVIDER", "twilio"),
                ("TWILIO_ACCOUNT_SID", sid),
                ("TWILIO_AUTH_TOKEN", "token"),
                ("SMS_STATUS_POLL_AFTER", "2s"),
                ("SMS_STATUS_POLL_GIVE_UP", "1h"),
            ],
        );
        s.insert("TWILIO_API_BASE".into(), uri);
    })
    .await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    app.wait_for_status(&key, &id, "SENT").await;
    // Accepted two days ago (scheduled, say), sent just now.
    sqlx::query("UPDATE messages SET created_at = now() - interval '2 days' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.pool)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let polls = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == "GET")
            .count();
        if polls >= 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never polled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let gave_up = app
        .timeline(&key, &id)
        .await
        .iter()
        .any(|e| e["detail"]["reason"] == "status_poll_gave_up");
    assert!(!gave_up, "an hour has not passed since the send");
    let next_polls: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM apalis.jobs WHERE job_type = 'herald.poll' AND status = 'Pending'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(next_polls, 1, "it asks again later");
}

#[tokio::test]
async fn a_replay_answers_the_first_response_even_when_the_body_no_longer_validates() {
    let app = spawn_app().await;
    let (_, key) = app.sms_tenant("Acme").await;
    let at = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let body =
        json!({"to": "+2348067000111", "body": "soon", "senderId": "Herald", "scheduledAt": at});
    let send = || {
        app.request(reqwest::Method::POST, "/v1/public/sms/send", Some(&key))
            .header("idempotency-key", "order-77")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    // Without the key, the same body is now refused: its time has passed.
    let res = app
        .post("/v1/public/sms/send", Some(&key), body.clone())
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn unknown_statuses_and_channels_cannot_be_stored() {
    let app = spawn_app().await;
    let tenant = app.signup("Acme").await;
    for (channel, status) in [("sms", "SENDING"), ("fax", "QUEUED")] {
        let res = sqlx::query(
            "INSERT INTO messages (id, organization_id, channel, status, recipient, search_text, created_at, updated_at)
             VALUES ($1, $2::uuid, $3, $4, '+2348067000111', '', now(), now())",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(&tenant.organization_id)
        .bind(channel)
        .bind(status)
        .execute(&app.pool)
        .await;
        let e = res.unwrap_err().to_string();
        assert!(e.contains("check constraint"), "{e}");
    }
}

#[tokio::test]
async fn redrive_all_puts_every_dead_job_back_in_batches() {
    let app = spawn_app_with(Roles::API, |_| {}).await;
    sqlx::query(
        "INSERT INTO dead_jobs (id, queue, payload, attempts)
         SELECT 'dead-' || n, 'herald.inbound', convert_to('{\"inbound_id\":\"' || gen_random_uuid() || '\"}', 'UTF8'), 5
         FROM generate_series(1, 1234) n",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let n = domain::dead_jobs::redrive(&app.pool, None).await.unwrap();
    assert_eq!(n, 1234);
    let (left, queued): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM dead_jobs),
                (SELECT count(*) FROM apalis.jobs WHERE job_type = 'herald.inbound')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((left, queued), (0, 1234));
}

#[tokio::test]
async fn a_nul_character_anywhere_in_a_body_is_refused_with_its_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let (tenant, key) = app.sms_tenant("Nul").await;
    let cases = [
        (
            "/v1/members",
            json!({"email": "n@nul.test", "name": "a\u{0}b", "role": "MEMBER", "password": "member password 1"}),
            "name",
        ),
        (
            "/v1/api-keys",
            json!({"name": "k", "scopes": ["send:sms\u{0}"]}),
            "scopes[0]",
        ),
        (
            "/v1/sms/sender-id-requests",
            json!({"senderId": "Nul", "useCase": "x", "sampleMessage": "\u{0}"}),
            "sampleMessage",
        ),
        (
            "/v1/webhook-endpoints",
            json!({"url": "https://example.com", "description": {"k\u{0}": 1}}),
            "description.k\\0",
        ),
    ];
    for (route, body, field) in cases {
        let res = app.post(route, Some(&tenant.token), body).await;
        let err = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
        assert_eq!(err["error"]["details"][0]["field"], field, "{route}");
        assert_eq!(
            err["error"]["details"][0]["message"],
            "must not contain NUL characters"
        );
    }
    let batch = json!({"messages": [{"to": "+2348067000111", "body": "ok", "senderId": "Herald", "externalId": "x\u{0}"}]});
    let res = app.post("/v1/public/sms/batch", Some(&key), batch).await;
    let err = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_eq!(
        err["error"]["details"][0]["field"],
        "messages[0].externalId"
    );

    let counts: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM api_keys),
                (SELECT count(*) FROM webhook_endpoints), (SELECT count(*) FROM messages)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // The admin and the tenant's owner; the tenant's one key; nothing else.
    assert_eq!(counts, (2, 1, 0, 0));

    // A list's search text is held to the same rule.
    let res = app.get("/v1/public/sms?query=a%00b", &key).await;
    let err = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_eq!(err["error"]["details"][0]["field"], "query");
}
