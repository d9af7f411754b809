//! Schemas of bodies whose Rust form is not one struct: the error shape, each channel's send body
//! and message (a message's channel fields are a JSON object the channel fills), and the customer
//! webhook events. Tests hold these to the server's real answers.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

/// Why a message failed.
#[derive(Serialize, ToSchema)]
pub struct MessageError {
    /// The provider's or Herald's code: `META_131026`, `PROVIDER_REJECTED`, `UNDELIV`.
    #[schema(example = "UNDELIV")]
    code: String,
    /// What the provider said.
    #[schema(example = "the handset could not be reached")]
    message: String,
}

/// `POST /v1/public/sms/send`, and each item of `…/sms/batch`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmsSend {
    /// E.164, with the leading +.
    #[schema(example = "+2348067000111", pattern = r"^\+[1-9][0-9]{6,14}$")]
    to: String,
    /// 1 to 1,600 characters.
    #[schema(example = "Your code is 123456", min_length = 1, max_length = 1600)]
    body: String,
    /// A sender ID approved for the organization (else 422 SENDER_ID_NOT_APPROVED).
    #[schema(example = "Acme", min_length = 3, max_length = 15)]
    sender_id: String,
    /// OTP or STANDARD (the default).
    #[schema(required = false, nullable = false, example = "OTP", value_type = String, pattern = "^(OTP|STANDARD)$")]
    flow: Option<String>,
    /// Yours to find the message by: 1 to 255 characters.
    #[schema(required = false, nullable = false, value_type = String, example = "order-1043", min_length = 1, max_length = 255)]
    external_id: Option<String>,
    /// When to send: RFC 3339, not in the past, at most 30 days ahead.
    #[schema(required = false, nullable = false, value_type = String, format = DateTime, example = "2026-12-01T09:00:00Z")]
    scheduled_at: Option<String>,
}

/// An SMS message as the API returns it (and as `sms_*` webhook events carry it in `data`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmsMessage {
    /// The message's id (UUID v7).
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d20")]
    id: uuid::Uuid,
    /// Always `sms`.
    #[schema(example = "sms")]
    channel: String,
    /// QUEUED, PROCESSING, SENT, DELIVERED, FAILED or CANCELED.
    #[schema(example = "DELIVERED")]
    status: String,
    /// The recipient, E.164.
    #[schema(example = "+2348067000111")]
    to: String,
    /// The `externalId` it was sent with.
    #[schema(example = "order-1043")]
    external_id: Option<String>,
    /// The provider's id for it, once sent.
    #[schema(example = "SM9f1c2d3e4b5a69788796a5b4c3d2e1f0")]
    provider_message_id: Option<String>,
    /// Why it failed, when it did.
    error: Option<MessageError>,
    /// When it was accepted.
    #[schema(example = "2026-11-27T10:00:00Z")]
    created_at: chrono::DateTime<chrono::Utc>,
    /// When it last changed.
    #[schema(example = "2026-11-27T10:00:02Z")]
    updated_at: chrono::DateTime<chrono::Utc>,
    /// When it is (or was) due, for a scheduled message.
    #[schema(example = "2026-12-01T09:00:00Z")]
    scheduled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The sender ID it is sent from.
    #[schema(example = "Acme")]
    sender_id: String,
    /// OTP or STANDARD.
    #[schema(example = "OTP")]
    flow: String,
    /// The text.
    #[schema(example = "Your code is 123456")]
    body: String,
    /// How many SMS parts the text takes.
    #[schema(example = 1)]
    segments: u32,
    /// GSM7 or UCS2.
    #[schema(example = "GSM7")]
    encoding: String,
}

