//! Sending domains: `POST /v1/domains`, `GET /v1/domains`, `GET/DELETE /v1/domains/:id`,
//! `POST /v1/domains/:id/verify`; read with members:read, changed with members:write.

use axum::{Json, extract::State, http::StatusCode};
use domain::{
    Paged,
    email::domains::{self, Domain},
};
use serde::Deserialize;

use crate::{
    ApiResult, AppState,
    extract::{
        Auth, IdPath, JsonBody, Query,
        need::{MembersRead, MembersWrite},
    },
    routes::members::PageQuery,
};

#[derive(Deserialize)]
pub struct NewDomain {
    name: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    body: JsonBody<NewDomain>,
) -> ApiResult<(StatusCode, Json<Domain>)> {
    let org = auth.session.user.organization_id;
    let d = domains::create(&state.pool, &state.config, org, body.value.name.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(d)))
}

pub async fn list(
    State(state): State<AppState>,
    auth: Auth<MembersRead>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<Domain>>> {
    let org = auth.session.user.organization_id;
    Ok(Json(
        domains::list(&state.pool, &state.config, org, q.parse()?).await?,
    ))
}

pub async fn get(
    State(state): State<AppState>,
    auth: Auth<MembersRead>,
    IdPath(id): IdPath,
) -> ApiResult<Json<Domain>> {
    let org = auth.session.user.organization_id;
    Ok(Json(
        domains::get(&state.pool, &state.config, org, id).await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    domains::delete(&state.pool, auth.session.user.organization_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn verify(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    IdPath(id): IdPath,
) -> ApiResult<Json<Domain>> {
    let org = auth.session.user.organization_id;
    Ok(Json(
        domains::verify(&state.pool, &state.config, org, id).await?,
    ))
}
