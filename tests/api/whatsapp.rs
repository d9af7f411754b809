//! WhatsApp end to end: the sandbox, the Cloud API against a local stand-in for Meta's Graph API,
//! tenants' own lines, and Meta's signed callbacks (statuses and users' messages).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use herald::Roles;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{method, path_regex},
};

use crate::{helpers::*, webhooks::settled};

const PLATFORM_LINE: &str = "106540352242922";
const PLATFORM_TOKEN: &str = "EAAGplatform7f3c9token";
/// The app secret of the published `X-Hub-Signature-256` vectors.
const APP_SECRET: &str = "e6b1c0b5f2a94b3c9d1e7f20a4c3b8d1";
const VERIFY_TOKEN: &str = "verify-me";

/// A stand-in for the Graph API's messages endpoint: every send gets a fresh wamid; a number ending
/// 9999 is refused as Meta refuses one outside the test allow-list; one ending 5555 is answered
/// after two seconds (wamid `wamid.LATE`).
async fn graph() -> MockServer {
    let server = MockServer::start().await;
    let n = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path_regex(r"^/v21\.0/[0-9]+/messages$"))
        .respond_with(move |r: &Request| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let to = body["to"].as_str().unwrap_or_default().to_owned();
            if to.ends_with("9999") {
                return ResponseTemplate::new(400).set_body_json(json!({"error": {
                    "message": "(#131030) Recipient phone number not in allowed list",
                    "type": "OAuthException", "code": 131030, "fbtrace_id": "AbC"}}));
            }
            let (wamid, delay) = if to.ends_with("5555") {
                ("wamid.LATE".to_owned(), Duration::from_secs(2))
            } else {
                let i = n.fetch_add(1, Ordering::SeqCst);
                (format!("wamid.T{i}"), Duration::ZERO)
            };
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to.trim_start_matches('+')}],
                    "messages": [{"id": wamid}],
                }))
                .set_delay(delay)
        })
        .mount(&server)
        .await;
    server
}

fn cloud_settings(graph: &MockServer) -> Vec<(String, String)> {
    [
        ("WHATSAPP_PROVIDER", "cloud"),
        ("WHATSAPP_CLOUD_API_ENABLED", "true"),
        ("WHATSAPP_ACCESS_TOKEN", PLATFORM_TOKEN),
        ("WHATSAPP_PHONE_NUMBER_ID", PLATFORM_LINE),
        ("WHATSAPP_APP_SECRET", APP_SECRET),
        ("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN),
        ("WHATSAPP_GRAPH_API_BASE", &graph.uri()),
        ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        ("WEBHOOK_RETRY_SCHEDULE", "1s,1s"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn app_with(settings: Vec<(String, String)>) -> TestApp {
    spawn_app_with(Roles::ALL, move |s| s.extend(settings)).await
}

async fn wa_tenant(app: &TestApp, org: &str) -> (Tenant, String) {
    let tenant = app.signup(org).await;
    let key = app
        .api_key(&tenant, &["send:whatsapp", "read:whatsapp"])
        .await;
    (tenant, key)
}

fn text(to: &str) -> Value {
    json!({"to": to, "type": "text", "text": {"body": "Your order has shipped: https://acme.example/o/1", "previewUrl": true}})
}

fn template(to: &str) -> Value {
    json!({"to": to, "type": "template", "externalId": "order-7", "template": {
        "name": "order_update", "language": "en_US",
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "7"}]}]}})
}

async fn send(app: &TestApp, key: &str, body: Value) -> Value {
    let res = app.post("/v1/public/whatsapp/send", Some(key), body).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    res.json().await.unwrap()
}

fn id_of(m: &Value) -> String {
    m["id"].as_str().unwrap().to_owned()
}

async fn wait_for(app: &TestApp, key: &str, id: &str, status: &str) -> Value {
    app.wait_on("whatsapp", key, id, status).await
}

async fn timeline(app: &TestApp, key: &str, id: &str) -> Vec<Value> {
    app.timeline_on("whatsapp", key, id).await
}

/// Posts a callback to Meta's webhook route, signed with `secret` as Meta signs it.
async fn meta(app: &TestApp, payload: &Value, secret: &str) -> reqwest::Response {
    let body = serde_json::to_vec(payload).unwrap();
    app.request(reqwest::Method::POST, "/v1/webhooks/whatsapp", None)
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            domain::signatures::hub_signature(secret, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

fn callback(line: &str, value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({"display_phone_number": "15550001111", "phone_number_id": line});
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
        "changes": [{"field": "messages", "value": value}]}]})
}

