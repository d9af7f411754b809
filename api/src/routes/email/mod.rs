//! The email channel's routes: it joins the generic message routes with its send body, scopes,
//! schemas and a 10 MiB body limit (attachments), and adds suppressions and the signed provider
//! event route.

mod domains;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use bytes::Bytes;
use domain::{
    Paged,
    email::{Email, receipts as email_receipts, stats as email_stats, suppressions, tracking},
    messages::{Channel, MessageError, Status, receipts::NewReceipt},
};
use serde::Deserialize;
use serde_json::Value;

use super::{
    inbound::{required, store_receipt, verify_signed},
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
};

impl ChannelApi for Email {
    const PATH: &'static str = "emails";
    const SEND_SCHEMA: &'static str = "EmailSend";
    const MESSAGE_SCHEMA: &'static str = "EmailMessage";
    const BODY_LIMIT: usize = 10 * 1024 * 1024;
    type SendScope = SendEmail;
    type ReadScope = ReadEmail;
}

/// Session routes of email-only resources.
pub fn session_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/emails/stats", get(stats::<Auth<MessagesRead>>))
        .route("/v1/domains", get(domains::list).post(domains::create))
        .route(
            "/v1/domains/{id}",
            get(domains::get).delete(domains::delete),
        )
        .route("/v1/domains/{id}/verify", post(domains::verify))
        .route("/v1/emails/suppressions", get(list_suppressions))
        .route(
            "/v1/emails/suppressions/{address}",
            delete(remove_suppression),
        )
}

/// Public routes of email-only resources.
pub fn public_routes() -> Router<AppState> {
    Router::new().route("/v1/public/emails/stats", get(stats::<Key<ReadEmail>>))
}

#[derive(Deserialize)]
pub struct StatsQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Email stats for a range of UTC days: totals with rates, and a daily series.
#[utoipa::path(get, path = "/v1/public/emails/stats", tag = "emails",
    params(("from" = Option<String>, Query, description = "YYYY-MM-DD, inclusive; default 29 days before `to`"),
           ("to" = Option<String>, Query, description = "YYYY-MM-DD, inclusive; default today (UTC); at most 366 days in all")),
    responses((status = 200, description = "`{from, to, totals: {queued, sent, delivered, bounced, complained, failed, opened, clicked, deliveryRate, bounceRate, openRate, clickRate}, daily: [{date, …counts}]}`"),
              (status = 422, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody)),
    security(("apiKey" = [])))]
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
pub fn inbound_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/webhooks/email/provider", post(provider_event))
        .route("/t/o/{token}", get(opened))
        .route("/t/c/{token}", get(clicked))
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProviderEvent {
    message_id: Option<String>,
    event: Option<String>,
    recipient: Option<String>,
    reason: Option<String>,
}

/// `POST /v1/webhooks/email/provider`: `{messageId, event: delivered|bounced|complained|delayed,
/// recipient?, reason?, occurredAt?}`, signed like the SMS provider scheme. A delay (or any other
/// event) is kept as a note.
async fn provider_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
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
