use axum::{Json, extract::State, http::StatusCode};
use domain::identity::{self, Login, Me, Signup, SignupOutcome};
use serde::Deserialize;

use crate::{
    ApiResult, AppState,
    extract::{Auth, ClientAddr, JsonBody, need::Signed},
    openapi::{Op, Routes},
};

pub fn routes() -> Routes {
    Routes::new()
        .post(
            "/v1/auth/signup",
            signup,
            Op::new(
                "signup",
                "auth",
                "Create an organization and its OWNER, signed in",
            )
            .describe("Off (404) when the operator set `SIGNUP_ENABLED=false`.")
            .body::<SignupBody>("The new organization and its first user")
            .ok::<SignupOutcome>(201, "Signed up: the session, the user and the organization")
            .err(404, "NOT_FOUND: sign-up is off")
            .err(409, "CONFLICT: the email address is taken")
            .err(
                429,
                "RATE_LIMITED: too many sign-ups from this address this hour",
            ),
        )
        .post(
            "/v1/auth/login",
            login,
            Op::new("login", "auth", "Log in with email and password")
                .body::<LoginBody>("The credentials")
                .ok::<SignupOutcome>(200, "Signed in: the session, the user and the organization")
                .err(
                    401,
                    "UNAUTHORIZED: unknown user or wrong password (one message for both)",
                )
                .err(
                    429,
                    "RATE_LIMITED: 10 failures in 15 minutes for this account or address",
                ),
        )
        .post(
            "/v1/auth/logout",
            logout,
            Op::new("logout", "auth", "Revoke the presented session token")
                .session::<Signed>()
                .empty(204, "Revoked"),
        )
        .patch(
            "/v1/auth/password",
            change_password,
            Op::new(
                "changePassword",
                "auth",
                "Change the password; every other session of the user is revoked",
            )
            .session::<Signed>()
            .body::<PasswordBody>("The current and the new password")
            .ok::<Me>(200, "Changed")
            .err(401, "UNAUTHORIZED: the current password is wrong"),
        )
        .get(
            "/v1/auth/me",
            me,
            Op::new(
                "me",
                "auth",
                "The signed-in user, their organization and permissions",
            )
            .session::<Signed>()
            .ok::<Me>(200, "The caller"),
        )
}

/// A new organization and its first user, its OWNER.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = SignupRequest)]
#[serde(rename_all = "camelCase")]
pub struct SignupBody {
    /// The organization's name.
    #[serde(default)]
    #[schema(required = true, example = "Acme", min_length = 1)]
    organization_name: String,
    /// The user's name.
    #[serde(default)]
    #[schema(required = true, example = "Ada Lovelace", min_length = 1)]
    name: String,
    /// The user's email address, to log in with.
    #[serde(default)]
    #[schema(required = true, example = "ada@acme.example", format = Email)]
    email: String,
    /// At least 10 characters.
    #[serde(default)]
    #[schema(required = true, example = "correct horse battery", min_length = 10)]
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

/// Credentials.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LoginRequest)]
pub struct LoginBody {
    /// The user's email address.
    #[serde(default)]
    #[schema(required = true, example = "ada@acme.example")]
    email: String,
    /// Their password.
    #[serde(default)]
    #[schema(required = true, example = "correct horse battery")]
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

/// A password change.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = PasswordChange)]
#[serde(rename_all = "camelCase")]
pub struct PasswordBody {
    /// The password now.
    #[serde(default)]
    #[schema(required = true, example = "correct horse battery")]
    current_password: String,
    /// The new one: at least 10 characters.
    #[serde(default)]
    #[schema(
        required = true,
        example = "staple battery horse correct",
        min_length = 10
    )]
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
