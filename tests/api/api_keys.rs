use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn a_key_is_shown_once_stored_as_a_hash_and_checked_at_public_key() {
    let app = spawn_app().await;
    let t = app.signup("Acme").await;
    let res = app
        .post(
            "/v1/api-keys",
            Some(&t.token),
            json!({"name": "backend", "scopes": ["send:sms", "read:sms"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("hk_"));
    assert_eq!(created["prefix"], &key[..12]);

    let stored: Vec<u8> = sqlx::query_scalar("SELECT key_hash FROM api_keys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(key));

    let list: Value = app
        .get("/v1/api-keys", &t.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert!(list["data"][0].get("key").is_none());

    let res = app.get("/v1/public/key", key).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("ratelimit-limit"));
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["organizationId"], t.organization_id.as_str());
    assert_eq!(me["scopes"], json!(["send:sms", "read:sms"]));
    assert_eq!(me["prefix"], created["prefix"]);
}

#[tokio::test]
async fn unknown_scopes_and_missing_names_are_refused() {
    let app = spawn_app().await;
    let t = app.signup("Acme").await;
    let res = app
        .post(
            "/v1/api-keys",
            Some(&t.token),
            json!({"name": "", "scopes": ["send:fax"]}),
        )
        .await;
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"].as_array().unwrap().len(), 2);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_revoked_key_is_refused_on_its_next_request() {
    let app = spawn_app().await;
    let t = app.signup("Acme").await;
    let key = app.api_key(&t, &["read:sms"]).await;
    assert_eq!(
        app.get("/v1/public/key", &key).await.status(),
        StatusCode::OK
    );
    let id = app.get_json("/v1/api-keys", &t.token).await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.delete(&format!("/v1/api-keys/{id}"), &t.token)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.get("/v1/public/key", &key).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    let list: Value = app
        .get("/v1/api-keys", &t.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(list["data"][0]["revokedAt"].is_string());
}

#[tokio::test]
async fn keys_and_sessions_stay_on_their_own_routes() {
    let app = spawn_app().await;
    let t = app.signup("Acme").await;
    let key = app.api_key(&t, &["read:sms"]).await;
    assert_error(
        app.get("/v1/public/key", &t.token).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    assert_error(
        app.get("/v1/auth/me", &key).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    assert_error(
        app.get("/v1/public/key", "hk_not_a_real_key").await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
}

#[tokio::test]
async fn viewers_cannot_manage_keys_and_other_tenants_keys_are_not_found() {
    let app = spawn_app().await;
    let a = app.signup("A").await;
    let b = app.signup("B").await;
    let (_, viewer) = app.member(&a, "VIEWER").await;
    let res = app
        .post(
            "/v1/api-keys",
            Some(&viewer),
            json!({"name": "x", "scopes": ["read:sms"]}),
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_eq!(
        app.get("/v1/api-keys", &viewer).await.status(),
        StatusCode::OK
    );

    app.api_key(&b, &["read:sms"]).await;
    let id = app.get_json("/v1/api-keys", &b.token).await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_error(
        app.delete(&format!("/v1/api-keys/{id}"), &a.token).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn a_key_over_its_rate_limit_gets_429_with_retry_after() {
    let app = spawn_app_with(herald::Roles::API, |s| {
        s.insert("RATE_LIMIT_PER_SECOND".into(), "1".into());
        s.insert("RATE_LIMIT_BURST".into(), "3".into());
    })
    .await;
    let t = app.signup("Acme").await;
    let key = app.api_key(&t, &["read:sms"]).await;
    let other = app.api_key(&t, &["read:sms"]).await;
    for expected_remaining in ["2", "1", "0"] {
        let res = app.get("/v1/public/key", &key).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["ratelimit-limit"], "3");
        assert_eq!(res.headers()["ratelimit-remaining"], expected_remaining);
    }
    let res = app.get("/v1/public/key", &key).await;
    assert_eq!(res.headers()["retry-after"], "1");
    assert!(res.headers().contains_key("ratelimit-reset"));
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    assert_eq!(
        app.get("/v1/public/key", &other).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_key_revoked_through_one_api_process_is_refused_by_another_that_cached_it() {
    let first = spawn_app_with(herald::Roles::API, |_| {}).await;
    let second = spawn_app_on(first.database_url.clone(), herald::Roles::API, |_| {}).await;
    let t = first.signup("Acme").await;
    let key = first.api_key(&t, &["read:sms"]).await;
    assert_eq!(
        second.get("/v1/public/key", &key).await.status(),
        StatusCode::OK
    );
    // Now cached by the second process: its answers no longer read the key from the database.
    sqlx::query("UPDATE api_keys SET name = 'renamed'")
        .execute(&first.pool)
        .await
        .unwrap();
    let cached: Value = second
        .get("/v1/public/key", &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cached["name"], "test");

    let id = first.get_json("/v1/api-keys", &t.token).await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        first
            .delete(&format!("/v1/api-keys/{id}"), &t.token)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        first.get("/v1/public/key", &key).await.status(),
        StatusCode::UNAUTHORIZED,
        "the revoking process at once"
    );
    let mut refused = false;
    for _ in 0..20 {
        if second.get("/v1/public/key", &key).await.status() == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(
        refused,
        "the other process hears of the revocation through NOTIFY"
    );
}
