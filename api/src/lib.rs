//! The HTTP API: the router, its middleware and one module per resource.

mod error;
mod extract;
mod openapi;

/// Writes the OpenAPI documents (`public.json`, `internal.json`) into `dir`.
pub fn write_openapi(dir: &std::path::Path) -> std::io::Result<()> {
    openapi::write(dir)
}
mod rate_limit;
mod routes;
mod telemetry;

use std::{sync::Arc, time::Duration};

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
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};

pub use error::{ApiError, ApiResult};
use rate_limit::RateLimiter;

/// Bodies above this are refused with 413; a channel's send routes may take more (email).
pub(crate) const BODY_LIMIT: usize = 256 * 1024;

impl axum::extract::FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> PgPool {
        state.pool.clone()
    }
}

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub sessions: SessionIssuer,
    rate_limiter: Arc<RateLimiter>,
    /// Test events and manual retries, per endpoint.
    endpoint_actions: Arc<RateLimiter>,
    keys: Arc<KeyCache>,
    /// Queue wake-ups: what a request pushed wakes its queue once the request is answered.
    wakes: domain::wakes::Wakes,
}

impl AppState {
    pub fn new(pool: PgPool, config: Arc<Config>, wakes: domain::wakes::Wakes) -> Self {
        AppState {
            wakes,
            sessions: SessionIssuer::new(&config.jwt_secret, config.session_ttl),
            rate_limiter: Arc::new(RateLimiter::new(
                config.rate_limit_per_second,
                config.rate_limit_burst,
            )),
            endpoint_actions: Arc::new(RateLimiter::per_minute(
                ENDPOINT_ACTIONS_PER_MINUTE,
                ENDPOINT_ACTIONS_PER_MINUTE,
            )),
            keys: Arc::new(KeyCache::default()),
            pool,
            config,
        }
    }

    /// Counts a test event or manual retry against its endpoint's limit.
    pub(crate) fn endpoint_actions(&self, endpoint_id: uuid::Uuid) -> Result<(), ApiError> {
        Ok(self.endpoint_actions.check(endpoint_id).into_result()?)
    }
}

/// Test events and manual retries an endpoint may take a minute (a burst of as many).
const ENDPOINT_ACTIONS_PER_MINUTE: u32 = 10;

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
    let mut res = match decision.into_result() {
        Ok(()) => {
            parts.extensions.insert(key);
            req = Request::from_parts(parts, body);
            next.run(req).await
        }
        Err(refused) => {
            use axum::response::IntoResponse;
            ApiError::from(refused).into_response()
        }
    };
    for (name, value) in headers {
        res.headers_mut()
            .insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
    Ok(res)
}

/// Counts `cost` sends (a batch: each of its messages) against the caller's rate limit, beyond what
/// the public routes' middleware already took; session sends are limited the same way.
pub(crate) fn meter<C: extract::Caller>(
    state: &AppState,
    caller: &C,
    cost: usize,
) -> Result<(), ApiError> {
    let extra = (cost as u32).saturating_sub(C::PREPAID);
    if extra == 0 {
        return Ok(());
    }
    Ok(state
        .rate_limiter
        .take(caller.rate_key(), extra)
        .into_result()?)
}

/// Wakes the queues a request pushed to once it is answered (its transaction committed).
async fn wake_after(
    State(state): State<AppState>,
    req: Request,
    next: middleware::Next,
) -> axum::response::Response {
    state.wakes.around(next.run(req)).await
}

pub fn router(state: AppState) -> Router {
    let metrics_here = state.config.metrics_bind_addr.is_none();
    let (routes, _) = routes::all(Some(&state), metrics_here).into_parts();
    let request_id = HeaderName::from_static("x-request-id");
    routes
        .route_layer(
            TraceLayer::new_for_http()
                .make_span_with(telemetry::make_span)
                .on_request(())
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .route_layer(middleware::from_fn(telemetry::record_metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), wake_after))
        .fallback(|| async { ApiError::RouteNotFound })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(error::shape_errors))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// How long a client may take to send a request's headers, and to have its request answered.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves the API on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    listen_pool: PgPool,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    telemetry::metrics_handle();
    let watcher = domain::identity::watch_revocations(listen_pool, state.keys.clone()).await;
    let served = serve_router(listener, router(state), shutdown).await;
    watcher.abort();
    served
}

/// Installs the process's metrics recorder: what is counted before it is lost.
pub fn install_metrics() {
    telemetry::metrics_handle();
}

/// The operations listener (`METRICS_BIND_ADDR`), away from the public one: `/metrics` and the
/// probes, served by every role, so that worker and scheduler processes have probes too.
pub async fn serve_operations(
    listener: TcpListener,
    pool: PgPool,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    telemetry::metrics_handle();
    serve_router(listener, routes::operations_router(pool), shutdown).await
}

/// The accept loop: HTTP/1 and HTTP/2 with a header-read time-out (which `axum::serve` does not
/// set), each connection's peer address for `ConnectInfo`, and a graceful stop.
async fn serve_router(
    listener: TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use hyper_util::{
        rt::{TokioExecutor, TokioIo, TokioTimer},
        server::{conn::auto::Builder, graceful::GracefulShutdown},
        service::TowerToHyperService,
    };
    use tower::ServiceExt;

    let app = app.layer(TimeoutLayer::with_status_code(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        REQUEST_TIMEOUT,
    ));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(HEADER_READ_TIMEOUT));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let service = app
            .clone()
            .map_request(move |req: Request<hyper::body::Incoming>| {
                let mut req = req.map(axum::body::Body::new);
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                req
            });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
