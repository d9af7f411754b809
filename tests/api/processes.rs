//! Tests that run the `herald` binary itself, as an operator would.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use herald::Roles;
use serde_json::json;

use crate::helpers::*;

/// A `herald` process, killed if a test panics before stopping it.
struct Herald(Child);

impl Drop for Herald {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn herald(
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
    let id = app.send_sms(&key, "+2348067000111").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
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
