use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn malformed_bodies_get_the_contract_shape() {
    let app = spawn_app().await;
    let t = app.signup("Acme").await;
    let post = |body: &'static str, ct: &'static str| {
        app.request(Method::POST, "/v1/api-keys", Some(&t.token))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    assert_error(
        post("{not json", "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "INVALID_JSON",
    )
    .await;
    assert_error(
        post("[1,2]", "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "INVALID_JSON",
    )
    .await;
    assert_error(
        post("name=x", "text/plain").await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    .await;
    let res = post(r#"{"name": 5, "scopes": []}"#, "application/json")
        .await
        .unwrap();
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"][0]["field"], "name");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app().await;
    let t = app.signup("Acme").await;
    let big = json!({"name": "x".repeat(300 * 1024), "scopes": ["read:sms"]});
    let res = app.post("/v1/api-keys", Some(&t.token), big).await;
    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE").await;
}

#[tokio::test]
async fn unknown_routes_and_methods_get_the_contract_shape() {
    let app = spawn_app().await;
    let res = app
        .request(Method::GET, "/v1/nothing-here", None)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let res = app
        .request(Method::DELETE, "/v1/auth/signup", None)
        .send()
        .await
        .unwrap();
    assert!(res.headers()["allow"].to_str().unwrap().contains("POST"));
    assert_error(res, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED").await;
}

#[tokio::test]
async fn bad_paging_is_422() {
    let app = spawn_app().await;
    let t = app.signup("Acme").await;
    for q in [
        "pageSize=0",
        "pageSize=101",
        "page=0",
        "page=-2",
        "page=abc",
    ] {
        let res = app.get(&format!("/v1/members?{q}"), &t.token).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    }
    let ok: Value = app
        .get("/v1/members?page=1&pageSize=100", &t.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["pageSize"], 100);
}

#[tokio::test]
async fn request_ids_are_set_or_echoed() {
    let app = spawn_app().await;
    let res = app
        .request(Method::GET, "/health/live", None)
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = app
        .request(Method::GET, "/health/live", None)
        .send()
        .await
        .unwrap();
    assert!(!res.headers()["x-request-id"].is_empty());
}

#[tokio::test]
async fn health_and_metrics_are_served() {
    let app = spawn_app().await;
    let get = |p: &'static str| app.request(Method::GET, p, None).send();
    assert_eq!(get("/health/live").await.unwrap().status(), StatusCode::OK);
    let ready: Value = get("/health/ready").await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ok");
    get("/v1/nothing").await.unwrap();
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/health/ready\""));
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    app.pool.close().await;
    let res = app
        .request(Method::GET, "/health/ready", None)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").await;
}

/// What a Postgres shutdown or restart does to a request in flight: the server terminates its
/// connection (SQLSTATE 57P01). The request answers 503, never 500, and has had no effect.
#[tokio::test]
async fn a_request_whose_connection_postgres_terminates_answers_503_and_stores_nothing() {
    use sqlx::{Connection, PgConnection};
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let (_, key) = app.sms_tenant("acme").await;
    let mut locker = PgConnection::connect(&app.database_url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let terminate = |mut conn: PgConnection| async move {
        loop {
            let killed: i64 = sqlx::query_scalar(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()
                   AND wait_event_type = 'Lock'",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            if killed > 0 {
                return conn;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let mut killer = PgConnection::connect(&app.database_url).await.unwrap();

    let send = app.post(
        "/v1/public/sms/send",
        Some(&key),
        json!({"to": "+2348067000001", "body": "Your code is 123456", "senderId": "Herald"}),
    );
    let (res, conn) = tokio::join!(send, terminate(killer));
    killer = conn;
    assert_error(res, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").await;

    let list = app.get("/v1/public/sms", &key);
    let (res, _) = tokio::join!(list, terminate(killer));
    assert_error(res, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").await;

    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    let page = app.get_json("/v1/public/sms", &key).await;
    assert_eq!(page["total"], 0, "the pool recovers by itself: {page}");
}
