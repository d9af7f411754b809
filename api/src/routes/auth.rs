use axum::{Json, extract::State, http::StatusCode};
use domain::identity::{self, Login, Me, Signup, SignupOutcome};
use serde::Deserialize;

use crate::{
    ApiResult, AppState,
    extract::{Auth, ClientAddr, JsonBody, need::Signed},
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignupBody {
    #[serde(default)]
    organization_name: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn signup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: JsonBody<SignupBody>,
) -> ApiResult<(StatusCode, Json<SignupOutcome>)> {
    if !state.config.signup_enabled {
        return Err(domain::Error::NotFound.into());
    }
    let per_hour = state.config.signups_per_hour_per_address;
    identity::count_signup(&state.pool, Some(&client), per_hour).await?;
    let b = body.value;
    let out = identity::signup(
        &state.pool,
        &state.sessions,
        Signup {
            organization_name: b.organization_name,
            name: b.name,
            email: b.email,
            password: b.password,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Deserialize)]
pub struct LoginBody {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: JsonBody<LoginBody>,
) -> ApiResult<Json<SignupOutcome>> {
    let out = identity::login(
        &state.pool,
        &state.sessions,
        Login {
            email: body.value.email,
            password: body.value.password,
            client_addr: Some(client),
        },
    )
    .await?;
    Ok(Json(out))
}

pub async fn logout(State(state): State<AppState>, auth: Auth<Signed>) -> ApiResult<StatusCode> {
    state.sessions.revoke(&state.pool, auth.session.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordBody {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    auth: Auth<Signed>,
    body: JsonBody<PasswordBody>,
) -> ApiResult<Json<Me>> {
    let user = &auth.session.user;
    identity::change_password(
        &state.pool,
        user.id,
        auth.session.id,
        &body.value.current_password,
        &body.value.new_password,
    )
    .await?;
    Ok(Json(identity::me(&state.pool, user.id).await?))
}

pub async fn me(State(state): State<AppState>, auth: Auth<Signed>) -> ApiResult<Json<Me>> {
    Ok(Json(identity::me(&state.pool, auth.session.user.id).await?))
}
