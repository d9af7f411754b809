use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    Permission, Role, SessionIssuer, SessionToken,
    passwords::{check_new_password, hash_bounded, verify_bounded},
};
use crate::{EmailAddress, Error, Errors, FieldError, Result};

/// An organization: the tenant every resource belongs to.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// Its id.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d21")]
    pub id: Uuid,
    /// Its name.
    #[schema(example = "Acme")]
    pub name: String,
    /// When it was created.
    #[schema(example = "2026-11-27T10:00:00Z")]
    pub created_at: DateTime<Utc>,
}

/// A user: a member of one organization, with a role.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Their id.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d22")]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    /// Their email address, which they log in with.
    #[schema(example = "ada@acme.example")]
    pub email: String,
    /// Their name.
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    /// Their role in the organization.
    pub role: Role,
    /// Whether they may review every organization's sender-ID requests.
    #[schema(example = false)]
    pub platform_admin: bool,
    /// When they joined.
    #[schema(example = "2026-11-27T10:00:00Z")]
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub platform_admin: bool,
    pub created_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            organization_id: r.organization_id,
            email: r.email,
            name: r.name,
            role: Role::parse(&r.role).unwrap_or(Role::Viewer),
            platform_admin: r.platform_admin,
            created_at: r.created_at,
        }
    }
}

pub(crate) const USER_COLUMNS: &str =
    "id, organization_id, email::text AS email, name, role, platform_admin, created_at";

pub struct Signup {
    pub organization_name: String,
    pub name: String,
    pub email: String,
    pub password: String,
}

/// A new session: its token, the user and their organization.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignupOutcome {
    #[serde(flatten)]
    pub token: SessionToken,
    /// The signed-in user.
    pub user: User,
    /// Their organization.
    pub organization: Organization,
}

fn required_text(errors: &mut Errors, field: &str, value: &str, max: usize) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        errors.add(field, "is required");
        None
    } else if v.chars().count() > max {
        errors.add(field, format!("must be at most {max} characters"));
        None
    } else {
        Some(v.to_owned())
    }
}

pub(crate) fn email_field(field: &str, raw: &str) -> std::result::Result<EmailAddress, FieldError> {
    EmailAddress::parse(raw).map_err(|m| FieldError::new(field, m))
}

/// The longest organization or person name accepted.
pub(crate) const MAX_NAME_CHARS: usize = 200;

