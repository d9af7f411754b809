//! The public OpenAPI bundle (`/v1/public/*`), generated from the handlers, and its UI at `/docs`
//! (served from the binary; no CDN).

use axum::{Json, Router, routing::get};
use serde::Serialize;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_swagger_ui::SwaggerUi;

use crate::{AppState, routes};

/// `{"error": {"code", "message", "details"?}}`: every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
struct ErrorDetail {
    /// UPPER_SNAKE, for programs to switch on: VALIDATION_ERROR, NOT_FOUND, …
    code: String,
    message: String,
    details: Option<Vec<FieldDetail>>,
}

#[derive(Serialize, ToSchema)]
struct FieldDetail {
    field: String,
    message: String,
    code: Option<String>,
}

/// An SMS message as the API returns it (and as webhook events carry it in `data`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmsMessage {
    id: uuid::Uuid,
    /// Always `sms`.
    channel: String,
    /// QUEUED, PROCESSING, SENT, DELIVERED, FAILED or CANCELED.
    status: String,
    to: String,
    external_id: Option<String>,
    provider_message_id: Option<String>,
    error: Option<MessageErrorDoc>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    scheduled_at: Option<chrono::DateTime<chrono::Utc>>,
    sender_id: String,
    /// OTP or STANDARD.
    flow: String,
    body: String,
    segments: u32,
    /// GSM7 or UCS2.
    encoding: String,
}

#[derive(Serialize, ToSchema)]
struct MessageErrorDoc {
    code: String,
    message: String,
}

/// The body of every customer webhook (signed per Standard Webhooks: `webhook-id` is `id`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    /// The event id; the same on every retry. Deduplicate on it.
    id: uuid::Uuid,
    /// `sms_queued`, `sms_processing`, `sms_sent`, `sms_delivered`, `sms_failed`, `sms_canceled`,
    /// the same for `email_` and `whatsapp_` (with `whatsapp_read`, `email_bounced`,
    /// `email_complained`), `email_opened`, `email_clicked`, `sms_opt_out`, `webhook_test`.
    #[serde(rename = "type")]
    event_type: String,
    created_at: chrono::DateTime<chrono::Utc>,
    organization_id: uuid::Uuid,
    /// For message events, the message as `GET …/:id` returned it at that moment (e.g. an
    /// `SmsMessage`); for `sms_opt_out`, an `SmsOptOutEvent`.
    data: serde_json::Value,
}

/// `data` of an `sms_opt_out` event.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmsOptOutEvent {
    phone_number: String,
    /// `added` or `removed`.
    action: String,
    /// `inbound` (a STOP or START text) or `api`.
    source: String,
    occurred_at: chrono::DateTime<chrono::Utc>,
}

/// The generic message routes of every channel, described from the same `ChannelApi` they run on.
struct ChannelPaths;

impl Modify for ChannelPaths {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        routes::messages::openapi_paths::<domain::sms::Sms>(&mut openapi.paths);
    }
}

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key (`hk_…`) with the route's scope"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald public API",
        description = "Transactional SMS (and, soon, email and WhatsApp) through one API. Every request \
            carries an API key as `Authorization: Bearer hk_…`; errors share one shape; lists are paged \
            with `page` and `pageSize`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(
        routes::api_keys::current,
        routes::sms::sender_ids::approved,
    ),
    components(schemas(
        ErrorBody,
        SmsMessage,
        domain::sms::SmsSend,
        domain::sms::SmsBatch,
        WebhookEvent,
        SmsOptOutEvent
    )),
    modifiers(&ApiKeyAuth, &ChannelPaths)
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    let doc = ApiDoc::openapi();
    Router::new()
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .merge(SwaggerUi::new("/docs").url("/docs/openapi.json", doc))
}
