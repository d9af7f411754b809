use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    Error, Page, Paged, Result, Scope, Scopes,
    crypto::{random_token, sha256},
};

pub struct NewApiKey {
    pub name: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The one response that shows the key itself.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub prefix: String,
    pub key: String,
    pub created_at: DateTime<Utc>,
}

/// The key presented on a `/v1/public/*` request.
#[derive(Debug, Clone)]
pub struct ApiKeyPrincipal {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scopes: Scopes,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKeyPrincipal {
    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            Err(Error::InsufficientScope(format!(
                "this API key lacks the {scope} scope"
            )))
        }
    }
}

const KEY_PREFIX: &str = "hk_";
const PREFIX_LEN: usize = 12;

pub async fn create_api_key(
    pool: &PgPool,
    organization_id: Uuid,
    input: NewApiKey,
) -> Result<CreatedApiKey> {
    let mut errors = crate::Errors::default();
    let name = input.name.trim().to_owned();
    if name.is_empty() {
        errors.add("name", "is required");
    } else if name.chars().count() > 100 {
        errors.add("name", "must be at most 100 characters");
    }
    let scopes = match Scopes::parse(&input.scopes) {
        Ok(s) => Some(s),
        Err(m) => {
            errors.add("scopes", m);
            None
        }
    };
    errors.finish()?;
    let scopes = scopes.expect("validated").to_strings();
    // 24 random bytes: 192 bits, so a plain SHA-256 of the key is a safe stored form.
    let key = format!("{KEY_PREFIX}{}", random_token::<24>());
    let prefix = key[..PREFIX_LEN].to_owned();
    let (id, created_at): (Uuid, DateTime<Utc>) = sqlx::query_as(
        "INSERT INTO api_keys (id, organization_id, name, scopes, prefix, key_hash)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(organization_id)
    .bind(&name)
    .bind(&scopes)
    .bind(&prefix)
    .bind(sha256(key.as_bytes()))
    .fetch_one(pool)
    .await?;
    Ok(CreatedApiKey {
        id,
        name,
        scopes,
        prefix,
        key,
        created_at,
    })
}

pub async fn list_api_keys(
    pool: &PgPool,
    organization_id: Uuid,
    page: Page,
) -> Result<Paged<ApiKey>> {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE organization_id = $1")
        .bind(organization_id)
        .fetch_one(pool)
        .await?;
    let rows = sqlx::query_as::<_, ApiKey>(
        "SELECT id, name, scopes, prefix, created_at, last_used_at, revoked_at FROM api_keys
         WHERE organization_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(organization_id)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    Ok(page.wrap(rows, total))
}

/// Revokes a key; the next request with it is refused, in every process (keys are looked up per request).
pub async fn revoke_api_key(pool: &PgPool, organization_id: Uuid, id: Uuid) -> Result<()> {
    let found = sqlx::query(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
         WHERE id = $1 AND organization_id = $2",
    )
    .bind(id)
    .bind(organization_id)
    .execute(pool)
    .await?;
    if found.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// Finds the live key a request presented, by the SHA-256 of the whole key (a unique index lookup:
/// the comparison happens on a hash, so its timing reveals nothing about the key).
pub async fn authenticate_api_key(pool: &PgPool, presented: &str) -> Result<ApiKeyPrincipal> {
    let unauthorized = || Error::Unauthorized("invalid or revoked API key".into());
    if !presented.starts_with(KEY_PREFIX) || presented.len() > 128 {
        return Err(unauthorized());
    }
    let row = sqlx::query_as::<
        _,
        (
            Uuid,
            Uuid,
            String,
            String,
            Vec<String>,
            Option<DateTime<Utc>>,
        ),
    >(
        "SELECT id, organization_id, name, prefix, scopes, last_used_at FROM api_keys
         WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(sha256(presented.as_bytes()))
    .fetch_optional(pool)
    .await?
    .ok_or_else(unauthorized)?;
    let principal = ApiKeyPrincipal {
        id: row.0,
        organization_id: row.1,
        name: row.2,
        prefix: row.3,
        scopes: Scopes::from_stored(&row.4),
        last_used_at: row.5,
    };
    // Recording every use would be a write per request; a minute's precision is plenty.
    if principal
        .last_used_at
        .is_none_or(|t| Utc::now() - t > chrono::Duration::seconds(60))
    {
        sqlx::query("UPDATE api_keys SET last_used_at = now() WHERE id = $1")
            .bind(principal.id)
            .execute(pool)
            .await?;
    }
    Ok(principal)
}
