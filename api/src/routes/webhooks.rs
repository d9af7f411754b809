use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use domain::{
    Error, Errors, Page, Paged,
    webhooks::{self, Delivery, Endpoint, EndpointInput, WithSecret},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::members::PageQuery;
use crate::{
    ApiResult, AppState,
    extract::{
        Auth, IdPath, JsonBody, Query,
        need::{MembersRead, MembersWrite},
    },
};

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
) -> ApiResult<Json<Value>> {
    let secret = webhooks::secret(
        &state.pool,
        &state.config,
        auth.session.user.organization_id,
        id,
    )
    .await?;
    Ok(Json(json!({ "secret": secret })))
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

#[derive(Deserialize)]
pub struct RecoverBody {
    since: Option<String>,
}

pub async fn recover(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    IdPath(id): IdPath,
    body: JsonBody<RecoverBody>,
) -> ApiResult<Json<Value>> {
    let since = body
        .value
        .since
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| Error::validation("since", "must be an RFC 3339 timestamp"))?;
    let n = webhooks::recover(&state.pool, auth.session.user.organization_id, id, since).await?;
    Ok(Json(json!({ "recovered": n })))
}
