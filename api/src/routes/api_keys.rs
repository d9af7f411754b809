use axum::{Json, extract::State, http::StatusCode};
use domain::{
    Paged,
    identity::{self, ApiKey, CreatedApiKey, NewApiKey},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::members::PageQuery;
use crate::{
    ApiResult, AppState,
    extract::{
        Auth, IdPath, JsonBody, Key, Query,
        need::{AnyScope, MembersRead, MembersWrite},
    },
    openapi::{Op, Routes},
};

pub fn routes() -> Routes {
    Routes::new()
        .post(
            "/v1/api-keys",
            create,
            Op::new(
                "createApiKey",
                "api-keys",
                "Create an API key; the key is shown only here",
            )
            .session::<MembersWrite>()
            .body::<CreateBody>("Its name and scopes")
            .ok::<CreatedApiKey>(201, "Created, with `key`"),
        )
        .get(
            "/v1/api-keys",
            list,
            Op::new(
                "listApiKeys",
                "api-keys",
                "The organization's API keys, without the keys",
            )
            .session::<MembersRead>()
            .list::<ApiKey>("A page of API keys"),
        )
        .delete(
            "/v1/api-keys/{id}",
            revoke,
            Op::new(
                "revokeApiKey",
                "api-keys",
                "Revoke an API key, at once in every process",
            )
            .session::<MembersWrite>()
            .id("The key's id")
            .empty(204, "Revoked"),
        )
}

pub fn public_routes() -> Routes {
    Routes::new().get(
        "/v1/public/key",
        current,
        Op::new(
            "getApiKey",
            "keys",
            "The API key presented, to check credentials",
        )
        .describe("Needs no scope.")
        .key::<AnyScope>()
        .ok::<CurrentKey>(200, "The key"),
    )
}

/// A new API key.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = NewApiKey)]
pub struct CreateBody {
    /// What it is for.
    #[serde(default)]
    #[schema(required = true, example = "backend", min_length = 1)]
    name: String,
    #[serde(default)]
    #[schema(required = true, schema_with = scopes_schema)]
    scopes: Vec<String>,
}

/// The scopes a key may hold, from the one list the server parses them with.
fn scopes_schema() -> utoipa::openapi::schema::Schema {
    let names: Vec<&str> = domain::Scope::ALL.iter().map(|s| s.as_str()).collect();
    serde_json::from_value(json!({
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "enum": names},
        "description": "What the key may do: at least one scope",
        "example": ["send:sms", "read:sms"],
    }))
    .expect("a schema")
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
    /// Its id.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d23")]
    id: Uuid,
    /// What it is for.
    #[schema(example = "backend")]
    name: String,
    /// Its first 12 characters.
    #[schema(example = "hk_7Qm2xT9a")]
    prefix: String,
    /// What it may do.
    #[schema(example = json!(["send:sms", "read:sms"]))]
    scopes: Vec<String>,
    /// The organization it belongs to.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d21")]
    organization_id: Uuid,
}

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
