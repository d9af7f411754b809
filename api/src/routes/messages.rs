//! The six message routes every channel has (send, batch, list, get, timeline, cancel), under
//! `/v1/<channel>` for sessions and `/v1/public/<channel>` for API keys, written once. A channel
//! joins by naming its path, its send body (through `ChannelSend`), its scopes and its schemas.

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use domain::{
    Error, FieldError, Paged,
    idempotency::IdempotencyKey,
    messages::{self, Accepted, ChannelSend, ListParams, MAX_BATCH, Message, TimelineEntry},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    ApiResult, AppState,
    extract::{
        Auth, Caller, IdPath, JsonBody, Key, NeedsScope, Query,
        need::{MessagesRead, MessagesSend},
    },
};

/// What a channel brings to the generic routes.
pub trait ChannelApi: ChannelSend {
    /// The path segment: `sms`, `emails`, `whatsapp`.
    const PATH: &'static str;
    /// The OpenAPI schema names of its send body and of its message.
    const SEND_SCHEMA: &'static str;
    const MESSAGE_SCHEMA: &'static str;
    /// The largest send or batch body (an email's attachments need more than the default).
    const BODY_LIMIT: usize = crate::BODY_LIMIT;
    type SendScope: NeedsScope + 'static;
    type ReadScope: NeedsScope + 'static;
}

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

fn accepted(a: Accepted) -> Response {
    let mut res = (StatusCode::ACCEPTED, Json(a.body)).into_response();
    if a.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

/// Send one message: validated, stored and queued; the provider is called by a worker later.
pub async fn send<C: Caller, K: ChannelApi>(
    State(state): State<AppState>,
    caller: C,
    headers: HeaderMap,
    body: JsonBody<K::Request>,
) -> ApiResult<Response> {
    crate::meter(&state, &caller, 1)?;
    let key = idempotency(&headers, &format!("{}/send", K::PATH), &body.raw)?;
    let a = messages::accept::<K>(
        &state.pool,
        &state.config,
        caller.organization_id(),
        vec![body.value],
        false,
        key,
    )
    .await?;
    Ok(accepted(a))
}

#[derive(Deserialize)]
pub struct BatchBody {
    messages: Option<Vec<Value>>,
}

/// Send up to 100 messages at once, all or nothing.
pub async fn batch<C: Caller, K: ChannelApi>(
    State(state): State<AppState>,
    caller: C,
    headers: HeaderMap,
    body: JsonBody<BatchBody>,
) -> ApiResult<Response> {
    let key = idempotency(&headers, &format!("{}/batch", K::PATH), &body.raw)?;
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
            errors.push(FieldError::new(
                format!("messages[{i}]"),
                "must be an object",
            ));
            continue;
        }
        match serde_path_to_error::deserialize::<_, K::Request>(item) {
            Ok(m) => parsed.push(m),
            Err(e) => errors.push(FieldError::new(
                format!("messages[{i}].{}", e.path()),
                e.into_inner().to_string(),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors).into());
    }
    let org = caller.organization_id();
    let a = messages::accept::<K>(&state.pool, &state.config, org, parsed, true, key).await?;
    Ok(accepted(a))
}

/// The query string of a message list.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// SMS's category filter; other channels have none and ignore it.
    flow: Option<String>,
    status: Option<String>,
    query: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
    page: Option<String>,
    page_size: Option<String>,
}

