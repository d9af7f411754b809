//! The email channel's routes: it joins the generic message routes with its send body, scopes,
//! schemas and a 10 MiB body limit (attachments), and adds suppressions and the signed provider
//! event route.

mod domains;

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use domain::{
    Paged,
    email::{Email, receipts as email_receipts, stats as email_stats, suppressions, tracking},
    messages::{Channel, MessageError, Status, receipts::NewReceipt},
};
use serde::Deserialize;
use serde_json::json;

use super::{
    inbound::{Received, callback_op, required, signed_params, store_receipt, verify_signed},
    members::PageQuery,
    messages::ChannelApi,
};
use crate::{
    ApiResult, AppState,
    extract::{
        Auth, Caller, Key, Query,
        need::{MessagesRead, MessagesSend, ReadEmail, SendEmail},
        parse_json,
    },
    openapi::{EmailMessage, EmailSend, Op, Routes},
};

impl ChannelApi for Email {
    const PATH: &'static str = "emails";
    const NAME: &'static str = "Email";
    const PLURAL: &'static str = "Emails";
    const TAG: &'static str = "email";
    type SendDoc = EmailSend;
    type MessageDoc = EmailMessage;
    const BODY_LIMIT: usize = 10 * 1024 * 1024;
    type SendScope = SendEmail;
    type ReadScope = ReadEmail;
}

fn stats_op(op: Op) -> Op {
    op.query(
        "from",
        "The first UTC day, inclusive (YYYY-MM-DD); default 29 days before `to`",
        json!({"type": "string", "format": "date"}),
        json!("2026-11-01"),
    )
    .query(
        "to",
        "The last UTC day, inclusive (YYYY-MM-DD); default today; at most 366 days in all",
        json!({"type": "string", "format": "date"}),
        json!("2026-11-30"),
    )
    .ok::<email_stats::Stats>(200, "Totals with rates, and each day's counts")
}

/// Session routes of email-only resources.
pub fn session_routes() -> Routes {
    Routes::new()
        .get(
            "/v1/emails/stats",
            stats::<Auth<MessagesRead>>,
            stats_op(
                Op::new(
                    "getEmailStatsAsMember",
                    "dashboard-email",
                    "Email statistics over UTC days",
                )
                .session::<MessagesRead>(),
            ),
        )
        .merge(domains::routes())
        .get(
            "/v1/emails/suppressions",
            list_suppressions,
            Op::new(
                "listSuppressions",
                "email-settings",
                "Addresses no email is sent to",
            )
            .session::<MessagesRead>()
            .list::<suppressions::Suppression>("A page of suppressions"),
        )
        .delete(
            "/v1/emails/suppressions/{address}",
            remove_suppression,
            Op::new(
                "removeSuppression",
                "email-settings",
                "Send to an address again",
            )
            .session::<MessagesSend>()
            .param(
                "path",
                "address",
                true,
                "The address",
                json!({"type": "string"}),
                json!("ada@example.com"),
            )
            .empty(204, "Removed")
            .err(404, "NOT_FOUND: the address is not suppressed"),
        )
}

/// Public routes of email-only resources.
pub fn public_routes() -> Routes {
    Routes::new().get(
        "/v1/public/emails/stats",
        stats::<Key<ReadEmail>>,
        stats_op(
            Op::new("getEmailStats", "email", "Email statistics over UTC days").key::<ReadEmail>(),
        ),
    )
}

#[derive(Deserialize)]
pub struct StatsQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Email stats for a range of UTC days: totals with rates, and a daily series.
pub async fn stats<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Query(q): Query<StatsQuery>,
) -> ApiResult<Json<email_stats::Stats>> {
    let today = chrono::Utc::now().date_naive();
    let (from, to) = email_stats::parse_range(q.from.as_deref(), q.to.as_deref(), today)?;
    let org = caller.organization_id();
    Ok(Json(email_stats::get(&state.pool, org, from, to).await?))
}