/// `POST /v1/public/emails/send`, and each item of `…/emails/batch`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailSend {
    /// `addr` or `Name <addr>`; its domain must be verified unless the sandbox provider is in use.
    #[schema(example = "Acme <hello@acme.example>")]
    from: String,
    /// One address or a list; `to`, `cc` and `bcc` together name at most 50.
    #[schema(value_type = Recipients)]
    to: Vec<String>,
    /// Copies: one address or a list.
    #[schema(required = false, nullable = false, value_type = Recipients)]
    cc: Option<Vec<String>>,
    /// Blind copies: one address or a list.
    #[schema(required = false, nullable = false, value_type = Recipients)]
    bcc: Option<Vec<String>>,
    /// Where replies go: one address or a list.
    #[schema(required = false, nullable = false, value_type = Recipients)]
    reply_to: Option<Vec<String>>,
    /// At most 998 characters, no line breaks.
    #[schema(example = "Your receipt", min_length = 1, max_length = 998)]
    subject: String,
    /// The HTML part; one of html or text is required.
    #[schema(required = false, nullable = false, value_type = String, example = "<p>Thanks for your order.</p>")]
    html: Option<String>,
    /// The plain-text part; one of html or text is required.
    #[schema(required = false, nullable = false, value_type = String, example = "Thanks for your order.")]
    text: Option<String>,
    /// Extra headers; those the platform writes (From, To, Subject, Message-ID, …) are refused.
    #[schema(required = false, nullable = false, value_type = BTreeMap<String, String>, example = json!({"X-Entity-Ref-ID": "1043"}))]
    headers: Option<BTreeMap<String, String>>,
    /// At most 20; names and values at most 256 characters.
    #[schema(required = false, nullable = false, value_type = BTreeMap<String, String>, example = json!({"category": "receipt"}))]
    tags: Option<BTreeMap<String, String>>,
    /// At most 20, 7 MiB decoded together.
    #[schema(required = false, nullable = false, value_type = Vec<Attachment>)]
    attachments: Option<Vec<Attachment>>,
    /// Yours to find the message by: 1 to 255 characters.
    #[schema(required = false, nullable = false, value_type = String, example = "order-1043", min_length = 1, max_length = 255)]
    external_id: Option<String>,
    /// When to send: RFC 3339, not in the past, at most 30 days ahead.
    #[schema(required = false, nullable = false, value_type = String, format = DateTime, example = "2026-12-01T09:00:00Z")]
    scheduled_at: Option<String>,
    /// Open and click tracking.
    #[schema(required = false, nullable = false, value_type = Tracking)]
    tracking: Option<Tracking>,
}

/// `to`, `cc`, `bcc` and `replyTo`: one address, or a list of them. A schema only: the send body
/// is read by the channel's own parser.
pub enum Recipients {}

impl utoipa::PartialSchema for Recipients {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        serde_json::from_value(json!({
            "description": "One address (`addr` or `Name <addr>`), or a list of them",
            "oneOf": [
                {"type": "string", "description": "One address", "example": "Ada <ada@example.com>"},
                {"type": "array", "items": {"type": "string"}, "description": "Several addresses", "example": ["ada@example.com", "grace@example.com"]},
            ],
            "example": ["ada@example.com"],
        }))
        .expect("a schema")
    }
}

impl ToSchema for Recipients {}

/// A file attached to an email.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// Its name as the recipient sees it.
    #[schema(example = "receipt.pdf")]
    filename: String,
    /// The content, base64.
    #[schema(example = "JVBERi0xLjQK")]
    content: String,
    /// Its MIME type.
    #[schema(example = "application/pdf")]
    content_type: String,
}

/// An attachment as a message shows it: the content is not returned.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentInfo {
    /// Its name as the recipient sees it.
    #[schema(example = "receipt.pdf")]
    filename: String,
    /// Its MIME type.
    #[schema(example = "application/pdf")]
    content_type: String,
    /// Decoded size in bytes.
    #[schema(example = 48213)]
    size: u64,
}

/// Whether opens and clicks are tracked.
#[derive(Serialize, ToSchema)]
pub struct Tracking {
    /// Track opens with a pixel.
    #[schema(example = true)]
    opens: bool,
    /// Track clicks by rewriting links.
    #[schema(example = false)]
    clicks: bool,
}

