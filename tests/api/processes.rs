//! Tests that run the `herald` binary itself, as an operator would.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use herald::Roles;
use serde_json::json;

use crate::helpers::*;

/// A `herald` process, killed if a test panics before stopping it.
pub struct Herald(pub Child);

impl Drop for Herald {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn herald(
    args: &[&str],
    database_url: &str,
    extra: &[(&str, &str)],
    log: &std::path::Path,
) -> Herald {
    let out = std::fs::File::create(log).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(base_settings(database_url))
        .env("RUST_LOG", "debug,sqlx=warn,hyper=info,h2=info,tower=info")
        .envs(extra.iter().copied())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null());
    Herald(cmd.spawn().expect("herald binary starts"))
}

fn terminate(Herald(child): &mut Herald) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("herald did not stop within 10 s of SIGTERM");
}

#[tokio::test]
async fn a_job_pushed_by_the_api_is_run_by_a_worker_in_another_process() {
    let app = spawn_app_with(Roles::API, |_| {}).await;
    let log = std::env::temp_dir().join(format!("herald-worker-{}.log", uuid::Uuid::now_v7()));
    let mut worker = herald(&["worker"], &app.database_url, &[], &log);
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    app.wait_for_status(&key, &id, "DELIVERED").await;
    let status = terminate(&mut worker);
    assert!(
        status.success(),
        "a SIGTERM stops the worker cleanly: {status}"
    );
    let output = std::fs::read_to_string(&log).unwrap();
    assert!(output.contains("worker stopping"), "{output}");
}

