//! The SMS channel's routes: it joins the generic message routes (`routes::messages`) with its send
//! body, scopes and schemas, and adds what only SMS has: sender IDs and handset opt-outs.

mod inbound;
pub(crate) mod opt_outs;
pub(crate) mod sender_ids;

use domain::{
    messages::opt_outs::OptOut,
    sms::{
        Sms,
        sender_ids::{ApprovedSenderId, NewSenderIdRequest, SenderIdRequest},
    },
};
use serde_json::json;

use super::messages::ChannelApi;
use crate::{
    extract::{
        Auth, Key,
        need::{MembersRead, MembersWrite, MessagesRead, ReadSms, SendSms, Signed},
    },
    openapi::{Op, Routes, SmsMessage, SmsSend},
};

impl ChannelApi for Sms {
    const PATH: &'static str = "sms";
    const NAME: &'static str = "Sms";
    const PLURAL: &'static str = "Sms";
    const TAG: &'static str = "sms";
    type SendDoc = SmsSend;
    type MessageDoc = SmsMessage;
    type SendScope = SendSms;
    type ReadScope = ReadSms;
}

const SETTINGS: &str = "sms-settings";

/// Session routes of SMS-only resources.
pub fn session_routes() -> Routes {
    Routes::new()
        .post(
            "/v1/sms/sender-id-requests",
            sender_ids::request,
            Op::new("requestSenderId", SETTINGS, "Ask for a sender ID; a platform admin reviews it")
                .session::<MembersWrite>()
                .body::<NewSenderIdRequest>("The sender ID and what it is for")
                .ok::<SenderIdRequest>(201, "The request, PENDING")
                .err(409, "CONFLICT: a request for this sender ID is already PENDING"),
        )
        .get(
            "/v1/sms/sender-id-requests",
            sender_ids::list_requests,
            Op::new("listSenderIdRequests", SETTINGS, "Sender-ID requests: the organization's own, or every organization's for a platform admin")
                .session::<MembersRead>()
                .query(
                    "status",
                    "Only requests in this status",
                    json!({"type": "string", "enum": ["PENDING", "APPROVED", "REJECTED"]}),
                    json!("PENDING"),
                )
                .list::<SenderIdRequest>("A page of requests"),
        )
        .post(
            "/v1/sms/sender-id-requests/{id}/review",
            sender_ids::review,
            Op::new("reviewSenderIdRequest", SETTINGS, "Approve or reject a sender-ID request (platform admins only)")
                .session::<Signed>()
                .id("The request's id")
                .body::<sender_ids::ReviewBody>("The decision")
                .ok::<SenderIdRequest>(200, "The request, reviewed")
                .err(403, "FORBIDDEN: the caller is not a platform admin")
                .err(409, "CONFLICT: the request was already reviewed"),
        )
        .get(
            "/v1/sms/sender-ids",
            sender_ids::approved::<Auth<MessagesRead>>,
            Op::new("listSenderIdsAsMember", "dashboard-sms", "The organization's approved sender IDs")
                .session::<MessagesRead>()
                .list::<ApprovedSenderId>("A page of approved sender IDs"),
        )
        .get(
            "/v1/sms/opt-outs",
            opt_outs::list,
            Op::new("listSmsOptOuts", SETTINGS, "Handsets that opted out of the organization's SMS")
                .session::<MembersRead>()
                .list::<OptOut>("A page of opt-outs"),
        )
        .post(
            "/v1/sms/opt-outs",
            opt_outs::add,
            Op::new("addSmsOptOut", SETTINGS, "Opt a handset out; emits `sms_opt_out`")
                .session::<MembersWrite>()
                .body::<opt_outs::AddBody>("The handset")
                .ok::<OptOut>(201, "The opt-out")
                .err(409, "CONFLICT: the handset has already opted out"),
        )
        .delete(
            "/v1/sms/opt-outs/{phoneNumber}",
            opt_outs::remove,
            Op::new("removeSmsOptOut", SETTINGS, "Opt a handset back in; emits `sms_opt_out`")
                .session::<MembersWrite>()
                .param(
                    "path",
                    "phoneNumber",
                    true,
                    "E.164; `%2B` for the + (a raw + is read as +, not a space)",
                    json!({"type": "string"}),
                    json!("+2348067000111"),
                )
                .empty(204, "Removed")
                .err(404, "NOT_FOUND: the handset has not opted out")
                .err(422, "VALIDATION_ERROR: not an E.164 number"),
        )
}

/// Public routes of SMS-only resources.
pub fn public_routes() -> Routes {
    Routes::new().get(
        "/v1/public/sms/sender-ids",
        sender_ids::approved::<Key<ReadSms>>,
        Op::new(
            "listSenderIds",
            "sms",
            "The organization's approved sender IDs",
        )
        .key::<ReadSms>()
        .list::<ApprovedSenderId>("A page of approved sender IDs"),
    )
}

/// The SMS provider and carrier callbacks.
pub fn inbound_routes() -> Routes {
    inbound::routes()
}