/// Inserts a user whose password was already hashed (outside any transaction: hashing is slow).
pub(crate) async fn insert_user(
    conn: &mut PgConnection,
    organization_id: Uuid,
    email: &EmailAddress,
    name: &str,
    password_hash: &str,
    role: Role,
    platform_admin: bool,
) -> Result<User> {
    let row = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO users (id, organization_id, email, name, password_hash, role, platform_admin)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (email) DO NOTHING
         RETURNING {USER_COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(organization_id)
    .bind(email.as_str())
    .bind(name)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(platform_admin)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(User::from)
        .ok_or_else(|| Error::conflict("a user with this email already exists"))
}

async fn insert_organization(conn: &mut PgConnection, name: &str) -> Result<Organization> {
    Ok(sqlx::query_as::<_, Organization>(
        "INSERT INTO organizations (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(name)
    .fetch_one(&mut *conn)
    .await?)
}

/// Counts a signup from a client address against `SIGNUPS_PER_HOUR_PER_ADDRESS` (0: no limit). The
/// attempt is recorded before anything else, so parallel signups cannot all pass the count.
pub async fn count_signup(pool: &PgPool, client: Option<&str>, per_hour: u32) -> Result<()> {
    let Some(client) = client.filter(|_| per_hour > 0) else {
        return Ok(());
    };
    let subject = format!("addr:{client}");
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(&subject)
        .execute(&mut *tx)
        .await?;
    let recent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM signup_attempts WHERE subject = $1 AND created_at > now() - interval '1 hour'",
    )
    .bind(&subject)
    .fetch_one(&mut *tx)
    .await?;
    if recent >= per_hour as i64 {
        return Err(Error::RateLimited {
            retry_after_secs: 3600,
        });
    }
    sqlx::query("INSERT INTO signup_attempts (subject) VALUES ($1)")
        .bind(&subject)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn signup(pool: &PgPool, issuer: &SessionIssuer, input: Signup) -> Result<SignupOutcome> {
    let mut errors = Errors::default();
    let org_name = required_text(
        &mut errors,
        "organizationName",
        &input.organization_name,
        MAX_NAME_CHARS,
    );
    let name = required_text(&mut errors, "name", &input.name, MAX_NAME_CHARS);
    let email = errors.take(email_field("email", &input.email));
    errors.take(check_new_password("password", &input.password));
    errors.finish()?;
    let (org_name, name, email) = (org_name.unwrap(), name.unwrap(), email.unwrap());
    let hash = hash_bounded(&input.password).await?;

    let mut tx = pool.begin().await?;
    let organization = insert_organization(&mut tx, &org_name).await?;
    let user = insert_user(
        &mut tx,
        organization.id,
        &email,
        &name,
        &hash,
        Role::Owner,
        false,
    )
    .await?;
    let token = issuer.issue(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(SignupOutcome {
        token,
        user,
        organization,
    })
}

pub struct Login {
    pub email: String,
    pub password: String,
    pub client_addr: Option<String>,
}

const LOGIN_WINDOW_MINUTES: i32 = 15;
const LOGIN_MAX_FAILURES: i64 = 10;

/// Logs a user in. Unknown users and wrong passwords fail alike (same message, same hashing work);
/// after 10 failures in 15 minutes for an account or a client address, attempts answer 429. Each
/// attempt is counted as a failure before the password is checked (and the count taken back when it
/// verifies), so parallel guesses cannot all pass the count.
pub async fn login(pool: &PgPool, issuer: &SessionIssuer, input: Login) -> Result<SignupOutcome> {
    let email = input.email.trim().to_lowercase();
    let mut subjects = vec![format!("account:{email}")];
    if let Some(addr) = &input.client_addr {
        subjects.push(format!("addr:{addr}"));
    }
    let mut tx = pool.begin().await?;
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended(s, 0)) FROM unnest($1::text[]) s ORDER BY s",
    )
    .bind(&subjects)
    .execute(&mut *tx)
    .await?;
    let failures: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(n), 0) FROM (
             SELECT count(*) AS n FROM login_failures
             WHERE subject = ANY($1) AND failed_at > now() - make_interval(mins => $2)
             GROUP BY subject) s",
    )
    .bind(&subjects)
    .bind(LOGIN_WINDOW_MINUTES)
    .fetch_one(&mut *tx)
    .await?;
    if failures >= LOGIN_MAX_FAILURES {
        return Err(Error::RateLimited {
            retry_after_secs: (LOGIN_WINDOW_MINUTES * 60) as u64,
        });
    }
    let attempt_ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO login_failures (subject) SELECT unnest($1::text[]) RETURNING id",
    )
    .bind(&subjects)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;

    let found =
        sqlx::query_as::<_, (Uuid, String)>("SELECT id, password_hash FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(pool)
            .await?;
    let (user_id, hash) = found.map_or((None, None), |(id, h)| (Some(id), Some(h)));
    let ok = verify_bounded(&input.password, hash).await?;
    let Some(user_id) = user_id.filter(|_| ok) else {
        return Err(Error::Unauthorized("invalid email or password".into()));
    };

    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM login_failures WHERE id = ANY($1)")
        .bind(&attempt_ids)
        .execute(&mut *tx)
        .await?;
    let token = issuer.issue(&mut tx, user_id).await?;
    let (user, organization) = load_user_and_org(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(SignupOutcome {
        token,
        user,
        organization,
    })
}

pub(crate) async fn load_user_and_org(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<(User, Organization)> {
    let user: User = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
    )))
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound)?
    .into();
    let org = sqlx::query_as::<_, Organization>(
        "SELECT id, name, created_at FROM organizations WHERE id = $1",
    )
    .bind(user.organization_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((user, org))
}

