use axum::{Json, extract::State, http::StatusCode};
use domain::{
    Paged,
    identity::{self, ApiKey, CreatedApiKey, NewApiKey},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::members::PageQuery;
use crate::{
    ApiResult, AppState,
    extract::{
        Auth, IdPath, JsonBody, Key, Query,
        need::{AnyScope, MembersRead, MembersWrite},
    },
};

#[derive(Deserialize)]
pub struct CreateBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    body: JsonBody<CreateBody>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    let input = NewApiKey {
        name: body.value.name,
        scopes: body.value.scopes,
    };
    let key =
        identity::create_api_key(&state.pool, auth.session.user.organization_id, input).await?;
    Ok((StatusCode::CREATED, Json(key)))
}

pub async fn list(
    State(state): State<AppState>,
    auth: Auth<MembersRead>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<ApiKey>>> {
    let page = q.parse()?;
    Ok(Json(
        identity::list_api_keys(&state.pool, auth.session.user.organization_id, page).await?,
    ))
}

pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    identity::revoke_api_key(
        &state.pool,
        &state.keys,
        auth.session.user.organization_id,
        id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The key presented, so that a client can check its credentials.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CurrentKey {
    id: Uuid,
    name: String,
    prefix: String,
    scopes: Vec<String>,
    organization_id: Uuid,
}

#[utoipa::path(get, path = "/v1/public/key", tag = "keys",
    responses((status = 200, body = CurrentKey), (status = 401, body = crate::openapi::ErrorBody)),
    security(("apiKey" = [])))]
pub async fn current(key: Key<AnyScope>) -> Json<CurrentKey> {
    let k = key.key;
    Json(CurrentKey {
        id: k.id,
        name: k.name,
        prefix: k.prefix,
        scopes: k.scopes.to_strings(),
        organization_id: k.organization_id,
    })
}
