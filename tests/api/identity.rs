use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn signup_returns_a_session_and_me_describes_it() {
    let app = spawn_app().await;
    let t = app.signup("Acme").await;
    let me: Value = app.get("/v1/auth/me", &t.token).await.json().await.unwrap();
    assert_eq!(me["user"]["role"], "OWNER");
    assert_eq!(me["user"]["platformAdmin"], false);
    assert_eq!(me["organization"]["id"], t.organization_id.as_str());
    assert_eq!(me["organization"]["name"], "Acme");
    assert_eq!(
        me["permissions"],
        json!([
            "members:read",
            "members:write",
            "messages:read",
            "messages:send"
        ])
    );
}

#[tokio::test]
async fn signup_validates_every_field_and_refuses_a_taken_email() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/v1/auth/signup",
            None,
            json!({"organizationName": "", "name": "A", "email": "nope", "password": "short"}),
        )
        .await;
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["organizationName", "email", "password"]);

    let body = json!({"organizationName": "A", "name": "A", "email": "dup@x.test", "password": "long enough password"});
    assert_eq!(
        app.post("/v1/auth/signup", None, body.clone())
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_error(
        app.post("/v1/auth/signup", None, body).await,
        StatusCode::CONFLICT,
        "CONFLICT",
    )
    .await;
}

#[tokio::test]
async fn signup_is_off_when_disabled() {
    let app = spawn_app_with(herald::Roles::API, |s| {
        s.insert("SIGNUP_ENABLED".into(), "false".into());
    })
    .await;
    let res = app.post("/v1/auth/signup", None, json!({"organizationName": "A", "name": "A", "email": "a@x.test", "password": "long enough password"})).await;
    assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let app = spawn_app().await;
    app.post("/v1/auth/signup", None, json!({"organizationName": "A", "name": "A", "email": "ada@x.test", "password": "correct horse battery"})).await;
    let a = assert_error(
        app.login("ada@x.test", "wrong password!").await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    let b = assert_error(
        app.login("nobody@x.test", "wrong password!").await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    assert_eq!(a, b);
    assert_eq!(
        app.login("ADA@x.test", "correct horse battery")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn failed_logins_are_throttled_after_ten() {
    let app = spawn_app().await;
    for _ in 0..10 {
        assert_eq!(
            app.login("victim@x.test", "guess guess guess")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = app.login("victim@x.test", "guess guess guess").await;
    assert!(res.headers().contains_key("retry-after"));
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
}

#[tokio::test]
async fn an_expired_session_token_is_refused() {
    let app = spawn_app_with(herald::Roles::API, |s| {
        s.insert("SESSION_TTL".into(), "1s".into());
    })
    .await;
    let t = app.signup("Acme").await;
    assert_eq!(
        app.get("/v1/auth/me", &t.token).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_error(
        app.get("/v1/auth/me", &t.token).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
}

#[tokio::test]
async fn a_tampered_or_missing_token_is_refused() {
    let app = spawn_app().await;
    let t = app.signup("Acme").await;
    let mut forged = t.token.clone();
    forged.pop();
    forged.push('x');
    assert_error(
        app.get("/v1/auth/me", &forged).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    let res = app
        .request(Method::GET, "/v1/auth/me", None)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn logout_revokes_the_token_and_a_password_change_revokes_the_others() {
    let app = spawn_app().await;
    let t = app.signup("Acme").await;
    let email = app.get_json("/v1/auth/me", &t.token).await["user"]["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app
        .login(&email, "correct horse battery")
        .await
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let res = app
        .patch(
            "/v1/auth/password",
            &t.token,
            json!({"currentPassword": "wrong one!!", "newPassword": "a brand new password"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let res = app.patch("/v1/auth/password", &t.token, json!({"currentPassword": "correct horse battery", "newPassword": "a brand new password"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.get("/v1/auth/me", &t.token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v1/auth/me", &second).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&email, "a brand new password").await.status(),
        StatusCode::OK
    );

    let res = app
        .request(Method::POST, "/v1/auth/logout", Some(&t.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/v1/auth/me", &t.token).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn members_are_managed_by_role() {
    let app = spawn_app().await;
    let t = app.signup("Acme").await;
    let (viewer_id, viewer) = app.member(&t, "VIEWER").await;
    let (_, admin) = app.member(&t, "ADMIN").await;

    let list: Value = app.get("/v1/members", &viewer).await.json().await.unwrap();
    assert_eq!(list["total"], 3);
    assert_eq!(list["page"], 1);
    assert_eq!(list["pageSize"], 20);

    let add = json!({"email": "new@x.test", "name": "N", "role": "MEMBER", "password": "member password 1"});
    assert_error(
        app.post("/v1/members", Some(&viewer), add.clone()).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    assert_eq!(
        app.post("/v1/members", Some(&admin), add).await.status(),
        StatusCode::CREATED
    );

    // Only an OWNER may grant OWNER.
    let res = app
        .patch(
            &format!("/v1/members/{viewer_id}"),
            &admin,
            json!({"role": "OWNER"}),
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let res = app
        .patch(
            &format!("/v1/members/{viewer_id}"),
            &admin,
            json!({"role": "MEMBER"}),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["role"], "MEMBER");
    let res = app
        .patch(
            &format!("/v1/members/{viewer_id}"),
            &admin,
            json!({"role": "KING"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;

    // A removed member's token stops working at once.
    assert_eq!(
        app.delete(&format!("/v1/members/{viewer_id}"), &admin)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.get("/v1/members", &viewer).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
}

#[tokio::test]
async fn the_last_owner_can_be_neither_removed_nor_demoted() {
    let app = spawn_app().await;
    let t = app.signup("Acme").await;
    let res = app
        .delete(&format!("/v1/members/{}", t.user_id), &t.token)
        .await;
    assert_error(res, StatusCode::CONFLICT, "CONFLICT").await;
    let res = app
        .patch(
            &format!("/v1/members/{}", t.user_id),
            &t.token,
            json!({"role": "ADMIN"}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "CONFLICT").await;
    let (second_owner, _) = app.member(&t, "OWNER").await;
    let res = app
        .patch(
            &format!("/v1/members/{}", t.user_id),
            &t.token,
            json!({"role": "ADMIN"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let _ = second_owner;
}

#[tokio::test]
async fn another_organizations_members_are_not_found() {
    let app = spawn_app().await;
    let a = app.signup("A").await;
    let b = app.signup("B").await;
    let res = app
        .patch(
            &format!("/v1/members/{}", b.user_id),
            &a.token,
            json!({"role": "VIEWER"}),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_error(
        app.delete(&format!("/v1/members/{}", b.user_id), &a.token)
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn the_platform_admin_is_ensured_at_start_up() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let me: Value = app.get("/v1/auth/me", &token).await.json().await.unwrap();
    assert_eq!(me["user"]["platformAdmin"], true);
}
