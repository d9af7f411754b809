use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use domain::{
    Paged,
    messages::{
        Channel,
        opt_outs::{self, OptOut},
    },
};
use serde::Deserialize;

use crate::routes::members::PageQuery;
use crate::{
    ApiResult, AppState,
    extract::{
        Auth, JsonBody, Query,
        need::{MembersRead, MembersWrite},
    },
};

pub async fn list(
    State(state): State<AppState>,
    auth: Auth<MembersRead>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<OptOut>>> {
    let page = q.parse()?;
    Ok(Json(
        opt_outs::list(
            &state.pool,
            auth.session.user.organization_id,
            Channel::Sms,
            page,
        )
        .await?,
    ))
}

/// A handset to stop sending to.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = NewOptOut)]
#[serde(rename_all = "camelCase")]
pub struct AddBody {
    /// E.164, with the leading +.
    #[serde(default)]
    #[schema(required = true, example = "+2348067000111")]
    phone_number: String,
}

pub async fn add(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    body: JsonBody<AddBody>,
) -> ApiResult<(StatusCode, Json<OptOut>)> {
    let row = opt_outs::add_via_api(
        &state.pool,
        auth.session.user.organization_id,
        Channel::Sms,
        &body.value.phone_number,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(row)))
}

pub async fn remove(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    Path(phone): Path<String>,
) -> ApiResult<StatusCode> {
    let org = auth.session.user.organization_id;
    opt_outs::remove_via_api(&state.pool, org, Channel::Sms, &phone).await?;
    Ok(StatusCode::NO_CONTENT)
}