/// The signed-in user, their organization and what their role permits.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The signed-in user.
    pub user: User,
    /// Their organization.
    pub organization: Organization,
    /// What their role permits.
    #[schema(example = json!(["members:read", "messages:read", "messages:send"]))]
    pub permissions: Vec<Permission>,
}

pub async fn me(pool: &PgPool, user_id: Uuid) -> Result<Me> {
    let mut conn = pool.acquire().await?;
    let (user, organization) = load_user_and_org(&mut conn, user_id).await?;
    let permissions = user.role.permissions().to_vec();
    Ok(Me {
        user,
        organization,
        permissions,
    })
}

/// Changes a password after checking the current one; every other session of the user is revoked.
pub async fn change_password(
    pool: &PgPool,
    user_id: Uuid,
    keep_session: Uuid,
    current: &str,
    new: &str,
) -> Result<()> {
    check_new_password("newPassword", new).map_err(|e| Error::Validation(vec![e]))?;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(pool)
        .await?;
    if !verify_bounded(current, Some(hash)).await? {
        return Err(Error::validation(
            "currentPassword",
            "is not the current password",
        ));
    }
    let new_hash = hash_bounded(new).await?;
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(user_id)
        .bind(new_hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(keep_session)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// `herald admin create-user`: a user in an organization of its own (named after the user).
pub async fn create_user(
    pool: &PgPool,
    email: &str,
    password: &str,
    name: &str,
    platform_admin: bool,
) -> Result<User> {
    let email = email_field("email", email).map_err(|e| Error::Validation(vec![e]))?;
    check_new_password("password", password).map_err(|e| Error::Validation(vec![e]))?;
    let hash = hash_bounded(password).await?;
    let mut tx = pool.begin().await?;
    let org = insert_organization(&mut tx, name).await?;
    let user = insert_user(
        &mut tx,
        org.id,
        &email,
        name,
        &hash,
        Role::Owner,
        platform_admin,
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Ensures the configured platform admin exists. A missing user is created, in an organization of
/// its own, with the configured password. An existing user is marked platform admin only when the
/// configured password verifies against its own, so that an account squatted on that address (by a
/// signup before the first start) never gains the flag: otherwise start-up stops and says why. A
/// user who already is platform admin is left as it is.
pub async fn ensure_platform_admin(pool: &PgPool, email: &str, password: &str) -> Result<User> {
    let parsed =
        email_field("PLATFORM_ADMIN_EMAIL", email).map_err(|e| Error::Validation(vec![e]))?;
    let existing: Option<(Uuid, String, bool)> =
        sqlx::query_as("SELECT id, password_hash, platform_admin FROM users WHERE email = $1")
            .bind(parsed.as_str())
            .fetch_optional(pool)
            .await?;
    let Some((id, hash, already)) = existing else {
        return create_user(pool, parsed.as_str(), password, "Platform", true).await;
    };
    if !already && !verify_bounded(password, Some(hash)).await? {
        return Err(anyhow::anyhow!(
            "PLATFORM_ADMIN_EMAIL names an existing user ({}) whose password is not PLATFORM_ADMIN_PASSWORD; \
             refusing to make that account platform admin. Sign in as that user and set its password to \
             PLATFORM_ADMIN_PASSWORD if it is yours, or choose another PLATFORM_ADMIN_EMAIL",
            parsed.as_str()
        )
        .into());
    }
    let row = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE users SET platform_admin = true WHERE id = $1 RETURNING {USER_COLUMNS}"
    )))
    .bind(id)
    .fetch_one(pool)
    .await?;
    Ok(row.into())
}
