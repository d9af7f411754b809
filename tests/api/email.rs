//! Email through the shared channel seam: sandbox outcomes, suppressions, validation, scopes,
//! tenancy, body limits and the signed provider event route.

use std::time::Duration;

use base64::Engine;
use herald::Roles;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const EVENT_SECRET: &str = "email-provider-secret";

async fn email_app() -> TestApp {
    spawn_app_with(Roles::ALL, |s| {
        s.insert("EMAIL_PROVIDER_WEBHOOK_SECRET".into(), EVENT_SECRET.into());
    })
    .await
}

async fn email_tenant(app: &TestApp, org: &str) -> (Tenant, String) {
    let tenant = app.signup(org).await;
    let key = app.api_key(&tenant, &["send:email", "read:email"]).await;
    (tenant, key)
}

fn email(to: Value) -> Value {
    json!({"from": "Acme <hello@acme.test>", "to": to, "subject": "Your receipt", "text": "Thanks", "html": "<p>Thanks</p>"})
}

/// Sends an email body through the public route and returns the new message's id.
async fn sent_id(app: &TestApp, key: &str, body: Value) -> String {
    let res = app.post("/v1/public/emails/send", Some(key), body).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn send(app: &TestApp, key: &str, to: &str) -> Value {
    let res = app
        .post("/v1/public/emails/send", Some(key), email(json!(to)))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    res.json().await.unwrap()
}

async fn wait_for(app: &TestApp, key: &str, id: &str, status: &str) -> Value {
    app.wait_on("emails", key, id, status).await
}

async fn timeline_types(app: &TestApp, key: &str, id: &str) -> Vec<String> {
    entry_types(&app.timeline_on("emails", key, id).await)
}

#[tokio::test]
async fn the_sandbox_outcome_follows_the_recipients_local_part() {
    let app = email_app().await;
    let (tenant, key) = email_tenant(&app, "Acme").await;
    let delivered = send(&app, &key, "Ada <Ada@Example.com>").await;
    assert_eq!(delivered["status"], "QUEUED");
    assert_eq!(delivered["to"], json!(["Ada <Ada@example.com>"]));
    assert_eq!(delivered["channel"], "email");
    assert!(delivered.get("recipient").is_none());
    let id = |m: &Value| m["id"].as_str().unwrap().to_owned();
    let bounced = id(&send(&app, &key, "bounced-1@example.com").await);
    let complained = id(&send(&app, &key, "complained-1@example.com").await);
    let failed = id(&send(&app, &key, "failed-1@example.com").await);
    let silent = id(&send(&app, &key, "noreceipt-1@example.com").await);

    wait_for(&app, &key, &id(&delivered), "DELIVERED").await;
    let m = wait_for(&app, &key, &bounced, "BOUNCED").await;
    assert_eq!(m["error"]["code"], "HARD_BOUNCE");
    wait_for(&app, &key, &complained, "COMPLAINED").await;
    let m = wait_for(&app, &key, &failed, "FAILED").await;
    assert_eq!(m["error"]["code"], "SANDBOX_REFUSED");
    wait_for(&app, &key, &silent, "SENT").await;
    assert_eq!(
        timeline_types(&app, &key, &complained).await,
        vec![
            "email_queued",
            "email_processing",
            "email_sent",
            "email_delivered",
            "email_complained"
        ]
    );

    // A hard bounce and a complaint suppress their addresses for this organization.
    let list = app.get_json("/v1/emails/suppressions", &tenant.token).await;
    let mut found: Vec<(String, String)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["address"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("bounced-1@example.com".into(), "BOUNCED".into()),
            ("complained-1@example.com".into(), "COMPLAINED".into())
        ]
    );
    let res = app
        .post(
            "/v1/public/emails/send",
            Some(&key),
            email(json!(["ok@example.com", "Bounced-1@EXAMPLE.com"])),
        )
        .await;
    assert_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "RECIPIENT_SUPPRESSED",
    )
    .await;
    let batch = json!({"messages": [email(json!("a@example.com")), email(json!("complained-1@example.com"))]});
    let res = app
        .post("/v1/public/emails/batch", Some(&key), batch.clone())
        .await;
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"][0]["field"], "messages[1].to");
    assert_eq!(body["error"]["details"][0]["code"], "RECIPIENT_SUPPRESSED");

    // Another organization is not affected, and a removed suppression allows sending again.
    let (_, other_key) = email_tenant(&app, "Other").await;
    send(&app, &other_key, "bounced-1@example.com").await;
    let res = app
        .delete(
            "/v1/emails/suppressions/complained-1@example.com",
            &tenant.token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .delete(
            "/v1/emails/suppressions/complained-1@example.com",
            &tenant.token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.post("/v1/public/emails/batch", Some(&key), batch).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let data = res.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(data.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn email_validation_names_every_failing_field_and_stores_nothing() {
    let app = spawn_app_with(Roles::API, |_| {}).await;
    let (_, key) = email_tenant(&app, "Acme").await;
    let many: Vec<String> = (0..51).map(|i| format!("r{i}@example.com")).collect();
    let res = app
        .post(
            "/v1/public/emails/send",
            Some(&key),
            json!({"from": "not an address", "to": many, "subject": "line\r\nBcc: evil@x.test",
                   "headers": {"Subject": "override"}, "attachments": [{"filename": "a.pdf", "content": "!!", "contentType": "application/pdf"}],
                   "scheduledAt": "2020-01-01T00:00:00Z"}),
        )
        .await;
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    for f in [
        "from",
        "to",
        "subject",
        "html",
        "headers.Subject",
        "attachments[0].content",
        "scheduledAt",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    let res = app
        .post("/v1/public/emails/send", Some(&key), json!({"to": 5}))
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn email_routes_need_their_scopes_and_keep_tenants_apart() {
    let app = spawn_app_with(Roles::API, |_| {}).await;
    let (tenant, key) = email_tenant(&app, "Acme").await;
    let sms_only = app.api_key(&tenant, &["send:sms", "read:sms"]).await;
    let res = app
        .post(
            "/v1/public/emails/send",
            Some(&sms_only),
            email(json!("a@example.com")),
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE").await;
    let res = app.get("/v1/public/emails", &sms_only).await;
    assert_error(res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE").await;
    let (viewer, viewer_token) = app.member(&tenant, "VIEWER").await;
    let _ = viewer;
    let res = app
        .post(
            "/v1/emails/send",
            Some(&viewer_token),
            email(json!("a@example.com")),
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let res = app
        .delete("/v1/emails/suppressions/a@example.com", &viewer_token)
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "FORBIDDEN").await;

    // The session routes mirror the public ones.
    let at = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let mut later = email(json!(["x@example.com", "y@example.com"]));
    later["scheduledAt"] = json!(at);
    later["externalId"] = json!("order-9");
    let res = app
        .post("/v1/emails/send", Some(&tenant.token), later)
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = app
        .get_json("/v1/public/emails?query=order-9&status=QUEUED", &key)
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(
        list["data"][0]["to"],
        json!(["x@example.com", "y@example.com"])
    );
    let res = app.get("/v1/public/emails?status=READ", &key).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    // An SMS list does not show email, and the SMS routes do not find it.
    let sms_key = app.api_key(&tenant, &["read:sms"]).await;
    assert_eq!(app.get_json("/v1/public/sms", &sms_key).await["total"], 0);
    let res = app.get(&format!("/v1/public/sms/{id}"), &sms_key).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Another tenant's ids are not found.
    let (other, other_key) = email_tenant(&app, "Other").await;
    for path in [
        format!("/v1/public/emails/{id}"),
        format!("/v1/public/emails/{id}/timeline"),
    ] {
        let res = app.get(&path, &other_key).await;
        assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
    let res = app
        .post(
            &format!("/v1/emails/{id}/cancel"),
            Some(&other.token),
            json!({}),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let res = app
        .post(
            &format!("/v1/public/emails/{id}/cancel"),
            Some(&key),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "CANCELED");
}

#[tokio::test]
async fn an_email_may_carry_attachments_beyond_the_default_body_limit() {
    let app = spawn_app_with(Roles::API, |_| {}).await;
    let (_, key) = email_tenant(&app, "Acme").await;
    let pdf = base64::engine::general_purpose::STANDARD.encode(vec![7u8; 1024 * 1024]);
    let mut body = email(json!("a@example.com"));
    body["attachments"] =
        json!([{"filename": "invoice.pdf", "content": pdf, "contentType": "application/pdf"}]);
    let res = app.post("/v1/public/emails/send", Some(&key), body).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let m: Value = res.json().await.unwrap();
    assert_eq!(
        m["attachments"],
        json!([{"filename": "invoice.pdf", "contentType": "application/pdf", "size": 1048576}])
    );
    // The content is kept for delivery, not shown.
    let kept: i32 = sqlx::query_scalar(
        "SELECT length(private_content -> 'attachments' -> 0 ->> 'content') FROM messages",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(kept as usize, pdf.len());
    let sms_key = app.api_key(&app.signup("Texts").await, &["send:sms"]).await;
    let res = app
        .post(
            "/v1/public/sms/send",
            Some(&sms_key),
            json!({"to": "+2348067000111", "body": pdf, "senderId": "Herald"}),
        )
        .await;
    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE").await;
}

async fn provider_event(app: &TestApp, body: Value, secret: &str) -> reqwest::Response {
    let raw = body.to_string();
    let ts = chrono::Utc::now().timestamp().to_string();
    let sig = domain::signatures::provider_signature(secret, &ts, raw.as_bytes());
    app.request(Method::POST, "/v1/webhooks/email/provider", None)
        .header("content-type", "application/json")
        .header("x-timestamp", ts)
        .header("x-signature", sig)
        .body(raw)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn signed_provider_events_move_email_messages() {
    let app = email_app().await;
    let (tenant, key) = email_tenant(&app, "Acme").await;
    let id = send(&app, &key, "noreceipt-2@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let m = wait_for(&app, &key, &id, "SENT").await;
    let pid = m["providerMessageId"].as_str().unwrap().to_owned();

    let res = provider_event(
        &app,
        json!({"messageId": pid, "event": "delivered"}),
        "wrong",
    )
    .await;
    assert_error(res, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let res = provider_event(
        &app,
        json!({"messageId": pid, "event": "delayed", "reason": "greylisted"}),
        EVENT_SECRET,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = provider_event(
        &app,
        json!({"messageId": pid, "event": "delivered"}),
        EVENT_SECRET,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    wait_for(&app, &key, &id, "DELIVERED").await;
    let res = provider_event(
        &app,
        json!({"messageId": pid, "event": "complained", "recipient": "noreceipt-2@example.com"}),
        EVENT_SECRET,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    wait_for(&app, &key, &id, "COMPLAINED").await;
    let types = timeline_types(&app, &key, &id).await;
    assert!(types.contains(&"note".to_owned()), "{types:?}");
    let list = app.get_json("/v1/emails/suppressions", &tenant.token).await;
    assert_eq!(list["data"][0]["address"], "noreceipt-2@example.com");
    assert_eq!(list["data"][0]["reason"], "COMPLAINED");

    // Off until its secret is set.
    let plain = spawn_app_with(Roles::API, |_| {}).await;
    let res = provider_event(
        &plain,
        json!({"messageId": "x", "event": "delivered"}),
        EVENT_SECRET,
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// Messages and their status events as the pipeline writes them, `n` of them created `days_back`
/// days ago (each status event at the message's creation time, so each counts on that day).
async fn synthetic_emails(app: &TestApp, org: &str, n: i32, days: i32) {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO messages (id, organization_id, channel, status, recipient, search_text, created_at, updated_at)
         SELECT gen_random_uuid(), $1::uuid, 'email',
                (ARRAY['DELIVERED','BOUNCED','FAILED','SENT','COMPLAINED','DELIVERED'])[1 + g % 6],
                'r' || g || '@example.com', '', now() - (g % $3) * interval '1 day' - interval '1 second', now()
         FROM generate_series(1, $2) g",
    )
    .bind(org)
    .bind(n)
    .bind(days)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO events (id, organization_id, message_id, type, status, detail, occurred_at)
         SELECT gen_random_uuid(), m.organization_id, m.id, 'email_' || lower(s), s, NULL, m.created_at
         FROM messages m
         CROSS JOIN LATERAL unnest(CASE m.status
             WHEN 'DELIVERED' THEN ARRAY['QUEUED','PROCESSING','SENT','DELIVERED']
             WHEN 'BOUNCED' THEN ARRAY['QUEUED','PROCESSING','SENT','BOUNCED']
             WHEN 'FAILED' THEN ARRAY['QUEUED','PROCESSING','FAILED']
             WHEN 'SENT' THEN ARRAY['QUEUED','PROCESSING','SENT']
             WHEN 'COMPLAINED' THEN ARRAY['QUEUED','PROCESSING','SENT','DELIVERED','COMPLAINED']
         END) s
         WHERE m.organization_id = $1::uuid AND NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = m.id)",
    )
    .bind(org)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// The counts per day taken straight from the messages.
async fn counted_from_messages(app: &TestApp, org: &str) -> Vec<(String, Vec<i64>)> {
    let rows: Vec<(chrono::NaiveDate, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT (created_at AT TIME ZONE 'UTC')::date,
                count(*),
                count(*) FILTER (WHERE status IN ('SENT','DELIVERED','BOUNCED','COMPLAINED')),
                count(*) FILTER (WHERE status IN ('DELIVERED','COMPLAINED')),
                count(*) FILTER (WHERE status = 'BOUNCED'),
                count(*) FILTER (WHERE status = 'COMPLAINED'),
                count(*) FILTER (WHERE status = 'FAILED')
         FROM messages WHERE organization_id = $1::uuid GROUP BY 1 ORDER BY 1",
    )
    .bind(org)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|r| (r.0.to_string(), vec![r.1, r.2, r.3, r.4, r.5, r.6]))
        .collect()
}

async fn served(app: &TestApp, key: &str, from: &str) -> (Vec<(String, Vec<i64>)>, Value) {
    let stats = app
        .get_json(&format!("/v1/public/emails/stats?from={from}"), key)
        .await;
    let days = stats["daily"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["queued"].as_i64().unwrap() > 0)
        .map(|d| {
            let n = |k: &str| d[k].as_i64().unwrap();
            (
                d["date"].as_str().unwrap().to_owned(),
                vec![
                    n("queued"),
                    n("sent"),
                    n("delivered"),
                    n("bounced"),
                    n("complained"),
                    n("failed"),
                ],
            )
        })
        .collect();
    (days, stats["totals"].clone())
}

/// Runs the scheduler's duties until the served stats equal the messages' own counts (a
/// transaction still open anywhere in the cluster holds the rollup back for a moment).
async fn rolled_up_until_equal(app: &TestApp, key: &str, org: &str, from: &str) -> Value {
    let config = domain::Config::from_source(&base_settings(&app.database_url)).unwrap();
    let settings = scheduler::Settings::from_config(&config);
    let expected = counted_from_messages(app, org).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        assert_eq!(scheduler::run_once(&app.pool, &settings).await, 0);
        let (days, totals) = served(app, key, from).await;
        if days == expected {
            return totals;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "served {days:?}\nexpected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn stats_equal_the_counts_taken_straight_from_the_messages() {
    let app = spawn_app_with(Roles::API, |_| {}).await;
    let (tenant, key) = email_tenant(&app, "Acme").await;
    let org = tenant.organization_id.clone();
    let from = (chrono::Utc::now() - chrono::Duration::days(10))
        .date_naive()
        .to_string();
    synthetic_emails(&app, &org, 3000, 6).await;
    rolled_up_until_equal(&app, &key, &org, &from).await;
    // Incrementally: more messages since the last run are added, nothing is counted twice.
    synthetic_emails(&app, &org, 700, 3).await;
    let totals = rolled_up_until_equal(&app, &key, &org, &from).await;
    assert_eq!(totals["queued"], 3700);
    let rate = |k: &str| totals[k].as_f64().unwrap();
    let n = |k: &str| totals[k].as_f64().unwrap();
    assert!((rate("deliveryRate") - n("delivered") / n("sent")).abs() < 1e-9);
    assert!((rate("bounceRate") - n("bounced") / n("sent")).abs() < 1e-9);
    assert_eq!(rate("openRate"), 0.0);
    // Another organization sees none of it; a range over 366 days is refused.
    let (_, other_key) = email_tenant(&app, "Other").await;
    let other = app
        .get_json(&format!("/v1/public/emails/stats?from={from}"), &other_key)
        .await;
    assert_eq!(other["totals"]["queued"], 0);
    assert_eq!(other["daily"].as_array().unwrap().len(), 11);
    let res = app
        .get(
            "/v1/public/emails/stats?from=2025-01-01&to=2026-06-30",
            &key,
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let sms_key = app.api_key(&tenant, &["read:sms"]).await;
    let res = app.get("/v1/public/emails/stats", &sms_key).await;
    assert_error(res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE").await;
    let session = app
        .get_json(&format!("/v1/emails/stats?from={from}"), &tenant.token)
        .await;
    assert_eq!(session["totals"]["queued"], 3700);
}

#[tokio::test]
async fn opens_and_clicks_are_counted_through_signed_tokens() {
    let app = email_app().await;
    let (_, key) = email_tenant(&app, "Acme").await;
    let mut body = email(json!("reader@example.com"));
    body["html"] = json!(
        r#"<html><body><p>Hi</p><a href="https://acme.test/orders/7?ref=mail">Your order</a></body></html>"#
    );
    body["tracking"] = json!({"opens": true, "clicks": true});
    let res = app.post("/v1/public/emails/send", Some(&key), body).await;
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for(&app, &key, &id, "DELIVERED").await;
    // What the sandbox was handed: the HTML with the pixel and the rewritten link.
    let sent: String =
        sqlx::query_scalar("SELECT body FROM sandbox_calls WHERE message_id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!sent.contains("acme.test/orders"), "{sent}");
    let token = |kind: &str| {
        sent.split(&format!("/t/{kind}/"))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    };
    let (open, click) = (token("o"), token("c"));
    for _ in 0..2 {
        let res = app
            .request(Method::GET, &format!("/t/o/{open}"), None)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "image/gif");
    }
    let res = app
        .request(Method::GET, &format!("/t/c/{click}"), None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(
        res.headers()["location"],
        "https://acme.test/orders/7?ref=mail"
    );
    // Forged or altered tokens lead nowhere.
    let mut altered = click.clone().into_bytes();
    let last = altered.len() - 3;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    for bad in [
        String::from_utf8(altered).unwrap(),
        "AAAA".into(),
        open.clone() + "x",
    ] {
        let res = app
            .request(Method::GET, &format!("/t/c/{bad}"), None)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    let res = app
        .request(Method::GET, &format!("/t/c/{open}"), None)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "an open token is not a click"
    );

    let m = app.get_json(&format!("/v1/public/emails/{id}"), &key).await;
    assert_eq!(
        (m["opens"].as_i64(), m["clicks"].as_i64()),
        (Some(2), Some(1))
    );
    assert!(
        m["openedAt"].is_string() && m["clickedAt"].is_string(),
        "{m}"
    );
    let types = timeline_types(&app, &key, &id).await;
    assert_eq!(types.iter().filter(|t| *t == "email_opened").count(), 2);
    assert_eq!(types.iter().filter(|t| *t == "email_clicked").count(), 1);
    // The stats count the message once for its opens.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = app.get_json("/v1/public/emails/stats", &key).await;
        if s["totals"]["opened"] == 1 && s["totals"]["clicked"] == 1 {
            assert_eq!(s["totals"]["delivered"], 1);
            assert_eq!(s["totals"]["openRate"], 1.0);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{s}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A server of `tests/support/` run by the test's Python (`HERALD_PYTHON`): a DNS server answering
/// from a zone file the test writes, or an SMTP server writing down what it receives.
struct Support {
    child: std::process::Child,
    port: u16,
    file: std::path::PathBuf,
}

impl Support {
    fn start(script: &str) -> Support {
        use std::io::BufRead;
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let file = std::env::temp_dir().join(format!("herald-{script}-{}", uuid::Uuid::now_v7()));
        std::fs::write(&file, "").unwrap();
        let python = std::env::var("HERALD_PYTHON").unwrap_or_else(|_| "python3".into());
        let path = format!("{}/tests/support/{script}", env!("CARGO_MANIFEST_DIR"));
        let mut child = std::process::Command::new(python)
            .args([&path, &port.to_string(), file.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the test server starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "{script} is ready");
        Support { child, port, file }
    }

    /// Replaces the DNS server's zone.
    fn publish(&self, zone: Value) {
        std::fs::write(&self.file, zone.to_string()).unwrap();
    }

    /// What the SMTP server received: one JSON object a message.
    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.file)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Support {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.file);
    }
}

#[tokio::test]
async fn a_dns_server_that_never_answers_fails_the_records_instead_of_the_request() {
    // Takes every query, over UDP and TCP, and answers none.
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = udp.local_addr().unwrap().port();
    let tcp = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((conn, _)) = tcp.accept().await {
            open.push(conn);
        }
    });
    let app = spawn_app_with(Roles::API, move |s| {
        s.insert("DNS_RESOLVER".into(), format!("127.0.0.1:{port}"));
    })
    .await;
    let tenant = app.signup("Silent").await;
    let res = app
        .post(
            "/v1/domains",
            Some(&tenant.token),
            json!({"name": "silent.test"}),
        )
        .await;
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post(
            &format!("/v1/domains/{id}/verify"),
            Some(&tenant.token),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let d: Value = res.json().await.unwrap();
    assert_eq!(d["status"], "FAILED");
    for r in d["records"].as_array().unwrap() {
        assert_eq!(r["status"], "FAILED", "{r}");
    }
    held.abort();
    drop(udp);
}

#[tokio::test]
async fn a_domain_is_verified_against_the_records_published_in_dns() {
    let dns = Support::start("dns_server.py");
    let resolver = format!("127.0.0.1:{}", dns.port);
    let app = spawn_app_with(Roles::API, move |s| {
        s.insert("DNS_RESOLVER".into(), resolver);
        s.insert("EMAIL_SPF_INCLUDE".into(), "_spf.herald.example".into());
        s.insert(
            "EMAIL_RETURN_PATH_TARGET".into(),
            "bounces.herald.example".into(),
        );
    })
    .await;
    let tenant = app.signup("Acme").await;
    let res = app
        .post(
            "/v1/domains",
            Some(&tenant.token),
            json!({"name": "Mail.Acme.test"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let d: Value = res.json().await.unwrap();
    assert_eq!(d["name"], "mail.acme.test");
    assert_eq!(d["status"], "PENDING");
    let id = d["id"].as_str().unwrap().to_owned();
    let records = d["records"].as_array().unwrap().clone();
    let find = |t: &str, name: &str| {
        records
            .iter()
            .find(|r| r["type"] == t && r["name"] == name)
            .unwrap_or_else(|| panic!("{t} {name} in {records:?}"))["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let dkim = find("TXT", "herald._domainkey.mail.acme.test");
    assert!(dkim.starts_with("v=DKIM1; k=rsa; p=MII"), "{dkim}");
    assert_eq!(
        find("TXT", "mail.acme.test"),
        "v=spf1 include:_spf.herald.example ~all"
    );
    assert_eq!(
        find("CNAME", "bounces.mail.acme.test"),
        "bounces.herald.example"
    );
    // The private key is sealed, never shown.
    let sealed: String = sqlx::query_scalar("SELECT dkim_private_key FROM email_domains")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(sealed.starts_with("v2:") && !sealed.contains("PRIVATE KEY"));
    assert!(!d.to_string().contains("PRIVATE"));

    // Nothing published yet, then a wrong DKIM key, then everything right.
    let verify_path = format!("/v1/domains/{id}/verify");
    let verify = || app.post(&verify_path, Some(&tenant.token), json!({}));
    let res: Value = verify().await.json().await.unwrap();
    assert_eq!(res["status"], "FAILED");
    dns.publish(json!({
        "TXT": {"herald._domainkey.mail.acme.test": ["v=DKIM1; k=rsa; p=MIIBwrong"],
                "mail.acme.test": ["v=spf1 include:_spf.google.com include:_spf.herald.example ~all"]},
        "CNAME": {"bounces.mail.acme.test": "bounces.herald.example"}
    }));
    let res: Value = verify().await.json().await.unwrap();
    assert_eq!(res["status"], "FAILED");
    let statuses: Vec<&str> = res["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["FAILED", "VERIFIED", "VERIFIED"]);
    dns.publish(json!({
        "TXT": {"herald._domainkey.mail.acme.test": [dkim],
                "mail.acme.test": ["v=spf1 include:_spf.herald.example ~all"]},
        "CNAME": {"bounces.mail.acme.test": "bounces.herald.example"}
    }));
    let res: Value = verify().await.json().await.unwrap();
    assert_eq!(res["status"], "VERIFIED", "{res}");
    assert!(res["verifiedAt"].is_string());

    // Lists, duplicates, roles and tenants.
    let list = app.get_json("/v1/domains", &tenant.token).await;
    assert_eq!(list["total"], 1);
    let res = app
        .post(
            "/v1/domains",
            Some(&tenant.token),
            json!({"name": "mail.acme.test"}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "CONFLICT").await;
    let res = app
        .post(
            "/v1/domains",
            Some(&tenant.token),
            json!({"name": "not a domain"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let (_, member) = app.member(&tenant, "MEMBER").await;
    let res = app
        .post(
            &format!("/v1/domains/{id}/verify"),
            Some(&member),
            json!({}),
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_eq!(
        app.get(&format!("/v1/domains/{id}"), &member)
            .await
            .status(),
        StatusCode::OK
    );
    let other = app.signup("Other").await;
    for res in [
        app.get(&format!("/v1/domains/{id}"), &other.token).await,
        app.post(
            &format!("/v1/domains/{id}/verify"),
            Some(&other.token),
            json!({}),
        )
        .await,
        app.delete(&format!("/v1/domains/{id}"), &other.token).await,
    ] {
        assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
    let res = app
        .delete(&format!("/v1/domains/{id}"), &tenant.token)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

/// Publishes a domain's records in the test DNS server and verifies it.
async fn verified_domain(app: &TestApp, tenant: &Tenant, dns: &Support, name: &str) -> String {
    let res = app
        .post("/v1/domains", Some(&tenant.token), json!({"name": name}))
        .await;
    let d: Value = res.json().await.unwrap();
    let mut txt = serde_json::Map::new();
    let mut cname = serde_json::Map::new();
    let mut dkim = String::new();
    for r in d["records"].as_array().unwrap() {
        let (n, v) = (r["name"].as_str().unwrap(), r["value"].as_str().unwrap());
        if r["type"] == "CNAME" {
            cname.insert(n.into(), json!(v));
        } else {
            txt.insert(n.into(), json!([v]));
            if v.starts_with("v=DKIM1") {
                dkim = v.to_owned();
            }
        }
    }
    dns.publish(json!({"TXT": txt, "CNAME": cname}));
    let id = d["id"].as_str().unwrap();
    let res = app
        .post(
            &format!("/v1/domains/{id}/verify"),
            Some(&tenant.token),
            json!({}),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "VERIFIED");
    dkim
}

/// What an outside receiver sees of a delivered message (tests/support/check_email.py).
fn inspect(received: &Value, dkim_record: &str) -> Value {
    use std::io::Write;
    let python = std::env::var("HERALD_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/check_email.py");
    let mut child = std::process::Command::new(python)
        .args([script, dkim_record])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(received["data"].as_str().unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn smtp_delivers_signed_mime_to_a_real_server() {
    let dns = Support::start("dns_server.py");
    let smtp = Support::start("smtp_server.py");
    let (resolver, url) = (
        format!("127.0.0.1:{}", dns.port),
        format!("smtp://127.0.0.1:{}", smtp.port),
    );
    let app = spawn_app_with(Roles::ALL, move |s| {
        s.insert("DNS_RESOLVER".into(), resolver);
        s.insert("EMAIL_PROVIDER".into(), "smtp".into());
        s.insert("SMTP_URL".into(), url);
        s.insert("EMAIL_PROVIDER_WEBHOOK_SECRET".into(), EVENT_SECRET.into());
        s.insert("EMAIL_PROVIDER_TIMEOUT".into(), "1s".into());
    })
    .await;
    let (tenant, key) = email_tenant(&app, "Acme").await;
    // Only a verified domain of the organization may send.
    let res = app
        .post(
            "/v1/public/emails/send",
            Some(&key),
            email(json!("zoe@example.com")),
        )
        .await;
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "DOMAIN_NOT_VERIFIED").await;
    assert_eq!(body["error"]["details"][0]["field"], "from");
    let dkim = verified_domain(&app, &tenant, &dns, "acme.test").await;

    let pdf = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4 invoice");
    let res = app
        .post(
            "/v1/public/emails/send",
            Some(&key),
            json!({
                "from": "Acme Billing <billing@acme.test>",
                "to": "Zoë Ådams <zoe@example.com>",
                "cc": ["ops@example.com"],
                "subject": "Ваш счёт №7",
                "text": "Your invoice is attached.",
                "html": "<p>Your invoice is attached.</p>",
                "headers": {"X-Campaign": "invoices"},
                "attachments": [{"filename": "invoice.pdf", "content": pdf, "contentType": "application/pdf"}]
            }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let m = wait_for(&app, &key, &id, "SENT").await;
    assert_eq!(m["providerMessageId"], format!("{id}@acme.test"));
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    let simple = id.replace('-', "");
    assert_eq!(
        received[0]["mail_from"],
        format!("bounces+{simple}@bounces.acme.test")
    );
    assert_eq!(
        received[0]["rcpt_tos"],
        json!(["zoe@example.com", "ops@example.com"])
    );
    let seen = inspect(&received[0], &dkim);
    assert_eq!(seen["dkim"], true, "{seen}");
    assert_eq!(seen["subject"], "Ваш счёт №7");
    assert_eq!(seen["to"], "Zoë Ådams <zoe@example.com>");
    assert_eq!(seen["from"], "Acme Billing <billing@acme.test>");
    assert_eq!(seen["message_id"], format!("<{id}@acme.test>"));
    assert_eq!(seen["herald_id"], id.as_str());
    assert_eq!(seen["custom"], "invoices");
    for part in [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/pdf",
    ] {
        assert!(
            seen["parts"].as_array().unwrap().contains(&json!(part)),
            "{seen}"
        );
    }
    assert_eq!(seen["attachments"], json!([["invoice.pdf", 16]]));

    // A 5xx answer fails the message with the relay's code.
    let from_acme = |to: &str| {
        let mut body = email(json!(to));
        body["from"] = json!("billing@acme.test");
        body
    };
    let rid = sent_id(&app, &key, from_acme("reject-me@example.com")).await;
    let m = wait_for(&app, &key, &rid, "FAILED").await;
    assert_eq!(m["error"]["code"], "SMTP_550");
    // A 4xx answer is tried again later: the message stays PROCESSING with the answer on its
    // timeline. So is a relay that takes longer than EMAIL_PROVIDER_TIMEOUT to answer DATA.
    for (to, code) in [
        ("later@example.com", "SMTP_451"),
        ("slow@example.com", "PROVIDER_TIMEOUT"),
    ] {
        let did = sent_id(&app, &key, from_acme(to)).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let t = app
                .get_json(&format!("/v1/public/emails/{did}/timeline"), &key)
                .await;
            let retried =
                t["data"].as_array().unwrap().iter().any(|e| {
                    e["type"] == "provider_response" && e["detail"]["error"]["code"] == code
                });
            if retried {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{t}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let m = app
            .get_json(&format!("/v1/public/emails/{did}"), &key)
            .await;
        assert_eq!(m["status"], "PROCESSING");
    }
    // The conversation cut short is not reused: the next message, while the relay still sits in
    // the slow DATA, goes through a connection of its own at once.
    let next = sent_id(&app, &key, from_acme("after-slow@example.com")).await;
    let m = wait_for(&app, &key, &next, "SENT").await;
    assert_eq!(m["providerMessageId"], format!("{next}@acme.test"));
    let t = app
        .get_json(&format!("/v1/public/emails/{next}/timeline"), &key)
        .await;
    assert!(
        !t["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "provider_response"),
        "sent on its first attempt: {t}"
    );

    // Receipts for the relayed message: delivered, then a complaint suppresses the address.
    for event in ["delivered", "complained"] {
        let res = provider_event(
            &app,
            json!({"messageId": format!("{id}@acme.test"), "event": event, "recipient": "zoe@example.com"}),
            EVENT_SECRET,
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        let want = if event == "delivered" {
            "DELIVERED"
        } else {
            "COMPLAINED"
        };
        wait_for(&app, &key, &id, want).await;
    }
    let list = app.get_json("/v1/emails/suppressions", &tenant.token).await;
    assert_eq!(list["data"][0]["address"], "zoe@example.com");
}
