//! Recurring duties. Each runs in a transaction holding a Postgres advisory lock, so any number of
//! scheduler processes may run and no duty is ever run by two of them at once.

use std::{future::Future, time::Duration};

use domain::{
    messages::{self, Change, Channel, MessageError, Status},
    queue::{self, SendMessage},
};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

mod retention;

const TICK: Duration = Duration::from_secs(5);
const BATCH: i64 = 1000;
/// Finished jobs deleted a tick at most, in batches: 10,000 jobs a second.
const FINISHED_JOB_BATCHES: usize = 50;

#[derive(Debug, Clone, Copy)]
enum Duty {
    ResendExpiredLeases,
    ExpireIdempotencyKeys,
    DeleteFinishedJobs,
    BuryDeadJobs,
    DisableFailingEndpoints,
    ExpireAuthRecords,
    RollUpEmailStats,
    ExpireRecords,
    RedactOtpBodies,
}

impl Duty {
    const ALL: [Duty; 9] = [
        Duty::ResendExpiredLeases,
        Duty::ExpireIdempotencyKeys,
        Duty::DeleteFinishedJobs,
        Duty::BuryDeadJobs,
        Duty::DisableFailingEndpoints,
        Duty::ExpireAuthRecords,
        Duty::RollUpEmailStats,
        Duty::ExpireRecords,
        Duty::RedactOtpBodies,
    ];

    /// Its name in metrics.
    fn name(self) -> &'static str {
        match self {
            Duty::ResendExpiredLeases => "resend_expired_leases",
            Duty::ExpireIdempotencyKeys => "expire_idempotency_keys",
            Duty::DeleteFinishedJobs => "delete_finished_jobs",
            Duty::BuryDeadJobs => "bury_dead_jobs",
            Duty::DisableFailingEndpoints => "disable_failing_endpoints",
            Duty::ExpireAuthRecords => "expire_auth_records",
            Duty::RollUpEmailStats => "roll_up_email_stats",
            Duty::ExpireRecords => "expire_records",
            Duty::RedactOtpBodies => "redact_otp_bodies",
        }
    }

    /// The advisory lock key of the duty (an arbitrary constant per duty, in Herald's range).
    fn lock_key(self) -> i64 {
        0x4845_5241_0000 + self as i64
    }

    async fn run(self, conn: &mut PgConnection, s: &Settings) -> domain::Result<u64> {
        match self {
            Duty::ResendExpiredLeases => resend_expired_leases(conn, s).await,
            // Email events of the transactions that ended since the last run, into the daily rollup.
            Duty::RollUpEmailStats => domain::email::stats::roll_up(conn).await,
            Duty::ExpireRecords => retention::expire(conn, &s.retention).await,
            Duty::RedactOtpBodies if s.retention.redact_otp => {
                retention::redact_otp(conn, s.sms_status_poll_give_up).await
            }
            Duty::RedactOtpBodies => Ok(0),
            Duty::ExpireIdempotencyKeys => Ok(sqlx::query(
                "DELETE FROM idempotency_keys WHERE ctid IN (
                     SELECT ctid FROM idempotency_keys WHERE created_at < now() - interval '24 hours' LIMIT $1)",
            )
            .bind(BATCH)
            .execute(&mut *conn)
            .await?
            .rows_affected()),
            // A busy pipeline finishes more jobs in a tick than a batch holds (at 300 messages a
            // second, about 3,000 every five seconds): batches until one comes back short.
            Duty::DeleteFinishedJobs => {
                retention::delete_older(
                    conn,
                    "apalis.jobs",
                    "done_at",
                    "AND status = 'Done'",
                    s.retention.finished_jobs,
                    FINISHED_JOB_BATCHES,
                )
                .await
            }
            // Jobs that exhausted their attempts leave the queue for the dead-letter table, where
            // `herald admin dead-jobs` lists them and puts them back.
            Duty::BuryDeadJobs => {
                let buried: Vec<(String, i64)> = sqlx::query_as(
                    "WITH dead AS (
                         DELETE FROM apalis.jobs WHERE id IN (
                             SELECT id FROM apalis.jobs
                             WHERE (status = 'Failed' AND attempts >= max_attempts) OR status = 'Killed'
                             LIMIT $1 FOR UPDATE SKIP LOCKED)
                         RETURNING id, job_type, job, attempts, last_result),
                     moved AS (
                         INSERT INTO dead_jobs (id, queue, payload, attempts, last_error)
                         SELECT id, job_type, job, attempts, last_result FROM dead
                         ON CONFLICT (id) DO NOTHING
                         RETURNING queue)
                     SELECT queue, count(*) FROM moved GROUP BY queue",
                )
                .bind(BATCH)
                .fetch_all(&mut *conn)
                .await?;
                for (queue, n) in &buried {
                    domain::meters::jobs_dead(queue, *n as u64);
                }
                Ok(buried.iter().map(|(_, n)| *n as u64).sum())
            }
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
    /// How many times a message's lease may run out before it ends FAILED.
    pub lease_rescues: i32,
    pub disable_endpoints_after: Duration,
    pub retention: domain::config::Retention,
    /// When a SENT message stops waiting for its receipt (an OTP's text is redacted then).
    pub sms_status_poll_give_up: Duration,
}

