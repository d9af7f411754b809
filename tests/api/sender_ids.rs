use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn request(app: &TestApp, token: &str, sender: &str) -> reqwest::Response {
    app.post(
        "/v1/sms/sender-id-requests",
        Some(token),
        json!({"senderId": sender, "useCase": "login codes", "sampleMessage": "Your code is 1234"}),
    )
    .await
}

#[tokio::test]
async fn a_request_is_pending_once_and_reviewed_once_by_a_platform_admin() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let t = app.signup("Acme").await;
    let res = request(&app, &t.token, "Acme Co").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let r: Value = res.json().await.unwrap();
    assert_eq!(
        (r["status"].as_str(), r["senderId"].as_str()),
        (Some("PENDING"), Some("Acme Co"))
    );
    assert_error(
        request(&app, &t.token, "ACME CO").await,
        StatusCode::CONFLICT,
        "CONFLICT",
    )
    .await;

    let id = r["id"].as_str().unwrap();
    let res = app
        .post(
            &format!("/v1/sms/sender-id-requests/{id}/review"),
            Some(&t.token),
            json!({"decision": "APPROVE"}),
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "FORBIDDEN").await;

    let admin = app.admin_token().await;
    let res = app
        .post(
            &format!("/v1/sms/sender-id-requests/{id}/review"),
            Some(&admin),
            json!({"decision": "MAYBE"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let res = app
        .post(
            &format!("/v1/sms/sender-id-requests/{id}/review"),
            Some(&admin),
            json!({"decision": "REJECT", "note": "unclear use"}),
        )
        .await;
    let reviewed: Value = res.json().await.unwrap();
    assert_eq!(
        (reviewed["status"].as_str(), reviewed["reviewNote"].as_str()),
        (Some("REJECTED"), Some("unclear use"))
    );
    assert!(reviewed["reviewedAt"].is_string());
    let res = app
        .post(
            &format!("/v1/sms/sender-id-requests/{id}/review"),
            Some(&admin),
            json!({"decision": "APPROVE"}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "CONFLICT").await;
    let missing = uuid::Uuid::now_v7();
    let res = app
        .post(
            &format!("/v1/sms/sender-id-requests/{missing}/review"),
            Some(&admin),
            json!({"decision": "APPROVE"}),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    // Asking again after a rejection is allowed.
    assert_eq!(
        request(&app, &t.token, "Acme Co").await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn sender_ids_are_validated() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let t = app.signup("Acme").await;
    for bad in ["ab", "TwelveLetter", "no-dash", "1234567890123456"] {
        let err = assert_error(
            request(&app, &t.token, bad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_ERROR",
        )
        .await;
        assert_eq!(err["error"]["details"][0]["field"], "senderId");
    }
    let res = app
        .post(
            "/v1/sms/sender-id-requests",
            Some(&t.token),
            json!({"senderId": "Acme"}),
        )
        .await;
    let err = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_eq!(err["error"]["details"][0]["field"], "useCase");
    let (_, viewer) = app.member(&t, "VIEWER").await;
    assert_error(
        request(&app, &viewer, "Acme").await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    assert_eq!(
        app.get("/v1/sms/sender-id-requests", &viewer)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn tenants_see_their_own_requests_and_the_admin_sees_all() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let a = app.signup("Alpha").await;
    let b = app.signup("Beta").await;
    request(&app, &a.token, "Alpha").await;
    request(&app, &b.token, "Beta").await;
    request(&app, &b.token, "Alpha").await;
    let mine: Value = app
        .get("/v1/sms/sender-id-requests", &a.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1);
    assert!(mine["data"][0].get("organizationId").is_none());
    let admin = app.admin_token().await;
    let all: Value = app
        .get(
            "/v1/sms/sender-id-requests?status=PENDING&pageSize=2",
            &admin,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 3);
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
    assert!(all["data"][0]["organizationName"].is_string());
    assert_error(
        app.get("/v1/sms/sender-id-requests?status=LOST", &admin)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_ERROR",
    )
    .await;
}

#[tokio::test]
async fn approval_is_per_organization_and_listed_as_approved_sender_ids() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let (a, key_a) = app.sms_tenant("Alpha").await;
    let b = app.signup("Beta").await;
    app.approve_sender(&b, "Herald").await;
    app.approve_sender(&a, "Second").await;
    let key_b = app.api_key(&b, &["send:sms", "read:sms"]).await;

    let list: Value = app
        .get("/v1/public/sms/sender-ids", &key_a)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2);
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["senderId"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Herald") && names.contains(&"Second"));
    assert!(list["data"][0]["approvedAt"].is_string());
    let session: Value = app
        .get("/v1/sms/sender-ids", &a.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(session["total"], 2);

    let res = app
        .post(
            "/v1/public/sms/send",
            Some(&key_b),
            json!({"to": "+2348067000111", "body": "x", "senderId": "Second"}),
        )
        .await;
    assert_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "SENDER_ID_NOT_APPROVED",
    )
    .await;
    let res = app
        .post(
            "/v1/public/sms/send",
            Some(&key_b),
            json!({"to": "+2348067000111", "body": "x", "senderId": "HERALD"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
}
