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

/// `POST /v1/public/sms/send`, and each item of `…/sms/batch`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmsSend {
    /// E.164, with the leading +.
    #[schema(example = "+2348067000111")]
    to: String,
    /// 1 to 1,600 characters.
    body: String,
    /// A sender ID approved for the organization.
    sender_id: String,
    /// OTP or STANDARD (the default).
    flow: Option<String>,
    /// 1 to 255 characters, yours to find the message by.
    external_id: Option<String>,
    /// RFC 3339; not in the past, at most 30 days ahead.
    scheduled_at: Option<String>,
}

/// `POST /v1/public/emails/send`, and each item of `…/emails/batch`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailSend {
    /// `addr` or `Name <addr>`.
    #[schema(example = "Acme <hello@acme.example>")]
    from: String,
    /// One address or a list; `to`, `cc` and `bcc` together name at most 50.
    to: Vec<String>,
    cc: Option<Vec<String>>,
    bcc: Option<Vec<String>>,
    reply_to: Option<Vec<String>>,
    /// At most 998 characters, no line breaks.
    subject: String,
    /// One of html or text is required.
    html: Option<String>,
    text: Option<String>,
    /// Extra headers; those the platform writes (From, To, Subject, Message-ID, …) are refused.
    headers: Option<std::collections::BTreeMap<String, String>>,
    /// At most 20; names and values at most 256 characters.
    tags: Option<std::collections::BTreeMap<String, String>>,
    /// At most 20, 7 MiB decoded together.
    attachments: Option<Vec<AttachmentDoc>>,
    external_id: Option<String>,
    /// RFC 3339; not in the past, at most 30 days ahead.
    scheduled_at: Option<String>,
    tracking: Option<TrackingDoc>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentDoc {
    filename: String,
    /// base64
    content: String,
    content_type: String,
}

#[derive(Serialize, ToSchema)]
pub struct TrackingDoc {
    opens: bool,
    clicks: bool,
}

/// An email message as the API returns it (and as `email_*` webhook events carry it in `data`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailMessage {
    id: uuid::Uuid,
    /// Always `email`.
    channel: String,
    /// QUEUED, PROCESSING, SENT, DELIVERED, BOUNCED, COMPLAINED, FAILED or CANCELED.
    status: String,
    /// Always a list.
    to: Vec<String>,
    external_id: Option<String>,
    provider_message_id: Option<String>,
    error: Option<MessageErrorDoc>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    scheduled_at: Option<chrono::DateTime<chrono::Utc>>,
    from: String,
    cc: Vec<String>,
    bcc: Vec<String>,
    reply_to: Vec<String>,
    subject: String,
    html: Option<String>,
    text: Option<String>,
    headers: std::collections::BTreeMap<String, String>,
    tags: std::collections::BTreeMap<String, String>,
    /// `{filename, contentType, size}`; the content is not returned.
    attachments: Vec<serde_json::Value>,
    tracking: TrackingDoc,
    /// Open and click hits so far, and the first of each.
    opens: u32,
    clicks: u32,
    opened_at: Option<chrono::DateTime<chrono::Utc>>,
    clicked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// `POST /v1/public/whatsapp/send`, and each item of `…/whatsapp/batch`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsappSend {
    /// E.164, with the leading +.
    #[schema(example = "+2348067000111")]
    to: String,
    /// `text` or `template`.
    #[serde(rename = "type")]
    #[schema(example = "text")]
    kind: String,
    /// Required when `type` is text.
    text: Option<WhatsappTextDoc>,
    /// Required when `type` is template.
    template: Option<WhatsappTemplateDoc>,
    /// 1 to 255 characters, yours to find the message by.
    external_id: Option<String>,
    /// RFC 3339; not in the past, at most 30 days ahead.
    scheduled_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsappTextDoc {
    /// 1 to 4,096 characters.
    #[schema(example = "Your order has shipped")]
    body: String,
    /// Whether WhatsApp shows a preview of the first link (default false).
    preview_url: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct WhatsappTemplateDoc {
    /// An approved template's name: lower-case letters, digits and underscores.
    #[schema(example = "order_update")]
    name: String,
    /// Its language code, sent to Meta as `language: {code}`.
    #[schema(example = "en_US")]
    language: String,
    /// Meta's own components (header, body, buttons with their parameters), passed through; at most 32.
    components: Option<Vec<serde_json::Value>>,
}

/// A WhatsApp message as the API returns it (and as `whatsapp_*` webhook events carry it in `data`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsappMessage {
    id: uuid::Uuid,
    /// Always `whatsapp`.
    channel: String,
    /// QUEUED, PROCESSING, SENT, DELIVERED, READ, FAILED or CANCELED.
    status: String,
    to: String,
    external_id: Option<String>,
    /// The wamid Meta gave the message.
    provider_message_id: Option<String>,
    /// Meta's errors keep their code: `META_131026`.
    error: Option<MessageErrorDoc>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    scheduled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `text` or `template`.
    #[serde(rename = "type")]
    kind: String,
    /// `{body, previewUrl}` for a text message.
    text: Option<WhatsappTextDoc>,
    /// `{name, language, components?}` for a template message.
    template: Option<WhatsappTemplateDoc>,
}

/// `GET /v1/account/whatsapp-cloud-line` (a session route, members:read), and the answer of its PATCH.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsappCloudLine {
    /// The organization's own phone number id, or null when it sends from the platform line.
    #[schema(example = "106540352242922")]
    whatsapp_phone_number_id: Option<String>,
    /// True when the organization has no phone number id of its own.
    uses_platform_default: bool,
    /// Whether the platform line can send (its phone number id and token are set).
    platform_line_configured: bool,
}

/// `PATCH /v1/account/whatsapp-cloud-line` (members:write): at least one field; null clears it. The
/// token is stored encrypted and never returned; a phone number id another organization holds
/// answers 409 `WHATSAPP_PHONE_NUMBER_ID_IN_USE`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsappCloudLineUpdate {
    /// Meta's phone number id (digits).
    whatsapp_phone_number_id: Option<String>,
    /// The line's access token; without one the platform's token is used.
    whatsapp_access_token: Option<String>,
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
        routes::messages::openapi_paths::<domain::email::Email>(&mut openapi.paths);
        routes::messages::openapi_paths::<domain::whatsapp::Whatsapp>(&mut openapi.paths);
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
        description = "Transactional email, SMS and WhatsApp through one API. Every request \
            carries an API key as `Authorization: Bearer hk_…`; errors share one shape; lists are paged \
            with `page` and `pageSize`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(
        routes::api_keys::current,
        routes::sms::sender_ids::approved,
        routes::email::stats,
    ),
    components(schemas(
        ErrorBody,
        SmsMessage,
        SmsSend,
        EmailSend,
        EmailMessage,
        WhatsappSend,
        WhatsappMessage,
        WhatsappCloudLine,
        WhatsappCloudLineUpdate,
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
