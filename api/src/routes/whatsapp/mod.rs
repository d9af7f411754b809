//! The WhatsApp channel's routes: it joins the generic message routes with its send body, scopes and
//! schemas, and adds the organization's own Cloud API line and Meta's webhook.

mod inbound;
mod line;

use domain::whatsapp::{
    Whatsapp,
    lines::{CloudLine, LineUpdate},
};

use super::messages::ChannelApi;
use crate::{
    extract::need::{MembersRead, MembersWrite, ReadWhatsapp, SendWhatsapp},
    openapi::{Op, Routes, WhatsappMessage, WhatsappSend},
};

impl ChannelApi for Whatsapp {
    const PATH: &'static str = "whatsapp";
    const NAME: &'static str = "Whatsapp";
    const PLURAL: &'static str = "Whatsapp";
    const TAG: &'static str = "whatsapp";
    type SendDoc = WhatsappSend;
    type MessageDoc = WhatsappMessage;
    type SendScope = SendWhatsapp;
    type ReadScope = ReadWhatsapp;
}

/// Session routes of WhatsApp-only resources.
pub fn session_routes() -> Routes {
    let tag = "whatsapp-settings";
    Routes::new()
        .get(
            "/v1/account/whatsapp-cloud-line",
            line::get,
            Op::new("getWhatsappLine", tag, "The organization's WhatsApp line, and whether the platform's can stand in")
                .session::<MembersRead>()
                .ok::<CloudLine>(200, "The line"),
        )
        .patch(
            "/v1/account/whatsapp-cloud-line",
            line::update,
            Op::new("updateWhatsappLine", tag, "Set or clear the organization's phone number id and access token")
                .describe("At least one field; null clears it. The token is stored encrypted and never returned.")
                .session::<MembersWrite>()
                .body::<LineUpdate>("The fields to change")
                .ok::<CloudLine>(200, "The line")
                .err(409, "WHATSAPP_PHONE_NUMBER_ID_IN_USE: another organization holds the phone number id"),
        )
}

/// Meta's verification handshake and callbacks.
pub fn inbound_routes() -> Routes {
    inbound::routes()
}
