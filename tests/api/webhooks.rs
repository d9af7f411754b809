//! Customer webhooks against local receivers (wiremock), verified as an outside receiver would.

use std::time::Duration;

use herald::Roles;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers::method};

use crate::helpers::*;

async fn webhook_app(extra: &[(&'static str, &'static str)]) -> TestApp {
    let extra = extra.to_vec();
    spawn_app_with(Roles::ALL, move |s| {
        s.insert("WEBHOOK_ALLOW_PRIVATE_TARGETS".into(), "true".into());
        s.insert("WEBHOOK_RETRY_SCHEDULE".into(), "1s,1s,1s".into());
        for (k, v) in extra {
            s.insert(k.into(), v.into());
        }
    })
    .await
}

pub async fn endpoint(
    app: &TestApp,
    tenant: &Tenant,
    url: String,
    types: Value,
) -> (String, String) {
    let res = app
        .post(
            "/v1/webhook-endpoints",
            Some(&tenant.token),
            json!({"url": url, "eventTypes": types, "description": "test"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert!(body["secret"].as_str().unwrap().starts_with("whsec_"));
    (
        body["id"].as_str().unwrap().to_owned(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

fn header(r: &Request, name: &str) -> String {
    r.headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Waits until the endpoint has no PENDING delivery left and returns its deliveries.
pub async fn settled(
    app: &TestApp,
    tenant: &Tenant,
    endpoint_id: &str,
    expected: usize,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let list: Value = app
            .get(
                &format!("/v1/webhook-endpoints/{endpoint_id}/deliveries?pageSize=100"),
                &tenant.token,
            )
            .await
            .json()
            .await
            .unwrap();
        let data = list["data"].as_array().unwrap().clone();
        if data.len() >= expected && data.iter().all(|d| d["status"] != "PENDING") {
            return data;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries never settled: {list}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Verifies received requests with the Standard Webhooks reference library (PyPI `standardwebhooks`).
fn verify_with_reference_library(secret: &str, requests: &[Request]) {
    let cases: Vec<Value> = requests
        .iter()
        .map(|r| {
            json!({
                "body": String::from_utf8(r.body.clone()).unwrap(),
                "headers": {
                    "webhook-id": header(r, "webhook-id"),
                    "webhook-timestamp": header(r, "webhook-timestamp"),
                    "webhook-signature": header(r, "webhook-signature"),
                },
            })
        })
        .collect();
    let python = std::env::var("HERALD_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
secret, cases = sys.argv[1], json.load(sys.stdin)
wh = Webhook(secret)
for c in cases:
    wh.verify(c["body"], c["headers"])
print(f"verified {len(cases)}")
"#;
    let mut child = std::process::Command::new(python)
        .args(["-c", script, secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python (./scripts/test installs standardwebhooks and sets HERALD_PYTHON)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&cases).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the reference library refused a signature: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("verified {}", requests.len())
    );
}

#[tokio::test]
async fn every_status_change_is_delivered_signed_with_the_message_as_it_was() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let app = webhook_app(&[]).await;
    let (tenant, key) = app.sms_tenant("Acme").await;
    let (endpoint_id, secret) =
        endpoint(&app, &tenant, format!("{}/hooks", server.uri()), json!([])).await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    app.wait_for_status(&key, &id, "DELIVERED").await;
    let deliveries = settled(&app, &tenant, &endpoint_id, 4).await;
    assert!(
        deliveries.iter().all(|d| d["status"] == "SUCCEEDED"
            && d["attempts"] == 1
            && d["responseStatus"] == 204)
    );

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 4);
    let mut types = Vec::new();
    for r in &requests {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        let webhook_id = header(r, "webhook-id");
        assert_eq!(
            body["id"],
            webhook_id.as_str(),
            "webhook-id is the event id"
        );
        assert_eq!(body["organizationId"], tenant.organization_id.as_str());
        assert!(header(r, "user-agent").starts_with("Herald"));
        let ts: i64 = header(r, "webhook-timestamp").parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
        assert!(domain::webhooks::signing::verify(
            &secret,
            &webhook_id,
            ts,
            std::str::from_utf8(&r.body).unwrap(),
            &header(r, "webhook-signature")
        ));
        let t = body["type"].as_str().unwrap().to_owned();
        let status = t.trim_start_matches("sms_").to_uppercase();
        assert_eq!(
            body["data"]["status"],
            status.as_str(),
            "data is the message at that moment"
        );
        assert_eq!(body["data"]["id"], id.as_str());
        types.push(t);
    }
    types.sort();
    assert_eq!(
        types,
        vec!["sms_delivered", "sms_processing", "sms_queued", "sms_sent"]
    );
    verify_with_reference_library(&secret, &requests);
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_same_webhook_id_three_times() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let app = webhook_app(&[]).await;
    let tenant = app.signup("Acme").await;
    let (endpoint_id, secret) =
        endpoint(&app, &tenant, server.uri(), json!(["sms_delivered"])).await;
    let res = app
        .post(
            &format!("/v1/webhook-endpoints/{endpoint_id}/test"),
            Some(&tenant.token),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let deliveries = settled(&app, &tenant, &endpoint_id, 1).await;
    let d = &deliveries[0];
    assert_eq!(
        (
            d["status"].as_str(),
            d["attempts"].as_i64(),
            d["responseStatus"].as_i64()
        ),
        (Some("SUCCEEDED"), Some(3), Some(200))
    );
    assert_eq!(d["eventType"], "webhook_test");
    assert_eq!(d["responseBodyExcerpt"], "ok");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    let ids: std::collections::HashSet<String> =
        requests.iter().map(|r| header(r, "webhook-id")).collect();
    assert_eq!(ids.len(), 1, "the same webhook-id on every retry");
    assert_eq!(
        ids.into_iter().next().unwrap(),
        d["eventId"].as_str().unwrap()
    );
    let attempts: Vec<(Option<i32>, Option<String>)> = sqlx::query_as(
        "SELECT response_status, response_body_excerpt FROM webhook_attempts ORDER BY attempted_at",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        attempts,
        vec![
            (Some(500), Some("oops".into())),
            (Some(500), Some("oops".into())),
            (Some(200), Some("ok".into()))
        ]
    );
    verify_with_reference_library(&secret, &requests);
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_exhausted_retries_fail_until_replayed() {
    let gone = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&gone)
        .await;
    let flaky = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(4)
        .mount(&flaky)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&flaky)
        .await;
    let app = webhook_app(&[]).await;
    let tenant = app.signup("Acme").await;
    let (gone_id, _) = endpoint(&app, &tenant, gone.uri(), json!([])).await;
    let (flaky_id, _) = endpoint(&app, &tenant, flaky.uri(), json!([])).await;

    app.post(
        &format!("/v1/webhook-endpoints/{gone_id}/test"),
        Some(&tenant.token),
        json!({}),
    )
    .await;
    let d = settled(&app, &tenant, &gone_id, 1).await;
    assert_eq!(
        (d[0]["status"].as_str(), d[0]["attempts"].as_i64()),
        (Some("FAILED"), Some(1))
    );
    let e: Value = app
        .get(&format!("/v1/webhook-endpoints/{gone_id}"), &tenant.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(e["enabled"], false);
    assert!(e["disabledReason"].as_str().unwrap().contains("410"));

    app.post(
        &format!("/v1/webhook-endpoints/{flaky_id}/test"),
        Some(&tenant.token),
        json!({}),
    )
    .await;
    let d = settled(&app, &tenant, &flaky_id, 1).await;
    assert_eq!(
        (d[0]["status"].as_str(), d[0]["attempts"].as_i64()),
        (Some("FAILED"), Some(4)),
        "1 attempt + 3 retries"
    );
    let failed: Value = app
        .get(
            &format!("/v1/webhook-endpoints/{flaky_id}/deliveries?status=FAILED"),
            &tenant.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(failed["total"], 1);

    let delivery_id = d[0]["id"].as_str().unwrap();
    let res = app
        .post(
            &format!("/v1/webhook-deliveries/{delivery_id}/retry"),
            Some(&tenant.token),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let d = settled(&app, &tenant, &flaky_id, 1).await;
    assert_eq!(d[0]["status"], "SUCCEEDED", "a manual replay delivers it");

    // An outage, then recovery of everything FAILED since a given time.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&flaky)
        .await;
    sqlx::query("UPDATE webhook_deliveries SET status = 'FAILED' WHERE endpoint_id = $1::uuid")
        .bind(&flaky_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let since = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let res: Value = app
        .post(
            &format!("/v1/webhook-endpoints/{flaky_id}/recover"),
            Some(&tenant.token),
            json!({"since": since}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(res["recovered"], 1);
    let d = settled(&app, &tenant, &flaky_id, 1).await;
    assert_eq!(d[0]["status"], "SUCCEEDED");
    let res = app
        .post(
            &format!("/v1/webhook-endpoints/{flaky_id}/recover"),
            Some(&tenant.token),
            json!({"since": "yesterday"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn a_rotated_secret_yields_two_signatures_that_each_verify() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let app = webhook_app(&[]).await;
    let tenant = app.signup("Acme").await;
    let (endpoint_id, old) = endpoint(&app, &tenant, server.uri(), json!([])).await;
    let read: Value = app
        .get(
            &format!("/v1/webhook-endpoints/{endpoint_id}/secret"),
            &tenant.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["secret"], old.as_str());
    let rotated: Value = app
        .post(
            &format!("/v1/webhook-endpoints/{endpoint_id}/rotate-secret"),
            Some(&tenant.token),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let read: Value = app
        .get(
            &format!("/v1/webhook-endpoints/{endpoint_id}/secret"),
            &tenant.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["secret"], new.as_str());
    let stored: String = sqlx::query_scalar("SELECT secret FROM webhook_endpoints")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        stored.starts_with("v2:") && !stored.contains(&new[6..]),
        "stored sealed"
    );

    app.post(
        &format!("/v1/webhook-endpoints/{endpoint_id}/test"),
        Some(&tenant.token),
        json!({}),
    )
    .await;
    settled(&app, &tenant, &endpoint_id, 1).await;
    let r = &server.received_requests().await.unwrap()[0];
    let sig = header(r, "webhook-signature");
    assert_eq!(sig.split(' ').count(), 2);
    let (id, ts, body) = (
        header(r, "webhook-id"),
        header(r, "webhook-timestamp").parse().unwrap(),
        String::from_utf8(r.body.clone()).unwrap(),
    );
    for (secret, part) in [
        (&new, sig.split(' ').next().unwrap()),
        (&old, sig.split(' ').nth(1).unwrap()),
    ] {
        assert!(domain::webhooks::signing::verify(
            secret, &id, ts, &body, part
        ));
    }
    verify_with_reference_library(&old, std::slice::from_ref(r));
    verify_with_reference_library(&new, std::slice::from_ref(r));
}

#[tokio::test]
async fn subscriptions_choose_events_and_disabled_endpoints_get_none_but_tests() {
    let all = MockServer::start().await;
    let some = MockServer::start().await;
    let off = MockServer::start().await;
    for s in [&all, &some, &off] {
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(s)
            .await;
    }
    let app = webhook_app(&[]).await;
    let (tenant, key) = app.sms_tenant("Acme").await;
    let (all_id, _) = endpoint(&app, &tenant, all.uri(), json!([])).await;
    let (some_id, _) = endpoint(
        &app,
        &tenant,
        some.uri(),
        json!(["sms_delivered", "sms_opt_out"]),
    )
    .await;
    let (off_id, _) = endpoint(&app, &tenant, off.uri(), json!([])).await;
    let res = app
        .patch(
            &format!("/v1/webhook-endpoints/{off_id}"),
            &tenant.token,
            json!({"enabled": false, "description": null}),
        )
        .await;
    let patched: Value = res.json().await.unwrap();
    assert_eq!(
        (patched["enabled"].as_bool(), &patched["description"]),
        (Some(false), &Value::Null)
    );

    let id = app.send_sms_id(&key, "+2348067000111").await;
    app.wait_for_status(&key, &id, "DELIVERED").await;
    let res = app
        .post(
            "/v1/sms/opt-outs",
            Some(&tenant.token),
            json!({"phoneNumber": "+2348067000999"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
    settled(&app, &tenant, &all_id, 5).await;
    settled(&app, &tenant, &some_id, 2).await;
    let types = |reqs: Vec<Request>| -> Vec<String> {
        let mut t: Vec<String> = reqs
            .iter()
            .map(|r| {
                serde_json::from_slice::<Value>(&r.body).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        t.sort();
        t
    };
    assert_eq!(
        types(some.received_requests().await.unwrap()),
        vec!["sms_delivered", "sms_opt_out"]
    );
    assert_eq!(all.received_requests().await.unwrap().len(), 5);
    let opt_out = all
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["type"] == "sms_opt_out")
        .unwrap();
    let body: Value = serde_json::from_slice(&opt_out.body).unwrap();
    assert_eq!(
        (
            body["data"]["phoneNumber"].as_str(),
            body["data"]["action"].as_str(),
            body["data"]["source"].as_str()
        ),
        (Some("+2348067000999"), Some("added"), Some("api"))
    );
    assert!(off.received_requests().await.unwrap().is_empty());
    app.post(
        &format!("/v1/webhook-endpoints/{off_id}/test"),
        Some(&tenant.token),
        json!({}),
    )
    .await;
    settled(&app, &tenant, &off_id, 1).await;
    assert_eq!(
        types(off.received_requests().await.unwrap()),
        vec!["webhook_test"]
    );
}

#[tokio::test]
async fn endpoints_are_validated_guarded_and_isolated() {
    let app = spawn_app_with(Roles::API, |_| {}).await;
    let a = app.signup("Alpha").await;
    let b = app.signup("Beta").await;
    for (body, field) in [
        (json!({}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "ftp://example.com"}), "url"),
        (json!({"url": "http://127.0.0.1:9/hook"}), "url"),
        (json!({"url": "http://169.254.169.254/latest"}), "url"),
        (json!({"url": "http://localhost:9/hook"}), "url"),
        (
            json!({"url": "https://93.184.216.34/hook", "eventTypes": ["sms_exploded"]}),
            "eventTypes",
        ),
    ] {
        let res = app
            .post("/v1/webhook-endpoints", Some(&a.token), body.clone())
            .await;
        let err = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
        assert_eq!(err["error"]["details"][0]["field"], field, "{body}");
    }
    let res = app
        .post(
            "/v1/webhook-endpoints",
            Some(&a.token),
            json!({"url": "https://93.184.216.34/hook"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, viewer) = app.member(&a, "VIEWER").await;
    assert_eq!(
        app.get_json("/v1/webhook-endpoints", &viewer).await["total"],
        1
    );
    assert!(
        app.get_json(&format!("/v1/webhook-endpoints/{id}"), &viewer)
            .await
            .get("secret")
            .is_none()
    );
    for (method, path) in [
        ("POST", "/v1/webhook-endpoints".to_string()),
        ("GET", format!("/v1/webhook-endpoints/{id}/secret")),
        ("POST", format!("/v1/webhook-endpoints/{id}/rotate-secret")),
        ("POST", format!("/v1/webhook-endpoints/{id}/test")),
        ("DELETE", format!("/v1/webhook-endpoints/{id}")),
    ] {
        let res = app
            .request(method.parse().unwrap(), &path, Some(&viewer))
            .json(&json!({"url": "https://93.184.216.34/x"}))
            .send()
            .await
            .unwrap();
        assert_error(res, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    }
    for (method, path) in [
        ("GET", format!("/v1/webhook-endpoints/{id}")),
        ("PATCH", format!("/v1/webhook-endpoints/{id}")),
        ("DELETE", format!("/v1/webhook-endpoints/{id}")),
        ("GET", format!("/v1/webhook-endpoints/{id}/secret")),
        ("POST", format!("/v1/webhook-endpoints/{id}/rotate-secret")),
        ("POST", format!("/v1/webhook-endpoints/{id}/test")),
        ("GET", format!("/v1/webhook-endpoints/{id}/deliveries")),
        ("POST", format!("/v1/webhook-endpoints/{id}/recover")),
        (
            "POST",
            format!("/v1/webhook-deliveries/{}/retry", uuid::Uuid::now_v7()),
        ),
    ] {
        let res = app
            .request(method.parse().unwrap(), &path, Some(&b.token))
            .json(&json!({"since": "2026-01-01T00:00:00Z"}))
            .send()
            .await
            .unwrap();
        assert_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
    assert_eq!(
        app.delete(&format!("/v1/webhook-endpoints/{id}"), &a.token)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.get(&format!("/v1/webhook-endpoints/{id}"), &a.token)
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;

    let prod = spawn_app_with(Roles::API, |s| {
        s.insert("HERALD_ENV".into(), "production".into());
    })
    .await;
    let t = prod.signup("Prod").await;
    let res = prod
        .post(
            "/v1/webhook-endpoints",
            Some(&t.token),
            json!({"url": "http://93.184.216.34/hook"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn delivery_claims_in_flight_claim_each_delivery_once_and_their_attempts_record_each_outcome()
{
    use domain::{
        commits::Batcher,
        webhooks::{self, Attempt, Claim, DeliveryOutcome},
    };

    // No worker: the deliveries wait for the claims made here.
    let app = spawn_app_with(Roles::API, |s| {
        s.insert("WEBHOOK_ALLOW_PRIVATE_TARGETS".into(), "true".into());
    })
    .await;
    let t = app.signup("Acme").await;
    let (endpoint_id, _) = endpoint(&app, &t, "http://127.0.0.1:9/".into(), json!([])).await;
    for _ in 0..6 {
        let path = format!("/v1/webhook-endpoints/{endpoint_id}/test");
        let res = app.post(&path, Some(&t.token), json!({})).await;
        assert!(res.status().is_success(), "{}", res.status());
    }
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM webhook_deliveries ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(ids.len(), 6);
    let batcher = Batcher::start(app.pool.clone());
    let lease = Duration::from_secs(60);
    // Every delivery's job twice at once: one claims it, the other finds it held.
    let claims = ids.iter().chain(&ids).map(|id| {
        let batcher = batcher.clone();
        async move { (*id, webhooks::claim(&batcher, *id, lease).await.unwrap()) }
    });
    let mut claimed = Vec::new();
    for (id, claim) in futures::future::join_all(claims).await {
        match claim {
            Claim::Claimed(c) => claimed.push(c),
            Claim::NotYet(_) => {}
            Claim::Done => panic!("delivery {id} found done"),
        }
    }
    claimed.sort_by_key(|c| c.id);
    assert_eq!(claimed.iter().map(|c| c.id).collect::<Vec<_>>(), ids);

    // Half the attempts succeed, half fail and are retried later.
    let schedule = [Duration::from_secs(300)];
    let attempts = claimed.iter().enumerate().map(|(i, c)| {
        let batcher = batcher.clone();
        let status = if i % 2 == 0 { 200 } else { 500 };
        let attempt = Attempt {
            response_status: Some(status),
            duration: Duration::from_millis(5),
            body_excerpt: None,
            error: (status != 200).then(|| "the endpoint answered 500".to_owned()),
            retry_after: None,
        };
        async move {
            webhooks::record_attempt(&batcher, c, &attempt, &schedule)
                .await
                .unwrap()
        }
    });
    let outcomes = futures::future::join_all(attempts).await;
    for (i, outcome) in outcomes.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(*outcome, DeliveryOutcome::Succeeded);
        } else {
            assert!(
                matches!(outcome, DeliveryOutcome::RetryAt(_)),
                "{outcome:?}"
            );
        }
    }
    let rows: Vec<(String, i32, Option<i32>, bool)> = sqlx::query_as(
        "SELECT status, attempts, response_status, lease_until IS NULL FROM webhook_deliveries ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (i, row) in rows.iter().enumerate() {
        let expected = if i % 2 == 0 {
            ("SUCCEEDED".to_owned(), 1, Some(200), true)
        } else {
            ("PENDING".to_owned(), 1, Some(500), true)
        };
        assert_eq!(*row, expected, "delivery {i}");
    }
    let (recorded, retries): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM webhook_attempts),
                (SELECT count(*) FROM apalis.jobs WHERE job_type = 'herald.webhook'
                   AND run_at > now() + interval '1 minute')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((recorded, retries), (6, 3));
}
