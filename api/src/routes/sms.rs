//! SMS messages: the session routes under `/v1/sms` and their mirrors under `/v1/public/sms`
//! share these handlers; only the caller (and so the permission or scope) differs.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use domain::{
    Error, Paged,
    idempotency::IdempotencyKey,
    messages::{self, Channel, Message, TimelineEntry},
    sms::{self, ListQuery, MAX_BATCH, SmsBatch, SmsSend},
};
use serde_json::{Value, json};

use crate::{
    ApiResult, AppState,
    extract::{Caller, IdPath, JsonBody, Query},
};

fn idempotency(
    headers: &HeaderMap,
    route: &str,
    body: &Value,
) -> domain::Result<Option<IdempotencyKey>> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let raw = v
                .to_str()
                .map_err(|_| Error::validation("Idempotency-Key", "must be printable ASCII"))?;
            IdempotencyKey::parse(raw, route, body).map(Some)
        }
    }
}

fn accepted(a: sms::Accepted) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::ACCEPTED);
    let mut res = (status, Json(a.body)).into_response();
    if a.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

/// Send one SMS: validated, stored and queued; the provider is called by a worker later.
#[utoipa::path(post, path = "/v1/public/sms/send", tag = "sms", request_body = SmsSend,
    params(("Idempotency-Key" = Option<String>, Header, description = "1..255 characters; replays the first response for 24 h")),
    responses((status = 202, description = "The message, QUEUED", body = crate::openapi::SmsMessage),
              (status = 422, body = crate::openapi::ErrorBody), (status = 409, body = crate::openapi::ErrorBody)),
    security(("apiKey" = [])))]
pub async fn send<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    headers: HeaderMap,
    body: JsonBody<SmsSend>,
) -> ApiResult<Response> {
    crate::meter(&state, &caller, 1)?;
    let key = idempotency(&headers, "sms/send", &body.raw)?;
    let a = sms::send(
        &state.pool,
        caller.organization_id(),
        vec![body.value],
        false,
        key,
    )
    .await?;
    Ok(accepted(a))
}

/// Send up to 100 SMS at once, all or nothing.
#[utoipa::path(post, path = "/v1/public/sms/batch", tag = "sms", request_body = SmsBatch,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, description = "`{data: [message, …]}` in request order"),
              (status = 422, description = "One `details` entry per failing item", body = crate::openapi::ErrorBody)),
    security(("apiKey" = [])))]
pub async fn batch<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    headers: HeaderMap,
    body: JsonBody<SmsBatch>,
) -> ApiResult<Response> {
    let key = idempotency(&headers, "sms/batch", &body.raw)?;
    let Some(items) = body.value.messages else {
        return Err(Error::validation("messages", "is required").into());
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(
            Error::validation("messages", format!("must hold 1 to {MAX_BATCH} messages")).into(),
        );
    }
    crate::meter(&state, &caller, items.len())?;
    let mut parsed = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if !item.is_object() {
            errors.push(domain::FieldError::new(
                format!("messages[{i}]"),
                "must be an object",
            ));
            continue;
        }
        match serde_path_to_error::deserialize::<_, SmsSend>(item) {
            Ok(m) => parsed.push(m),
            Err(e) => errors.push(domain::FieldError::new(
                format!("messages[{i}].{}", e.path()),
                e.into_inner().to_string(),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors).into());
    }
    let a = sms::send(&state.pool, caller.organization_id(), parsed, true, key).await?;
    Ok(accepted(a))
}

/// List messages, newest first, with filters.
#[utoipa::path(get, path = "/v1/public/sms", tag = "sms",
    params(("flow" = Option<String>, Query, description = "OTP or STANDARD"),
           ("status" = Option<String>, Query, description = "QUEUED, PROCESSING, SENT, DELIVERED, FAILED or CANCELED"),
           ("query" = Option<String>, Query, description = "substring of the recipient, body or externalId"),
           ("createdFrom" = Option<String>, Query), ("createdTo" = Option<String>, Query),
           ("page" = Option<u32>, Query), ("pageSize" = Option<u32>, Query)),
    responses((status = 200, description = "`{data: [message], page, pageSize, total}`"),
              (status = 422, body = crate::openapi::ErrorBody)),
    security(("apiKey" = [])))]
pub async fn list<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Paged<Message>>> {
    Ok(Json(
        sms::list(&state.pool, caller.organization_id(), &q).await?,
    ))
}

#[utoipa::path(get, path = "/v1/public/sms/{id}", tag = "sms", params(("id" = String, Path)),
    responses((status = 200, body = crate::openapi::SmsMessage), (status = 404, body = crate::openapi::ErrorBody)),
    security(("apiKey" = [])))]
pub async fn get<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    IdPath(id): IdPath,
) -> ApiResult<Json<Message>> {
    Ok(Json(
        messages::get(&state.pool, caller.organization_id(), Channel::Sms, id).await?,
    ))
}

/// Every status change and note of a message, oldest first.
#[utoipa::path(get, path = "/v1/public/sms/{id}/timeline", tag = "sms", params(("id" = String, Path)),
    responses((status = 200, description = "`{data: [{id, type, status, occurredAt, detail}]}`"),
              (status = 404, body = crate::openapi::ErrorBody)),
    security(("apiKey" = [])))]
pub async fn timeline<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    IdPath(id): IdPath,
) -> ApiResult<Json<Value>> {
    let entries: Vec<TimelineEntry> =
        messages::timeline(&state.pool, caller.organization_id(), Channel::Sms, id).await?;
    Ok(Json(json!({ "data": entries })))
}

/// Cancel a message that is still QUEUED.
#[utoipa::path(post, path = "/v1/public/sms/{id}/cancel", tag = "sms", params(("id" = String, Path)),
    responses((status = 200, body = crate::openapi::SmsMessage), (status = 409, body = crate::openapi::ErrorBody)),
    security(("apiKey" = [])))]
pub async fn cancel<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    IdPath(id): IdPath,
) -> ApiResult<Json<Message>> {
    Ok(Json(
        messages::cancel(&state.pool, caller.organization_id(), Channel::Sms, id).await?,
    ))
}
