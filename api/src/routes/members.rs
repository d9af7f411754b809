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
    openapi::{Op, Routes},
};

pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/v1/members",
            list,
            Op::new("listMembers", "members", "The organization's members")
                .session::<MembersRead>()
                .list::<User>("A page of members"),
        )
        .post(
            "/v1/members",
            add,
            Op::new("addMember", "members", "Add a member with a role and a password")
                .describe("Only an OWNER may add an OWNER.")
                .session::<MembersWrite>()
                .body::<AddBody>("The new member")
                .ok::<User>(201, "Added")
                .err(403, "FORBIDDEN: only an OWNER may add an OWNER")
                .err(409, "CONFLICT: the email address is taken"),
        )
        .patch(
            "/v1/members/{id}",
            change_role,
            Op::new("changeMemberRole", "members", "Change a member's role")
                .describe("Only an OWNER may change an OWNER or make one; the last OWNER cannot be demoted (409).")
                .session::<MembersWrite>()
                .id("The member's user id")
                .body::<RoleBody>("The new role")
                .ok::<User>(200, "Changed")
                .err(403, "FORBIDDEN: only an OWNER may change an OWNER or make one")
                .err(409, "CONFLICT: the last OWNER cannot be demoted"),
        )
        .delete(
            "/v1/members/{id}",
            remove,
            Op::new("removeMember", "members", "Remove a member; their sessions stop working at once")
                .session::<MembersWrite>()
                .id("The member's user id")
                .empty(204, "Removed")
                .err(403, "FORBIDDEN: only an OWNER may remove an OWNER")
                .err(409, "CONFLICT: the last OWNER cannot be removed"),
        )
}

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

/// A new member.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = NewMember)]
pub struct AddBody {
    /// Their email address, to log in with.
    #[serde(default)]
    #[schema(required = true, example = "grace@acme.example", format = Email)]
    email: String,
    /// Their name.
    #[serde(default)]
    #[schema(required = true, example = "Grace Hopper", min_length = 1)]
    name: String,
    /// OWNER, ADMIN, MEMBER or VIEWER.
    #[serde(default)]
    #[schema(
        required = true,
        example = "MEMBER",
        pattern = "^(OWNER|ADMIN|MEMBER|VIEWER)$"
    )]
    role: String,
    /// Their first password: at least 10 characters.
    #[serde(default)]
    #[schema(required = true, example = "correct horse battery", min_length = 10)]
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

/// A role change.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = RoleChange)]
pub struct RoleBody {
    /// OWNER, ADMIN, MEMBER or VIEWER.
    #[serde(default)]
    #[schema(
        required = true,
        example = "ADMIN",
        pattern = "^(OWNER|ADMIN|MEMBER|VIEWER)$"
    )]
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