/// The signed provider event route (off until `EMAIL_PROVIDER_WEBHOOK_SECRET` is set) and the
/// tracking routes.
pub fn inbound_routes() -> Routes {
    let token = |op: Op| {
        op.param(
            "path",
            "token",
            true,
            "The signed token Herald wrote into the email",
            json!({"type": "string"}),
            json!("AZrD8n0ecUGaUy8ei2xNIA.c2lnbmF0dXJl"),
        )
        .err(404, "NOT_FOUND: a forged, altered or unknown token")
    };
    Routes::new()
        .post(
            "/v1/webhooks/email/provider",
            provider_event,
            signed_params(
                callback_op(
                    "emailProviderEvent",
                    "An event from the email provider, signed",
                    "EMAIL_PROVIDER_WEBHOOK_SECRET",
                ),
                "EMAIL_PROVIDER_WEBHOOK_SECRET",
            )
            .raw_body::<ProviderEvent>("The event"),
        )
        .get(
            "/t/o/{token}",
            opened,
            token(Op::new(
                "trackOpen",
                "inbound",
                "An email was opened: a 1×1 GIF",
            ))
            .ok_content(
                200,
                "The pixel",
                "image/gif",
                json!({"type": "string", "format": "binary"}),
            ),
        )
        .get(
            "/t/c/{token}",
            clicked,
            token(Op::new(
                "trackClick",
                "inbound",
                "A link was clicked: a redirect to it",
            ))
            .redirect(302, "To the link"),
        )
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Verifies a tracking token of the route's kind and records its hit; a forged, altered or
/// orphaned one, or one of the other kind, is not found.
async fn hit(state: &AppState, token: &str, click: bool) -> ApiResult<tracking::Hit> {
    let hit = tracking::verify(&state.config, token)
        .filter(|h| matches!(h, tracking::Hit::Click(..)) == click)
        .ok_or(domain::Error::NotFound)?;
    tracking::record(&state.pool, &hit)
        .await?
        .ok_or(domain::Error::NotFound)?;
    Ok(hit)
}

async fn opened(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Response> {
    hit(&state, &token, false).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/gif"),
            (header::CACHE_CONTROL, "no-store, max-age=0"),
        ],
        PIXEL,
    )
        .into_response())
}

async fn clicked(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Response> {
    match hit(&state, &token, true).await? {
        tracking::Hit::Click(_, link) => {
            Ok((StatusCode::FOUND, [(header::LOCATION, link)]).into_response())
        }
        tracking::Hit::Open(_) => Err(domain::Error::NotFound.into()),
    }
}

async fn list_suppressions(
    State(state): State<AppState>,
    auth: Auth<MessagesRead>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<suppressions::Suppression>>> {
    let page = q.parse()?;
    let org = auth.session.user.organization_id;
    Ok(Json(suppressions::list(&state.pool, org, page).await?))
}

async fn remove_suppression(
    State(state): State<AppState>,
    auth: Auth<MessagesSend>,
    Path(address): Path<String>,
) -> ApiResult<StatusCode> {
    let org = auth.session.user.organization_id;
    suppressions::remove(&state.pool, org, &address).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An event from the email provider.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = EmailProviderEvent)]
#[serde(rename_all = "camelCase")]
struct ProviderEvent {
    /// The message's `providerMessageId` (for SMTP, the `Message-ID` Herald wrote, without brackets).
    #[schema(value_type = String, required = true, example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d20@acme.example")]
    message_id: Option<String>,
    /// delivered, bounced, complained or delayed; any other is kept as a note.
    #[schema(value_type = String, required = true, example = "bounced")]
    event: Option<String>,
    /// The recipient it concerns.
    #[schema(value_type = String, required = false, example = "ada@example.com")]
    recipient: Option<String>,
    /// Why, for a bounce.
    #[schema(value_type = String, required = false, example = "550 5.1.1 user unknown")]
    reason: Option<String>,
}

/// `POST /v1/webhooks/email/provider`: `{messageId, event: delivered|bounced|complained|delayed,
/// recipient?, reason?, occurredAt?}`, signed like the SMS provider scheme. A delay (or any other
/// event) is kept as a note.
async fn provider_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Received>> {
    verify_signed(&state.config.email.provider_webhook_secret, &headers, &body)?;
    let parsed = parse_json::<ProviderEvent>(&body)?;
    let e = parsed.value;
    let provider_message_id = required("messageId", e.message_id)?;
    let event = required("event", e.event)?;
    let status = email_receipts::provider_event(&event);
    let error = (status == Some(Status::Bounced)).then(|| MessageError {
        code: "HARD_BOUNCE".into(),
        message: e.reason.unwrap_or_else(|| {
            format!(
                "{} bounced",
                e.recipient.as_deref().unwrap_or("a recipient")
            )
        }),
    });
    let receipt = NewReceipt {
        channel: Channel::Email,
        provider: state.config.email.provider.name().to_owned(),
        provider_message_id,
        status,
        error,
        raw: parsed.raw,
        organization_id: None,
    };
    store_receipt(&state, receipt).await
}
