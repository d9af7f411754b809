//! The pipeline's metrics, every name in one place (`docs/operations.md`, the Grafana dashboard and
//! the alert rules use them). Recorded through the `metrics` facade: a process that installs no
//! recorder (a test, a benchmark tool) pays nothing for them.

use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::{
    Result,
    queue::{DeliverWebhook, Job, PollStatus, ProcessInbound, ProcessReceipt, SendMessage},
};

/// Every queue, for the gauges of those with nothing pending.
pub const QUEUES: [&str; 5] = [
    SendMessage::QUEUE,
    ProcessReceipt::QUEUE,
    PollStatus::QUEUE,
    ProcessInbound::QUEUE,
    DeliverWebhook::QUEUE,
];

/// One run of a job, from its start: it ends succeeded or failed, and a run dropped before either
/// (a panic, the handler's time-out) counts as failed. A failed run on its last attempt is not
/// retried; the scheduler moves its job to the dead-letter table (`jobs_dead`).
pub struct JobRun {
    queue: &'static str,
    started: Instant,
    last_attempt: bool,
    ended: bool,
}

impl JobRun {
    pub fn start(queue: &'static str, last_attempt: bool) -> JobRun {
        metrics::counter!("herald_jobs_started_total", "queue" => queue).increment(1);
        JobRun {
            queue,
            started: Instant::now(),
            last_attempt,
            ended: false,
        }
    }

    pub fn end(mut self, succeeded: bool) {
        self.record(succeeded);
    }

    fn record(&mut self, succeeded: bool) {
        self.ended = true;
        let queue = self.queue;
        // A failure on the last attempt is counted once its job is buried (`jobs_dead`).
        if succeeded {
            metrics::counter!("herald_jobs_succeeded_total", "queue" => queue).increment(1);
        } else if !self.last_attempt {
            metrics::counter!("herald_jobs_retried_total", "queue" => queue).increment(1);
        }
        metrics::histogram!("herald_job_duration_seconds", "queue" => queue)
            .record(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for JobRun {
    fn drop(&mut self) {
        if !self.ended {
            self.record(false);
        }
    }
}

/// Makes the dead-job counters exist at zero from the start, so that the first job buried shows as an
/// increase (a series born with its first event hides that event from `increase()`).
pub fn announce_dead_jobs() {
    at_zero_per_queue(&["herald_jobs_dead_total"]);
}

/// Makes the workers' job counters exist at zero from the start, for the same reason: the first
/// retry of a queue shows as an increase, and the family is there before anything failed.
pub fn announce_job_runs() {
    at_zero_per_queue(&[
        "herald_jobs_started_total",
        "herald_jobs_succeeded_total",
        "herald_jobs_retried_total",
    ]);
}

fn at_zero_per_queue(names: &[&'static str]) {
    for queue in QUEUES {
        for &name in names {
            metrics::counter!(name, "queue" => queue).increment(0);
        }
    }
}

/// Jobs the scheduler moved to the dead-letter table.
pub fn jobs_dead(queue: &str, n: u64) {
    metrics::counter!("herald_jobs_dead_total", "queue" => queue.to_owned()).increment(n);
}

/// One provider call: `accepted`, `retry` (a transient error, sent again later) or `refused`.
pub fn provider_call(channel: &str, provider: &str, outcome: &'static str, took: Duration) {
    let (channel, provider) = (channel.to_owned(), provider.to_owned());
    metrics::counter!("herald_provider_requests_total", "channel" => channel.clone(), "provider" => provider.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("herald_provider_request_duration_seconds", "channel" => channel, "provider" => provider)
        .record(took.as_secs_f64());
}

/// One receipt processed, by what became of it (`applied`, `ignored`, `duplicate`, `note`, `held`,
/// `unmatched`, `already_processed`).
pub fn receipt(outcome: &'static str) {
    metrics::counter!("herald_receipts_total", "outcome" => outcome).increment(1);
}

/// One webhook delivery attempt: `succeeded`, `retry`, `failed` (its last) or `gone` (410).
pub fn webhook_attempt(outcome: &'static str, took: Duration) {
    metrics::counter!("herald_webhook_deliveries_total", "outcome" => outcome).increment(1);
    metrics::histogram!("herald_webhook_delivery_duration_seconds").record(took.as_secs_f64());
}

/// A message changed status (counted in the transaction that changes it).
pub fn status_change(channel: &'static str, status: &'static str) {
    metrics::counter!("herald_message_status_changes_total", "channel" => channel, "status" => status)
        .increment(1);
}

/// One run of a scheduler duty that held its lock.
pub fn duty(duty: &'static str, ok: bool, took: Duration) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!("herald_scheduler_duty_runs_total", "duty" => duty, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("herald_scheduler_duty_duration_seconds", "duty" => duty)
        .record(took.as_secs_f64());
}

/// Sets the queue gauges from the queue table: jobs waiting per queue (pending, or failed with
/// attempts left: what a worker's fetch takes), and how long the oldest due one has waited (0 when
/// none is due). Read when `/metrics` is scraped.
pub async fn sample_queues(pool: &PgPool) -> Result<()> {
    let rows: Vec<(String, i64, f64)> = sqlx::query_as(
        "SELECT job_type, count(*),
                coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE run_at <= now())), 0)::float8
         FROM apalis.jobs
         WHERE status = 'Pending' OR (status = 'Failed' AND attempts < max_attempts)
         GROUP BY job_type",
    )
    .fetch_all(pool)
    .await?;
    for queue in QUEUES {
        let (pending, oldest) = rows
            .iter()
            .find(|(q, _, _)| q == queue)
            .map(|(_, n, age)| (*n as f64, *age))
            .unwrap_or((0.0, 0.0));
        metrics::gauge!("herald_queue_pending_jobs", "queue" => queue).set(pending);
        metrics::gauge!("herald_queue_oldest_due_seconds", "queue" => queue).set(oldest);
    }
    Ok(())
}
