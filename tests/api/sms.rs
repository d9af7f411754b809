use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn an_sms_goes_queued_processing_sent_delivered_in_order() {
    let app = spawn_app().await;
    let (_, key) = app.sms_tenant("Acme").await;
    let m = app.send_sms(&key, "+2348067000111").await;
    assert_eq!(m["status"], "QUEUED");
    assert_eq!(m["channel"], "sms");
    assert_eq!(m["senderId"], "Herald");
    assert_eq!(m["flow"], "STANDARD");
    assert_eq!(m["encoding"], "GSM7");
    assert_eq!(m["segments"], 1);
    assert_eq!(m["error"], Value::Null);
    let id = m["id"].as_str().unwrap();
    let done = app.wait_for_status(&key, id, "DELIVERED").await;
    assert!(
        done["providerMessageId"]
            .as_str()
            .unwrap()
            .starts_with("sbx_")
    );
    let timeline = app.timeline(&key, id).await;
    assert_eq!(
        statuses(&timeline),
        vec!["QUEUED", "PROCESSING", "SENT", "DELIVERED"]
    );
    let types: Vec<&str> = timeline
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec!["sms_queued", "sms_processing", "sms_sent", "sms_delivered"]
    );
    assert_eq!(
        timeline[3]["detail"]["status"], "DELIVRD",
        "the raw receipt is kept"
    );
    let calls = sandbox_calls(&app, id).await;
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn sandbox_numbers_choose_failure_outcomes() {
    let app = spawn_app().await;
    let (_, key) = app.sms_tenant("Acme").await;
    let refused = app.send_sms_id(&key, "+2348067000000").await;
    let undelivered = app.send_sms_id(&key, "+2348067000001").await;
    let silent = app.send_sms_id(&key, "+2348067000002").await;

    let m = app.wait_for_status(&key, &refused, "FAILED").await;
    assert_eq!(m["error"]["code"], "SANDBOX_REFUSED");
    assert_eq!(
        statuses(&app.timeline(&key, &refused).await),
        vec!["QUEUED", "PROCESSING", "FAILED"]
    );

    let m = app.wait_for_status(&key, &undelivered, "FAILED").await;
    assert_eq!(m["error"]["code"], "UNDELIV");
    assert_eq!(
        statuses(&app.timeline(&key, &undelivered).await),
        vec!["QUEUED", "PROCESSING", "SENT", "FAILED"]
    );

    app.wait_for_status(&key, &silent, "SENT").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let m = app.message(&key, &silent).await;
    assert_eq!(m["status"], "SENT");
}

