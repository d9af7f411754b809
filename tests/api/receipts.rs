use std::time::Duration;

use herald::Roles;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const DLR_TOKEN: &str = "dlr-token-0123456789";
const PROVIDER_SECRET: &str = "prov_9c2d7e1f4a6b8c0d";
const INBOUND_TOKEN: &str = "inbound-token-0123456789";

async fn app_with_inbound() -> TestApp {
    spawn_app_with(Roles::ALL, |s| {
        s.insert("SMS_DLR_TOKEN".into(), DLR_TOKEN.into());
        s.insert("SMS_PROVIDER_WEBHOOK_SECRET".into(), PROVIDER_SECRET.into());
        s.insert("SMS_INBOUND_TOKEN".into(), INBOUND_TOKEN.into());
    })
    .await
}

async fn post_dlr(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/v1/webhooks/sms/dlr?token={token}"), None, body)
        .await
}

async fn entries_of(app: &TestApp, key: &str, id: &str, kind: &str) -> usize {
    app.timeline(key, id)
        .await
        .iter()
        .filter(|e| e["type"] == kind)
        .count()
}

/// Waits until every receipt stored so far has been processed.
async fn receipts_settled(app: &TestApp) {
    for _ in 0..100 {
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM receipts WHERE processed_at IS NULL")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("receipts were not processed");
}

#[tokio::test]
async fn a_dlr_delivers_a_message_that_had_no_receipt_and_a_repeat_adds_nothing() {
    let app = app_with_inbound().await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000002").await;
    let m = app.wait_for_status(&key, &id, "SENT").await;
    let provider_id = m["providerMessageId"].as_str().unwrap().to_owned();

    let dlr =
        json!({"messageId": provider_id, "status": "DELIVRD", "doneAt": "2026-11-27T10:00:05Z"});
    let res = post_dlr(&app, DLR_TOKEN, dlr.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    app.wait_for_status(&key, &id, "DELIVERED").await;
    assert_eq!(
        post_dlr(&app, DLR_TOKEN, dlr).await.status(),
        StatusCode::OK
    );
    receipts_settled(&app).await;
    assert_eq!(entries_of(&app, &key, &id, "sms_delivered").await, 1);
    let stored: Value =
        sqlx::query_scalar("SELECT raw FROM receipts WHERE provider_message_id = $1 LIMIT 1")
            .bind(&provider_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        stored["doneAt"], "2026-11-27T10:00:05Z",
        "the raw payload is kept"
    );

    // A contradicting receipt is recorded, not applied.
    post_dlr(
        &app,
        DLR_TOKEN,
        json!({"messageId": provider_id, "status": "UNDELIV", "errorCode": "005"}),
    )
    .await;
    receipts_settled(&app).await;
    assert_eq!(entries_of(&app, &key, &id, "receipt_ignored").await, 1);
    let m = app.message(&key, &id).await;
    assert_eq!(m["status"], "DELIVERED");
}

#[tokio::test]
async fn dlr_states_map_to_statuses_notes_and_errors() {
    let app = app_with_inbound().await;
    let (_, key) = app.sms_tenant("Acme").await;
    let a = app.send_sms_id(&key, "+2348067100002").await;
    let b = app.send_sms_id(&key, "+2348067200002").await;
    let pa = app.wait_for_status(&key, &a, "SENT").await["providerMessageId"]
        .as_str()
        .unwrap()
        .to_owned();
    let pb = app.wait_for_status(&key, &b, "SENT").await["providerMessageId"]
        .as_str()
        .unwrap()
        .to_owned();

    post_dlr(
        &app,
        DLR_TOKEN,
        json!({"messageId": pa, "status": "ENROUTE"}),
    )
    .await;
    post_dlr(
        &app,
        DLR_TOKEN,
        json!({"messageId": pa, "status": "UNKNOWN"}),
    )
    .await;
    post_dlr(
        &app,
        DLR_TOKEN,
        json!({"messageId": pb, "status": "EXPIRED", "errorCode": "027"}),
    )
    .await;
    receipts_settled(&app).await;
    let ta = app.timeline(&key, &a).await;
    assert_eq!(
        statuses(&ta),
        vec!["QUEUED", "PROCESSING", "SENT"],
        "ENROUTE keeps it SENT"
    );
    assert_eq!(
        ta.iter().filter(|e| e["type"] == "note").count(),
        1,
        "UNKNOWN becomes a note"
    );
    let mb = app.wait_for_status(&key, &b, "FAILED").await;
    assert_eq!(mb["error"]["code"], "027", "the raw code is kept");
}

#[tokio::test]
async fn a_receipt_that_outruns_the_send_is_held_and_applied_later() {
    let app = app_with_inbound().await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000002").await;
    app.wait_for_status(&key, &id, "SENT").await;
    post_dlr(
        &app,
        DLR_TOKEN,
        json!({"messageId": "sbx_not_yet_known", "status": "DELIVRD"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM receipts WHERE processed_at IS NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(pending, 1, "held, not dropped");
    // The provider id is stored only now (as when a send job records SENT after the receipt came).
    sqlx::query(
        "UPDATE messages SET provider_message_id = 'sbx_not_yet_known' WHERE id = $1::uuid",
    )
    .bind(&id)
    .execute(&app.pool)
    .await
    .unwrap();
    app.wait_for_status(&key, &id, "DELIVERED").await;
}

#[tokio::test]
async fn inbound_routes_check_tokens_and_signatures_and_are_off_by_default() {
    let off = spawn_app_with(Roles::API, |_| {}).await;
    for path in [
        "/v1/webhooks/sms/dlr?token=x",
        "/v1/webhooks/sms/provider",
        "/v1/webhooks/sms/inbound-opt-out?token=x",
        "/v1/webhooks/sms/twilio",
        "/v1/webhooks/sms/termii",
    ] {
        let res = off.post(path, None, json!({})).await;
        assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }

    let app = app_with_inbound().await;
    let body = json!({"messageId": "x", "status": "DELIVRD"});
    assert_error(
        post_dlr(&app, "wrong", body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    assert_error(
        app.post("/v1/webhooks/sms/dlr", None, body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    let res = app
        .post(
            "/v1/webhooks/sms/inbound-opt-out?token=nope",
            None,
            json!({"from": "+1", "to": "x", "text": "STOP"}),
        )
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let res = post_dlr(&app, DLR_TOKEN, json!({"status": "DELIVRD"})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;

    let raw = r#"{"messageId":"SM0193a3b27c1e","status":"DELIVERED","occurredAt":"2026-11-27T10:00:05Z"}"#;
    let provider = |ts: i64, sig: String| {
        app.request(Method::POST, "/v1/webhooks/sms/provider", None)
            .header("content-type", "application/json")
            .header("x-timestamp", ts.to_string())
            .header("x-signature", sig)
            .body(raw)
            .send()
    };
    let now = chrono::Utc::now().timestamp();
    let good =
        domain::signatures::provider_signature(PROVIDER_SECRET, &now.to_string(), raw.as_bytes());
    assert_eq!(
        provider(now, good.clone()).await.unwrap().status(),
        StatusCode::OK
    );
    assert_error(
        provider(now + 1, good).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    let stale = now - 301;
    let sig =
        domain::signatures::provider_signature(PROVIDER_SECRET, &stale.to_string(), raw.as_bytes());
    assert_error(
        provider(stale, sig).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    let sig =
        domain::signatures::provider_signature("another secret", &now.to_string(), raw.as_bytes());
    assert_error(
        provider(now, sig).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM receipts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1, "only the verified receipt was stored");
}

#[tokio::test]
async fn the_signed_provider_route_moves_messages() {
    let app = app_with_inbound().await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000002").await;
    let pid = app.wait_for_status(&key, &id, "SENT").await["providerMessageId"]
        .as_str()
        .unwrap()
        .to_owned();
    let raw = json!({"messageId": pid, "status": "FAILED", "errorCode": "HANDSET_OFF", "errorMessage": "absent subscriber"}).to_string();
    let now = chrono::Utc::now().timestamp().to_string();
    let res = app
        .request(Method::POST, "/v1/webhooks/sms/provider", None)
        .header("x-timestamp", &now)
        .header(
            "x-signature",
            domain::signatures::provider_signature(PROVIDER_SECRET, &now, raw.as_bytes()),
        )
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let m = app.wait_for_status(&key, &id, "FAILED").await;
    assert_eq!(
        m["error"],
        json!({"code": "HANDSET_OFF", "message": "absent subscriber"})
    );
}

#[tokio::test]
async fn stop_from_a_handset_blocks_the_next_send_and_start_lifts_it() {
    let app = app_with_inbound().await;
    let (a, key_a) = app.sms_tenant("Alpha").await;
    let (_, key_b) = app.sms_tenant("Beta").await;
    // Both organizations text the handset; Alpha last with sender "Herald", Beta last overall.
    app.send_sms(&key_a, "+2348067000111").await;
    app.post(
        "/v1/public/sms/send",
        Some(&key_b),
        json!({"to": "+2348067000111", "body": "hi", "senderId": "Herald"}),
    )
    .await;
    app.approve_sender(&a, "Alerts").await;
    // Alpha's is now the most recent message from "Alerts" to this handset.
    app.post(
        "/v1/public/sms/send",
        Some(&key_a),
        json!({"to": "+2348067000111", "body": "alert", "senderId": "Alerts"}),
    )
    .await;
    let inbound_path = format!("/v1/webhooks/sms/inbound-opt-out?token={INBOUND_TOKEN}");
    let inbound = |text: &'static str, to: &'static str| {
        app.post(
            &inbound_path,
            None,
            json!({"from": "+2348067000111", "to": to, "text": text}),
        )
    };
    assert_eq!(inbound("  stop ", "ALERTS").await.status(), StatusCode::OK);
    let send_a = || {
        app.post(
            "/v1/public/sms/send",
            Some(&key_a),
            json!({"to": "+2348067000111", "body": "x", "senderId": "Herald"}),
        )
    };
    let mut refused = false;
    for _ in 0..50 {
        if send_a().await.status() == StatusCode::UNPROCESSABLE_ENTITY {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "a STOP routed to Alpha blocks Alpha's next send");
    assert_error(
        send_a().await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "RECIPIENT_OPTED_OUT",
    )
    .await;
    let res = app
        .post(
            "/v1/public/sms/batch",
            Some(&key_a),
            json!({"messages": [{"to": "+2348067000111", "body": "x", "senderId": "Herald"}]}),
        )
        .await;
    let err = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_eq!(err["error"]["details"][0]["code"], "RECIPIENT_OPTED_OUT");
    assert_eq!(
        app.post(
            "/v1/public/sms/send",
            Some(&key_b),
            json!({"to": "+2348067000111", "body": "x", "senderId": "Herald"})
        )
        .await
        .status(),
        StatusCode::ACCEPTED,
        "Beta is not affected"
    );

    let list: Value = app
        .get("/v1/sms/opt-outs", &a.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["data"][0],
        json!({"phoneNumber": "+2348067000111", "source": "inbound", "createdAt": list["data"][0]["createdAt"]})
    );

    assert_eq!(inbound("START", "Alerts").await.status(), StatusCode::OK);
    let mut lifted = false;
    for _ in 0..50 {
        if send_a().await.status() == StatusCode::ACCEPTED {
            lifted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(lifted, "START lifts the opt-out");
    let events: Vec<Value> = sqlx::query_scalar("SELECT detail FROM events WHERE type = 'sms_opt_out' AND organization_id = $1::uuid ORDER BY occurred_at")
        .bind(&a.organization_id)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["added", "removed"]);
    assert_eq!(events[0]["source"], "inbound");
}

#[tokio::test]
async fn opt_outs_are_managed_through_the_api() {
    let app = spawn_app_with(Roles::API, |_| {}).await;
    let (a, key) = app.sms_tenant("Alpha").await;
    let b = app.signup("Beta").await;
    let res = app
        .post(
            "/v1/sms/opt-outs",
            Some(&a.token),
            json!({"phoneNumber": "+2348067000111"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let row: Value = res.json().await.unwrap();
    assert_eq!(
        (row["phoneNumber"].as_str(), row["source"].as_str()),
        (Some("+2348067000111"), Some("api"))
    );
    let res = app
        .post(
            "/v1/sms/opt-outs",
            Some(&a.token),
            json!({"phoneNumber": "+2348067000111"}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "CONFLICT").await;
    let res = app
        .post(
            "/v1/sms/opt-outs",
            Some(&a.token),
            json!({"phoneNumber": "08067000111"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let res = app
        .post(
            "/v1/public/sms/send",
            Some(&key),
            json!({"to": "+2348067000111", "body": "x", "senderId": "Herald"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "RECIPIENT_OPTED_OUT").await;

    let (_, viewer) = app.member(&a, "VIEWER").await;
    assert_eq!(app.get_json("/v1/sms/opt-outs", &viewer).await["total"], 1);
    assert_error(
        app.post(
            "/v1/sms/opt-outs",
            Some(&viewer),
            json!({"phoneNumber": "+2348067000112"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    assert_error(
        app.delete("/v1/sms/opt-outs/%2B2348067000111", &viewer)
            .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    assert_error(
        app.delete("/v1/sms/opt-outs/%2B2348067000111", &b.token)
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    assert_eq!(app.get_json("/v1/sms/opt-outs", &b.token).await["total"], 0);

    assert_eq!(
        app.delete("/v1/sms/opt-outs/%2B2348067000111", &a.token)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.delete("/v1/sms/opt-outs/+2348067000111", &a.token)
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    let res = app
        .post(
            "/v1/public/sms/send",
            Some(&key),
            json!({"to": "+2348067000111", "body": "x", "senderId": "Herald"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE type = 'sms_opt_out'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 2);
}
