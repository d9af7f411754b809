use axum::{Json, Router, extract::State, http::header, response::IntoResponse, routing::get};
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;

use crate::{
    ApiResult,
    openapi::{Op, Routes},
    telemetry,
};

/// A probe's answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

pub async fn live() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Ready when the database answers and every migration has been applied.
pub async fn ready(State(pool): State<PgPool>) -> ApiResult<Json<Health>> {
    if domain::db::ready(&pool).await {
        Ok(Json(Health { status: "ok" }))
    } else {
        Err(domain::Error::Unavailable.into())
    }
}

/// The metrics, with the queue gauges read from the database now (left as they were when it does
/// not answer: the scrape itself still succeeds).
pub async fn metrics(State(pool): State<PgPool>) -> impl IntoResponse {
    if let Err(e) = domain::meters::sample_queues(&pool).await {
        tracing::warn!(error = %e, "queue gauges not refreshed");
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        telemetry::metrics_handle().render(),
    )
}

pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/health/live",
            live,
            Op::new("live", "operations", "Liveness: the process answers")
                .ok::<Health>(200, "Alive")
                .no_database(),
        )
        .get(
            "/health/ready",
            ready,
            Op::new(
                "ready",
                "operations",
                "Readiness: the database answers and every migration is applied",
            )
            .ok::<Health>(200, "Ready"),
        )
}

pub fn metrics_routes() -> Routes {
    Routes::new().get(
        "/metrics",
        metrics,
        Op::new("metrics", "operations", "Prometheus metrics: HTTP, queues, jobs, providers, receipts, webhooks, messages, scheduler")
            .ok_content(
                200,
                "The metrics, in Prometheus' text format",
                "text/plain",
                json!({"type": "string"}),
            ),
    )
}

/// The operations listener's routes (`METRICS_BIND_ADDR`): the metrics and the probes.
pub fn operations_router(pool: PgPool) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state(pool)
}
