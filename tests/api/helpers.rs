use std::{collections::HashMap, time::Duration};

use herald::{Application, Roles};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tokio::sync::{OnceCell, watch};
use uuid::Uuid;

pub const ADMIN_EMAIL: &str = "platform@herald.test";
pub const ADMIN_PASSWORD: &str = "platform admin password";

pub fn server_url() -> String {
    std::env::var("HERALD_TEST_SERVER")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

fn template_name() -> String {
    std::env::var("HERALD_TEST_TEMPLATE").unwrap_or_else(|_| "herald_test_template".into())
}

/// Makes the migrated template once (the test script drops it first, so it follows the migrations).
async fn ensure_template() {
    static READY: OnceCell<()> = OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let mut conn = PgConnection::connect(&format!("{}/postgres", server_url()))
                .await
                .expect("postgres");
            conn.execute("SELECT pg_advisory_lock(727274)")
                .await
                .unwrap();
            let template = template_name();
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                    .bind(&template)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            if !exists {
                let url = format!("{}/{template}", server_url());
                domain::db::create_database_if_missing(&url).await.unwrap();
                let pool = domain::db::connect(&url, 2).await.unwrap();
                domain::db::migrate(&pool).await.unwrap();
                pool.close().await;
            }
            conn.execute("SELECT pg_advisory_unlock(727274)")
                .await
                .unwrap();
        })
        .await;
}

pub async fn fresh_database() -> String {
    ensure_template().await;
    let name = format!("herald_t_{}", Uuid::now_v7().simple());
    let mut conn = PgConnection::connect(&format!("{}/postgres", server_url()))
        .await
        .unwrap();
    let sql = format!(
        "CREATE DATABASE \"{name}\" TEMPLATE \"{}\"",
        template_name()
    );
    conn.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    format!("{}/{name}", server_url())
}

/// Settings under which a lost lease comes back within seconds, not a minute (heartbeat 1 s, so
/// every time-out below three heartbeats, and the lease five seconds past the send's time-out).
pub const SHORT_LEASE: [(&str, &str); 7] = [
    ("QUEUE_HEARTBEAT", "1s"),
    ("SEND_TIMEOUT", "2s"),
    ("SMS_PROVIDER_TIMEOUT", "1s"),
    ("EMAIL_PROVIDER_TIMEOUT", "1s"),
    ("WHATSAPP_PROVIDER_TIMEOUT", "1s"),
    ("SEND_LEASE", "7s"),
    ("WEBHOOK_TIMEOUT", "2s"),
];

