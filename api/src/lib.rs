//! The HTTP API: the router, its middleware and one module per resource.

mod error;
mod extract;
mod openapi;
mod rate_limit;
mod routes;
mod telemetry;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    http::{HeaderName, HeaderValue},
    middleware::{self, Next},
    response::Response,
};
use domain::{
    Config,
    identity::{KeyCache, SessionIssuer},
};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnResponse, TraceLayer},
};

pub use error::{ApiError, ApiResult};
use rate_limit::RateLimiter;

/// Bodies above this are refused with 413 (email routes, when they come, take more).
const BODY_LIMIT: usize = 256 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub sessions: SessionIssuer,
    rate_limiter: Arc<RateLimiter>,
    keys: Arc<KeyCache>,
}

impl AppState {
    pub fn new(pool: PgPool, config: Arc<Config>) -> Self {
        AppState {
            sessions: SessionIssuer::new(&config.jwt_secret, config.session_ttl),
            rate_limiter: Arc::new(RateLimiter::new(
                config.rate_limit_per_second,
                config.rate_limit_burst,
            )),
            keys: Arc::new(KeyCache::default()),
            pool,
            config,
        }
    }
}

/// Authenticates the API key of a `/v1/public/*` request and applies its rate limit.
async fn public_auth(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (mut parts, body) = req.into_parts();
    let token = extract::api_key_token(&parts)?;
    let key = domain::identity::authenticate_api_key(&state.pool, &state.keys, token).await?;
    tracing::Span::current().record(
        "organization_id",
        tracing::field::display(key.organization_id),
    );
    let decision = state.rate_limiter.check(key.id);
    let headers = [
        ("ratelimit-limit", decision.limit as u64),
        ("ratelimit-remaining", decision.remaining as u64),
        ("ratelimit-reset", decision.reset),
    ];
    let mut res = if decision.allowed {
        parts.extensions.insert(key);
        req = Request::from_parts(parts, body);
        next.run(req).await
    } else {
        use axum::response::IntoResponse;
        ApiError::from(domain::Error::RateLimited {
            retry_after_secs: decision.retry_after,
        })
        .into_response()
    };
    for (name, value) in headers {
        res.headers_mut()
            .insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
    Ok(res)
}

pub fn router(state: AppState) -> Router {
    let public = routes::public_routes()
        .route_layer(middleware::from_fn_with_state(state.clone(), public_auth));
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(routes::control_routes())
        .merge(public)
        .merge(routes::inbound_routes())
        .merge(routes::operations_routes())
        .merge(openapi::routes())
        .route_layer(
            TraceLayer::new_for_http()
                .make_span_with(telemetry::make_span)
                .on_request(())
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .route_layer(middleware::from_fn(telemetry::record_metrics))
        .fallback(|| async { ApiError::RouteNotFound })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(error::shape_errors))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    listen_pool: PgPool,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    telemetry::metrics_handle();
    let watcher = tokio::spawn(domain::identity::watch_revocations(
        listen_pool,
        state.keys.clone(),
    ));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    watcher.abort();
    served?;
    Ok(())
}