#[tokio::test]
async fn a_worker_process_serves_probes_beside_its_metrics_and_herald_probe_reads_them() {
    let app = spawn_app_with(Roles::API, |_| {}).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let bind = format!("127.0.0.1:{port}");
    let log = std::env::temp_dir().join(format!("herald-worker-{}.log", uuid::Uuid::now_v7()));
    let mut worker = herald(
        &["worker"],
        &app.database_url,
        &[("METRICS_BIND_ADDR", bind.as_str())],
        &log,
    );
    let ready = format!("http://{bind}/health/ready");
    let probe = |url: String| {
        Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["probe", &url])
            .env_clear()
            .status()
            .unwrap()
            .success()
    };
    let mut up = false;
    for _ in 0..100 {
        if probe(ready.clone()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "{}", std::fs::read_to_string(&log).unwrap());
    let (_, key) = app.sms_tenant("Probed").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    app.wait_for_status(&key, &id, "SENT").await;
    let metrics = app
        .client
        .get(format!("http://{bind}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"herald_jobs_started_total{queue="herald.send"} 1"#),
        "{metrics}"
    );
    assert!(
        !probe(format!("http://{bind}/nothing-here")),
        "a 404 is not healthy"
    );
    terminate(&mut worker);
    assert!(!probe(ready), "nothing listens after the worker stopped");
}

#[tokio::test]
async fn logs_never_carry_secrets_tokens_or_passwords() {
    let database_url = fresh_database().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let bind = format!("127.0.0.1:{port}");
    let log = std::env::temp_dir().join(format!("herald-all-{}.log", uuid::Uuid::now_v7()));
    let mut child = herald(
        &["all"],
        &database_url,
        &[("BIND_ADDR", bind.as_str()), ("LOG_FORMAT", "json")],
        &log,
    );
    let base = format!("http://{bind}");
    let client = http_client();
    for _ in 0..100 {
        if client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let password = "Sup3r-Secret-Passw0rd";
    let signup: serde_json::Value = client
        .post(format!("{base}/v1/auth/signup"))
        .json(&json!({"organizationName": "Logs", "name": "L", "email": "logs@x.test", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["token"].as_str().unwrap().to_owned();
    let _ = client
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": "logs@x.test", "password": "Wr0ng-Guess-Passw0rd"}))
        .send()
        .await
        .unwrap();
    let key: serde_json::Value = client
        .post(format!("{base}/v1/api-keys"))
        .bearer_auth(&token)
        .json(&json!({"name": "k", "scopes": ["send:sms", "read:sms"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["key"].as_str().unwrap().to_owned();
    let res = client
        .post(format!("{base}/v1/public/sms/send"))
        .bearer_auth(&key)
        .json(&json!({"to": "+2348067000111", "body": "Secret OTP 918273", "senderId": "Nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let _ = client
        .get(format!("{base}/v1/public/key?token=query-secret-123"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let status = terminate(&mut child);
    assert!(status.success());
    let output = std::fs::read_to_string(&log).unwrap();
    assert!(output.contains("request"), "logs were captured: {output}");
    for secret in [
        password,
        "Wr0ng-Guess-Passw0rd",
        token.as_str(),
        key.as_str(),
        "query-secret-123",
        "918273",
        "test-jwt-secret-that-is-long-enough",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ADMIN_PASSWORD,
    ] {
        assert!(
            !output.contains(secret),
            "a secret reached the logs: {secret}"
        );
    }
}

#[tokio::test]
async fn a_malformed_setting_stops_start_up_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("all")
        .env("RATE_LIMIT_BURST", "lots")
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("RATE_LIMIT_BURST"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("all")
        .env("HERALD_ENV", "production")
        .env_remove("JWT_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET"));
}

/// The fault test, small: messages keep flowing while worker processes are killed with SIGKILL and
/// restarted. `scripts/fault-test` runs the same at scale.
#[tokio::test]
async fn killed_workers_lose_no_message_and_never_resend_a_sent_one() {
    let roles = Roles {
        api: true,
        worker: false,
        scheduler: true,
    };
    let settings = SHORT_LEASE;
    let app = spawn_app_with(roles, |s| {
        s.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    })
    .await;
    let (_, key) = app.sms_tenant("Acme").await;
    let log = |n: usize| {
        std::env::temp_dir().join(format!("herald-fault-{}-{n}.log", uuid::Uuid::now_v7()))
    };
    let mut workers = vec![
        herald(&["worker"], &app.database_url, &settings, &log(0)),
        herald(&["worker"], &app.database_url, &settings, &log(1)),
    ];
    let mut ids = Vec::new();
    for round in 0..4 {
        let batch: Vec<_> = (0..25)
            .map(|i| json!({"to": format!("+23480671{round}{:04}", 1000 + i), "body": "fault test", "senderId": "Herald"}))
            .collect();
        let res = app
            .post(
                "/v1/public/sms/batch",
                Some(&key),
                json!({"messages": batch}),
            )
            .await;
        assert_eq!(res.status(), 202);
        let body: serde_json::Value = res.json().await.unwrap();
        ids.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned()),
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        let victim = round % 2;
        workers[victim].0.kill().unwrap();
        workers[victim].0.wait().unwrap();
        workers[victim] = herald(
            &["worker"],
            &app.database_url,
            &settings,
            &log(victim + 2 * (round + 1)),
        );
    }
    for id in &ids {
        app.wait_for_status(&key, id, "DELIVERED").await;
    }
    let count = |sql: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        count("SELECT count(*) FROM messages WHERE status <> 'DELIVERED'").await,
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM sandbox_calls c JOIN events e ON e.message_id = c.message_id AND e.type = 'sms_sent' WHERE c.created_at > e.occurred_at").await,
        0,
        "no message that reached SENT was handed to the provider again"
    );
    assert_eq!(
        count("SELECT count(*) FROM (SELECT message_id FROM sandbox_calls GROUP BY 1 HAVING count(*) > 1) d
               WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = d.message_id AND e.type = 'note'
                                 AND e.detail->>'reason' = 'lease_expired')").await,
        0,
        "a message handed over twice says why on its timeline"
    );
    assert_eq!(
        count("SELECT count(*) FROM events WHERE type = 'sms_delivered'").await,
        ids.len() as i64
    );
    assert_eq!(
        count("SELECT count(*) FROM events WHERE type = 'sms_sent'").await,
        ids.len() as i64
    );
    for mut w in workers {
        terminate(&mut w);
    }
}

/// An API and a scheduler in this process (no worker), a tenant with a webhook endpoint at `server`,
/// `n` test events queued for it, and the first worker process: what the worker-stop tests share.
async fn deliveries_for_a_worker_process(
    server: &wiremock::MockServer,
    settings: &[(&str, &str)],
    n: usize,
    log: impl Fn(usize) -> std::path::PathBuf,
) -> (TestApp, Tenant, String, Herald) {
    let app = spawn_app_with(
        Roles {
            api: true,
            worker: false,
            scheduler: true,
        },
        |s| {
            s.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        },
    )
    .await;
    let tenant = app.signup("Acme").await;
    let (endpoint_id, _) = crate::webhooks::endpoint(&app, &tenant, server.uri(), json!([])).await;
    let worker = herald(&["worker"], &app.database_url, settings, &log(0));
    for _ in 0..n {
        let res = app
            .post(
                &format!("/v1/webhook-endpoints/{endpoint_id}/test"),
                Some(&tenant.token),
                json!({}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    (app, tenant, endpoint_id, worker)
}

/// Waits until `server` has received at least `n` requests.
async fn received_at_least(server: &wiremock::MockServer, n: usize) {
    for _ in 0..200 {
        if server.received_requests().await.unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the receiver never had {n} requests");
}

#[tokio::test]
async fn killing_the_worker_mid_delivery_loses_no_event() {
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(1500)))
        .mount(&server)
        .await;
    let mut settings = SHORT_LEASE.to_vec();
    settings.push(("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"));
    let log = |n: usize| {
        std::env::temp_dir().join(format!(
            "herald-webhook-kill-{}-{n}.log",
            uuid::Uuid::now_v7()
        ))
    };
    let (app, tenant, endpoint_id, mut worker) =
        deliveries_for_a_worker_process(&server, &settings, 5, &log).await;
    // Wait until the receiver has requests in flight, then kill the worker mid-delivery.
    received_at_least(&server, 1).await;
    worker.0.kill().unwrap();
    worker.0.wait().unwrap();
    let in_flight: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(in_flight > 0, "the worker died with deliveries unfinished");
    let mut worker = herald(&["worker"], &app.database_url, &settings, &log(1));
    let deliveries = crate::webhooks::settled(&app, &tenant, &endpoint_id, 5).await;
    assert!(
        deliveries.iter().all(|d| d["status"] == "SUCCEEDED"),
        "{deliveries:?}"
    );
    terminate(&mut worker);
}

/// A free port on loopback for a process to bind.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A rolling restart's stop, on the API: after SIGTERM no new connection is accepted, and a
/// request already in flight (its body still arriving) is served to the end before the process
/// exits 0.
#[tokio::test]
async fn a_sigterm_lets_the_api_finish_a_request_in_flight_and_refuse_new_ones() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let database_url = fresh_database().await;
    let bind = format!("127.0.0.1:{}", free_port());
    let log = std::env::temp_dir().join(format!("herald-api-drain-{}.log", uuid::Uuid::now_v7()));
    let mut api = herald(&["api"], &database_url, &[("BIND_ADDR", &bind)], &log);
    let app = remote(format!("http://{bind}"), database_url).await;
    let (_, key) = app.sms_tenant("Acme").await;

    let body = json!({"to": "+2348067000111", "body": "Your code is 123456", "senderId": "Herald"})
        .to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut conn = tokio::net::TcpStream::connect(&bind).await.unwrap();
    let head = format!(
        "POST /v1/public/sms/send HTTP/1.1\r\nHost: {bind}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = Command::new("kill")
        .args(["-TERM", &api.0.id().to_string()])
        .status();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        tokio::net::TcpStream::connect(&bind).await.is_err(),
        "a stopping API accepts no new connection"
    );
    assert!(
        api.0.try_wait().unwrap().is_none(),
        "the API waits for the request in flight"
    );
    conn.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let status = terminate(&mut api);
    assert!(status.success(), "{status}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

/// A rolling restart's stop, on a worker: SIGTERM lets it finish the deliveries it is running
/// (each receiver request answered and recorded) and leaves no job locked by it (a worker fetches
/// no more than it has free slots for), so the next worker takes the rest at once instead of after
/// three missed heartbeats; nothing is delivered twice.
#[tokio::test]
async fn a_sigterm_lets_a_worker_finish_its_running_jobs_and_leaves_none_locked() {
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};
    // The first delivery is answered at once and the others slowly, so the worker (two at a time)
    // fetches again while one slot is still busy.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(200)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(2500)))
        .mount(&server)
        .await;
    let settings = [
        ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        ("WEBHOOK_CONCURRENCY", "2"),
    ];
    let log = |n: usize| {
        std::env::temp_dir().join(format!(
            "herald-worker-drain-{}-{n}.log",
            uuid::Uuid::now_v7()
        ))
    };
    let (app, tenant, endpoint_id, mut worker) =
        deliveries_for_a_worker_process(&server, &settings, 6, &log).await;
    received_at_least(&server, 3).await;
    let status = terminate(&mut worker);
    assert!(status.success(), "{status}");

    let received = server.received_requests().await.unwrap().len() as i64;
    let succeeded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'SUCCEEDED'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(received > 0);
    assert_eq!(
        succeeded, received,
        "every delivery the stopped worker started was finished and recorded"
    );
    let locked: Vec<(String, String)> = sqlx::query_as(
        "SELECT status, lock_by FROM apalis.jobs WHERE status IN ('Queued', 'Running')",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(
        locked.is_empty(),
        "left locked by a stopped worker: {locked:?}"
    );

    let mut worker = herald(&["worker"], &app.database_url, &settings, &log(1));
    let deliveries = crate::webhooks::settled(&app, &tenant, &endpoint_id, 6).await;
    assert!(
        deliveries
            .iter()
            .all(|d| d["status"] == "SUCCEEDED" && d["attempts"] == 1),
        "{deliveries:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 6);
    terminate(&mut worker);
}