/// List messages, newest first, with filters.
pub async fn list<C: Caller, K: ChannelApi>(
    State(state): State<AppState>,
    caller: C,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Paged<Message>>> {
    let params = ListParams {
        category: q.flow,
        status: q.status,
        query: q.query,
        created_from: q.created_from,
        created_to: q.created_to,
        page: q.page,
        page_size: q.page_size,
    };
    Ok(Json(
        messages::list::<K>(&state.pool, caller.organization_id(), &params).await?,
    ))
}

pub async fn get_one<C: Caller, K: ChannelApi>(
    State(state): State<AppState>,
    caller: C,
    IdPath(id): IdPath,
) -> ApiResult<Json<Message>> {
    Ok(Json(
        messages::get(&state.pool, caller.organization_id(), K::CHANNEL, id).await?,
    ))
}

/// Every status change and note of a message, oldest first.
pub async fn timeline<C: Caller, K: ChannelApi>(
    State(state): State<AppState>,
    caller: C,
    IdPath(id): IdPath,
) -> ApiResult<Json<Value>> {
    let entries: Vec<TimelineEntry> =
        messages::timeline(&state.pool, caller.organization_id(), K::CHANNEL, id).await?;
    Ok(Json(json!({ "data": entries })))
}

/// Cancel a message that is still QUEUED.
pub async fn cancel<C: Caller, K: ChannelApi>(
    State(state): State<AppState>,
    caller: C,
    IdPath(id): IdPath,
) -> ApiResult<Json<Message>> {
    Ok(Json(
        messages::cancel(&state.pool, caller.organization_id(), K::CHANNEL, id).await?,
    ))
}

/// The six routes of channel `K` for callers of kind `Send` (sending) and `Read` (reading), under
/// `prefix` (`/v1` or `/v1/public`).
fn routes_for<K, S, R>(prefix: &str) -> Router<AppState>
where
    K: ChannelApi,
    S: Caller
        + Send
        + 'static
        + axum::extract::FromRequestParts<AppState, Rejection = crate::ApiError>,
    R: Caller
        + Send
        + 'static
        + axum::extract::FromRequestParts<AppState, Rejection = crate::ApiError>,
{
    let base = format!("{prefix}/{}", K::PATH);
    let limit = DefaultBodyLimit::max(K::BODY_LIMIT);
    Router::new()
        .route(&format!("{base}/send"), post(send::<S, K>).layer(limit))
        .route(&format!("{base}/batch"), post(batch::<S, K>).layer(limit))
        .route(&base, get(list::<R, K>))
        .route(&format!("{base}/{{id}}"), get(get_one::<R, K>))
        .route(&format!("{base}/{{id}}/timeline"), get(timeline::<R, K>))
        .route(&format!("{base}/{{id}}/cancel"), post(cancel::<S, K>))
}

/// The session routes of channel `K` (`/v1/<channel>`, messages:send and messages:read).
pub fn session_routes<K: ChannelApi>() -> Router<AppState> {
    routes_for::<K, Auth<MessagesSend>, Auth<MessagesRead>>("/v1")
}

/// The public routes of channel `K` (`/v1/public/<channel>`, its send and read scopes).
pub fn public_routes<K: ChannelApi>() -> Router<AppState> {
    routes_for::<K, Key<K::SendScope>, Key<K::ReadScope>>("/v1/public")
}

/// The OpenAPI operations of channel `K`'s public routes, built from the same description.
pub fn openapi_paths<K: ChannelApi>(paths: &mut utoipa::openapi::Paths) {
    use utoipa::openapi::{
        ContentBuilder, HttpMethod, Ref, Required, ResponseBuilder,
        path::{OperationBuilder, ParameterBuilder, ParameterIn},
        request_body::RequestBodyBuilder,
        security::SecurityRequirement,
    };
    let tag = K::PATH;
    let base = format!("/v1/public/{}", K::PATH);
    let json = |schema: &str| {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .build()
    };
    let response = |description: &str, schema: Option<&str>| {
        let mut r = ResponseBuilder::new().description(description);
        if let Some(s) = schema {
            r = r.content("application/json", json(s));
        }
        r.build()
    };
    let error = || response("An error in the contract's shape", Some("ErrorBody"));
    let op = |summary: &str| {
        OperationBuilder::new()
            .tag(tag)
            .summary(Some(summary))
            .security(SecurityRequirement::new("apiKey", Vec::<String>::new()))
            .response("401", error())
            .response("403", error())
            .response("429", error())
    };
    let id_param = || {
        ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .build()
    };
    let query_param = |name: &str, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(description))
            .build()
    };
    let idempotency_param = || {
        ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "1..255 characters; replays the first response for 24 h",
            ))
            .build()
    };
    let body = |schema: &str| {
        Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", json(schema))
                .build(),
        )
    };
    let statuses: Vec<&str> = K::CHANNEL.statuses().iter().map(|s| s.as_str()).collect();
    let statuses = statuses.join(", ");

    paths.add_path_operation(
        format!("{base}/send"),
        vec![HttpMethod::Post],
        op("Send one message: validated, stored and queued; a worker calls the provider later")
            .parameter(idempotency_param())
            .request_body(body(K::SEND_SCHEMA))
            .response(
                "202",
                response("The message, QUEUED", Some(K::MESSAGE_SCHEMA)),
            )
            .response("409", error())
            .response("422", error()),
    );
    paths.add_path_operation(
        format!("{base}/batch"),
        vec![HttpMethod::Post],
        op("Send up to 100 messages at once, all or nothing")
            .parameter(idempotency_param())
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .description(Some(format!(
                        "`{{messages: [{}, …]}}`, 1 to {MAX_BATCH}",
                        K::SEND_SCHEMA
                    )))
                    .content("application/json", ContentBuilder::new().build())
                    .build(),
            ))
            .response(
                "202",
                response("`{data: [message, …]}` in request order", None),
            )
            .response(
                "422",
                response(
                    "One `details` entry per failing item (`messages[3].to`)",
                    Some("ErrorBody"),
                ),
            ),
    );
    let mut list = op("List messages, newest first")
        .parameter(query_param("status", &format!("one of {statuses}")))
        .parameter(query_param(
            "query",
            "a substring of the recipient, content or externalId (at most 100 characters)",
        ))
        .parameter(query_param("createdFrom", "RFC 3339"))
        .parameter(query_param("createdTo", "RFC 3339"))
        .parameter(query_param(
            "page",
            "from 1; page × pageSize at most 10,000",
        ))
        .parameter(query_param("pageSize", "1 to 100, default 20"));
    if let Some((name, values)) = K::CATEGORY {
        list = list.parameter(query_param(name, &format!("one of {}", values.join(", "))));
    }
    paths.add_path_operation(
        &base,
        vec![HttpMethod::Get],
        list.response(
            "200",
            response("`{data: [message], page, pageSize, total}`", None),
        )
        .response("422", error()),
    );
    paths.add_path_operation(
        format!("{base}/{{id}}"),
        vec![HttpMethod::Get],
        op("A message with its current status")
            .parameter(id_param())
            .response("200", response("The message", Some(K::MESSAGE_SCHEMA)))
            .response("404", error()),
    );
    paths.add_path_operation(
        format!("{base}/{{id}}/timeline"),
        vec![HttpMethod::Get],
        op("Every status change and note of a message, oldest first")
            .parameter(id_param())
            .response(
                "200",
                response("`{data: [{id, type, status, occurredAt, detail}]}`", None),
            )
            .response("404", error()),
    );
    paths.add_path_operation(
        format!("{base}/{{id}}/cancel"),
        vec![HttpMethod::Post],
        op("Cancel a message that is still QUEUED")
            .parameter(id_param())
            .response(
                "200",
                response("The message, CANCELED", Some(K::MESSAGE_SCHEMA)),
            )
            .response("404", error())
            .response("409", error()),
    );
}
