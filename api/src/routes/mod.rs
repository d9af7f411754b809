//! One module per resource. Handlers are thin: extract, call the domain, map the result. Each module
//! declares its routes with their OpenAPI operations (`openapi::Routes`).

pub(crate) mod api_keys;
mod auth;
pub(crate) mod email;
mod health;
pub use health::operations_router;
pub(crate) mod inbound;
mod members;
pub(crate) mod messages;
pub(crate) mod sms;
mod webhooks;
pub(crate) mod whatsapp;

use axum::middleware;
use domain::{email::Email, sms::Sms, whatsapp::Whatsapp};

use crate::{AppState, openapi::Routes};

/// Every route, from this one list: `router` serves them (with `state`, the public ones behind
/// their key check and rate limit) and `openapi` documents them (without).
pub fn all(state: Option<&AppState>, with_metrics: bool) -> Routes {
    let mut public = public_routes();
    if let Some(state) = state {
        let auth = middleware::from_fn_with_state(state.clone(), crate::public_auth);
        public = public.map_router(|r| r.route_layer(auth));
    }
    control_routes()
        .merge(public)
        .merge(inbound_routes())
        .merge(operations_routes(with_metrics))
        .merge(crate::openapi::routes())
}

/// Session routes (the control plane and the dashboard).
fn control_routes() -> Routes {
    auth::routes()
        .merge(members::routes())
        .merge(api_keys::routes())
        .merge(webhooks::routes())
        .merge(messages::session_routes::<Sms>())
        .merge(sms::session_routes())
        .merge(messages::session_routes::<Email>())
        .merge(email::session_routes())
        .merge(messages::session_routes::<Whatsapp>())
        .merge(whatsapp::session_routes())
}

/// API-key routes; `public_auth` authenticates and rate-limits them before any handler runs.
fn public_routes() -> Routes {
    api_keys::public_routes()
        .merge(messages::public_routes::<Sms>())
        .merge(sms::public_routes())
        .merge(messages::public_routes::<Email>())
        .merge(email::public_routes())
        .merge(messages::public_routes::<Whatsapp>())
}

/// Provider and carrier callbacks; each guards itself (token or signature) and is off until set up.
fn inbound_routes() -> Routes {
    sms::inbound_routes()
        .merge(email::inbound_routes())
        .merge(whatsapp::inbound_routes())
}

/// The probes, and `/metrics` unless it is served on `METRICS_BIND_ADDR` instead.
fn operations_routes(with_metrics: bool) -> Routes {
    let r = health::routes();
    if with_metrics {
        r.merge(health::metrics_routes())
    } else {
        r
    }
}
