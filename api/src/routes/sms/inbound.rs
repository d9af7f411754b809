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
    routes::inbound::{
        TokenQuery, check_token, failure, header, received, required, store_receipt, verify_signed,
    },
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dlr {
    message_id: Option<String>,
    status: Option<String>,
    error_code: Option<String>,
}

/// `POST /v1/webhooks/sms/dlr?token=`: a carrier delivery report.
pub async fn dlr(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderStatus {
    message_id: Option<String>,
    status: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
}

/// `POST /v1/webhooks/sms/provider`: a status signed with `X-Timestamp` and `X-Signature`.
pub async fn provider(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
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

#[derive(Deserialize)]
pub struct InboundText {
    from: Option<String>,
    to: Option<String>,
    text: Option<String>,
}

/// `POST /v1/webhooks/sms/inbound-opt-out?token=`: a text from a handset (STOP, START, …).
pub async fn inbound_opt_out(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
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
) -> ApiResult<Json<Value>> {
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

#[derive(Deserialize)]
pub struct TermiiReport {
    message_id: Option<Value>,
    status: Option<String>,
}

/// `POST /v1/webhooks/sms/termii`: Termii's delivery report, signed with `X-Termii-Signature`.
pub async fn termii(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
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
