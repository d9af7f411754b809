//! Retention: what the scheduler deletes once past its time, what it keeps, and one-time codes
//! redacted everywhere they were written once their message is final.

use herald::Roles;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

use crate::{
    helpers::*,
    webhooks::{endpoint, settled},
};

fn settings(app: &TestApp) -> scheduler::Settings {
    let config = domain::Config::from_source(&base_settings(&app.database_url)).unwrap();
    scheduler::Settings::from_config(&config)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// An app with a webhook receiver taking every event, a tenant and an SMS key; without its own
/// scheduler, so that each test runs the duties when it means to.
async fn app_with_receiver() -> (TestApp, MockServer, Tenant, String, String) {
    let roles = Roles {
        api: true,
        worker: true,
        scheduler: false,
    };
    let app = spawn_app_with(roles, |s| {
        s.insert("WEBHOOK_ALLOW_PRIVATE_TARGETS".into(), "true".into());
    })
    .await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let (tenant, key) = app.sms_tenant("Kept").await;
    let (endpoint_id, _) =
        endpoint(&app, &tenant, format!("{}/hook", receiver.uri()), json!([])).await;
    (app, receiver, tenant, key, endpoint_id)
}

#[tokio::test]
async fn a_one_time_code_is_redacted_everywhere_once_its_message_is_final() {
    let (app, receiver, tenant, key, endpoint_id) = app_with_receiver().await;
    let send = |body: &'static str, flow: &'static str| {
        app.post(
            "/v1/public/sms/send",
            Some(&key),
            json!({"to": "+2348067000111", "body": body, "senderId": "Herald", "flow": flow}),
        )
    };
    let otp: Value = send("Your code is 482913", "OTP")
        .await
        .json()
        .await
        .unwrap();
    let standard: Value = send("Your order 5521 shipped", "STANDARD")
        .await
        .json()
        .await
        .unwrap();
    let (otp_id, standard_id) = (
        otp["id"].as_str().unwrap(),
        standard["id"].as_str().unwrap(),
    );
    app.wait_for_status(&key, otp_id, "DELIVERED").await;
    app.wait_for_status(&key, standard_id, "DELIVERED").await;
    // queued, processing, sent and delivered, for each message.
    settled(&app, &tenant, &endpoint_id, 8).await;
    let delivered_before = receiver.received_requests().await.unwrap().len();
    assert!(delivered_before >= 8);

    let mut off = settings(&app);
    off.retention.redact_otp = false;
    scheduler::run_once(&app.pool, &off).await;
    assert_eq!(
        app.message(&key, otp_id).await["body"],
        "Your code is 482913"
    );

    scheduler::run_once(&app.pool, &settings(&app)).await;
    let m = app.message(&key, otp_id).await;
    assert_eq!(m["body"], "[redacted]");
    assert_eq!(m["status"], "DELIVERED");
    assert_eq!(
        app.message(&key, standard_id).await["body"],
        "Your order 5521 shipped"
    );
    let found = app.get_json("/v1/public/sms?query=482913", &key).await;
    assert_eq!(found["total"], 0, "the code is no longer searchable");
    for (table, sql) in [
        (
            "messages",
            "SELECT count(*) FROM messages WHERE content::text LIKE '%482913%' OR search_text LIKE '%482913%'",
        ),
        (
            "sandbox_calls",
            "SELECT count(*) FROM sandbox_calls WHERE body LIKE '%482913%'",
        ),
        (
            "events",
            "SELECT count(*) FROM events WHERE detail::text LIKE '%482913%' OR provider_answer::text LIKE '%482913%'",
        ),
        (
            "webhook_deliveries",
            "SELECT count(*) FROM webhook_deliveries WHERE payload LIKE '%482913%'",
        ),
    ] {
        assert_eq!(count(&app, sql).await, 0, "{table} still holds the code");
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM webhook_deliveries WHERE payload LIKE '%5521 shipped%'"
        )
        .await,
        4,
        "a standard message keeps its text"
    );
    // A redacted delivery replayed by hand is sent redacted, and still verifies as JSON.
    let delivery: String = sqlx::query_scalar(
        "SELECT d.id::text FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
         WHERE e.message_id = $1::uuid AND d.event_type = 'sms_delivered'",
    )
    .bind(otp_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let res = app
        .post(
            &format!("/v1/webhook-deliveries/{delivery}/retry"),
            Some(&tenant.token),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let requests = receiver.received_requests().await.unwrap();
        if requests.len() > delivered_before {
            let body: Value = serde_json::from_slice(&requests.last().unwrap().body).unwrap();
            assert_eq!(body["data"]["body"], "[redacted]");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replay never came"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn records_past_their_retention_are_deleted_and_recent_ones_kept() {
    let (app, _receiver, tenant, key, endpoint_id) = app_with_receiver().await;
    let old = app.send_sms_id(&key, "+2348067000111").await;
    let recent = app.send_sms_id(&key, "+2348067000112").await;
    app.wait_for_status(&key, &old, "DELIVERED").await;
    app.wait_for_status(&key, &recent, "DELIVERED").await;
    settled(&app, &tenant, &endpoint_id, 8).await;
    let backdate = [
        "UPDATE receipts SET processed_at = now() - interval '31 days' WHERE message_id = $1::uuid",
        "UPDATE sandbox_calls SET created_at = now() - interval '8 days' WHERE message_id = $1::uuid",
        "UPDATE webhook_deliveries d SET last_attempt_at = now() - interval '31 days'
         FROM events e WHERE e.id = d.event_id AND e.message_id = $1::uuid",
        "UPDATE events SET occurred_at = occurred_at - interval '91 days' WHERE message_id = $1::uuid",
    ];
    for sql in backdate {
        sqlx::query(sql)
            .bind(&old)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    let of = |table: &str, id: &str| {
        match table {
            "webhook_deliveries" => format!(
                "SELECT count(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE e.message_id = '{id}'"
            ),
            "webhook_attempts" => format!(
                "SELECT count(*) FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
                 JOIN events e ON e.id = d.event_id WHERE e.message_id = '{id}'"
            ),
        t => format!("SELECT count(*) FROM {t} WHERE message_id = '{id}'"),
    }
    };
    // Deliveries are found through their events: count them before the events go.
    let old_attempts = count(&app, &of("webhook_attempts", &old)).await;
    assert!(old_attempts >= 4);
    let total_attempts = count(&app, "SELECT count(*) FROM webhook_attempts").await;
    scheduler::run_once(&app.pool, &settings(&app)).await;
    for table in ["receipts", "sandbox_calls", "events"] {
        assert_eq!(count(&app, &of(table, &old)).await, 0, "old {table} kept");
        assert!(
            count(&app, &of(table, &recent)).await > 0,
            "recent {table} deleted"
        );
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM webhook_attempts").await,
        total_attempts - old_attempts,
        "the old deliveries' attempts went with them"
    );
    assert_eq!(count(&app, &of("webhook_deliveries", &recent)).await, 4);
    // The message itself stays, with its current status.
    assert_eq!(app.message(&key, &old).await["status"], "DELIVERED");
}
