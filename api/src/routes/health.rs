use axum::{Json, extract::State, http::header, response::IntoResponse};
use serde_json::{Value, json};

use crate::{ApiResult, AppState, telemetry};

pub async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the database answers and every migration has been applied.
pub async fn ready(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    if domain::db::ready(&state.pool).await {
        Ok(Json(json!({"status": "ok"})))
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
