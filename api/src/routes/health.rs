use axum::{Json, extract::State, http::header, response::IntoResponse};
use serde::Serialize;
use serde_json::json;

use crate::{
    ApiResult, AppState,
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
pub async fn ready(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    if domain::db::ready(&state.pool).await {
        Ok(Json(Health { status: "ok" }))
    } else {
        Err(domain::Error::Unavailable.into())
    }
}

pub async fn metrics() -> impl IntoResponse {
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
        Op::new("metrics", "operations", "Prometheus metrics")
            .ok_content(
                200,
                "The metrics, in Prometheus' text format",
                "text/plain",
                json!({"type": "string"}),
            )
            .no_database(),
    )
}
