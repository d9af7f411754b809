//! Meta's webhook: the verification handshake (`GET`, `WHATSAPP_VERIFY_TOKEN`) and callbacks
//! (`POST`, `X-Hub-Signature-256` over the raw body with `WHATSAPP_APP_SECRET`). Statuses are stored
//! as receipts for the receipt job, users' messages as inbound texts for the inbound job; the answer
//! is 200 once they are stored. Both routes are off (404) until their secret is set, and while the
//! cloud provider is disabled.

use std::collections::HashMap;

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use domain::{
    Error,
    crypto::constant_time_eq,
    messages::{
        Channel,
        opt_outs::{self, Inbound},
        receipts::{self, NewReceipt},
    },
    queue::{self, ProcessInbound},
    signatures,
    whatsapp::{lines, receipts as wa_receipts},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    ApiError, ApiResult, AppState,
    extract::Query,
    openapi::{Op, Routes},
    routes::inbound::{Received, callback_op, failure, header, received},
};

/// Meta's verification handshake and callbacks.
pub fn routes() -> Routes {
    let setting =
        "WHATSAPP_PROVIDER=cloud with WHATSAPP_CLOUD_API_ENABLED=true and its token or secret";
    let hub = |op: Op, name: &str, description: &str, example: Value| {
        op.param(
            "query",
            name,
            false,
            description,
            json!({"type": "string"}),
            example,
        )
    };
    let verify_op = Op::new(
        "whatsappVerify",
        "inbound",
        "Meta's subscription handshake: the challenge is echoed",
    )
    .no_database();
    let verify_op = hub(verify_op, "hub.mode", "`subscribe`", json!("subscribe"));
    let verify_op = hub(
        verify_op,
        "hub.verify_token",
        "Equal to WHATSAPP_VERIFY_TOKEN",
        json!("verify-token-from-the-operator"),
    );
    let verify_op = hub(
        verify_op,
        "hub.challenge",
        "Echoed back",
        json!("1158201444"),
    );
    Routes::new()
        .get(
            "/v1/webhooks/whatsapp",
            verify,
            verify_op
                .ok_content(200, "The challenge", "text/plain", json!({"type": "string"}))
                .err(403, "FORBIDDEN: bad hub.mode or hub.verify_token")
                .err(404, &format!("NOT_FOUND: off until {setting} is set")),
        )
        .post(
            "/v1/webhooks/whatsapp",
            callback,
            callback_op(
                "whatsappCallback",
                "Meta's statuses and users' messages, signed with `X-Hub-Signature-256`",
                setting,
            )
            .param(
                "header",
                "X-Hub-Signature-256",
                true,
                "`sha256=` and the hex HMAC-SHA256 of the raw body keyed with WHATSAPP_APP_SECRET",
                json!({"type": "string"}),
                json!("sha256=5d41402abc4b2a76b9719d911017c592ae7a3f1c5d41402abc4b2a76b9719d91"),
            )
            .raw_body_schema(
                json!({
                    "type": "object",
                    "description": "Meta's payload, in its own form: `entry[].changes[].value` holds \
                        `statuses[]` (by wamid) and users' `messages[]`",
                    "example": {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "106540352242922"}, "statuses": [{"id": "wamid.HBgNMjM0ODA2NzAwMDExMRUCABEYEjA=", "status": "delivered", "timestamp": "1795773600", "recipient_id": "2348067000111"}]}}]}]},
                }),
                "Meta's payload",
            ),
        )
}

#[derive(Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// The longest challenge echoed (Meta's is a number).
const MAX_CHALLENGE: usize = 256;

/// `GET /v1/webhooks/whatsapp`: Meta subscribes the callback URL; the challenge is echoed as text.
pub async fn verify(
    State(state): State<AppState>,
    Query(q): Query<Handshake>,
) -> ApiResult<Response> {
    let w = &state.config.whatsapp;
    let Some(expected) = w.verify_token.as_ref().filter(|_| w.enabled()) else {
        return Err(ApiError::RouteNotFound);
    };
    let token_ok = q
        .verify_token
        .as_deref()
        .is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes()));
    if q.mode.as_deref() != Some("subscribe") || !token_ok {
        return Err(Error::Forbidden("bad hub.mode or hub.verify_token".into()).into());
    }
    let challenge: String = q
        .challenge
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CHALLENGE)
        .collect();
    let mut res = (StatusCode::OK, challenge).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(res)
}

/// `POST /v1/webhooks/whatsapp`: statuses and users' messages, signed by Meta.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Received>> {
    let config = &state.config;
    let w = &config.whatsapp;
    let Some(secret) = w.app_secret.as_ref().filter(|_| w.enabled()) else {
        return Err(ApiError::RouteNotFound);
    };
    if !signatures::verify_hub(secret, &body, header(&headers, "x-hub-signature-256")) {
        return Err(Error::Unauthorized("bad X-Hub-Signature-256".into()).into());
    }
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::InvalidJson(format!("the body is not valid JSON: {e}")))?;
    let callback = wa_receipts::parse(&payload);
    let mut tx = state.pool.begin().await.map_err(Error::from)?;
    let mut owners: HashMap<String, Option<uuid::Uuid>> = HashMap::new();
    for s in callback.statuses {
        let owner = match owners.get(&s.phone_number_id) {
            Some(o) => *o,
            None => {
                let o = lines::owner_of(&mut tx, config, &s.phone_number_id).await?;
                owners.insert(s.phone_number_id.clone(), o);
                o
            }
        };
        let status = wa_receipts::status(&s.state);
        let receipt = NewReceipt {
            channel: Channel::Whatsapp,
            provider: w.provider.name().to_owned(),
            provider_message_id: s.wamid,
            status,
            error: s.error.or_else(|| failure(status, None, "FAILED", None)),
            raw: s.raw,
            organization_id: owner,
        };
        receipts::record(&mut tx, receipt, None).await?;
    }
    for m in callback.messages {
        let inbound = Inbound {
            channel: Channel::Whatsapp,
            from: &m.from,
            to: &m.phone_number_id,
            text: &m.text,
            raw: &m.raw,
        };
        if let Some(id) = opt_outs::record_inbound(&mut tx, inbound).await? {
            queue::push(&mut tx, ProcessInbound { inbound_id: id }, None).await?;
        }
    }
    tx.commit().await.map_err(Error::from)?;
    Ok(received())
}
