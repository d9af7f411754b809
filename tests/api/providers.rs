//! Each real SMS provider against a local stand-in (wiremock) speaking its API.

use std::time::Duration;

use herald::Roles;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_string_contains, header, method, path},
};

use crate::helpers::*;

const SID: &str = "AC0123456789";
const AUTH: &str = "twilio-auth-token";

async fn twilio_app(server: &MockServer, extra: &[(&str, &str)]) -> TestApp {
    let uri = server.uri();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    spawn_app_with(Roles::ALL, move |s| {
        s.insert("SMS_PROVIDER".into(), "twilio".into());
        s.insert("TWILIO_API_BASE".into(), uri);
        s.insert("TWILIO_ACCOUNT_SID".into(), SID.into());
        s.insert("TWILIO_AUTH_TOKEN".into(), AUTH.into());
        s.insert(
            "PUBLIC_BASE_URL".into(),
            "https://herald.example.com".into(),
        );
        s.extend(extra);
    })
    .await
}

fn messages_path() -> String {
    format!("/2010-04-01/Accounts/{SID}/Messages.json")
}

fn accepted(sid: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({"sid": sid, "status": "queued"}))
}

#[tokio::test]
async fn twilio_sends_with_basic_auth_and_our_status_callback() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(messages_path()))
        .and(header(
            "authorization",
            "Basic QUMwMTIzNDU2Nzg5OnR3aWxpby1hdXRoLXRva2Vu",
        ))
        .respond_with(accepted("SM100"))
        .expect(1)
        .mount(&server)
        .await;
    let app = twilio_app(&server, &[]).await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    let m = app.wait_for_status(&key, &id, "SENT").await;
    assert_eq!(m["providerMessageId"], "SM100");
    let req = &server.received_requests().await.unwrap()[0];
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&req.body).unwrap();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("To"), Some("+2348067000111"));
    assert_eq!(get("From"), Some("Herald"));
    assert_eq!(get("Body"), Some("Your code is 123456"));
    assert_eq!(
        get("StatusCallback"),
        Some("https://herald.example.com/v1/webhooks/sms/twilio")
    );

    // Twilio's signed status callback delivers it; a forged one is refused.
    let params = vec![
        ("MessageSid".to_string(), "SM100".to_string()),
        ("MessageStatus".to_string(), "delivered".to_string()),
    ];
    let url = "https://herald.example.com/v1/webhooks/sms/twilio";
    let callback = |sig: String| {
        app.request(Method::POST, "/v1/webhooks/sms/twilio", None)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", sig)
            .body(serde_urlencoded::to_string(&params).unwrap())
            .send()
    };
    assert_error(
        callback("forged".into()).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    let sig = domain::signatures::twilio_signature(AUTH, url, &params);
    assert_eq!(callback(sig).await.unwrap().status(), StatusCode::OK);
    app.wait_for_status(&key, &id, "DELIVERED").await;
}

#[tokio::test]
async fn twilio_permanent_errors_fail_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(messages_path()))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})))
        .expect(1)
        .mount(&server)
        .await;
    let app = twilio_app(&server, &[]).await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    let m = app.wait_for_status(&key, &id, "FAILED").await;
    assert_eq!(m["error"]["code"], "TWILIO_21211");
    let timeline = app.timeline(&key, &id).await;
    assert_eq!(
        timeline.last().unwrap()["detail"]["status"],
        400,
        "the provider's answer is kept"
    );
}

#[tokio::test]
async fn twilio_429_5xx_and_time_outs_are_retried_later() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(messages_path()))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"code": 20429, "message": "Too Many Requests"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(messages_path()))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(messages_path()))
        .respond_with(accepted("SM200"))
        .mount(&server)
        .await;
    let app = twilio_app(&server, &[("SMS_PROVIDER_TIMEOUT", "1s")]).await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    app.wait_for_status(&key, &id, "SENT").await;
    let timeline = app.timeline(&key, &id).await;
    let codes: Vec<&str> = timeline
        .iter()
        .filter(|e| e["type"] == "provider_response")
        .map(|e| e["detail"]["error"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["TWILIO_20429", "PROVIDER_TIMEOUT"]);
    // Retry-After: 1 is the least Twilio asks for; the first retry still waits Herald's backoff (5 s).
    let throttled = timeline
        .iter()
        .find(|e| e["type"] == "provider_response")
        .unwrap();
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let waited = at(&throttled["detail"]["retryAt"]) - at(&throttled["occurredAt"]);
    assert!(
        waited >= chrono::Duration::milliseconds(4900),
        "{waited} {throttled}"
    );
    assert_eq!(statuses(&timeline), vec!["QUEUED", "PROCESSING", "SENT"]);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn twilio_is_polled_for_messages_still_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(messages_path()))
        .respond_with(accepted("SM300"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/2010-04-01/Accounts/{SID}/Messages/SM300.json"
        )))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"sid": "SM300", "status": "undelivered", "error_code": 30003}),
            ),
        )
        .mount(&server)
        .await;
    let app = twilio_app(&server, &[("SMS_STATUS_POLL_AFTER", "1s")]).await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    let m = app.wait_for_status(&key, &id, "FAILED").await;
    assert_eq!(m["error"]["code"], "30003");
    assert_eq!(
        statuses(&app.timeline(&key, &id).await),
        vec!["QUEUED", "PROCESSING", "SENT", "FAILED"]
    );
}

