use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use domain::{
    Error, Errors, Page, Paged,
    webhooks::{self, Delivery, Endpoint, EndpointInput, WithSecret},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::members::PageQuery;
use crate::{
    ApiResult, AppState,
    extract::{
        Auth, IdPath, JsonBody, Query,
        need::{MembersRead, MembersWrite},
    },
    openapi::{Op, Routes},
};

const TAG: &str = "webhook-endpoints";

pub fn routes() -> Routes {
    let endpoint_id = "The endpoint's id";
    let limited = "RATE_LIMITED: 10 test events and manual retries a minute per endpoint";
    Routes::new()
        .post(
            "/v1/webhook-endpoints",
            create,
            Op::new("createWebhookEndpoint", TAG, "Register an endpoint; its signing secret is in the answer")
                .session::<MembersWrite>()
                .body::<EndpointInput>("The endpoint: `url` is required")
                .ok::<WithSecret>(201, "Created, with its secret"),
        )
        .get(
            "/v1/webhook-endpoints",
            list,
            Op::new("listWebhookEndpoints", TAG, "The organization's endpoints")
                .session::<MembersRead>()
                .list::<Endpoint>("A page of endpoints"),
        )
        .get(
            "/v1/webhook-endpoints/{id}",
            get,
            Op::new("getWebhookEndpoint", TAG, "An endpoint")
                .session::<MembersRead>()
                .id(endpoint_id)
                .ok::<Endpoint>(200, "The endpoint"),
        )
        .patch(
            "/v1/webhook-endpoints/{id}",
            update,
            Op::new("updateWebhookEndpoint", TAG, "Change an endpoint; absent fields stay")
                .session::<MembersWrite>()
                .id(endpoint_id)
                .body::<EndpointInput>("The fields to change")
                .ok::<Endpoint>(200, "Changed"),
        )
        .delete(
            "/v1/webhook-endpoints/{id}",
            delete,
            Op::new("deleteWebhookEndpoint", TAG, "Remove an endpoint")
                .session::<MembersWrite>()
                .id(endpoint_id)
                .empty(204, "Removed"),
        )
        .get(
            "/v1/webhook-endpoints/{id}/secret",
            secret,
            Op::new("getWebhookEndpointSecret", TAG, "An endpoint's current signing secret")
                .session::<MembersWrite>()
                .id(endpoint_id)
                .ok::<Secret>(200, "The secret"),
        )
        .post(
            "/v1/webhook-endpoints/{id}/rotate-secret",
            rotate,
            Op::new("rotateWebhookEndpointSecret", TAG, "A new signing secret; the old one keeps signing beside it for 24 h")
                .describe("A second rotation within the 24 hours ends the oldest secret at once: the pair that signs is always the newest two.")
                .session::<MembersWrite>()
                .id(endpoint_id)
                .ok::<WithSecret>(200, "The endpoint with its new secret"),
        )
        .post(
            "/v1/webhook-endpoints/{id}/test",
            test,
            Op::new("testWebhookEndpoint", TAG, "Send a `webhook_test` event to the endpoint")
                .describe("Whatever its eventTypes and enabled flag.")
                .session::<MembersWrite>()
                .id(endpoint_id)
                .ok::<Delivery>(200, "The delivery, PENDING")
                .rate_limited()
                .err(429, limited),
        )
        .get(
            "/v1/webhook-endpoints/{id}/deliveries",
            deliveries,
            Op::new("listWebhookDeliveries", TAG, "An endpoint's deliveries, newest first")
                .session::<MembersRead>()
                .id(endpoint_id)
                .query(
                    "status",
                    "Only deliveries in this status",
                    json!({"type": "string", "enum": ["PENDING", "SUCCEEDED", "FAILED"]}),
                    json!("FAILED"),
                )
                .list::<Delivery>("A page of deliveries"),
        )
        .post(
            "/v1/webhook-endpoints/{id}/recover",
            recover,
            Op::new("recoverWebhookEndpoint", TAG, "Re-deliver every FAILED delivery of the endpoint since a time")
                .session::<MembersWrite>()
                .id(endpoint_id)
                .body::<RecoverBody>("Since when")
                .ok::<Recovered>(200, "How many deliveries were queued again"),
        )
        .post(
            "/v1/webhook-deliveries/{id}/retry",
            retry,
            Op::new("retryWebhookDelivery", "webhook-endpoints", "Re-deliver one delivery now, whatever its status")
                .session::<MembersWrite>()
                .id("The delivery's id")
                .ok::<Delivery>(200, "The delivery, PENDING again")
                .rate_limited()
                .err(429, limited),
        )
}

/// An endpoint's signing secret.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = EndpointSecret)]
pub struct Secret {
    /// `whsec_` and base64 of 24 random bytes.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    secret: String,
}

/// The answer of a recovery.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Recovered {
    /// The FAILED deliveries queued again.
    #[schema(example = 12)]
    recovered: u64,
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    body: JsonBody<EndpointInput>,
) -> ApiResult<(StatusCode, Json<WithSecret>)> {
    let org = auth.session.user.organization_id;
    let created = webhooks::create(&state.pool, &state.config, org, body.value).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn list(
    State(state): State<AppState>,
    auth: Auth<MembersRead>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<Endpoint>>> {
    let page = q.parse()?;
    Ok(Json(
        webhooks::list(&state.pool, auth.session.user.organization_id, page).await?,
    ))
}

pub async fn get(
    State(state): State<AppState>,
    auth: Auth<MembersRead>,
    IdPath(id): IdPath,
) -> ApiResult<Json<Endpoint>> {
    Ok(Json(
        webhooks::get(&state.pool, auth.session.user.organization_id, id).await?,
    ))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    IdPath(id): IdPath,
    body: JsonBody<EndpointInput>,
) -> ApiResult<Json<Endpoint>> {
    let org = auth.session.user.organization_id;
    Ok(Json(
        webhooks::update(&state.pool, &state.config, org, id, body.value).await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    webhooks::delete(&state.pool, auth.session.user.organization_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn secret(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    IdPath(id): IdPath,
) -> ApiResult<Json<Secret>> {
    let secret = webhooks::secret(
        &state.pool,
        &state.config,
        auth.session.user.organization_id,
        id,
    )
    .await?;
    Ok(Json(Secret { secret }))
}

pub async fn rotate(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    IdPath(id): IdPath,
) -> ApiResult<Json<WithSecret>> {
    let org = auth.session.user.organization_id;
    Ok(Json(
        webhooks::rotate(&state.pool, &state.config, org, id).await?,
    ))
}

pub async fn test(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    IdPath(id): IdPath,
) -> ApiResult<Json<Delivery>> {
    let org = auth.session.user.organization_id;
    webhooks::get(&state.pool, org, id).await?;
    state.endpoint_actions(id)?;
    Ok(Json(webhooks::send_test(&state.pool, org, id).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveriesQuery {
    status: Option<String>,
    page: Option<String>,
    page_size: Option<String>,
}

pub async fn deliveries(
    State(state): State<AppState>,
    auth: Auth<MembersRead>,
    IdPath(id): IdPath,
    Query(q): Query<DeliveriesQuery>,
) -> ApiResult<Json<Paged<Delivery>>> {
    let mut errors = Errors::default();
    let page = Page::parse(&mut errors, q.page.as_deref(), q.page_size.as_deref());
    if q.status
        .as_deref()
        .is_some_and(|s| !["PENDING", "SUCCEEDED", "FAILED"].contains(&s))
    {
        errors.add("status", "must be one of PENDING, SUCCEEDED, FAILED");
    }
    errors.finish()?;
    let org = auth.session.user.organization_id;
    Ok(Json(
        webhooks::list_deliveries(&state.pool, org, id, q.status, page).await?,
    ))
}

pub async fn retry(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    IdPath(id): IdPath,
) -> ApiResult<Json<Delivery>> {
    let org = auth.session.user.organization_id;
    let delivery = webhooks::get_delivery(&state.pool, org, id).await?;
    state.endpoint_actions(delivery.endpoint_id)?;
    Ok(Json(webhooks::retry(&state.pool, org, id).await?))
}

/// Since when to re-deliver.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = RecoverRequest)]
pub struct RecoverBody {
    /// RFC 3339, within the last days the deliveries are kept.
    #[schema(value_type = String, required = true, format = DateTime, example = "2026-11-27T00:00:00Z")]
    since: Option<String>,
}

pub async fn recover(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    IdPath(id): IdPath,
    body: JsonBody<RecoverBody>,
) -> ApiResult<Json<Recovered>> {
    let since = body
        .value
        .since
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| Error::validation("since", "must be an RFC 3339 timestamp"))?;
    let n = webhooks::recover(&state.pool, auth.session.user.organization_id, id, since).await?;
    Ok(Json(Recovered { recovered: n }))
}
