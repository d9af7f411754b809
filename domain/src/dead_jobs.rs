//! The dead-letter table: jobs that ran out of attempts, for operators to inspect and redrive.

use apalis_core::task::builder::TaskBuilder;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

use crate::Result;

#[derive(Debug, sqlx::FromRow)]
pub struct DeadJob {
    pub id: String,
    pub queue: String,
    pub payload: Vec<u8>,
    pub attempts: i32,
    pub last_error: Option<Value>,
    pub failed_at: DateTime<Utc>,
}

pub async fn list(pool: &PgPool, limit: i64) -> Result<Vec<DeadJob>> {
    Ok(sqlx::query_as::<_, DeadJob>(
        "SELECT id, queue, payload, attempts, last_error, failed_at FROM dead_jobs ORDER BY failed_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Jobs put back per transaction by `redrive --all`.
const REDRIVE_BATCH: i64 = 500;

/// Puts dead jobs back on their queues with fresh attempts (all of them when `id` is None) and
/// returns how many went back. All of them go back in batches, each its own transaction, so no
/// transaction ever holds every row.
pub async fn redrive(pool: &PgPool, id: Option<&str>) -> Result<u64> {
    let mut total = 0;
    loop {
        let n = redrive_batch(pool, id).await?;
        total += n;
        if id.is_some() || (n as i64) < REDRIVE_BATCH {
            return Ok(total);
        }
    }
}

async fn redrive_batch(pool: &PgPool, id: Option<&str>) -> Result<u64> {
    let mut tx = pool.begin().await?;
    let jobs = sqlx::query_as::<_, DeadJob>(
        "DELETE FROM dead_jobs WHERE id IN (
             SELECT id FROM dead_jobs WHERE $1::text IS NULL OR id = $1
             ORDER BY failed_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id, queue, payload, attempts, last_error, failed_at",
    )
    .bind(id)
    .bind(REDRIVE_BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let mut by_queue: std::collections::BTreeMap<&str, Vec<_>> = Default::default();
    for job in &jobs {
        let task = TaskBuilder::new(job.payload.clone())
            .max_attempts(5)
            .build();
        by_queue.entry(job.queue.as_str()).or_default().push(task);
    }
    for (queue, tasks) in by_queue {
        apalis_postgres::queries::push_tasks(&mut *tx, queue, tasks).await?;
    }
    tx.commit().await?;
    Ok(jobs.len() as u64)
}
