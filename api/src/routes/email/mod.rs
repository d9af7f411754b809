//! The email channel's routes: it joins the generic message routes with its send body, scopes,
//! schemas and a 10 MiB body limit (attachments), and adds suppressions and the signed provider
//! event route.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::{delete, get, post},
};
use bytes::Bytes;
use domain::{
    Paged,
    email::{Email, receipts as email_receipts, stats as email_stats, suppressions},
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

/// The signed provider event route (off until `EMAIL_PROVIDER_WEBHOOK_SECRET` is set).
pub fn inbound_routes() -> Router<AppState> {
    Router::new().route("/v1/webhooks/email/provider", post(provider_event))
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
        provider: provider_name(&state).to_owned(),
        provider_message_id,
        status,
        error,
        raw: parsed.raw,
    };
    store_receipt(&state, receipt).await
}

fn provider_name(state: &AppState) -> &'static str {
    match state.config.email.provider {
        domain::config::EmailProviderConfig::Sandbox => "sandbox",
    }
}