impl Settings {
    pub fn from_config(c: &domain::Config) -> Self {
        Settings {
            send_lease: c.send_lease,
            lease_rescues: c.send_lease_rescues,
            disable_endpoints_after: c.webhooks.disable_after,
            retention: c.retention,
            sms_status_poll_give_up: c.sms.status_poll_give_up,
        }
    }
}

/// A message left PROCESSING past its lease belonged to a worker that died during the provider call.
/// It is sent again, with a timeline note saying so: the one way a message reaches a provider twice.
/// Set-based: one statement claims the batch, one writes the notes, one pushes the jobs. A message
/// whose lease has run out `SEND_LEASE_RESCUES` times is not sent again: it ends FAILED with
/// `LEASE_EXHAUSTED`.
async fn resend_expired_leases(conn: &mut PgConnection, s: &Settings) -> domain::Result<u64> {
    let exhausted: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT id, channel FROM messages
         WHERE status = 'PROCESSING' AND lease_until < now() AND lease_rescues + 1 >= $1
         ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(s.lease_rescues)
    .bind(BATCH)
    .fetch_all(&mut *conn)
    .await?;
    for (id, channel) in &exhausted {
        let channel = Channel::parse(channel)
            .ok_or_else(|| anyhow::anyhow!("message {id}: unknown channel {channel:?}"))?;
        let change = Change {
            error: Some(MessageError {
                code: "LEASE_EXHAUSTED".into(),
                message: format!(
                    "the workers sending this message stopped {} times before recording the provider's answer; it is not sent again",
                    s.lease_rescues
                ),
            }),
            detail: Some(json!({"reason": "lease_exhausted", "leaseExpirations": s.lease_rescues})),
            ..Change::default()
        };
        messages::transition(conn, *id, channel, Status::Failed, change).await?;
    }
    let rescued: Vec<(Uuid, Uuid, i32, i32)> = sqlx::query_as(
        "UPDATE messages m SET lease_rescues = m.lease_rescues + 1,
             lease_until = now() + make_interval(secs => $2::bigint / 1000.0)
         FROM (SELECT id FROM messages
               WHERE status = 'PROCESSING' AND lease_until < now() AND lease_rescues + 1 < $1
               ORDER BY lease_until LIMIT $3 FOR UPDATE SKIP LOCKED) e
         WHERE m.id = e.id
         RETURNING m.id, m.organization_id, m.send_attempts, m.lease_rescues",
    )
    .bind(s.lease_rescues)
    .bind(s.send_lease.as_millis() as i64)
    .bind(BATCH)
    .fetch_all(&mut *conn)
    .await?;
    if !rescued.is_empty() {
        let event_ids: Vec<Uuid> = rescued.iter().map(|_| Uuid::now_v7()).collect();
        let ids: Vec<Uuid> = rescued.iter().map(|r| r.0).collect();
        let orgs: Vec<Uuid> = rescued.iter().map(|r| r.1).collect();
        let details: Vec<serde_json::Value> = rescued
            .iter()
            .map(|(_, _, attempt, rescue)| {
                json!({
                    "reason": "lease_expired",
                    "message": "the worker sending this message stopped before recording the provider's answer; sending it again",
                    "attempt": attempt,
                    "rescue": rescue,
                })
            })
            .collect();
        sqlx::query(
            "INSERT INTO events (id, organization_id, message_id, type, detail, occurred_at)
             SELECT id, organization_id, message_id, 'note', detail, now()
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::jsonb[])
                 AS t(id, organization_id, message_id, detail)",
        )
        .bind(&event_ids)
        .bind(&orgs)
        .bind(&ids)
        .bind(&details)
        .execute(&mut *conn)
        .await?;
        queue::push_all(
            conn,
            rescued.iter().map(|(id, _, attempt, _)| {
                (
                    SendMessage {
                        message_id: *id,
                        attempt: *attempt,
                    },
                    None,
                )
            }),
        )
        .await?;
    }
    Ok((exhausted.len() + rescued.len()) as u64)
}

/// Runs every duty once, each under its advisory lock; a duty another scheduler holds is skipped,
/// and a duty that fails is logged without keeping the others from running.
pub async fn run_once(pool: &PgPool, settings: &Settings) -> usize {
    let mut failed = 0;
    for duty in Duty::ALL {
        match run_duty(pool, settings, duty).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(?duty, rows = n, "scheduler duty done"),
            Err(e) => {
                failed += 1;
                tracing::warn!(?duty, error = %e, "scheduler duty failed; trying again at the next tick");
            }
        }
    }
    failed
}

async fn run_duty(pool: &PgPool, settings: &Settings, duty: Duty) -> domain::Result<u64> {
    let mut tx = pool.begin().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(duty.lock_key())
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(0);
    }
    let started = std::time::Instant::now();
    let ran = match duty.run(&mut tx, settings).await {
        Ok(n) => tx.commit().await.map(|()| n).map_err(Into::into),
        Err(e) => Err(e),
    };
    domain::meters::duty(duty.name(), ran.is_ok(), started.elapsed());
    ran
}

pub async fn run(
    pool: PgPool,
    settings: Settings,
    wakes: domain::wakes::Wakes,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    domain::meters::announce_dead_jobs();
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => {
                // Jobs a duty pushes (a rescued send, a redriven job) wake their queue after it.
                wakes.around(run_once(&pool, &settings)).await;
            }
        }
    }
    tracing::info!("scheduler stopped");
}
