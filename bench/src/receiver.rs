//! The webhook scenario: a local receiver answering at once or after a delay, and the deliveries per
//! second Herald achieves to it. The messages behind the deliveries are scheduled a day ahead, so
//! their `sms_queued` events are delivered while no send competes with the deliveries for the cores.

use std::time::Duration;

use axum::{Router, routing::post};
use serde_json::json;
use sqlx::PgPool;

use crate::{Args, Tenant, call, client, sms};

pub async fn webhooks(
    args: &Args,
    pool: &PgPool,
    tenant: &Tenant,
    delay: Duration,
    deliveries: usize,
) -> anyhow::Result<serde_json::Value> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let app = Router::new().route(
        "/",
        post(move || async move {
            tokio::time::sleep(delay).await;
            "ok"
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let c = client();
    let base = &args.base_url;
    let endpoint = call(
        &c,
        reqwest::Method::POST,
        format!("{base}/v1/webhook-endpoints"),
        &tenant.token,
        Some(json!({"url": format!("http://127.0.0.1:{port}/"), "eventTypes": ["sms_queued"]})),
    )
    .await?;
    let endpoint_id = endpoint["id"].as_str().unwrap().to_owned();
    let url = format!("{base}/v1/public/sms/batch");
    let tomorrow = chrono::Utc::now() + chrono::Duration::days(1);
    let scheduled = |i: usize| {
        let mut m = sms(i);
        m["scheduledAt"] = json!(tomorrow);
        m
    };
    for start in (0..deliveries).step_by(100) {
        let n = 100.min(deliveries - start);
        let body = json!({"messages": (0..n).map(|j| scheduled(900_000_000 + start + j)).collect::<Vec<_>>()});
        let r = c
            .post(&url)
            .bearer_auth(&tenant.key)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(r.status().as_u16() == 202, "batch refused: {}", r.status());
    }
    let until = std::time::Instant::now() + Duration::from_secs(1800);
    loop {
        let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1::uuid AND status = 'PENDING'")
            .bind(&endpoint_id)
            .fetch_one(pool)
            .await?;
        if pending == 0 {
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < until,
            "deliveries did not finish"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (n, seconds): (i64, f64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'SUCCEEDED'),
                extract(epoch FROM max(last_attempt_at) - min(created_at))::float8
         FROM webhook_deliveries WHERE endpoint_id = $1::uuid",
    )
    .bind(&endpoint_id)
    .fetch_one(pool)
    .await?;
    call(
        &c,
        reqwest::Method::DELETE,
        format!("{base}/v1/webhook-endpoints/{endpoint_id}"),
        &tenant.token,
        None,
    )
    .await
    .ok();
    server.abort();
    Ok(
        json!({"deliveries": n, "seconds": seconds, "deliveries_per_s": n as f64 / seconds, "receiver_delay_ms": delay.as_millis() as u64}),
    )
}
