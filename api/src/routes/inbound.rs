//! What every provider callback route shares. Each route is off (404) until its setting is set,
//! checks its token or signature, stores the raw payload and enqueues its processing job, then
//! answers 200. Query-string tokens never reach a log (spans carry the route template only). The
//! routes themselves live with their channel (`routes/sms/inbound.rs`, `routes/email`).

use axum::{Json, http::HeaderMap};
use chrono::Utc;
use domain::{
    Error,
    crypto::constant_time_eq,
    messages::{
        MessageError, Status,
        receipts::{self, NewReceipt},
    },
    signatures,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{ApiError, ApiResult, AppState, openapi::Op};

#[derive(Deserialize)]
pub struct TokenQuery {
    pub(crate) token: Option<String>,
}

/// The answer of every callback once its payload is recorded.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CallbackReceived)]
pub struct Received {
    /// Always true.
    #[schema(example = true)]
    received: bool,
}

/// A callback's operation: on once `setting` is set, refusing a bad token or signature.
pub(crate) fn callback_op(id: &str, summary: &str, setting: &str) -> Op {
    Op::new(id, "inbound", summary)
        .ok::<Received>(200, "Recorded; processing is queued")
        .err(404, &format!("NOT_FOUND: off until {setting} is set"))
        .err(
            401,
            "UNAUTHORIZED: bad token or signature, or a stale timestamp",
        )
}

/// The `token` query parameter of a token-guarded callback.
pub(crate) fn token_param(op: Op, setting: &str) -> Op {
    op.param(
        "query",
        "token",
        true,
        &format!("Equal to {setting}; compared in constant time, never logged"),
        json!({"type": "string"}),
        json!("dlr-token-from-the-operator"),
    )
}

/// The `X-Timestamp` and `X-Signature` headers of the provider signature scheme.
pub(crate) fn signed_params(op: Op, setting: &str) -> Op {
    op.param(
        "header",
        "X-Timestamp",
        true,
        "Unix seconds, within 5 minutes of the server's clock",
        json!({"type": "string"}),
        json!("1795773600"),
    )
    .param(
        "header",
        "X-Signature",
        true,
        &format!(
            "`sha256=` and the hex HMAC-SHA256 of `{{X-Timestamp}}.{{raw body}}` keyed with {setting}"
        ),
        json!({"type": "string"}),
        json!("sha256=5d41402abc4b2a76b9719d911017c592ae7a3f1c5d41402abc4b2a76b9719d91"),
    )
}

/// The provider signature scheme (`X-Timestamp`, `X-Signature`), off (404) until its secret is set.
pub(crate) fn verify_signed(
    secret: &Option<String>,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<()> {
    let Some(secret) = secret else {
        return Err(ApiError::RouteNotFound);
    };
    let ok = signatures::verify_provider(
        secret,
        header(headers, "x-timestamp"),
        header(headers, "x-signature"),
        body,
        Utc::now().timestamp(),
    );
    if !ok {
        return Err(Error::Unauthorized("bad or stale webhook signature".into()).into());
    }
    Ok(())
}

pub(crate) fn check_token(expected: &Option<String>, presented: &Option<String>) -> ApiResult<()> {
    let Some(expected) = expected else {
        return Err(ApiError::RouteNotFound);
    };
    match presented {
        Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => Ok(()),
        _ => Err(Error::Unauthorized("bad webhook token".into()).into()),
    }
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

pub(crate) fn received() -> Json<Received> {
    Json(Received { received: true })
}

/// Stores one receipt and enqueues its processing in one transaction.
pub(crate) async fn store_receipt(
    state: &AppState,
    receipt: NewReceipt,
) -> ApiResult<Json<Received>> {
    let mut tx = state.pool.begin().await.map_err(Error::from)?;
    receipts::record(&mut tx, receipt, None).await?;
    tx.commit().await.map_err(Error::from)?;
    Ok(received())
}

pub(crate) fn failure(
    status: Option<Status>,
    code: Option<String>,
    fallback: &str,
    message: Option<String>,
) -> Option<MessageError> {
    (status == Some(Status::Failed)).then(|| MessageError {
        code: code
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| fallback.to_owned()),
        message: message.unwrap_or_else(|| format!("the carrier reported {fallback}")),
    })
}

pub(crate) fn required(field: &str, v: Option<String>) -> ApiResult<String> {
    v.map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::validation(field, "is required").into())
}