/// An email message as the API returns it (and as `email_*` webhook events carry it in `data`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailMessage {
    /// The message's id (UUID v7).
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d20")]
    id: uuid::Uuid,
    /// Always `email`.
    #[schema(example = "email")]
    channel: String,
    /// QUEUED, PROCESSING, SENT, DELIVERED, BOUNCED, COMPLAINED, FAILED or CANCELED.
    #[schema(example = "DELIVERED")]
    status: String,
    /// The recipients, always a list.
    #[schema(example = json!(["ada@example.com"]))]
    to: Vec<String>,
    /// The `externalId` it was sent with.
    #[schema(example = "order-1043")]
    external_id: Option<String>,
    /// The provider's id for it, once sent (for SMTP the `Message-ID` Herald wrote, without brackets).
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d20@acme.example")]
    provider_message_id: Option<String>,
    /// Why it failed, when it did.
    error: Option<MessageError>,
    /// When it was accepted.
    #[schema(example = "2026-11-27T10:00:00Z")]
    created_at: chrono::DateTime<chrono::Utc>,
    /// When it last changed.
    #[schema(example = "2026-11-27T10:00:02Z")]
    updated_at: chrono::DateTime<chrono::Utc>,
    /// When it is (or was) due, for a scheduled message.
    #[schema(example = "2026-12-01T09:00:00Z")]
    scheduled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The sender.
    #[schema(example = "Acme <hello@acme.example>")]
    from: String,
    /// Copies.
    #[schema(example = json!([]))]
    cc: Vec<String>,
    /// Blind copies.
    #[schema(example = json!([]))]
    bcc: Vec<String>,
    /// Where replies go.
    #[schema(example = json!(["support@acme.example"]))]
    reply_to: Vec<String>,
    /// The subject.
    #[schema(example = "Your receipt")]
    subject: String,
    /// The HTML part.
    #[schema(example = "<p>Thanks for your order.</p>")]
    html: Option<String>,
    /// The plain-text part.
    #[schema(example = "Thanks for your order.")]
    text: Option<String>,
    /// The extra headers it was sent with.
    #[schema(example = json!({"X-Entity-Ref-ID": "1043"}))]
    headers: BTreeMap<String, String>,
    /// Its tags.
    #[schema(example = json!({"category": "receipt"}))]
    tags: BTreeMap<String, String>,
    /// Its attachments, without their content.
    attachments: Vec<AttachmentInfo>,
    /// Whether opens and clicks are tracked.
    tracking: Tracking,
    /// Open hits so far.
    #[schema(example = 2)]
    opens: u32,
    /// Click hits so far.
    #[schema(example = 1)]
    clicks: u32,
    /// The first open.
    #[schema(example = "2026-11-27T10:05:00Z")]
    opened_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The first click.
    #[schema(example = "2026-11-27T10:06:00Z")]
    clicked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// `POST /v1/public/whatsapp/send`, and each item of `…/whatsapp/batch`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsappSend {
    /// E.164, with the leading +.
    #[schema(example = "+2348067000111", pattern = r"^\+[1-9][0-9]{6,14}$")]
    to: String,
    /// `text` or `template`.
    #[serde(rename = "type")]
    #[schema(example = "text", pattern = "^(text|template)$")]
    kind: String,
    /// Required when `type` is text.
    #[schema(required = false, nullable = false, value_type = WhatsappText)]
    text: Option<WhatsappText>,
    /// Required when `type` is template.
    #[schema(required = false, nullable = false, value_type = WhatsappTemplate)]
    template: Option<WhatsappTemplate>,
    /// Yours to find the message by: 1 to 255 characters.
    #[schema(required = false, nullable = false, value_type = String, example = "order-1043", min_length = 1, max_length = 255)]
    external_id: Option<String>,
    /// When to send: RFC 3339, not in the past, at most 30 days ahead.
    #[schema(required = false, nullable = false, value_type = String, format = DateTime, example = "2026-12-01T09:00:00Z")]
    scheduled_at: Option<String>,
}

/// A text message.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsappText {
    /// 1 to 4,096 characters.
    #[schema(example = "Your order has shipped", min_length = 1, max_length = 4096)]
    body: String,
    /// Whether WhatsApp shows a preview of the first link (default false).
    #[schema(required = false, nullable = false, value_type = bool, example = false)]
    preview_url: Option<bool>,
}

/// A template message.
#[derive(Serialize, ToSchema)]
pub struct WhatsappTemplate {
    /// An approved template's name: lower-case letters, digits and underscores.
    #[schema(example = "order_update")]
    name: String,
    /// Its language code, sent to Meta as `language: {code}`.
    #[schema(example = "en_US")]
    language: String,
    /// Meta's own components (header, body, buttons with their parameters), passed through; at most 32.
    #[schema(required = false, nullable = false, value_type = Vec<Object>, example = json!([{"type": "body", "parameters": [{"type": "text", "text": "1043"}]}]))]
    components: Option<Vec<Value>>,
}

