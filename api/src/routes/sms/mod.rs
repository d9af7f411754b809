//! The SMS channel's routes: it joins the generic message routes (`routes::messages`) with its send
//! body, scopes and schemas, and adds what only SMS has: sender IDs and handset opt-outs.

mod inbound;
pub(crate) mod opt_outs;
pub(crate) mod sender_ids;

use axum::{
    Router,
    routing::{delete, get, post},
};
use domain::sms::Sms;

use super::messages::ChannelApi;
use crate::{
    AppState,
    extract::{
        Auth, Key,
        need::{MessagesRead, ReadSms, SendSms},
    },
};

impl ChannelApi for Sms {
    const PATH: &'static str = "sms";
    const SEND_SCHEMA: &'static str = "SmsSend";
    const MESSAGE_SCHEMA: &'static str = "SmsMessage";
    type SendScope = SendSms;
    type ReadScope = ReadSms;
}

/// Session routes of SMS-only resources.
pub fn session_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/sms/sender-id-requests",
            get(sender_ids::list_requests).post(sender_ids::request),
        )
        .route(
            "/v1/sms/sender-id-requests/{id}/review",
            post(sender_ids::review),
        )
        .route(
            "/v1/sms/sender-ids",
            get(sender_ids::approved::<Auth<MessagesRead>>),
        )
        .route("/v1/sms/opt-outs", get(opt_outs::list).post(opt_outs::add))
        .route("/v1/sms/opt-outs/{phone}", delete(opt_outs::remove))
}

/// The SMS provider and carrier callbacks.
pub fn inbound_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/webhooks/sms/dlr", post(inbound::dlr))
        .route("/v1/webhooks/sms/provider", post(inbound::provider))
        .route(
            "/v1/webhooks/sms/inbound-opt-out",
            post(inbound::inbound_opt_out),
        )
        .route("/v1/webhooks/sms/twilio", post(inbound::twilio))
        .route("/v1/webhooks/sms/termii", post(inbound::termii))
}

/// Public routes of SMS-only resources.
pub fn public_routes() -> Router<AppState> {
    Router::new().route(
        "/v1/public/sms/sender-ids",
        get(sender_ids::approved::<Key<ReadSms>>),
    )
}
