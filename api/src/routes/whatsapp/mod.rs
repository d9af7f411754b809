//! The WhatsApp channel's routes: it joins the generic message routes with its send body, scopes and
//! schemas, and adds the organization's own Cloud API line and Meta's webhook.

mod inbound;
mod line;

use axum::{Router, routing::get};
use domain::whatsapp::Whatsapp;

use super::messages::ChannelApi;
use crate::{
    AppState,
    extract::need::{ReadWhatsapp, SendWhatsapp},
};

impl ChannelApi for Whatsapp {
    const PATH: &'static str = "whatsapp";
    const SEND_SCHEMA: &'static str = "WhatsappSend";
    const MESSAGE_SCHEMA: &'static str = "WhatsappMessage";
    type SendScope = SendWhatsapp;
    type ReadScope = ReadWhatsapp;
}

/// Session routes of WhatsApp-only resources.
pub fn session_routes() -> Router<AppState> {
    Router::new().route(
        "/v1/account/whatsapp-cloud-line",
        get(line::get).patch(line::update),
    )
}

/// Meta's verification handshake and callbacks.
pub fn inbound_routes() -> Router<AppState> {
    Router::new().route(
        "/v1/webhooks/whatsapp",
        get(inbound::verify).post(inbound::callback),
    )
}