/// A WhatsApp message as the API returns it (and as `whatsapp_*` webhook events carry it in `data`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsappMessage {
    /// The message's id (UUID v7).
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d20")]
    id: uuid::Uuid,
    /// Always `whatsapp`.
    #[schema(example = "whatsapp")]
    channel: String,
    /// QUEUED, PROCESSING, SENT, DELIVERED, READ, FAILED or CANCELED.
    #[schema(example = "READ")]
    status: String,
    /// The recipient, E.164.
    #[schema(example = "+2348067000111")]
    to: String,
    /// The `externalId` it was sent with.
    #[schema(example = "order-1043")]
    external_id: Option<String>,
    /// The wamid Meta gave the message.
    #[schema(example = "wamid.HBgNMjM0ODA2NzAwMDExMRUCABEYEjA=")]
    provider_message_id: Option<String>,
    /// Why it failed; Meta's errors keep their code: `META_131026`.
    error: Option<MessageError>,
    /// When it was accepted.
    #[schema(example = "2026-11-27T10:00:00Z")]
    created_at: chrono::DateTime<chrono::Utc>,
    /// When it last changed.
    #[schema(example = "2026-11-27T10:00:02Z")]
    updated_at: chrono::DateTime<chrono::Utc>,
    /// When it is (or was) due, for a scheduled message.
    #[schema(example = "2026-12-01T09:00:00Z")]
    scheduled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `text` or `template`.
    #[serde(rename = "type")]
    #[schema(example = "text")]
    kind: String,
    /// The text, for a text message.
    text: Option<WhatsappText>,
    /// The template, for a template message.
    template: Option<WhatsappTemplate>,
}

/// The body of `sms_opt_out` events' `data`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmsOptOutData {
    /// The handset, E.164.
    #[schema(example = "+2348067000111")]
    phone_number: String,
    /// `added` or `removed`.
    #[schema(example = "added")]
    action: String,
    /// `inbound` (a STOP or START text) or `api`.
    #[schema(example = "inbound")]
    source: String,
    /// When it happened.
    #[schema(example = "2026-11-27T10:00:00Z")]
    occurred_at: chrono::DateTime<chrono::Utc>,
}

/// The body of `webhook_test` events' `data`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookTestData {
    /// The endpoint tested.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d20")]
    endpoint_id: uuid::Uuid,
    /// A fixed text.
    #[schema(example = "A test event from Herald")]
    message: String,
}

/// The event types and the schema of each one's `data`, collecting those schemas.
pub(crate) fn event_types(schemas: &mut Map<String, Value>) -> Vec<(String, String)> {
    let mut collect = |f: fn(&mut Vec<(String, Value)>) -> Value| {
        let mut out = Vec::new();
        let r = f(&mut out);
        schemas.extend(out);
        r["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .expect("a reference")
            .to_owned()
    };
    let sms = collect(super::op::schema_ref::<SmsMessage>);
    let email = collect(super::op::schema_ref::<EmailMessage>);
    let whatsapp = collect(super::op::schema_ref::<WhatsappMessage>);
    let opt_out = collect(super::op::schema_ref::<SmsOptOutData>);
    let test = collect(super::op::schema_ref::<WebhookTestData>);
    domain::webhooks::EVENT_TYPES
        .iter()
        .map(|t| {
            let data = match *t {
                "sms_opt_out" => &opt_out,
                "webhook_test" => &test,
                t if t.starts_with("sms_") => &sms,
                t if t.starts_with("email_") => &email,
                t if t.starts_with("whatsapp_") => &whatsapp,
                t => unreachable!("an event type of no family: {t}"),
            };
            (t.to_string(), data.clone())
        })
        .collect()
}

pub(crate) fn event_tag(event_type: &str) -> &'static str {
    match event_type.split('_').next() {
        Some("email") => "email",
        Some("whatsapp") => "whatsapp",
        _ => "sms",
    }
}

/// The name of the event schema whose `data` is a `data_schema`: `SmsEvent`, `SmsOptOutEvent`.
pub(crate) fn event_name(data_schema: &str) -> String {
    let family = data_schema
        .trim_end_matches("Message")
        .trim_end_matches("Data");
    format!("{family}Event")
}

/// The envelope of an event whose `data` is a `data_schema`.
pub(crate) fn event_schema(data_schema: &str) -> Value {
    json!({
        "type": "object",
        "description": format!("A customer webhook event carrying a {data_schema} in `data`"),
        "required": ["id", "type", "createdAt", "organizationId", "data"],
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "The event id: `webhook-id`, the same on every retry; deduplicate on it", "example": "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d20"},
            "type": {"type": "string", "description": "The event type", "example": "sms_delivered"},
            "createdAt": {"type": "string", "format": "date-time", "description": "When the event happened", "example": "2026-11-27T10:00:00Z"},
            "organizationId": {"type": "string", "format": "uuid", "description": "The organization it belongs to", "example": "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d21"},
            "data": {
                "$ref": format!("#/components/schemas/{data_schema}"),
                "description": "For a message event, the message as `GET …/{id}` returned it at that moment",
            },
        },
    })
}