#[tokio::test]
async fn polling_gives_up_with_a_note_and_the_message_stays_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(messages_path()))
        .respond_with(accepted("SM400"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/2010-04-01/Accounts/{SID}/Messages/SM400.json"
        )))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"sid": "SM400", "status": "sent"})),
        )
        .mount(&server)
        .await;
    let app = twilio_app(
        &server,
        &[
            ("SMS_STATUS_POLL_AFTER", "1s"),
            ("SMS_STATUS_POLL_GIVE_UP", "3s"),
        ],
    )
    .await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let t = app.timeline(&key, &id).await;
        if let Some(note) = t.iter().find(|e| e["type"] == "note") {
            assert_eq!(note["detail"]["reason"], "status_poll_gave_up");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "polling never gave up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let m = app.message(&key, &id).await;
    assert_eq!(m["status"], "SENT");
    let polls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    assert!(polls >= 1);
}

#[tokio::test]
async fn termii_sends_with_the_sender_id_and_takes_signed_delivery_reports() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/sms/send"))
        .and(body_string_contains("\"api_key\":\"termii-key\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"code": "ok", "message_id": "3017544054459155", "message": "Successfully Sent", "balance": 9, "user": "Acme"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/sms/send"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"message": "ApplicationSenderId not found"})),
        )
        .mount(&server)
        .await;
    let uri = server.uri();
    let app = spawn_app_with(Roles::ALL, move |s| {
        s.insert("SMS_PROVIDER".into(), "termii".into());
        s.insert("TERMII_API_BASE".into(), uri);
        s.insert("TERMII_API_KEY".into(), "termii-key".into());
        s.insert("TERMII_WEBHOOK_SECRET".into(), "termii-secret".into());
    })
    .await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    let m = app.wait_for_status(&key, &id, "SENT").await;
    assert_eq!(m["providerMessageId"], "3017544054459155");
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(
        (
            sent["to"].as_str(),
            sent["from"].as_str(),
            sent["sms"].as_str()
        ),
        (
            Some("2348067000111"),
            Some("Herald"),
            Some("Your code is 123456")
        )
    );

    let report = json!({"type": "outbound", "id": "x", "message_id": "3017544054459155", "receiver": "2348067000111", "status": "Delivered"}).to_string();
    let post = |sig: String| {
        app.request(Method::POST, "/v1/webhooks/sms/termii", None)
            .header("content-type", "application/json")
            .header("x-termii-signature", sig)
            .body(report.clone())
            .send()
    };
    assert_error(
        post("0".repeat(128)).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    let sig = domain::signatures::termii_signature("termii-secret", report.as_bytes());
    assert_eq!(post(sig).await.unwrap().status(), StatusCode::OK);
    app.wait_for_status(&key, &id, "DELIVERED").await;

    // Termii's refusal (a 4xx) fails the next message at once.
    let id = app.send_sms_id(&key, "+2348067000112").await;
    let m = app.wait_for_status(&key, &id, "FAILED").await;
    assert_eq!(
        m["error"],
        json!({"code": "TERMII_REJECTED", "message": "ApplicationSenderId not found"})
    );
}

#[tokio::test]
async fn the_generic_http_provider_passes_our_id_as_reference() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/send"))
        .and(header("authorization", "Bearer agg-token"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/send"))
        .and(header("authorization", "Bearer agg-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messageId": "agg-77"})))
        .mount(&server)
        .await;
    let url = format!("{}/send", server.uri());
    let app = spawn_app_with(Roles::ALL, move |s| {
        s.insert("SMS_PROVIDER".into(), "http".into());
        s.insert("SMS_HTTP_URL".into(), url);
        s.insert("SMS_HTTP_TOKEN".into(), "agg-token".into());
        s.insert("SMS_DLR_TOKEN".into(), "dlr".into());
    })
    .await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    let m = app.wait_for_status(&key, &id, "SENT").await;
    assert_eq!(m["providerMessageId"], "agg-77");
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2, "the 503 was retried");
    let body: Value = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(
        body,
        json!({"to": "+2348067000111", "from": "Herald", "body": "Your code is 123456", "reference": id})
    );
    let res = app
        .post(
            "/v1/webhooks/sms/dlr?token=dlr",
            None,
            json!({"messageId": "agg-77", "status": "DELIVRD"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.wait_for_status(&key, &id, "DELIVERED").await;
}
