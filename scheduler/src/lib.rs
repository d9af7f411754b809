//! Recurring duties. Each runs in a transaction holding a Postgres advisory lock, so any number of
//! scheduler processes may run and no duty is ever run by two of them at once.

use std::{future::Future, time::Duration};

use domain::{
    messages::{self, Message},
    queue::{self, SendMessage},
};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

const TICK: Duration = Duration::from_secs(5);
const BATCH: i64 = 1000;

#[derive(Debug, Clone, Copy)]
enum Duty {
    ResendExpiredLeases,
    ExpireIdempotencyKeys,
    DeleteFinishedJobs,
    BuryDeadJobs,
    DisableFailingEndpoints,
    ExpireAuthRecords,
}

impl Duty {
    const ALL: [Duty; 6] = [
        Duty::ResendExpiredLeases,
        Duty::ExpireIdempotencyKeys,
        Duty::DeleteFinishedJobs,
        Duty::BuryDeadJobs,
        Duty::DisableFailingEndpoints,
        Duty::ExpireAuthRecords,
    ];

    /// The advisory lock key of the duty (an arbitrary constant per duty, in Herald's range).
    fn lock_key(self) -> i64 {
        0x4845_5241_0000 + self as i64
    }

    async fn run(self, conn: &mut PgConnection, s: &Settings) -> domain::Result<u64> {
        let lease = s.send_lease;
        match self {
            Duty::ResendExpiredLeases => resend_expired_leases(conn, lease).await,
            Duty::ExpireIdempotencyKeys => Ok(sqlx::query(
                "DELETE FROM idempotency_keys WHERE ctid IN (
                     SELECT ctid FROM idempotency_keys WHERE created_at < now() - interval '24 hours' LIMIT $1)",
            )
            .bind(BATCH)
            .execute(&mut *conn)
            .await?
            .rows_affected()),
            Duty::DeleteFinishedJobs => Ok(sqlx::query(
                "DELETE FROM apalis.jobs WHERE id IN (
                     SELECT id FROM apalis.jobs WHERE status = 'Done' AND done_at < now() - interval '10 minutes'
                     LIMIT $1 FOR UPDATE SKIP LOCKED)",
            )
            .bind(BATCH)
            .execute(&mut *conn)
            .await?
            .rows_affected()),
            // Jobs that exhausted their attempts leave the queue for the dead-letter table, where
            // `herald admin dead-jobs` lists them and puts them back.
            Duty::BuryDeadJobs => Ok(sqlx::query(
                "WITH dead AS (
                     DELETE FROM apalis.jobs WHERE id IN (
                         SELECT id FROM apalis.jobs
                         WHERE (status = 'Failed' AND attempts >= max_attempts) OR status = 'Killed'
                         LIMIT $1 FOR UPDATE SKIP LOCKED)
                     RETURNING id, job_type, job, attempts, last_result)
                 INSERT INTO dead_jobs (id, queue, payload, attempts, last_error)
                 SELECT id, job_type, job, attempts, last_result FROM dead
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(BATCH)
            .execute(&mut *conn)
            .await?
            .rows_affected()),
            // An endpoint whose every attempt has failed for WEBHOOK_DISABLE_AFTER is switched off.
            Duty::DisableFailingEndpoints => Ok(sqlx::query(
                "UPDATE webhook_endpoints SET enabled = false, updated_at = now(),
                     disabled_reason = 'every delivery attempt failed for ' || $1::text
                 WHERE enabled AND failing_since < now() - make_interval(secs => $2::bigint)",
            )
            .bind(format!("{}s", s.disable_endpoints_after.as_secs()))
            .bind(s.disable_endpoints_after.as_secs() as i64)
            .execute(&mut *conn)
            .await?
            .rows_affected()),
            // Failed logins count for 15 minutes; sessions are worthless once expired.
            Duty::ExpireAuthRecords => {
                let failures = sqlx::query("DELETE FROM login_failures WHERE failed_at < now() - interval '15 minutes'")
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < now() - interval '1 day'")
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                Ok(failures + sessions)
            }
        }
    }
}

/// What the duties need to know.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub send_lease: Duration,
    pub disable_endpoints_after: Duration,
}

impl Settings {
    pub fn from_config(c: &domain::Config) -> Self {
        Settings {
            send_lease: c.send_lease,
            disable_endpoints_after: c.webhooks.disable_after,
        }
    }
}

/// A message left PROCESSING past its lease belonged to a worker that died during the provider call.
/// It is sent again, with a timeline note saying so: the one way a message reaches a provider twice.
async fn resend_expired_leases(conn: &mut PgConnection, lease: Duration) -> domain::Result<u64> {
    let expired: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM messages WHERE status = 'PROCESSING' AND lease_until < now()
         ORDER BY lease_until LIMIT 100 FOR UPDATE SKIP LOCKED",
    )
    .fetch_all(&mut *conn)
    .await?;
    for id in &expired {
        let message: Message = messages::load_for_update(conn, *id).await?;
        let note = json!({
            "reason": "lease_expired",
            "message": "the worker sending this message stopped before recording the provider's answer; sending it again",
            "attempt": message.send_attempts,
        });
        messages::add_entry(conn, &message, "note", None, Some(note)).await?;
        sqlx::query("UPDATE messages SET lease_until = now() + make_interval(secs => $2::bigint / 1000.0) WHERE id = $1")
            .bind(id)
            .bind(lease.as_millis() as i64)
            .execute(&mut *conn)
            .await?;
        queue::push(
            conn,
            SendMessage {
                message_id: *id,
                attempt: message.send_attempts,
            },
            None,
        )
        .await?;
    }
    Ok(expired.len() as u64)
}

/// Runs every duty once, each under its advisory lock; a duty another scheduler holds is skipped.
pub async fn run_once(pool: &PgPool, settings: &Settings) -> domain::Result<()> {
    for duty in Duty::ALL {
        let mut tx = pool.begin().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(duty.lock_key())
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            continue;
        }
        let n = duty.run(&mut tx, settings).await?;
        tx.commit().await?;
        if n > 0 {
            tracing::info!(?duty, rows = n, "scheduler duty done");
        }
    }
    Ok(())
}

pub async fn run(pool: PgPool, settings: Settings, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => {
                if let Err(e) = run_once(&pool, &settings).await {
                    tracing::warn!(error = %e, "scheduler run failed; trying again at the next tick");
                }
            }
        }
    }
    tracing::info!("scheduler stopped");
}
