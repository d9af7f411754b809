//! `GET/PATCH /v1/account/whatsapp-cloud-line`: the organization's own Cloud API line (members:read,
//! members:write). The token is sealed at rest and never returned.

use axum::{Json, extract::State};
use domain::whatsapp::lines::{self, CloudLine, LineUpdate};

use crate::{
    ApiResult, AppState,
    extract::{
        Auth, JsonBody,
        need::{MembersRead, MembersWrite},
    },
};

/// The organization's line, and whether the platform's can stand in.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth<MembersRead>,
) -> ApiResult<Json<CloudLine>> {
    let org = auth.session.user.organization_id;
    Ok(Json(lines::get(&state.pool, &state.config, org).await?))
}

/// Sets or clears the organization's phone number id and access token (null clears; at least one).
pub async fn update(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    body: JsonBody<LineUpdate>,
) -> ApiResult<Json<CloudLine>> {
    let org = auth.session.user.organization_id;
    Ok(Json(
        lines::update(&state.pool, &state.config, org, body.value).await?,
    ))
}
