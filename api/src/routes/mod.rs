//! One module per resource. Handlers are thin: extract, call the domain, map the result.

pub(crate) mod api_keys;
mod auth;
pub(crate) mod email;
mod health;
pub use health::metrics;
pub(crate) mod inbound;
mod members;
pub(crate) mod messages;
pub(crate) mod sms;
mod webhooks;
pub(crate) mod whatsapp;

use axum::{
    Router,
    routing::{delete, get, patch, post},
};
use domain::{email::Email, sms::Sms, whatsapp::Whatsapp};

use crate::AppState;

/// Session routes (the control plane and the dashboard).
pub fn control_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/signup", post(auth::signup))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/auth/password", patch(auth::change_password))
        .route("/v1/auth/me", get(auth::me))
        .route("/v1/members", get(members::list).post(members::add))
        .route(
            "/v1/members/{id}",
            patch(members::change_role).delete(members::remove),
        )
        .route("/v1/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/v1/api-keys/{id}", delete(api_keys::revoke))
        .route(
            "/v1/webhook-endpoints",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/v1/webhook-endpoints/{id}",
            get(webhooks::get)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route("/v1/webhook-endpoints/{id}/secret", get(webhooks::secret))
        .route(
            "/v1/webhook-endpoints/{id}/rotate-secret",
            post(webhooks::rotate),
        )
        .route("/v1/webhook-endpoints/{id}/test", post(webhooks::test))
        .route(
            "/v1/webhook-endpoints/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/v1/webhook-endpoints/{id}/recover",
            post(webhooks::recover),
        )
        .route("/v1/webhook-deliveries/{id}/retry", post(webhooks::retry))
        .merge(messages::session_routes::<Sms>())
        .merge(sms::session_routes())
        .merge(messages::session_routes::<Email>())
        .merge(email::session_routes())
        .merge(messages::session_routes::<Whatsapp>())
        .merge(whatsapp::session_routes())
}

/// API-key routes; `public_auth` authenticates and rate-limits them before any handler runs.
pub fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/public/key", get(api_keys::current))
        .merge(messages::public_routes::<Sms>())
        .merge(sms::public_routes())
        .merge(messages::public_routes::<Email>())
        .merge(email::public_routes())
        .merge(messages::public_routes::<Whatsapp>())
}

/// Provider and carrier callbacks; each guards itself (token or signature) and is off until set up.
pub fn inbound_routes() -> Router<AppState> {
    Router::new()
        .merge(sms::inbound_routes())
        .merge(email::inbound_routes())
        .merge(whatsapp::inbound_routes())
}

/// The probes, and `/metrics` unless it is served on `METRICS_BIND_ADDR` instead.
pub fn operations_routes(with_metrics: bool) -> Router<AppState> {
    let r = Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready));
    if with_metrics {
        r.route("/metrics", get(health::metrics))
    } else {
        r
    }
}
