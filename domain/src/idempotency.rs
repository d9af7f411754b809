//! `Idempotency-Key`: the same key and body within 24 h replays the first response; another body
//! under the same key is a 409. The key row is written in the request's own transaction, so two
//! concurrent requests with one key serialize on its primary key and create one message.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{Error, Result, crypto::sha256};

pub struct IdempotencyKey {
    key: String,
    request_hash: Vec<u8>,
}

pub enum Claim {
    Fresh,
    /// The first request was accepted: its answer, to be given again.
    Replay {
        body: Value,
    },
}

impl IdempotencyKey {
    /// `route` keeps one key from matching across endpoints; `body` is hashed in canonical form.
    pub fn parse(raw: &str, route: &str, body: &Value) -> Result<Self> {
        if raw.is_empty() || raw.chars().count() > 255 {
            return Err(Error::validation(
                "Idempotency-Key",
                "must be 1 to 255 characters",
            ));
        }
        let canonical = serde_json::to_vec(body).expect("JSON values serialize");
        let mut material = route.as_bytes().to_vec();
        material.push(0);
        material.extend_from_slice(&canonical);
        Ok(IdempotencyKey {
            key: raw.to_owned(),
            request_hash: sha256(&material),
        })
    }

    pub async fn claim(&self, conn: &mut PgConnection, organization_id: Uuid) -> Result<Claim> {
        // A key older than 24 h is expired: it is taken over as if new.
        let fresh: Option<i32> = sqlx::query_scalar(
            "INSERT INTO idempotency_keys (organization_id, key, request_hash) VALUES ($1, $2, $3)
             ON CONFLICT (organization_id, key) DO UPDATE
                 SET request_hash = EXCLUDED.request_hash, response_status = NULL,
                     response_body = NULL, created_at = now()
                 WHERE idempotency_keys.created_at < now() - interval '24 hours'
             RETURNING 1",
        )
        .bind(organization_id)
        .bind(&self.key)
        .bind(&self.request_hash)
        .fetch_optional(&mut *conn)
        .await?;
        if fresh.is_some() {
            return Ok(Claim::Fresh);
        }
        let (hash, body): (Vec<u8>, Option<Value>) = sqlx::query_as(
            "SELECT request_hash, response_body FROM idempotency_keys
             WHERE organization_id = $1 AND key = $2",
        )
        .bind(organization_id)
        .bind(&self.key)
        .fetch_one(&mut *conn)
        .await?;
        if !crate::crypto::constant_time_eq(&hash, &self.request_hash) {
            return Err(Error::Conflict {
                code: "IDEMPOTENCY_KEY_MISMATCH",
                message: "this Idempotency-Key was used with a different request body".into(),
            });
        }
        match body {
            Some(body) => Ok(Claim::Replay { body }),
            None => Err(Error::conflict(
                "a request with this Idempotency-Key is still in progress",
            )),
        }
    }

    pub async fn store(
        &self,
        conn: &mut PgConnection,
        organization_id: Uuid,
        body: &Value,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET response_body = $3
             WHERE organization_id = $1 AND key = $2",
        )
        .bind(organization_id)
        .bind(&self.key)
        .bind(body)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