#[tokio::test]
async fn a_scheduled_sms_waits_and_a_canceled_one_is_never_sent() {
    let app = spawn_app().await;
    let (_, key) = app.sms_tenant("Acme").await;
    let at = (chrono::Utc::now() + chrono::Duration::seconds(3)).to_rfc3339();
    let later = app
        .post("/v1/public/sms/send", Some(&key), json!({"to": "+2348067000111", "body": "later", "senderId": "Herald", "scheduledAt": at}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert!(later["scheduledAt"].is_string());
    let far = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let canceled = app
        .post("/v1/public/sms/send", Some(&key), json!({"to": "+2348067000112", "body": "never", "senderId": "Herald", "scheduledAt": far}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let cid = canceled["id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let m: Value = app
        .get(
            &format!("/v1/public/sms/{}", later["id"].as_str().unwrap()),
            &key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(m["status"], "QUEUED", "not before its time");

    let res = app
        .post(
            &format!("/v1/public/sms/{cid}/cancel"),
            Some(&key),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "CANCELED");
    let res = app
        .post(
            &format!("/v1/public/sms/{cid}/cancel"),
            Some(&key),
            json!({}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "CONFLICT").await;

    app.wait_for_status(&key, later["id"].as_str().unwrap(), "DELIVERED")
        .await;
    // Run the canceled message's job now: it must find nothing to send.
    sqlx::query("UPDATE apalis.jobs SET run_at = now() - interval '1 second' WHERE job_type = 'herald.send'")
        .execute(&app.pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        statuses(&app.timeline(&key, cid).await),
        vec!["QUEUED", "CANCELED"]
    );
    let calls = sandbox_calls(&app, cid).await;
    assert_eq!(calls, 0);
    let res = app
        .post(
            &format!("/v1/public/sms/{}/cancel", later["id"].as_str().unwrap()),
            Some(&key),
            json!({}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "CONFLICT").await;
}

#[tokio::test]
async fn every_validation_rule_answers_422_and_stores_nothing() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let (_, key) = app.sms_tenant("Acme").await;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let far = (chrono::Utc::now() + chrono::Duration::days(31)).to_rfc3339();
    let cases = [
        (json!({"body": "x", "senderId": "Herald"}), "to"),
        (
            json!({"to": "2348067000111", "body": "x", "senderId": "Herald"}),
            "to",
        ),
        (
            json!({"to": "+23480abc", "body": "x", "senderId": "Herald"}),
            "to",
        ),
        (
            json!({"to": "+2348067000111", "senderId": "Herald"}),
            "body",
        ),
        (
            json!({"to": "+2348067000111", "body": "", "senderId": "Herald"}),
            "body",
        ),
        (
            json!({"to": "+2348067000111", "body": "x".repeat(1601), "senderId": "Herald"}),
            "body",
        ),
        (json!({"to": "+2348067000111", "body": "x"}), "senderId"),
        (
            json!({"to": "+2348067000111", "body": "x", "senderId": "a!"}),
            "senderId",
        ),
        (
            json!({"to": "+2348067000111", "body": "x", "senderId": "Herald", "flow": "MARKETING"}),
            "flow",
        ),
        (
            json!({"to": "+2348067000111", "body": "x", "senderId": "Herald", "scheduledAt": past}),
            "scheduledAt",
        ),
        (
            json!({"to": "+2348067000111", "body": "x", "senderId": "Herald", "scheduledAt": far}),
            "scheduledAt",
        ),
        (
            json!({"to": "+2348067000111", "body": "x", "senderId": "Herald", "scheduledAt": "tomorrow"}),
            "scheduledAt",
        ),
        (
            json!({"to": 2348067000111u64, "body": "x", "senderId": "Herald"}),
            "to",
        ),
    ];
    for (body, field) in cases {
        let res = app
            .post("/v1/public/sms/send", Some(&key), body.clone())
            .await;
        let err = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
        assert_eq!(err["error"]["details"][0]["field"], field, "{body}");
    }
    let res = app
        .post(
            "/v1/public/sms/send",
            Some(&key),
            json!({"to": "+2348067000111", "body": "x", "senderId": "Other"}),
        )
        .await;
    assert_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "SENDER_ID_NOT_APPROVED",
    )
    .await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM apalis.jobs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 0);
}

#[tokio::test]
async fn an_opted_out_recipient_is_refused() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let (t, key) = app.sms_tenant("Acme").await;
    sqlx::query("INSERT INTO opt_outs (organization_id, channel, phone_number, source) VALUES ($1::uuid, 'sms', '+2348067000111', 'api')")
        .bind(&t.organization_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let res = app
        .post(
            "/v1/public/sms/send",
            Some(&key),
            json!({"to": "+2348067000111", "body": "x", "senderId": "Herald"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "RECIPIENT_OPTED_OUT").await;
}

#[tokio::test]
async fn encoding_and_segments_are_reported() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let (_, key) = app.sms_tenant("Acme").await;
    let m = app.post("/v1/public/sms/send", Some(&key), json!({"to": "+2348067000111", "body": "Привет ✅", "senderId": "herald", "flow": "OTP"})).await;
    let m: Value = m.json().await.unwrap();
    assert_eq!(
        (
            m["encoding"].as_str(),
            m["segments"].as_u64(),
            m["flow"].as_str()
        ),
        (Some("UCS2"), Some(1), Some("OTP"))
    );
    let m: Value = app
        .post(
            "/v1/public/sms/send",
            Some(&key),
            json!({"to": "+2348067000111", "body": "a".repeat(161), "senderId": "Herald"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (m["encoding"].as_str(), m["segments"].as_u64()),
        (Some("GSM7"), Some(2))
    );
}

#[tokio::test]
async fn lists_filter_and_page() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let (t, key) = app.sms_tenant("Acme").await;
    for i in 0..5 {
        let flow = if i % 2 == 0 { "OTP" } else { "STANDARD" };
        let body = json!({"to": format!("+23480670001{i:02}"), "body": format!("code {i}"), "senderId": "Herald", "flow": flow, "externalId": format!("order-{i}")});
        assert_eq!(
            app.post("/v1/public/sms/send", Some(&key), body)
                .await
                .status(),
            StatusCode::ACCEPTED
        );
    }
    sqlx::query("UPDATE messages SET status = 'DELIVERED' WHERE external_id = 'order-1'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (app, key) = (&app, &key);
    let list = |q: String| async move {
        let res = app.get(&format!("/v1/public/sms?{q}"), key).await;
        assert_eq!(res.status(), StatusCode::OK, "{q}");
        res.json::<Value>().await.unwrap()
    };
    let all = list("".into()).await;
    assert_eq!(all["total"], 5);
    assert_eq!(all["data"][0]["externalId"], "order-4", "newest first");
    assert_eq!(list("flow=OTP".into()).await["total"], 3);
    assert_eq!(
        list("flow=STANDARD&status=DELIVERED".into()).await["total"],
        1
    );
    assert_eq!(
        list("query=order-3".into()).await["data"][0]["externalId"],
        "order-3"
    );
    assert_eq!(list("query=%2B2348067000102".into()).await["total"], 1);
    assert_eq!(list("query=CODE".into()).await["total"], 5);
    let page = list("page=2&pageSize=2".into()).await;
    assert_eq!(
        (
            page["page"].as_u64(),
            page["pageSize"].as_u64(),
            page["data"].as_array().unwrap().len()
        ),
        (Some(2), Some(2), 2)
    );
    assert_eq!(page["data"][0]["externalId"], "order-2");
    let future = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339()
        .replace('+', "%2B");
    assert_eq!(list(format!("createdFrom={future}")).await["total"], 0);
    assert_eq!(list(format!("createdTo={future}")).await["total"], 5);
    for bad in [
        "status=LOST",
        "status=READ",
        "flow=PROMO",
        "createdFrom=yesterday",
        "pageSize=500",
    ] {
        let res = app.get(&format!("/v1/public/sms?{bad}"), key).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    }
    // The session mirror shows the same.
    let res: Value = app
        .get("/v1/sms?flow=OTP", &t.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(res["total"], 3);
}

#[tokio::test]
async fn idempotency_keys_replay_refuse_mismatches_and_serialize_concurrent_requests() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let (_, key) = app.sms_tenant("Acme").await;
    let body = json!({"to": "+2348067000111", "body": "once", "senderId": "Herald"});
    let send = |k: &'static str, b: Value| {
        app.request(reqwest::Method::POST, "/v1/public/sms/send", Some(&key))
            .header("idempotency-key", k)
            .json(&b)
            .send()
    };
    let first = send("k-1", body.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let first: Value = first.json().await.unwrap();
    let again = send("k-1", body.clone()).await.unwrap();
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    let res = send(
        "k-1",
        json!({"to": "+2348067000111", "body": "twice", "senderId": "Herald"}),
    )
    .await
    .unwrap();
    assert_error(res, StatusCode::CONFLICT, "IDEMPOTENCY_KEY_MISMATCH").await;

    let racers: Vec<_> = (0..8).map(|_| send("k-race", body.clone())).collect();
    let results = futures::future::join_all(racers).await;
    let mut ids = std::collections::HashSet::new();
    for r in results {
        let r = r.unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        ids.insert(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(ids.len(), 1, "concurrent duplicates create one message");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let res = send("", body).await.unwrap();
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn a_batch_is_all_or_nothing() {
    // A batch counts each of its messages against the rate limit: room for a few full batches.
    let app = spawn_app_with(herald::Roles::API, |s| {
        s.insert("RATE_LIMIT_BURST".into(), "1000".into());
    })
    .await;
    let (_, key) = app.sms_tenant("Acme").await;
    let ok = |i: u32| json!({"to": format!("+2348067001{i:03}"), "body": "hi", "senderId": "Herald", "externalId": format!("b{i}")});
    let res = app
        .post(
            "/v1/public/sms/batch",
            Some(&key),
            json!({"messages": (0..100).map(ok).collect::<Vec<_>>()}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let data = res.json::<Value>().await.unwrap()["data"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(data.len(), 100);
    assert!(
        data.iter()
            .enumerate()
            .all(|(i, m)| m["externalId"] == format!("b{i}") && m["status"] == "QUEUED")
    );
    let jobs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM apalis.jobs WHERE job_type = 'herald.send'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(jobs, 100);

    let mixed = json!({"messages": [ok(1), {"to": "nope", "body": "hi", "senderId": "Herald"}, ok(2), {"to": "+2348067001999", "body": "hi", "senderId": "Unknown"}]});
    let res = app.post("/v1/public/sms/batch", Some(&key), mixed).await;
    let err = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_eq!(err["error"]["details"][0]["field"], "messages[1].to");
    let res = app.post("/v1/public/sms/batch", Some(&key), json!({"messages": [ok(1), {"to": "+2348067001999", "body": "hi", "senderId": "Unknown"}]})).await;
    let err = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_eq!(err["error"]["details"][0]["field"], "messages[1].senderId");
    assert_eq!(err["error"]["details"][0]["code"], "SENDER_ID_NOT_APPROVED");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 100, "a failing batch stores nothing");

    let res = app
        .post(
            "/v1/public/sms/batch",
            Some(&key),
            json!({"messages": (0..101).map(ok).collect::<Vec<_>>()}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let res = app
        .post("/v1/public/sms/batch", Some(&key), json!({"messages": []}))
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn another_organizations_messages_are_not_found() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let (_, key_a) = app.sms_tenant("A").await;
    let (tenant_b, key_b) = app.sms_tenant("B").await;
    let id = app.send_sms_id(&key_a, "+2348067000111").await;
    for path in [
        format!("/v1/public/sms/{id}"),
        format!("/v1/public/sms/{id}/timeline"),
    ] {
        assert_error(
            app.get(&path, &key_b).await,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        )
        .await;
    }
    assert_error(
        app.get(&format!("/v1/sms/{id}"), &tenant_b.token).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    let res = app
        .post(
            &format!("/v1/public/sms/{id}/cancel"),
            Some(&key_b),
            json!({}),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(app.get_json("/v1/public/sms", &key_b).await["total"], 0);
    assert_error(
        app.get("/v1/public/sms/not-a-uuid", &key_b).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn scopes_and_roles_guard_sending_and_reading() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let (t, _) = app.sms_tenant("Acme").await;
    let read_only = app.api_key(&t, &["read:sms"]).await;
    let send_only = app.api_key(&t, &["send:sms"]).await;
    let email_only = app.api_key(&t, &["send:email"]).await;
    let body = json!({"to": "+2348067000111", "body": "x", "senderId": "Herald"});
    assert_error(
        app.post("/v1/public/sms/send", Some(&read_only), body.clone())
            .await,
        StatusCode::FORBIDDEN,
        "INSUFFICIENT_SCOPE",
    )
    .await;
    assert_error(
        app.post(
            "/v1/public/sms/batch",
            Some(&email_only),
            json!({"messages": [body]}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "INSUFFICIENT_SCOPE",
    )
    .await;
    assert_error(
        app.get("/v1/public/sms", &send_only).await,
        StatusCode::FORBIDDEN,
        "INSUFFICIENT_SCOPE",
    )
    .await;
    assert_error(
        app.get("/v1/public/sms/sender-ids", &send_only).await,
        StatusCode::FORBIDDEN,
        "INSUFFICIENT_SCOPE",
    )
    .await;
    // Scope is checked before the body is read.
    let res = app
        .request(
            reqwest::Method::POST,
            "/v1/public/sms/send",
            Some(&read_only),
        )
        .body("{broken")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE").await;

    let (_, viewer) = app.member(&t, "VIEWER").await;
    let body = json!({"to": "+2348067000111", "body": "x", "senderId": "Herald"});
    assert_error(
        app.post("/v1/sms/send", Some(&viewer), body.clone()).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    assert_eq!(app.get("/v1/sms", &viewer).await.status(), StatusCode::OK);
    let (_, member) = app.member(&t, "MEMBER").await;
    let res = app.post("/v1/sms/send", Some(&member), body).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_error(
        app.post(&format!("/v1/sms/{id}/cancel"), Some(&viewer), json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    assert_eq!(
        app.get(&format!("/v1/sms/{id}/timeline"), &viewer)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn list_filters_are_served_by_indexes_on_a_large_table() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let t = app.signup("Big").await;
    sqlx::query(
        "INSERT INTO messages (id, organization_id, channel, status, recipient, category, content, external_id,
             search_text, created_at, updated_at)
         SELECT gen_random_uuid(), $1::uuid, 'sms', CASE WHEN g % 100 = 0 THEN 'FAILED' ELSE 'DELIVERED' END,
             '+234806' || lpad(g::text, 7, '0'), CASE WHEN g % 50 = 0 THEN 'OTP' ELSE 'STANDARD' END, '{}',
             'ext-' || g, lower('+234806' || lpad(g::text, 7, '0') || ' message number ' || g || ' ext-' || g),
             now() - make_interval(secs => g), now()
         FROM generate_series(1, 60000) g",
    )
    .bind(&t.organization_id)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE messages")
        .execute(&app.pool)
        .await
        .unwrap();
    let org: uuid::Uuid = t.organization_id.parse().unwrap();
    let explain = |filter: domain::messages::ListFilter| {
        let pool = app.pool.clone();
        async move {
            let mut q = domain::messages::list_query(
                "EXPLAIN ",
                org,
                domain::messages::Channel::Sms,
                &filter,
                domain::Page::default(),
            );
            let rows: Vec<String> = q.build_query_scalar().fetch_all(&pool).await.unwrap();
            rows.join("\n")
        }
    };
    use domain::messages::{ListFilter, Status};
    let plan = explain(ListFilter {
        query: Some("ext-4242".into()),
        ..Default::default()
    })
    .await;
    assert!(plan.contains("messages_search_trgm_idx"), "{plan}");
    let plan = explain(ListFilter {
        status: Some(Status::Failed),
        ..Default::default()
    })
    .await;
    assert!(
        plan.contains("messages_org_channel_status_created_idx"),
        "{plan}"
    );
    let plan = explain(ListFilter {
        category: Some("OTP".into()),
        ..Default::default()
    })
    .await;
    assert!(
        plan.contains("messages_org_channel_category_created_idx"),
        "{plan}"
    );
    let plan = explain(ListFilter::default()).await;
    assert!(plan.contains("messages_org_channel_created_idx"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
}
