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
    openapi::{Op, Routes},
    routes::members::PageQuery,
};

/// A sending domain to add.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewDomain {
    /// The domain name.
    #[schema(value_type = String, required = true, example = "acme.example")]
    name: Option<String>,
}

const TAG: &str = "email-settings";

pub fn routes() -> Routes {
    let id = "The domain's id";
    Routes::new()
        .post(
            "/v1/domains",
            create,
            Op::new(
                "createDomain",
                TAG,
                "Add a sending domain; its DKIM key is generated",
            )
            .session::<MembersWrite>()
            .body::<NewDomain>("The domain")
            .ok::<Domain>(201, "The domain, PENDING, with the records to publish")
            .err(409, "CONFLICT: the organization already has this domain"),
        )
        .get(
            "/v1/domains",
            list,
            Op::new("listDomains", TAG, "The organization's sending domains")
                .session::<MembersRead>()
                .list::<Domain>("A page of domains"),
        )
        .get(
            "/v1/domains/{id}",
            get,
            Op::new("getDomain", TAG, "A sending domain with its records")
                .session::<MembersRead>()
                .id(id)
                .ok::<Domain>(200, "The domain"),
        )
        .delete(
            "/v1/domains/{id}",
            delete,
            Op::new("deleteDomain", TAG, "Remove a sending domain")
                .session::<MembersWrite>()
                .id(id)
                .empty(204, "Removed"),
        )
        .post(
            "/v1/domains/{id}/verify",
            verify,
            Op::new("verifyDomain", TAG, "Look the domain's records up in DNS")
                .session::<MembersWrite>()
                .id(id)
                .ok::<Domain>(200, "The domain with each record's status"),
        )
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
