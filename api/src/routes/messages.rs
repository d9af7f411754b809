//! The six message routes every channel has (send, batch, list, get, timeline, cancel), under
//! `/v1/<channel>` for sessions and `/v1/public/<channel>` for API keys, written once. A channel
//! joins by naming its path, its send body (through `ChannelSend`), its scopes and its schemas.

use axum::{
    Json,
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
use utoipa::ToSchema;

use crate::{
    ApiResult, AppState,
    extract::{
        Auth, Caller, IdPath, JsonBody, Key, NeedsPermission, NeedsScope, Query,
        need::{MessagesRead, MessagesSend},
    },
    openapi::{Method, Op, Routes},
};

/// What a channel brings to the generic routes.
pub trait ChannelApi: ChannelSend {
    /// The path segment: `sms`, `emails`, `whatsapp`.
    const PATH: &'static str;
    /// Its name in operation ids (`sendSms`, `listEmails`) and its OpenAPI tag.
    const NAME: &'static str;
    const PLURAL: &'static str;
    const TAG: &'static str;
    /// The OpenAPI schemas of its send body and of its message.
    type SendDoc: ToSchema;
    type MessageDoc: ToSchema;
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

/// What a caller kind adds to the generic operations: its credentials and its operation ids.
trait Documented {
    /// Appended to operation ids (`sendSmsAsMember`), and the tag prefix.
    const SUFFIX: &'static str;
    const TAG_PREFIX: &'static str;
    fn access(op: Op) -> Op;
}

impl<P: NeedsPermission> Documented for Auth<P> {
    const SUFFIX: &'static str = "AsMember";
    const TAG_PREFIX: &'static str = "dashboard-";
    fn access(op: Op) -> Op {
        op.session::<P>()
    }
}

impl<S: NeedsScope> Documented for Key<S> {
    const SUFFIX: &'static str = "";
    const TAG_PREFIX: &'static str = "";
    fn access(op: Op) -> Op {
        op.key::<S>()
    }
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

/// The six routes of channel `K` for callers of kind `S` (sending) and `R` (reading), under
/// `prefix` (`/v1` or `/v1/public`), with their operations.
fn routes_for<K, S, R>(prefix: &str) -> Routes
where
    K: ChannelApi,
    S: Caller
        + Documented
        + Send
        + 'static
        + axum::extract::FromRequestParts<AppState, Rejection = crate::ApiError>,
    R: Caller
        + Documented
        + Send
        + 'static
        + axum::extract::FromRequestParts<AppState, Rejection = crate::ApiError>,
{
    let base = format!("{prefix}/{}", K::PATH);
    let limit = DefaultBodyLimit::max(K::BODY_LIMIT);
    let tag: &'static str = match (S::TAG_PREFIX, K::TAG) {
        ("", t) => t,
        (_, "email") => "dashboard-email",
        (_, "sms") => "dashboard-sms",
        _ => "dashboard-whatsapp",
    };
    let (name, plural, suffix) = (K::NAME, K::PLURAL, S::SUFFIX);
    let send_op = |id: String, summary: &str| S::access(Op::new(id, tag, summary));
    let read_op = |id: String, summary: &str| R::access(Op::new(id, tag, summary));
    let statuses: Vec<&str> = K::CHANNEL.statuses().iter().map(|s| s.as_str()).collect();
    let refusals = "VALIDATION_ERROR, or a rule that needs the database: SENDER_ID_NOT_APPROVED, \
        RECIPIENT_OPTED_OUT, RECIPIENT_SUPPRESSED, CHANNEL_DISABLED, DOMAIN_NOT_VERIFIED";

    let send_doc = send_op(
        format!("send{name}{suffix}"),
        "Send one message: validated, stored and queued; a worker calls the provider later",
    )
    .idempotent()
    .rate_limited()
    .body::<K::SendDoc>("The message")
    .ok::<K::MessageDoc>(202, "The message, QUEUED")
    .err(422, refusals);
    let mut batch_doc = send_op(
        format!("send{name}Batch{suffix}"),
        "Send up to 100 messages at once, all or nothing",
    )
    .describe(
        "If any item fails any check, nothing is stored and the answer is 422 with one `details` \
         entry per failing item (`field` like `messages[3].to`, with its own `code`). Each message \
         counts against the caller's rate limit.",
    )
    .idempotent()
    .rate_limited();
    let item = batch_doc.schema::<K::SendDoc>();
    let batch_body = format!("{name}BatchRequest");
    let batch_doc = batch_doc
        .body_schema(
            &batch_body,
            json!({
                "type": "object",
                "description": format!("Up to {MAX_BATCH} messages"),
                "required": ["messages"],
                "properties": {"messages": {
                    "type": "array", "items": item, "minItems": 1, "maxItems": MAX_BATCH,
                    "description": "The messages, each a send body",
                }},
            }),
            "The messages",
        )
        .data::<K::MessageDoc>(
            202,
            &format!("{name}Batch"),
            "The messages, QUEUED, in request order",
        )
        .err(422, refusals);
    let mut list_doc = read_op(
        format!("list{plural}{suffix}"),
        "List messages, newest first",
    )
    .query(
        "status",
        "Only messages in this status",
        json!({"type": "string", "enum": statuses}),
        json!(statuses[statuses.len() / 2]),
    )
    .query(
        "query",
        "A substring of the recipient, content or externalId (at most 100 characters)",
        json!({"type": "string", "maxLength": 100}),
        json!("2348067"),
    )
    .query(
        "createdFrom",
        "Only messages created at or after this time (RFC 3339)",
        json!({"type": "string", "format": "date-time"}),
        json!("2026-11-01T00:00:00Z"),
    )
    .query(
        "createdTo",
        "Only messages created at or before this time (RFC 3339)",
        json!({"type": "string", "format": "date-time"}),
        json!("2026-11-30T23:59:59Z"),
    );
    if let Some((param, values)) = K::CATEGORY {
        list_doc = list_doc.query(
            param,
            "Only messages of this flow",
            json!({"type": "string", "enum": values}),
            json!(values[0]),
        );
    }
    let list_doc = list_doc.list::<K::MessageDoc>("A page of messages");
    let get_doc = read_op(
        format!("get{name}{suffix}"),
        "A message with its current status",
    )
    .id("The message's id")
    .ok::<K::MessageDoc>(200, "The message");
    let timeline_doc = read_op(
        format!("get{name}Timeline{suffix}"),
        "Every status change and note of a message, oldest first",
    )
    .id("The message's id")
    .data::<TimelineEntry>(200, "Timeline", "Every entry, oldest first");
    let cancel_doc = send_op(
        format!("cancel{name}{suffix}"),
        "Cancel a message that is still QUEUED (typically scheduled)",
    )
    .id("The message's id")
    .ok::<K::MessageDoc>(200, "The message, CANCELED")
    .err(409, "CONFLICT: the message is no longer QUEUED");

    Routes::new()
        .route(
            &format!("{base}/send"),
            Method::Post,
            post(send::<S, K>).layer(limit),
            send_doc,
        )
        .route(
            &format!("{base}/batch"),
            Method::Post,
            post(batch::<S, K>).layer(limit),
            batch_doc,
        )
        .route(&base, Method::Get, get(list::<R, K>), list_doc)
        .route(
            &format!("{base}/{{id}}"),
            Method::Get,
            get(get_one::<R, K>),
            get_doc,
        )
        .route(
            &format!("{base}/{{id}}/timeline"),
            Method::Get,
            get(timeline::<R, K>),
            timeline_doc,
        )
        .route(
            &format!("{base}/{{id}}/cancel"),
            Method::Post,
            post(cancel::<S, K>),
            cancel_doc,
        )
}

/// The session routes of channel `K` (`/v1/<channel>`, messages:send and messages:read).
pub fn session_routes<K: ChannelApi>() -> Routes {
    routes_for::<K, Auth<MessagesSend>, Auth<MessagesRead>>("/v1")
}

/// The public routes of channel `K` (`/v1/public/<channel>`, its send and read scopes).
pub fn public_routes<K: ChannelApi>() -> Routes {
    routes_for::<K, Key<K::SendScope>, Key<K::ReadScope>>("/v1/public")
}
