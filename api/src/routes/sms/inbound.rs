//! The SMS provider and carrier callbacks: carrier DLRs (token), the signed provider scheme,
//! Twilio's and Termii's signed reports, and handsets' STOP / START texts.

use axum::{
    Json,
    extract::{OriginalUri, State},
    http::HeaderMap,
};
use bytes::Bytes;
use domain::{
    Error,
    config::SmsProviderConfig,
    messages::{
        Channel,
        opt_outs::{self, Inbound},
        receipts::NewReceipt,
    },
    queue::{self, ProcessInbound},
    signatures,
    sms::receipts as sms_receipts,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    ApiError, ApiResult, AppState,
    extract::{Query, parse_json},
    openapi::Routes,
    routes::inbound::{
        Received, TokenQuery, callback_op, check_token, failure, header, received, required,
        signed_params, store_receipt, token_param, verify_signed,
    },
};

/// The SMS provider and carrier callbacks.
pub fn routes() -> Routes {
    let twilio_op = callback_op(
        "twilioStatusCallback",
        "Twilio's status callback, signed with `X-Twilio-Signature`",
        "SMS_PROVIDER=twilio",
    )
    .param(
        "header",
        "X-Twilio-Signature",
        true,
        "Twilio's signature of the callback URL and its form parameters",
        json!({"type": "string"}),
        json!("0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
    )
    .err(400, "INVALID_JSON: the body is not a form")
    .err(422, "VALIDATION_ERROR: MessageSid or MessageStatus is missing")
    .form_body(
        json!({
            "type": "object",
            "description": "Twilio's form parameters; the others it sends are kept with these",
            "required": ["MessageSid", "MessageStatus"],
            "properties": {
                "MessageSid": {"type": "string", "description": "Twilio's message SID", "example": "SM9f1c2d3e4b5a69788796a5b4c3d2e1f0"},
                "MessageStatus": {"type": "string", "description": "queued, sent, delivered, undelivered, failed, …", "example": "delivered"},
                "ErrorCode": {"type": "string", "description": "Twilio's error code, for a failure", "example": "30003"},
            },
        }),
        "Twilio's form parameters",
    );
    Routes::new()
        .post(
            "/v1/webhooks/sms/dlr",
            dlr,
            token_param(
                callback_op(
                    "smsDeliveryReport",
                    "A carrier delivery report",
                    "SMS_DLR_TOKEN",
                ),
                "SMS_DLR_TOKEN",
            )
            .raw_body::<Dlr>("The report"),
        )
        .post(
            "/v1/webhooks/sms/provider",
            provider,
            signed_params(
                callback_op(
                    "smsProviderStatus",
                    "A status from the SMS provider, signed",
                    "SMS_PROVIDER_WEBHOOK_SECRET",
                ),
                "SMS_PROVIDER_WEBHOOK_SECRET",
            )
            .raw_body::<ProviderStatus>("The status"),
        )
        .post(
            "/v1/webhooks/sms/inbound-opt-out",
            inbound_opt_out,
            token_param(
                callback_op(
                    "smsInboundText",
                    "A handset's text: STOP and START change its opt-out",
                    "SMS_INBOUND_TOKEN",
                ),
                "SMS_INBOUND_TOKEN",
            )
            .raw_body::<InboundText>("The text"),
        )
        .post("/v1/webhooks/sms/twilio", twilio, twilio_op)
        .post(
            "/v1/webhooks/sms/termii",
            termii,
            callback_op(
                "termiiDeliveryReport",
                "Termii's delivery report, signed with `X-Termii-Signature`",
                "SMS_PROVIDER=termii",
            )
            .param(
                "header",
                "X-Termii-Signature",
                true,
                "The hex HMAC-SHA512 of the raw body keyed with the Termii secret",
                json!({"type": "string"}),
                json!("9c1f0e4d2b7a5c3e8f6a1d0b9e7c5a3f1e2d4c6b8a0f9e7d5c3b1a2f4e6d8c0b9a7f5e3d1c2b4a6f8e0d9c7b5a3f1e2d4c6b8a0f9e7d5c3b1a2f4e6d8c0b9a7f"),
            )
            .raw_body::<TermiiReport>("The report"),
        )
}

/// A carrier delivery report.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = SmsDeliveryReport)]
#[serde(rename_all = "camelCase")]
pub struct Dlr {
    /// The provider's message id.
    #[schema(value_type = String, required = true, example = "SM9f1c2d3e4b5a69788796a5b4c3d2e1f0")]
    message_id: Option<String>,
    /// DELIVRD, UNDELIV, EXPIRED, REJECTD, DELETED, UNDELIVERABLE, ACCEPTD, ENROUTE, UNKNOWN,
    /// DELIVERED or FAILED; any other is kept as a note.
    #[schema(value_type = String, required = true, example = "DELIVRD")]
    status: Option<String>,
    /// The carrier's error code, for a failure.
    #[schema(value_type = String, required = false, example = "001")]
    error_code: Option<String>,
}

/// `POST /v1/webhooks/sms/dlr?token=`: a carrier delivery report.
pub async fn dlr(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    body: Bytes,
) -> ApiResult<Json<Received>> {
    check_token(&state.config.sms.dlr_token, &q.token)?;
    let parsed = parse_json::<Dlr>(&body)?;
    let dlr = parsed.value;
    let provider_message_id = required("messageId", dlr.message_id)?;
    let state_name = required("status", dlr.status)?;
    let status = sms_receipts::dlr(&state_name);
    let receipt = NewReceipt {
        channel: Channel::Sms,
        provider: state.config.sms.provider.name().to_owned(),
        provider_message_id,
        status,
        error: failure(status, dlr.error_code, &state_name, None),
        raw: parsed.raw,
        organization_id: None,
    };
    store_receipt(&state, receipt).await
}

/// A status from the SMS provider, signed.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = SmsProviderStatus)]
#[serde(rename_all = "camelCase")]
pub struct ProviderStatus {
    /// The provider's message id.
    #[schema(value_type = String, required = true, example = "SM9f1c2d3e4b5a69788796a5b4c3d2e1f0")]
    message_id: Option<String>,
    /// SENT, DELIVERED or FAILED; any other is kept as a note.
    #[schema(value_type = String, required = true, example = "DELIVERED")]
    status: Option<String>,
    /// The provider's error code, for a failure.
    #[schema(value_type = String, required = false, example = "30003")]
    error_code: Option<String>,
    /// The provider's error message, for a failure.
    #[schema(value_type = String, required = false, example = "Unreachable destination handset")]
    error_message: Option<String>,
}

/// `POST /v1/webhooks/sms/provider`: a status signed with `X-Timestamp` and `X-Signature`.
pub async fn provider(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Received>> {
    verify_signed(&state.config.sms.provider_webhook_secret, &headers, &body)?;
    let parsed = parse_json::<ProviderStatus>(&body)?;
    let p = parsed.value;
    let provider_message_id = required("messageId", p.message_id)?;
    let state_name = required("status", p.status)?;
    let status = sms_receipts::provider(&state_name);
    let receipt = NewReceipt {
        channel: Channel::Sms,
        provider: state.config.sms.provider.name().to_owned(),
        provider_message_id,
        status,
        error: failure(status, p.error_code, "FAILED", p.error_message),
        raw: parsed.raw,
        organization_id: None,
    };
    store_receipt(&state, receipt).await
}

/// A text a handset sent to a sender ID.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = SmsInboundText)]
pub struct InboundText {
    /// The handset, E.164.
    #[schema(value_type = String, required = true, example = "+2348067000111")]
    from: Option<String>,
    /// The sender ID or number it was sent to.
    #[schema(value_type = String, required = true, example = "Acme")]
    to: Option<String>,
    /// The text: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END or QUIT opt out; START or UNSTOP opt back in.
    #[schema(value_type = String, required = false, example = "STOP")]
    text: Option<String>,
}

/// `POST /v1/webhooks/sms/inbound-opt-out?token=`: a text from a handset (STOP, START, …).
pub async fn inbound_opt_out(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    body: Bytes,
) -> ApiResult<Json<Received>> {
    check_token(&state.config.sms.inbound_token, &q.token)?;
    let parsed = parse_json::<InboundText>(&body)?;
    let i = parsed.value;
    let from = required("from", i.from)?;
    let to = required("to", i.to)?;
    let text = i.text.unwrap_or_default();
    let mut tx = state.pool.begin().await.map_err(Error::from)?;
    let inbound = Inbound {
        channel: Channel::Sms,
        from: &from,
        to: &to,
        text: &text,
        raw: &parsed.raw,
    };
    if let Some(id) = opt_outs::record_inbound(&mut tx, inbound).await? {
        queue::push(&mut tx, ProcessInbound { inbound_id: id }, None).await?;
    }
    tx.commit().await.map_err(Error::from)?;
    Ok(received())
}

/// `POST /v1/webhooks/sms/twilio`: Twilio's status callback (form-encoded, `X-Twilio-Signature`).
pub async fn twilio(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Received>> {
    let SmsProviderConfig::Twilio { auth_token, .. } = &state.config.sms.provider else {
        return Err(ApiError::RouteNotFound);
    };
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| ApiError::InvalidJson("expected a form body".into()))?;
    let url = format!(
        "{}{}",
        state.config.public_base_url,
        uri.path_and_query()
            .map(|p| p.as_str())
            .unwrap_or(uri.path())
    );
    if !signatures::verify_twilio(
        auth_token,
        &url,
        &params,
        header(&headers, "x-twilio-signature"),
    ) {
        return Err(Error::Unauthorized("bad Twilio signature".into()).into());
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let sid = required("MessageSid", get("MessageSid"))?;
    let state_name = required("MessageStatus", get("MessageStatus"))?;
    let status = sms_receipts::twilio(&state_name);
    let raw: serde_json::Map<String, Value> =
        params.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let receipt = NewReceipt {
        channel: Channel::Sms,
        provider: "twilio".into(),
        provider_message_id: sid,
        status,
        error: failure(
            status,
            get("ErrorCode").map(|c| format!("TWILIO_{c}")),
            &state_name,
            None,
        ),
        raw: Value::Object(raw),
        organization_id: None,
    };
    store_receipt(&state, receipt).await
}

/// Termii's delivery report.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TermiiReport {
    /// Termii's message id (a string or a number).
    #[schema(value_type = String, required = true, example = "3017544054459493950581")]
    message_id: Option<Value>,
    /// Termii's status: `Delivered`, `Message Failed`, …
    #[schema(value_type = String, required = true, example = "Delivered")]
    status: Option<String>,
}

/// `POST /v1/webhooks/sms/termii`: Termii's delivery report, signed with `X-Termii-Signature`.
pub async fn termii(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Received>> {
    let SmsProviderConfig::Termii { webhook_secret, .. } = &state.config.sms.provider else {
        return Err(ApiError::RouteNotFound);
    };
    if !signatures::verify_termii(
        webhook_secret,
        &body,
        header(&headers, "x-termii-signature"),
    ) {
        return Err(Error::Unauthorized("bad Termii signature".into()).into());
    }
    let parsed = parse_json::<TermiiReport>(&body)?;
    let r = parsed.value;
    let id = r.message_id.and_then(|v| {
        v.as_str()
            .map(str::to_owned)
            .or_else(|| v.as_i64().map(|n| n.to_string()))
    });
    let provider_message_id = required("message_id", id)?;
    let state_name = required("status", r.status)?;
    let status = sms_receipts::termii(&state_name);
    let receipt = NewReceipt {
        channel: Channel::Sms,
        provider: "termii".into(),
        provider_message_id,
        status,
        error: failure(
            status,
            Some("TERMII_UNDELIVERED".into()),
            &state_name,
            Some(state_name.clone()),
        ),
        raw: parsed.raw,
        organization_id: None,
    };
    store_receipt(&state, receipt).await
}