pub fn base_settings(database_url: &str) -> HashMap<String, String> {
    [
        ("DATABASE_URL", database_url),
        ("DATABASE_POOL_SIZE", "6"),
        ("BIND_ADDR", "127.0.0.1:0"),
        (
            "JWT_SECRET",
            "test-jwt-secret-that-is-long-enough-0123456789",
        ),
        (
            "SECRETS_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ),
        ("PLATFORM_ADMIN_EMAIL", ADMIN_EMAIL),
        ("PLATFORM_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("WORKER_CONCURRENCY", "4"),
        // Tests sign up many tenants from 127.0.0.1; the signup limit has a test of its own.
        ("SIGNUPS_PER_HOUR_PER_ADDRESS", "0"),
        ("LOG_FORMAT", "text"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

pub struct TestApp {
    pub address: String,
    pub pool: PgPool,
    pub database_url: String,
    pub client: reqwest::Client,
    _stop: watch::Sender<bool>,
}

/// An HTTP client for tests (rustls with the ring provider, as the binary installs it).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Roles::ALL, |_| {}).await
}

pub async fn spawn_app_with(
    roles: Roles,
    tweak: impl FnOnce(&mut HashMap<String, String>),
) -> TestApp {
    spawn_app_on(fresh_database().await, roles, tweak).await
}

/// Another application process on an existing database (as a second API replica would be).
pub async fn spawn_app_on(
    database_url: String,
    roles: Roles,
    tweak: impl FnOnce(&mut HashMap<String, String>),
) -> TestApp {
    let mut settings = base_settings(&database_url);
    tweak(&mut settings);
    let config = domain::Config::from_source(&settings).expect("test configuration");
    let app = Application::build(config, roles)
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port().expect("API port"));
    let pool = app.pool.clone();
    let (stop, rx) = watch::channel(false);
    tokio::spawn(app.run(rx));
    TestApp {
        address,
        pool,
        database_url,
        client: http_client(),
        _stop: stop,
    }
}

/// A client for a server running in another process (the `herald` binary), once it answers
/// `/health/ready`.
pub async fn remote(address: String, database_url: String) -> TestApp {
    let client = http_client();
    for _ in 0..200 {
        if let Ok(res) = client.get(format!("{address}/health/ready")).send().await
            && res.status() == StatusCode::OK
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    TestApp {
        pool: domain::db::connect(&database_url, 2).await.unwrap(),
        address,
        database_url,
        client,
        _stop: watch::channel(false).0,
    }
}

pub struct Tenant {
    pub token: String,
    pub organization_id: String,
    pub user_id: String,
}

impl TestApp {
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token))
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::POST, path, token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::PATCH, path, Some(token))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token))
            .send()
            .await
            .unwrap()
    }

    pub async fn signup(&self, org: &str) -> Tenant {
        let email = format!(
            "owner-{}@{}.test",
            Uuid::now_v7().simple(),
            org.to_lowercase()
        );
        let res = self
            .post(
                "/v1/auth/signup",
                None,
                json!({"organizationName": org, "name": "Owner", "email": email, "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        Tenant {
            token: body["token"].as_str().unwrap().to_owned(),
            organization_id: body["organization"]["id"].as_str().unwrap().to_owned(),
            user_id: body["user"]["id"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/v1/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn admin_token(&self) -> String {
        let res = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn api_key(&self, tenant: &Tenant, scopes: &[&str]) -> String {
        let res = self
            .post(
                "/v1/api-keys",
                Some(&tenant.token),
                json!({"name": "test", "scopes": scopes}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.unwrap()["key"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Adds a member with a role and returns a session token for them.
    pub async fn member(&self, tenant: &Tenant, role: &str) -> (String, String) {
        let email = format!(
            "{}-{}@members.test",
            role.to_lowercase(),
            Uuid::now_v7().simple()
        );
        let res = self
            .post(
                "/v1/members",
                Some(&tenant.token),
                json!({"email": email, "name": role, "role": role, "password": "member password 1"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let id = res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let token = self
            .login(&email, "member password 1")
            .await
            .json::<Value>()
            .await
            .unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        (id, token)
    }

    pub async fn approve_sender(&self, tenant: &Tenant, sender: &str) {
        let res = self
            .post(
                "/v1/sms/sender-id-requests",
                Some(&tenant.token),
                json!({"senderId": sender, "useCase": "one-time codes"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let id = res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let admin = self.admin_token().await;
        let res = self
            .post(
                &format!("/v1/sms/sender-id-requests/{id}/review"),
                Some(&admin),
                json!({"decision": "APPROVE"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    /// A tenant with an approved sender ID "Herald" and an SMS API key.
    pub async fn sms_tenant(&self, org: &str) -> (Tenant, String) {
        let tenant = self.signup(org).await;
        self.approve_sender(&tenant, "Herald").await;
        let key = self.api_key(&tenant, &["send:sms", "read:sms"]).await;
        (tenant, key)
    }

    pub async fn send_sms(&self, key: &str, to: &str) -> Value {
        let res = self
            .post(
                "/v1/public/sms/send",
                Some(key),
                json!({"to": to, "body": "Your code is 123456", "senderId": "Herald"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        res.json().await.unwrap()
    }

    /// Sends one SMS and returns the new message's id.
    pub async fn send_sms_id(&self, key: &str, to: &str) -> String {
        self.send_sms(key, to).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A GET that must answer JSON.
    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        self.get(path, token).await.json().await.unwrap()
    }

    /// An SMS message as the public API shows it now.
    pub async fn message(&self, key: &str, id: &str) -> Value {
        self.message_on("sms", key, id).await
    }

    /// A message of a channel (`sms`, `emails`, `whatsapp`) as the public API shows it now.
    pub async fn message_on(&self, channel: &str, key: &str, id: &str) -> Value {
        self.get_json(&format!("/v1/public/{channel}/{id}"), key)
            .await
    }

    pub async fn timeline(&self, key: &str, id: &str) -> Vec<Value> {
        self.timeline_on("sms", key, id).await
    }

    pub async fn timeline_on(&self, channel: &str, key: &str, id: &str) -> Vec<Value> {
        let res = self
            .get(&format!("/v1/public/{channel}/{id}/timeline"), key)
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Value>().await.unwrap()["data"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Polls an SMS message until it reaches `status` (the pipeline runs in the background).
    pub async fn wait_for_status(&self, key: &str, id: &str, status: &str) -> Value {
        self.wait_on("sms", key, id, status).await
    }

    /// Polls a message of a channel until it reaches `status`.
    pub async fn wait_on(&self, channel: &str, key: &str, id: &str, status: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let m = self.message_on(channel, key, id).await;
            if m["status"] == status {
                return m;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "message {id} never reached {status}: {m}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// How many times the sandbox provider was handed this message.
pub async fn sandbox_calls(app: &TestApp, message_id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM sandbox_calls WHERE message_id = $1::uuid")
        .bind(message_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Asserts the contract's error shape and returns the body.
pub async fn assert_error(res: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(res.status(), status, "unexpected status");
    assert!(res.headers().contains_key("x-request-id"));
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

pub fn statuses(timeline: &[Value]) -> Vec<String> {
    timeline
        .iter()
        .filter_map(|e| e["status"].as_str().map(str::to_owned))
        .collect()
}

/// The type of every timeline entry, oldest first.
pub fn entry_types(timeline: &[Value]) -> Vec<String> {
    timeline
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}