fn status(line: &str, wamid: &str, state: &str) -> Value {
    callback(
        line,
        json!({"statuses": [{"id": wamid, "status": state, "timestamp": "1750263773", "recipient_id": "2348067000111"}]}),
    )
}

fn user_text(line: &str, from: &str, body: &str) -> Value {
    callback(
        line,
        json!({"contacts": [{"profile": {"name": "Ada"}, "wa_id": from}],
               "messages": [{"from": from, "id": format!("wamid.IN{}", uuid::Uuid::now_v7().simple()), "timestamp": "1750263773", "type": "text", "text": {"body": body}}]}),
    )
}

/// The Graph API requests the stand-in received, with the path and token of each.
async fn graph_calls(graph: &MockServer) -> Vec<(String, String, Value)> {
    graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.url.path().to_owned(),
                r.headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default(),
                serde_json::from_slice(&r.body).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_sandbox_sends_text_and_templates_with_outcomes_by_recipient() {
    let app = spawn_app().await;
    let (_, key) = wa_tenant(&app, "Acme").await;
    let m = send(&app, &key, text("+2348067000111")).await;
    assert_eq!(m["status"], "QUEUED");
    assert_eq!(m["channel"], "whatsapp");
    assert_eq!(m["to"], "+2348067000111");
    assert_eq!(m["type"], "text");
    assert_eq!(m["text"]["previewUrl"], true);
    let id = id_of(&m);
    let read = wait_for(&app, &key, &id, "READ").await;
    assert!(
        read["providerMessageId"]
            .as_str()
            .unwrap()
            .starts_with("wamid.")
    );
    assert_eq!(
        statuses(&timeline(&app, &key, &id).await),
        vec!["QUEUED", "PROCESSING", "SENT", "DELIVERED", "READ"]
    );
    // The send's answer is the Graph API's, as tenants may see it.
    let sent = timeline(&app, &key, &id)
        .await
        .into_iter()
        .find(|e| e["status"] == "SENT")
        .unwrap();
    assert_eq!(
        sent["detail"]["messages"][0]["id"],
        read["providerMessageId"]
    );

    let t = send(&app, &key, template("+2348067000112")).await;
    let t = wait_for(&app, &key, &id_of(&t), "READ").await;
    assert_eq!(t["template"]["name"], "order_update");
    assert_eq!(t["template"]["language"], "en_US");
    assert_eq!(t["template"]["components"][0]["type"], "body");

    let refused = send(&app, &key, text("+2348067000000")).await;
    let refused = wait_for(&app, &key, &id_of(&refused), "FAILED").await;
    assert_eq!(refused["error"]["code"], "SANDBOX_REFUSED");
    let failed = send(&app, &key, text("+2348067000001")).await;
    let failed = wait_for(&app, &key, &id_of(&failed), "FAILED").await;
    assert_eq!(failed["error"]["code"], "META_131026");
    assert_eq!(
        statuses(&timeline(&app, &key, &id_of(&failed)).await),
        vec!["QUEUED", "PROCESSING", "SENT", "FAILED"]
    );
    let silent = send(&app, &key, text("+2348067000002")).await;
    wait_for(&app, &key, &id_of(&silent), "SENT").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    wait_for(&app, &key, &id_of(&silent), "SENT").await;

    let list = app
        .get_json("/v1/public/whatsapp?status=READ&pageSize=10", &key)
        .await;
    assert_eq!(list["total"], 2);
    let found = app
        .get_json("/v1/public/whatsapp?query=order_update", &key)
        .await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["data"][0]["externalId"], "order-7");
    let res = app.get("/v1/public/whatsapp?status=BOUNCED", &key).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn whatsapp_sends_are_validated_and_the_routes_need_their_scopes() {
    let app = spawn_app_with(Roles::API, |_| {}).await;
    let (tenant, key) = wa_tenant(&app, "Acme").await;
    for (body, field) in [
        (
            json!({"to": "+2348067000111", "text": {"body": "hi"}}),
            "type",
        ),
        (
            json!({"to": "+2348067000111", "type": "image", "text": {"body": "hi"}}),
            "type",
        ),
        (
            json!({"to": "2348067000111", "type": "text", "text": {"body": "hi"}}),
            "to",
        ),
        (
            json!({"to": "+2348067000111", "type": "text", "text": {"body": "x".repeat(4097)}}),
            "text.body",
        ),
        (
            json!({"to": "+2348067000111", "type": "text", "text": {"body": "  "}}),
            "text.body",
        ),
        (
            json!({"to": "+2348067000111", "type": "template", "template": {"name": "order_update"}}),
            "template.language",
        ),
        (
            json!({"to": "+2348067000111", "type": "template", "template": {"name": "Order Update", "language": "en_US"}}),
            "template.name",
        ),
        (
            json!({"to": "+2348067000111", "type": "template", "template": {"name": "a", "language": "en_US", "components": {"type": "body"}}}),
            "template.components",
        ),
        (
            json!({"to": "+2348067000111", "type": "text", "text": {"body": "hi"}, "template": {"name": "a", "language": "en"}}),
            "template",
        ),
    ] {
        let res = app
            .post("/v1/public/whatsapp/send", Some(&key), body.clone())
            .await;
        let err = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
        let fields: Vec<&str> = err["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{body} → {err}");
    }
    let res = app
        .post(
            "/v1/public/whatsapp/batch",
            Some(&key),
            json!({"messages": [text("+2348067000111"), {"to": "+2348067000112", "type": "text"}]}),
        )
        .await;
    let err = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_eq!(err["error"]["details"][0]["field"], "messages[1].text.body");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);

    // A batch is all or nothing, in request order.
    let res = app
        .post(
            "/v1/public/whatsapp/batch",
            Some(&key),
            json!({"messages": [text("+2348067000111"), template("+2348067000112")]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let batch: Value = res.json().await.unwrap();
    assert_eq!(batch["data"][1]["type"], "template");

    // Scopes, roles and tenants.
    let sms_only = app.api_key(&tenant, &["send:sms", "read:sms"]).await;
    let res = app
        .post(
            "/v1/public/whatsapp/send",
            Some(&sms_only),
            text("+2348067000111"),
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE").await;
    let res = app.get("/v1/public/whatsapp", &sms_only).await;
    assert_error(res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE").await;
    let (_, viewer) = app.member(&tenant, "VIEWER").await;
    let res = app
        .post("/v1/whatsapp/send", Some(&viewer), text("+2348067000111"))
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_eq!(app.get_json("/v1/whatsapp", &viewer).await["total"], 2);

    let mut later = text("+2348067000113");
    later["scheduledAt"] = json!((chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339());
    let res = app
        .post("/v1/whatsapp/send", Some(&tenant.token), later)
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let id = id_of(&res.json::<Value>().await.unwrap());
    let (other, other_key) = wa_tenant(&app, "Other").await;
    for path in [
        format!("/v1/public/whatsapp/{id}"),
        format!("/v1/public/whatsapp/{id}/timeline"),
    ] {
        let res = app.get(&path, &other_key).await;
        assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
    let res = app
        .post(
            &format!("/v1/whatsapp/{id}/cancel"),
            Some(&other.token),
            json!({}),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let sms_key = app.api_key(&tenant, &["read:sms"]).await;
    let res = app.get(&format!("/v1/public/sms/{id}"), &sms_key).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .post(
            &format!("/v1/public/whatsapp/{id}/cancel"),
            Some(&key),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "CANCELED");
}

#[tokio::test]
async fn the_cloud_api_sends_from_the_platform_line_and_signed_statuses_move_messages() {
    let graph = graph().await;
    let app = app_with(cloud_settings(&graph)).await;
    let (tenant, key) = wa_tenant(&app, "Acme").await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let (endpoint_id, _) = crate::webhooks::endpoint(
        &app,
        &tenant,
        receiver.uri(),
        json!(["whatsapp_delivered", "whatsapp_read"]),
    )
    .await;

    let t = send(&app, &key, text("+2348067000111")).await;
    let p = send(&app, &key, template("+2348067000112")).await;
    let t = wait_for(&app, &key, &id_of(&t), "SENT").await;
    let p = wait_for(&app, &key, &id_of(&p), "SENT").await;
    let calls = graph_calls(&graph).await;
    assert_eq!(calls.len(), 2);
    for (path, auth, _) in &calls {
        assert_eq!(path, &format!("/v21.0/{PLATFORM_LINE}/messages"));
        assert_eq!(auth, &format!("Bearer {PLATFORM_TOKEN}"));
    }
    let body_to = |to: &str| {
        calls
            .iter()
            .find(|(_, _, b)| b["to"] == to)
            .unwrap()
            .2
            .clone()
    };
    assert_eq!(
        body_to("+2348067000111"),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+2348067000111",
               "biz_opaque_callback_data": id_of(&t), "type": "text", "text": {"preview_url": true, "body": "Your order has shipped: https://acme.example/o/1"}})
    );
    assert_eq!(
        body_to("+2348067000112"),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+2348067000112",
               "biz_opaque_callback_data": id_of(&p), "type": "template", "template": {"name": "order_update", "language": {"code": "en_US"},
               "components": [{"type": "body", "parameters": [{"type": "text", "text": "7"}]}]}})
    );
    let t_wamid = t["providerMessageId"].as_str().unwrap().to_owned();
    let p_wamid = p["providerMessageId"].as_str().unwrap().to_owned();
    assert!(t_wamid.starts_with("wamid.T"));
    let sender: Option<String> =
        sqlx::query_scalar("SELECT sender FROM messages WHERE id = $1::uuid")
            .bind(id_of(&t))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(sender.as_deref(), Some(PLATFORM_LINE));

    // Delivered, then read; a repeat adds nothing.
    for state in ["delivered", "read", "read"] {
        let res = meta(&app, &status(PLATFORM_LINE, &t_wamid, state), APP_SECRET).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    wait_for(&app, &key, &id_of(&t), "READ").await;
    // Read before delivered still ends READ; the late delivered is refused on the timeline.
    let res = meta(&app, &status(PLATFORM_LINE, &p_wamid, "read"), APP_SECRET).await;
    assert_eq!(res.status(), StatusCode::OK);
    wait_for(&app, &key, &id_of(&p), "READ").await;
    let res = meta(
        &app,
        &status(PLATFORM_LINE, &p_wamid, "delivered"),
        APP_SECRET,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !entry_types(&timeline(&app, &key, &id_of(&p)).await)
        .contains(&"receipt_ignored".to_owned())
    {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        wait_for(&app, &key, &id_of(&p), "READ").await["status"],
        "READ"
    );
    assert_eq!(
        statuses(&timeline(&app, &key, &id_of(&t)).await),
        vec!["QUEUED", "PROCESSING", "SENT", "DELIVERED", "READ"]
    );

    // Customer webhooks for each change subscribed to.
    let deliveries = settled(&app, &tenant, &endpoint_id, 3).await;
    let mut types: Vec<String> = deliveries
        .iter()
        .map(|d| d["eventType"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    assert_eq!(
        types,
        vec!["whatsapp_delivered", "whatsapp_read", "whatsapp_read"]
    );
    assert!(deliveries.iter().all(|d| d["status"] == "SUCCEEDED"));
    let bodies: Vec<Value> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| b["type"] == "whatsapp_read" && b["data"]["providerMessageId"] == t_wamid)
    );

    // A bad signature is refused and changes nothing.
    let receipts_before: i64 = sqlx::query_scalar("SELECT count(*) FROM receipts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let res = meta(&app, &status(PLATFORM_LINE, &t_wamid, "failed"), "wrong").await;
    assert_error(res, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let res = app
        .request(reqwest::Method::POST, "/v1/webhooks/whatsapp", None)
        .body(serde_json::to_vec(&status(PLATFORM_LINE, &t_wamid, "failed")).unwrap())
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let receipts_after: i64 = sqlx::query_scalar("SELECT count(*) FROM receipts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(receipts_before, receipts_after);
    assert_eq!(
        wait_for(&app, &key, &id_of(&t), "READ").await["error"],
        Value::Null
    );

    // Meta's refusal keeps Meta's code and message.
    let refused = send(&app, &key, text("+2348067009999")).await;
    let refused = wait_for(&app, &key, &id_of(&refused), "FAILED").await;
    assert_eq!(refused["error"]["code"], "META_131030");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allowed list")
    );
    // A failed status keeps Meta's first error.
    let f = send(&app, &key, text("+2348067000113")).await;
    let f = wait_for(&app, &key, &id_of(&f), "SENT").await;
    let mut failed = status(
        PLATFORM_LINE,
        f["providerMessageId"].as_str().unwrap(),
        "failed",
    );
    failed["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"] = json!([{
        "code": 131026, "title": "Message undeliverable",
        "error_data": {"details": "Message Undeliverable."}}]);
    assert_eq!(
        meta(&app, &failed, APP_SECRET).await.status(),
        StatusCode::OK
    );
    let f = wait_for(&app, &key, &id_of(&f), "FAILED").await;
    assert_eq!(
        f["error"],
        json!({"code": "META_131026", "message": "Message Undeliverable."})
    );
}

#[tokio::test]
async fn a_tenant_sends_from_its_own_line_and_a_line_has_one_owner() {
    let graph = graph().await;
    let app = app_with(cloud_settings(&graph)).await;
    let (acme, key) = wa_tenant(&app, "Acme").await;
    let line = "/v1/account/whatsapp-cloud-line";
    let shown = app.get_json(line, &acme.token).await;
    assert_eq!(
        shown,
        json!({"whatsappPhoneNumberId": null, "usesPlatformDefault": true, "platformLineConfigured": true})
    );
    let res = app
        .patch(
            line,
            &acme.token,
            json!({"whatsappPhoneNumberId": "2222", "whatsappAccessToken": "tenant-token"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(!body.contains("tenant-token"));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"whatsappPhoneNumberId": "2222", "usesPlatformDefault": false, "platformLineConfigured": true})
    );
    let stored: String =
        sqlx::query_scalar("SELECT whatsapp_access_token FROM organizations WHERE id = $1::uuid")
            .bind(&acme.organization_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!stored.contains("tenant-token") && stored.starts_with("v2:"));

    let m = send(&app, &key, text("+2348067000111")).await;
    let m = wait_for(&app, &key, &id_of(&m), "SENT").await;
    let calls = graph_calls(&graph).await;
    assert_eq!(calls.last().unwrap().0, "/v21.0/2222/messages");
    assert_eq!(calls.last().unwrap().1, "Bearer tenant-token");
    // Statuses on the tenant's line apply to the tenant's messages.
    let wamid = m["providerMessageId"].as_str().unwrap();
    let res = meta(&app, &status("2222", wamid, "delivered"), APP_SECRET).await;
    assert_eq!(res.status(), StatusCode::OK);
    wait_for(&app, &key, &id_of(&m), "DELIVERED").await;

    // The line has one owner; the platform's is not for the taking.
    let other = app.signup("Other").await;
    for id in ["2222", PLATFORM_LINE] {
        let res = app
            .patch(line, &other.token, json!({"whatsappPhoneNumberId": id}))
            .await;
        assert_error(res, StatusCode::CONFLICT, "WHATSAPP_PHONE_NUMBER_ID_IN_USE").await;
    }
    assert_eq!(
        app.get_json(line, &other.token).await["usesPlatformDefault"],
        true
    );
    // Two concurrent claims of one line: one wins.
    let (c, d) = (app.signup("C").await, app.signup("D").await);
    let claim = |t: String| {
        let app = &app;
        async move {
            app.patch(line, &t, json!({"whatsappPhoneNumberId": "3333"}))
                .await
                .status()
        }
    };
    let (a, b) = tokio::join!(claim(c.token.clone()), claim(d.token.clone()));
    let mut codes = vec![a, b];
    codes.sort();
    assert_eq!(codes, vec![StatusCode::OK, StatusCode::CONFLICT]);

    // Bad input changes nothing.
    for body in [
        json!({}),
        json!({"whatsappPhoneNumberId": "12ab"}),
        json!({"whatsappAccessToken": ""}),
        json!({"whatsappPhoneNumberId": 2222}),
    ] {
        let res = app.patch(line, &acme.token, body).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    }
    assert_eq!(
        app.get_json(line, &acme.token).await["whatsappPhoneNumberId"],
        "2222"
    );
    // Roles and credentials.
    let (_, viewer) = app.member(&acme, "VIEWER").await;
    assert_eq!(
        app.get_json(line, &viewer).await["whatsappPhoneNumberId"],
        "2222"
    );
    let res = app
        .patch(line, &viewer, json!({"whatsappPhoneNumberId": null}))
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let res = app.get(line, &key).await;
    assert_error(res, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;

    // Without its own token the tenant's line sends with the platform's; null clears the line.
    let res = app
        .patch(line, &acme.token, json!({"whatsappAccessToken": null}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let m = send(&app, &key, text("+2348067000112")).await;
    wait_for(&app, &key, &id_of(&m), "SENT").await;
    let calls = graph_calls(&graph).await;
    assert_eq!(calls.last().unwrap().0, "/v21.0/2222/messages");
    assert_eq!(calls.last().unwrap().1, format!("Bearer {PLATFORM_TOKEN}"));
    let res = app
        .patch(line, &acme.token, json!({"whatsappPhoneNumberId": null}))
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["usesPlatformDefault"],
        true
    );
    let m = send(&app, &key, text("+2348067000113")).await;
    wait_for(&app, &key, &id_of(&m), "SENT").await;
    assert_eq!(
        graph_calls(&graph).await.last().unwrap().0,
        format!("/v21.0/{PLATFORM_LINE}/messages")
    );
}

#[tokio::test]
async fn a_status_that_outruns_the_send_is_held_and_applied() {
    let graph = graph().await;
    let app = app_with(cloud_settings(&graph)).await;
    let (_, key) = wa_tenant(&app, "Acme").await;
    let m = send(&app, &key, text("+2348067005555")).await;
    let id = id_of(&m);
    wait_for(&app, &key, &id, "PROCESSING").await;
    let res = meta(
        &app,
        &status(PLATFORM_LINE, "wamid.LATE", "delivered"),
        APP_SECRET,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let m = app
        .get_json(&format!("/v1/public/whatsapp/{id}"), &key)
        .await;
    assert_eq!(m["status"], "PROCESSING");
    let m = wait_for(&app, &key, &id, "DELIVERED").await;
    assert_eq!(m["providerMessageId"], "wamid.LATE");
    assert_eq!(
        statuses(&timeline(&app, &key, &id).await),
        vec!["QUEUED", "PROCESSING", "SENT", "DELIVERED"]
    );
}

#[tokio::test]
async fn metas_routes_check_the_vectors_the_handshake_and_the_switch() {
    let graph = graph().await;
    let app = app_with(cloud_settings(&graph)).await;
    let vectors: Value =
        serde_json::from_str(include_str!("../../vectors/signatures.json")).unwrap();
    let cases = vectors["whatsappHubSignature256"].as_array().unwrap();
    assert!(cases.len() >= 2);
    for case in cases {
        assert_eq!(case["appSecret"], APP_SECRET, "one app per secret");
        let res = app
            .request(reqwest::Method::POST, "/v1/webhooks/whatsapp", None)
            .header("x-hub-signature-256", case["header"].as_str().unwrap())
            .body(case["body"].as_str().unwrap().to_owned())
            .send()
            .await
            .unwrap();
        let expected = if case["valid"].as_bool().unwrap() {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(res.status(), expected, "{}", case["name"]);
    }
    let receipts: i64 = sqlx::query_scalar("SELECT count(*) FROM receipts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let valid = cases.iter().filter(|c| c["valid"] == true).count() as i64;
    assert_eq!(receipts, valid);

    let hub = |token: &str, mode: &str| {
        format!(
            "/v1/webhooks/whatsapp?hub.mode={mode}&hub.verify_token={token}&hub.challenge=1158201444"
        )
    };
    let res = app
        .request(reqwest::Method::GET, &hub(VERIFY_TOKEN, "subscribe"), None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(res.text().await.unwrap(), "1158201444");
    for (token, mode) in [("wrong", "subscribe"), (VERIFY_TOKEN, "unsubscribe")] {
        let res = app
            .request(reqwest::Method::GET, &hub(token, mode), None)
            .send()
            .await
            .unwrap();
        assert_error(res, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    }

    // The cloud provider switched off: sends are refused and Meta's routes are not there.
    let mut off = cloud_settings(&graph);
    off.retain(|(k, _)| k != "WHATSAPP_CLOUD_API_ENABLED");
    let app = app_with(off).await;
    let (_, key) = wa_tenant(&app, "Acme").await;
    let res = app
        .post(
            "/v1/public/whatsapp/send",
            Some(&key),
            text("+2348067000111"),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "CHANNEL_DISABLED").await;
    let res = app
        .request(reqwest::Method::GET, &hub(VERIFY_TOKEN, "subscribe"), None)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let res = meta(&app, &status(PLATFORM_LINE, "wamid.X", "read"), APP_SECRET).await;
    assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    // Enabled but without any line: refused until the tenant or the platform has one.
    let mut lineless = cloud_settings(&graph);
    lineless.retain(|(k, _)| k != "WHATSAPP_PHONE_NUMBER_ID");
    let app = app_with(lineless).await;
    let (tenant, key) = wa_tenant(&app, "Acme").await;
    let res = app
        .post(
            "/v1/public/whatsapp/send",
            Some(&key),
            text("+2348067000111"),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "CHANNEL_DISABLED").await;
    let res = app
        .patch(
            "/v1/account/whatsapp-cloud-line",
            &tenant.token,
            json!({"whatsappPhoneNumberId": "4444"}),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["platformLineConfigured"],
        false
    );
    send(&app, &key, text("+2348067000111")).await;
}

/// Sends to +2348067000111 until the answer is `status` (an inbound text is applied by a job).
async fn send_until(app: &TestApp, key: &str, status: StatusCode) -> reqwest::Response {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let res = app
            .post(
                "/v1/public/whatsapp/send",
                Some(key),
                text("+2348067000111"),
            )
            .await;
        if res.status() == status {
            return res;
        }
        assert!(tokio::time::Instant::now() < deadline, "never {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn users_stop_and_start_whatsapp_and_their_messages_reach_the_timeline() {
    let app = app_with(vec![
        ("WHATSAPP_APP_SECRET".into(), APP_SECRET.into()),
        ("WHATSAPP_PHONE_NUMBER_ID".into(), PLATFORM_LINE.into()),
    ])
    .await;
    let (acme, key) = wa_tenant(&app, "Acme").await;
    let m = send(&app, &key, text("+2348067000111")).await;
    wait_for(&app, &key, &id_of(&m), "READ").await;

    // Meta delivers the same callback twice: the user's message is kept once.
    let stop = user_text(PLATFORM_LINE, "2348067000111", " stop ");
    for _ in 0..2 {
        let res = meta(&app, &stop, APP_SECRET).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept, 1);
    let res = send_until(&app, &key, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "RECIPIENT_OPTED_OUT").await;
    // The user's message is on the timeline of the latest message to them when it arrived.
    let sent = app
        .get_json("/v1/public/whatsapp?query=2348067000111", &key)
        .await;
    let mut notes = Vec::new();
    for m in sent["data"].as_array().unwrap() {
        notes.extend(
            timeline(&app, &key, &id_of(m))
                .await
                .into_iter()
                .filter(|e| e["type"] == "note" && e["detail"]["reason"] == "inbound_message"),
        );
    }
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = &notes[0];
    assert_eq!(note["detail"]["text"], " stop ");
    assert_eq!(note["detail"]["outcome"], "opted_out");
    // The opt-out is WhatsApp's only: SMS to the same number is still accepted.
    app.approve_sender(&acme, "Herald").await;
    let sms_key = app.api_key(&acme, &["send:sms"]).await;
    app.send_sms(&sms_key, "+2348067000111").await;
    // No sms_opt_out event: the SMS list of opt-outs is untouched.
    let sms_opt_outs = app.get_json("/v1/sms/opt-outs", &acme.token).await;
    assert_eq!(sms_opt_outs["total"], 0);

    let res = meta(
        &app,
        &user_text(PLATFORM_LINE, "2348067000111", "START"),
        APP_SECRET,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    send_until(&app, &key, StatusCode::ACCEPTED).await;
}

#[tokio::test]
async fn a_mapped_line_belongs_to_its_organization_before_it_sent_anything() {
    // The organization exists before the process that routes its line starts.
    let app = spawn_app_with(Roles::API, |_| {}).await;
    let (mapped, mapped_key) = wa_tenant(&app, "Mapped").await;
    let second = spawn_app_on(app.database_url.clone(), Roles::ALL, |s| {
        s.insert("WHATSAPP_APP_SECRET".into(), APP_SECRET.into());
        s.insert(
            "WHATSAPP_LINE_MAP".into(),
            format!("7777:{}", mapped.organization_id),
        );
    })
    .await;
    let res = meta(
        &second,
        &user_text("7777", "2348067000333", "STOP"),
        APP_SECRET,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT organization_id::text, channel FROM opt_outs WHERE phone_number = '+2348067000333'",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap();
        if !rows.is_empty() {
            assert_eq!(
                rows,
                vec![(mapped.organization_id.clone(), "whatsapp".to_owned())]
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never routed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let res = second
        .post(
            "/v1/public/whatsapp/send",
            Some(&mapped_key),
            text("+2348067000333"),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "RECIPIENT_OPTED_OUT").await;
}

#[tokio::test]
async fn herald_all_sends_through_the_cloud_api_and_keeps_tokens_out_of_its_logs() {
    let graph = graph().await;
    let database_url = fresh_database().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let bind = format!("127.0.0.1:{port}");
    let log = std::env::temp_dir().join(format!("herald-wa-{}.log", uuid::Uuid::now_v7()));
    let mut settings = cloud_settings(&graph);
    settings.push(("BIND_ADDR".into(), bind.clone()));
    let env: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let _herald = crate::processes::herald(&["all"], &database_url, &env, &log);
    let app = remote(format!("http://{bind}"), database_url).await;

    let (tenant, key) = wa_tenant(&app, "Acme").await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let (endpoint_id, _) =
        crate::webhooks::endpoint(&app, &tenant, receiver.uri(), json!([])).await;
    let own = app.signup("Ownline").await;
    let own_token = "EAAGtenant41d2secret";
    let res = app
        .patch(
            "/v1/account/whatsapp-cloud-line",
            &own.token,
            json!({"whatsappPhoneNumberId": "2222", "whatsappAccessToken": own_token}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let own_key = app.api_key(&own, &["send:whatsapp", "read:whatsapp"]).await;

    let t = send(&app, &key, text("+2348067000111")).await;
    let p = send(&app, &key, template("+2348067000112")).await;
    let o = send(&app, &own_key, text("+2348067000113")).await;
    let mut wamids = Vec::new();
    for m in [&t, &p] {
        let sent = wait_for(&app, &key, &id_of(m), "SENT").await;
        wamids.push(sent["providerMessageId"].as_str().unwrap().to_owned());
    }
    wait_for(&app, &own_key, &id_of(&o), "SENT").await;
    let calls = graph_calls(&graph).await;
    let by_to = |to: &str| calls.iter().find(|c| c.2["to"] == to).unwrap().clone();
    let (path, auth, body) = by_to("+2348067000111");
    assert_eq!(path, format!("/v21.0/{PLATFORM_LINE}/messages"));
    assert_eq!(auth, format!("Bearer {PLATFORM_TOKEN}"));
    assert_eq!(
        body["text"]["body"],
        "Your order has shipped: https://acme.example/o/1"
    );
    let (_, _, body) = by_to("+2348067000112");
    assert_eq!(body["template"]["language"], json!({"code": "en_US"}));
    let (path, auth, _) = by_to("+2348067000113");
    assert_eq!(path, "/v21.0/2222/messages");
    assert_eq!(auth, format!("Bearer {own_token}"));

    for wamid in &wamids {
        for state in ["delivered", "read"] {
            let res = meta(&app, &status(PLATFORM_LINE, wamid, state), APP_SECRET).await;
            assert_eq!(res.status(), StatusCode::OK);
        }
    }
    for m in [&t, &p] {
        wait_for(&app, &key, &id_of(m), "READ").await;
    }
    // QUEUED, PROCESSING, SENT, DELIVERED and READ of two messages.
    let deliveries = settled(&app, &tenant, &endpoint_id, 10).await;
    assert_eq!(deliveries.len(), 10);
    assert!(deliveries.iter().all(|d| d["status"] == "SUCCEEDED"));
    let types: Vec<String> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(types.iter().filter(|t| *t == "whatsapp_read").count(), 2);

    let output = std::fs::read_to_string(&log).unwrap();
    assert!(
        output.contains("message handed to the provider"),
        "{output}"
    );
    for secret in [PLATFORM_TOKEN, own_token, APP_SECRET] {
        assert!(!output.contains(secret), "{secret} reached the log");
    }
}

#[tokio::test]
async fn metas_throttling_is_retried_whatever_the_http_status() {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429}})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"messages": [{"id": "wamid.AFTER"}]})),
        )
        .with_priority(2)
        .mount(&graph)
        .await;
    let app = app_with(cloud_settings(&graph)).await;
    let (_, key) = wa_tenant(&app, "Acme").await;
    let m = send(&app, &key, text("+2348067000111")).await;
    let m = wait_for(&app, &key, &id_of(&m), "SENT").await;
    assert_eq!(m["providerMessageId"], "wamid.AFTER");
    assert_eq!(m["error"], Value::Null);
    let entries = timeline(&app, &key, &id_of(&m)).await;
    let retry = entries
        .iter()
        .find(|e| e["type"] == "provider_response")
        .expect("the throttled attempt is on the timeline");
    assert_eq!(retry["detail"]["error"]["code"], "META_130429");
    assert_eq!(graph.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_key_rotation_reseals_line_tokens_and_they_still_send() {
    let graph = graph().await;
    // The first process serves the API only: no worker of the old key is left to take the send.
    let settings = cloud_settings(&graph);
    let app = spawn_app_with(Roles::API, move |s| s.extend(settings)).await;
    let (acme, _) = wa_tenant(&app, "Acme").await;
    let res = app
        .patch(
            "/v1/account/whatsapp-cloud-line",
            &acme.token,
            json!({"whatsappPhoneNumberId": "2222", "whatsappAccessToken": "EAAGrotated"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let token_of = |pool: sqlx::PgPool, org: String| async move {
        sqlx::query_scalar::<_, String>(
            "SELECT whatsapp_access_token FROM organizations WHERE id = $1::uuid",
        )
        .bind(org)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert!(
        token_of(app.pool.clone(), acme.organization_id.clone())
            .await
            .starts_with("v2:k1:")
    );
    // The next start has a new current key and keeps the old one to open what it sealed.
    let mut rotated = cloud_settings(&graph);
    rotated.extend([
        ("SECRETS_ENCRYPTION_KEY_ID".into(), "k2".into()),
        (
            "SECRETS_ENCRYPTION_KEY".into(),
            "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=".into(),
        ),
        (
            "SECRETS_PREVIOUS_KEYS".into(),
            "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
        ),
    ]);
    let again = spawn_app_on(app.database_url.clone(), Roles::ALL, move |s| {
        s.extend(rotated)
    })
    .await;
    assert!(
        token_of(again.pool.clone(), acme.organization_id.clone())
            .await
            .starts_with("v2:k2:")
    );
    let key = again
        .api_key(&acme, &["send:whatsapp", "read:whatsapp"])
        .await;
    let m = send(&again, &key, text("+2348067000111")).await;
    again.wait_on("whatsapp", &key, &id_of(&m), "SENT").await;
    let (path, auth, _) = graph_calls(&graph).await.pop().unwrap();
    assert_eq!(path, "/v21.0/2222/messages");
    assert_eq!(auth, "Bearer EAAGrotated");
}
