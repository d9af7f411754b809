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

async fn send(app: &TestApp, key: &str, to: &str) -> Value {
    let res = app
        .post("/v1/public/emails/send", Some(key), email(json!(to)))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    res.json().await.unwrap()
}

async fn wait_for(app: &TestApp, key: &str, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let m = app.get_json(&format!("/v1/public/emails/{id}"), key).await;
        if m["status"] == status {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} never reached {status}: {m}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn timeline_types(app: &TestApp, key: &str, id: &str) -> Vec<String> {
    app.get_json(&format!("/v1/public/emails/{id}/timeline"), key)
        .await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
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
