use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    User,
    users::{USER_COLUMNS, UserRow},
};
use crate::{Error, Result};

/// Issues and checks session tokens: HS256 JWTs whose `jti` names a row in `sessions`, so that
/// logout and password changes revoke them at once.
#[derive(Clone)]
pub struct SessionIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    jti: Uuid,
    iat: i64,
    exp: i64,
}

/// A session token and when it expires.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionToken {
    /// The bearer token for the control-plane routes.
    #[schema(example = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwMTlhYzNmMiJ9.c2lnbmF0dXJl")]
    pub token: String,
    /// When it stops working.
    #[schema(example = "2026-11-28T10:00:00Z")]
    pub expires_at: DateTime<Utc>,
}

/// An authenticated session: the user as of this request (role and membership read fresh).
#[derive(Debug, Clone)]
pub struct Session {
    pub id: Uuid,
    pub user: User,
}

impl SessionIssuer {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl,
        }
    }

    pub async fn issue(&self, conn: &mut PgConnection, user_id: Uuid) -> Result<SessionToken> {
        let now = Utc::now();
        let expires_at = now + chrono::Duration::from_std(self.ttl).expect("ttl fits");
        let jti = Uuid::now_v7();
        sqlx::query("INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(jti)
            .bind(user_id)
            .bind(expires_at)
            .execute(&mut *conn)
            .await?;
        let claims = Claims {
            sub: user_id,
            jti,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("signing a session token: {e}"))?;
        Ok(SessionToken { token, expires_at })
    }

    /// Checks the signature and expiry, then that the session is live and the user still exists.
    pub async fn authenticate(&self, pool: &PgPool, token: &str) -> Result<Session> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "jti"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| Error::Unauthorized("invalid or expired session token".into()))?
            .claims;
        let row = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users
             WHERE id = $2 AND EXISTS (
                 SELECT 1 FROM sessions s
                 WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now())"
        )))
        .bind(claims.jti)
        .bind(claims.sub)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::Unauthorized("session revoked or user removed".into()))?;
        Ok(Session {
            id: claims.jti,
            user: row.into(),
        })
    }

    pub async fn revoke(&self, pool: &PgPool, session_id: Uuid) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
            .bind(session_id)
            .execute(pool)
            .await?;
        Ok(())
    }
}
