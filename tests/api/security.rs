//! Read as an attacker would: a squatted admin address, floods of password work, guesses in
//! parallel, forwarded addresses, webhook abuse, oversized lists, slow clients.

use std::time::Duration;

use herald::{Application, Roles};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

use crate::helpers::*;

#[tokio::test]
async fn a_squatted_admin_address_never_yields_platform_admin_rights() {
    let database_url = fresh_database().await;
    // Before the operator first starts with PLATFORM_ADMIN_EMAIL set, someone signs up with it.
    let app = spawn_app_on(database_url.clone(), Roles::ALL, |s| {
        s.remove("PLATFORM_ADMIN_EMAIL");
        s.remove("PLATFORM_ADMIN_PASSWORD");
    })
    .await;
    let res = app
        .post(
            "/v1/auth/signup",
            None,
            json!({"organizationName": "Squat", "name": "Mallory", "email": "boss@herald.test", "password": "mallory's own password"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let squatter = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut settings = base_settings(&database_url);
    settings.insert("PLATFORM_ADMIN_EMAIL".into(), "boss@herald.test".into());
    settings.insert(
        "PLATFORM_ADMIN_PASSWORD".into(),
        "the operator's password".into(),
    );
    let config = domain::Config::from_source(&settings).unwrap();
    let refused = Application::build(config, Roles::ALL).await;
    let why = format!("{:#}", refused.err().expect("start-up refuses"));
    assert!(why.contains("PLATFORM_ADMIN_PASSWORD"), "{why}");
    let me = app.get_json("/v1/auth/me", &squatter).await;
    assert_eq!(me["user"]["platformAdmin"], false);

    // The rightful owner of the address (whose password matches) gets the flag.
    settings.insert(
        "PLATFORM_ADMIN_PASSWORD".into(),
        "mallory's own password".into(),
    );
    let config = domain::Config::from_source(&settings).unwrap();
    assert!(Application::build(config, Roles::ALL).await.is_ok());
    let me = app.get_json("/v1/auth/me", &squatter).await;
    assert_eq!(me["user"]["platformAdmin"], true);
}

/// A free port on loopback for a `herald` process of its own.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024
}

#[tokio::test]
async fn a_flood_of_signups_and_failed_logins_stays_small_and_live() {
    let database_url = fresh_database().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::env::temp_dir().join(format!("herald-flood-{}.log", uuid::Uuid::now_v7()));
    let bind = format!("127.0.0.1:{port}");
    // Each failed login from an address of its own (through a trusted proxy), so that the address
    // throttle does not spare the password work.
    let mut herald = crate::processes::herald(
        &["all"],
        &database_url,
        &[
            ("BIND_ADDR", bind.as_str()),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ],
        &log,
    );
    let client = http_client();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("{base}/health/live"))
        .send()
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "herald never came up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut requests = Vec::new();
    for i in 0..400 {
        let c = client.clone();
        let url = format!("{base}/v1/auth/signup");
        requests.push(tokio::spawn(async move {
            c.post(url)
                .json(&json!({"organizationName": "Flood", "name": "F", "email": format!("f{i}@flood.test"), "password": "flood password 1"}))
                .send()
                .await
                .map(|r| (r.status(), r.headers().contains_key("retry-after")))
        }));
        let c = client.clone();
        let url = format!("{base}/v1/auth/login");
        requests.push(tokio::spawn(async move {
            c.post(url)
                .header("x-forwarded-for", format!("198.51.{}.{}", i / 200, i % 200 + 1))
                .json(&json!({"email": format!("nobody{i}@flood.test"), "password": "wrong password 1"}))
                .send()
                .await
                .map(|r| (r.status(), r.headers().contains_key("retry-after")))
        }));
    }
    // The process keeps answering its probe while the flood is on.
    let probe = client
        .get(format!("{base}/health/live"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), StatusCode::OK);
    for r in requests {
        let (status, retry_after) = r.await.unwrap().unwrap();
        match status {
            StatusCode::CREATED | StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => assert!(retry_after, "503 says when to come back"),
            other => panic!("unexpected {other}"),
        }
    }
    let rss = peak_rss_mib(herald.0.id());
    assert!(rss < 300, "peak RSS {rss} MiB");
    let _ = &mut herald;
}

async fn owner_email(app: &TestApp, tenant: &Tenant) -> String {
    sqlx::query_scalar("SELECT email::text FROM users WHERE id = $1::uuid")
        .bind(&tenant.user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn parallel_guesses_cannot_all_pass_the_failure_count() {
    let app = spawn_app().await;
    let tenant = app.signup("Acme").await;
    let email = owner_email(&app, &tenant).await;
    let guesses: Vec<_> = (0..30)
        .map(|i| {
            let (client, url, email) = (
                app.client.clone(),
                format!("{}/v1/auth/login", app.address),
                email.clone(),
            );
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&json!({"email": email, "password": format!("guess number {i}")}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut checked = 0;
    for g in guesses {
        if g.await.unwrap() == StatusCode::UNAUTHORIZED {
            checked += 1;
        }
    }
    assert_eq!(checked, 10, "only ten guesses get their password checked");
    // A correct password after that is throttled too, and a success does not count as a failure.
    let res = app.login(&email, "correct horse battery").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn successful_logins_are_not_counted_as_failures() {
    let app = spawn_app().await;
    let tenant = app.signup("Acme").await;
    let email = owner_email(&app, &tenant).await;
    for _ in 0..12 {
        let res = app.login(&email, "correct horse battery").await;
        assert_eq!(res.status(), StatusCode::OK);
    }
}

async fn signup_from(app: &TestApp, forwarded: Option<&str>) -> StatusCode {
    let mut r = app
        .request(Method::POST, "/v1/auth/signup", None)
        .json(&json!({
            "organizationName": "Acme", "name": "A",
            "email": format!("{}@limit.test", uuid::Uuid::now_v7().simple()),
            "password": "correct horse battery"
        }));
    if let Some(f) = forwarded {
        r = r.header("x-forwarded-for", f);
    }
    r.send().await.unwrap().status()
}

#[tokio::test]
async fn signups_are_limited_per_client_address_behind_trusted_proxies_only() {
    let app = spawn_app_with(Roles::API, |s| {
        s.insert("SIGNUPS_PER_HOUR_PER_ADDRESS".into(), "2".into());
    })
    .await;
    // Not a trusted proxy: the header is ignored, and the peer is limited.
    assert_eq!(
        signup_from(&app, Some("198.51.100.1")).await,
        StatusCode::CREATED
    );
    assert_eq!(
        signup_from(&app, Some("198.51.100.2")).await,
        StatusCode::CREATED
    );
    let res = signup_from(&app, Some("198.51.100.3")).await;
    assert_eq!(res, StatusCode::TOO_MANY_REQUESTS);

    let app = spawn_app_with(Roles::API, |s| {
        s.insert("SIGNUPS_PER_HOUR_PER_ADDRESS".into(), "2".into());
        s.insert("TRUSTED_PROXIES".into(), "127.0.0.1".into());
    })
    .await;
    for client in [
        "198.51.100.1",
        "198.51.100.1",
        "2001:db8:1:2::1",
        "2001:db8:1:2::99",
    ] {
        assert_eq!(signup_from(&app, Some(client)).await, StatusCode::CREATED);
    }
    // The third from one address, and the third from one IPv6 /64.
    assert_eq!(
        signup_from(&app, Some("198.51.100.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        signup_from(&app, Some("2001:db8:1:2:ffff::7")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A spoofed hop left of the proxy's own does not help: the right-most untrusted one counts.
    assert_eq!(
        signup_from(&app, Some("203.0.113.9, 198.51.100.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        signup_from(&app, Some("198.51.100.200")).await,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn webhook_endpoints_and_their_actions_are_bounded() {
    let app = spawn_app_with(Roles::API, |s| {
        s.insert("WEBHOOK_ALLOW_PRIVATE_TARGETS".into(), "true".into());
    })
    .await;
    let tenant = app.signup("Acme").await;
    let create = |url: String, types: Value| {
        app.post(
            "/v1/webhook-endpoints",
            Some(&tenant.token),
            json!({"url": url, "eventTypes": types}),
        )
    };
    let long = format!("http://127.0.0.1:9/{}", "a".repeat(2048));
    assert_error(
        create(long, json!([])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_ERROR",
    )
    .await;
    let body = assert_error(
        create(
            "http://127.0.0.1:9/x".into(),
            json!(["sms_delivered", "sms_delivered"]),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(body["error"]["details"][0]["field"], "eventTypes");
    let mut first = String::new();
    for i in 0..20 {
        let res = create(format!("http://127.0.0.1:9/{i}"), json!([])).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        if i == 0 {
            first = res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
        }
    }
    assert_error(
        create("http://127.0.0.1:9/21".into(), json!([])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "LIMIT_EXCEEDED",
    )
    .await;
    let endpoints: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(endpoints, 20);

    let test_path = format!("/v1/webhook-endpoints/{first}/test");
    let test = || app.post(&test_path, Some(&tenant.token), json!({}));
    for _ in 0..10 {
        assert_eq!(test().await.status(), StatusCode::OK);
    }
    let res = test().await;
    assert!(res.headers().contains_key("retry-after"));
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;

    let old = (chrono::Utc::now() - chrono::Duration::days(31)).to_rfc3339();
    let res = app
        .post(
            &format!("/v1/webhook-endpoints/{first}/recover"),
            Some(&tenant.token),
            json!({"since": old}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn a_manual_retry_never_posts_beside_a_live_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(1500)))
        .mount(&server)
        .await;
    let app = spawn_app_with(Roles::ALL, |s| {
        s.insert("WEBHOOK_ALLOW_PRIVATE_TARGETS".into(), "true".into());
        s.insert("WEBHOOK_TIMEOUT".into(), "2s".into());
    })
    .await;
    let tenant = app.signup("Acme").await;
    let (endpoint, _) =
        crate::webhooks::endpoint(&app, &tenant, format!("{}/hook", server.uri()), json!([])).await;
    let res = app
        .post(
            &format!("/v1/webhook-endpoints/{endpoint}/test"),
            Some(&tenant.token),
            json!({}),
        )
        .await;
    let delivery = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.received_requests().await.unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no attempt started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let res = app
        .post(
            &format!("/v1/webhook-deliveries/{delivery}/retry"),
            Some(&tenant.token),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let (attempts, rows): (i32, i64) = sqlx::query_as(
        "SELECT attempts, (SELECT count(*) FROM webhook_attempts WHERE delivery_id = $1::uuid)
         FROM webhook_deliveries WHERE id = $1::uuid",
    )
    .bind(&delivery)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((attempts, rows), (1, 1), "every attempt counted");
}

#[tokio::test]
async fn lists_cannot_be_paged_too_deep_or_searched_with_a_novel() {
    let app = spawn_app().await;
    let (tenant, key) = app.sms_tenant("Acme").await;
    for path in [
        "/v1/public/sms?page=101&pageSize=100",
        "/v1/public/sms?page=10001",
    ] {
        let body = assert_error(
            app.get(path, &key).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_ERROR",
        )
        .await;
        assert_eq!(body["error"]["details"][0]["field"], "page");
    }
    assert_eq!(
        app.get("/v1/public/sms?page=100&pageSize=100", &key)
            .await
            .status(),
        StatusCode::OK
    );
    let long = "1".repeat(101);
    let body = assert_error(
        app.get(&format!("/v1/public/sms?query={long}"), &key).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(body["error"]["details"][0]["field"], "query");
    let res = app
        .post(
            "/v1/members",
            Some(&tenant.token),
            json!({"email": "long@acme.test", "name": "n".repeat(201), "role": "VIEWER", "password": "member password 1"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn a_batch_counts_each_of_its_messages_against_the_rate_limit_on_both_route_kinds() {
    let app = spawn_app_with(Roles::API, |s| {
        s.insert("RATE_LIMIT_PER_SECOND".into(), "1".into());
        s.insert("RATE_LIMIT_BURST".into(), "10".into());
    })
    .await;
    let (tenant, key) = app.sms_tenant("Acme").await;
    let batch = |n: usize| {
        let messages: Vec<Value> = (0..n)
            .map(|i| json!({"to": format!("+23480670{:05}", i), "body": "b", "senderId": "Herald"}))
            .collect();
        json!({ "messages": messages })
    };
    let res = app.post("/v1/public/sms/batch", Some(&key), batch(8)).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let res = app.post("/v1/public/sms/batch", Some(&key), batch(5)).await;
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    let res = app
        .post("/v1/sms/batch", Some(&tenant.token), batch(10))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let res = app
        .post(
            "/v1/sms/send",
            Some(&tenant.token),
            json!({"to": "+2348067000111", "body": "b", "senderId": "Herald"}),
        )
        .await;
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 18, "refused requests stored nothing");
}

#[tokio::test]
async fn twilio_account_fields_stay_off_the_timeline() {
    let server = MockServer::start().await;
    let sid = "AC0123456789";
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "sid": "SM77", "status": "queued", "account_sid": sid, "price": "-0.05",
            "subresource_uris": {"media": "/x"}
        })))
        .mount(&server)
        .await;
    let uri = server.uri();
    let app = spawn_app_with(Roles::ALL, move |s| {
        s.insert("SMS_PROVIDER".into(), "twilio".into());
        s.insert("TWILIO_API_BASE".into(), uri);
        s.insert("TWILIO_ACCOUNT_SID".into(), sid.into());
        s.insert("TWILIO_AUTH_TOKEN".into(), "token".into());
    })
    .await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    app.wait_for_status(&key, &id, "SENT").await;
    let timeline = serde_json::to_string(&app.timeline(&key, &id).await).unwrap();
    assert!(timeline.contains("SM77"));
    assert!(!timeline.contains(sid), "{timeline}");
    assert!(!timeline.contains("price"), "{timeline}");
    let stored: Value = sqlx::query_scalar(
        "SELECT provider_answer FROM events WHERE message_id = $1::uuid AND status = 'SENT'",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored["account_sid"], sid);
}

/// The value of the Prometheus sample `name{labels}` in `text`, if it is there.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn the_pipeline_is_measured_and_every_role_serves_probes_beside_its_metrics() {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let app = spawn_app_with(Roles::ALL, move |s| {
        s.insert("METRICS_BIND_ADDR".into(), bind);
    })
    .await;
    let (_, key) = app.sms_tenant("Metered").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    app.wait_for_status(&key, &id, "DELIVERED").await;
    let refused = app.send_sms_id(&key, "+2348067000000").await;
    app.wait_for_status(&key, &refused, "FAILED").await;
    let ops = format!("http://127.0.0.1:{port}");
    for probe in ["/health/live", "/health/ready"] {
        let res = app
            .client
            .get(format!("{ops}{probe}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{probe}");
    }
    // The receipt job and the scheduler's first tick come a moment after the status.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let wanted = [
        r#"herald_jobs_started_total{queue="herald.send"}"#,
        r#"herald_jobs_succeeded_total{queue="herald.send"}"#,
        r#"herald_provider_requests_total{channel="sms",provider="sandbox",outcome="accepted"}"#,
        r#"herald_provider_requests_total{channel="sms",provider="sandbox",outcome="refused"}"#,
        r#"herald_receipts_total{outcome="applied"}"#,
        r#"herald_message_status_changes_total{channel="sms",status="DELIVERED"}"#,
        r#"herald_message_status_changes_total{channel="sms",status="FAILED"}"#,
        r#"herald_job_duration_seconds_count{queue="herald.receipt"}"#,
        r#"herald_provider_request_duration_seconds_count{channel="sms",provider="sandbox"}"#,
        r#"herald_scheduler_duty_runs_total{duty="bury_dead_jobs",outcome="ok"}"#,
        r#"herald_queue_pending_jobs{queue="herald.send"}"#,
        r#"herald_queue_oldest_due_seconds{queue="herald.webhook"}"#,
        r#"herald_jobs_dead_total{queue="herald.send"}"#,
        r#"herald_jobs_retried_total{queue="herald.poll"}"#,
    ];
    loop {
        let text = app
            .client
            .get(format!("{ops}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let missing: Vec<&&str> = wanted
            .iter()
            .filter(|s| sample(&text, s).is_none())
            .collect();
        if missing.is_empty() {
            assert_eq!(sample(&text, wanted[0]), Some(2.0), "two sends started");
            assert_eq!(sample(&text, wanted[2]), Some(1.0));
            assert_eq!(sample(&text, wanted[3]), Some(1.0));
            assert_eq!(sample(&text, wanted[10]), Some(0.0), "nothing left to send");
            assert_eq!(sample(&text, wanted[12]), Some(0.0), "counted from zero");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "missing {missing:?} in\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn metrics_can_move_off_the_public_listener() {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let app = spawn_app_with(Roles::API, move |s| {
        s.insert("METRICS_BIND_ADDR".into(), bind);
    })
    .await;
    let res = app
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(Roles::API, |_| {}).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server closed the connection");
    let text = String::from_utf8_lossy(&buf);
    assert!(!text.contains("200 OK"), "{text}");
}

#[tokio::test]
async fn sealed_secrets_of_the_earlier_unbound_form_are_resealed_at_start_up() {
    let app = spawn_app_with(Roles::API, |s| {
        s.insert("WEBHOOK_ALLOW_PRIVATE_TARGETS".into(), "true".into());
    })
    .await;
    let tenant = app.signup("Acme").await;
    let (id, secret) =
        crate::webhooks::endpoint(&app, &tenant, "http://127.0.0.1:9/x".into(), json!([])).await;
    // What the earlier code stored for "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" with the test key:
    // AES-256-GCM, no associated data.
    sqlx::query("UPDATE webhook_endpoints SET secret = $2 WHERE id = $1::uuid")
        .bind(&id)
        .bind(UNBOUND_SEALED)
        .execute(&app.pool)
        .await
        .unwrap();
    let again = spawn_app_on(app.database_url.clone(), Roles::API, |s| {
        s.insert("WEBHOOK_ALLOW_PRIVATE_TARGETS".into(), "true".into());
    })
    .await;
    let stored: String =
        sqlx::query_scalar("SELECT secret FROM webhook_endpoints WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&again.pool)
            .await
            .unwrap();
    assert!(stored.starts_with("v2:"), "{stored}");
    let read = again
        .get_json(&format!("/v1/webhook-endpoints/{id}/secret"), &tenant.token)
        .await;
    assert_eq!(read["secret"], UNBOUND_PLAIN);
    assert_ne!(read["secret"], secret.as_str());
    // Copied into another endpoint's row, the bound value does not open.
    let (other, _) =
        crate::webhooks::endpoint(&again, &tenant, "http://127.0.0.1:9/y".into(), json!([])).await;
    sqlx::query("UPDATE webhook_endpoints SET secret = $2 WHERE id = $1::uuid")
        .bind(&other)
        .bind(&stored)
        .execute(&again.pool)
        .await
        .unwrap();
    let res = again
        .get(
            &format!("/v1/webhook-endpoints/{other}/secret"),
            &tenant.token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

const UNBOUND_PLAIN: &str = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const UNBOUND_SEALED: &str = include_str!("unbound_sealed.txt");
