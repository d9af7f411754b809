use axum::{Json, extract::State, http::StatusCode};
use domain::{
    Errors, Page, Paged,
    identity::{self, MemberChange, NewMember, User},
};
use serde::Deserialize;

use crate::{
    ApiResult, AppState,
    extract::{
        Auth, IdPath, JsonBody, Query,
        need::{MembersRead, MembersWrite},
    },
};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PageQuery {
    pub page: Option<String>,
    pub page_size: Option<String>,
}

impl PageQuery {
    pub fn parse(&self) -> domain::Result<Page> {
        let mut errors = Errors::default();
        let page = Page::parse(&mut errors, self.page.as_deref(), self.page_size.as_deref());
        errors.finish()?;
        Ok(page)
    }
}

pub async fn list(
    State(state): State<AppState>,
    auth: Auth<MembersRead>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<User>>> {
    let page = q.parse()?;
    Ok(Json(
        identity::list_members(&state.pool, auth.session.user.organization_id, page).await?,
    ))
}

#[derive(Deserialize)]
pub struct AddBody {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

pub async fn add(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    body: JsonBody<AddBody>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let b = body.value;
    let user = identity::add_member(
        &state.pool,
        &auth.session.user,
        NewMember {
            email: b.email,
            name: b.name,
            role: b.role,
            password: b.password,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Deserialize)]
pub struct RoleBody {
    #[serde(default)]
    role: String,
}

pub async fn change_role(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    IdPath(id): IdPath,
    body: JsonBody<RoleBody>,
) -> ApiResult<Json<User>> {
    let change = MemberChange {
        role: body.value.role,
    };
    Ok(Json(
        identity::change_member_role(&state.pool, &auth.session.user, id, change).await?,
    ))
}

pub async fn remove(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    identity::remove_member(&state.pool, &auth.session.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
