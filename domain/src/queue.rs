//! The one thin module through which the domain reaches the queue: job payloads, their queue
//! names, and a push that happens on the caller's transaction (so a rolled-back request leaves no job).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Result;

/// A job payload and the queue it travels on. Queue names are explicit so that renaming a Rust type
/// never strands the jobs already in the table.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    const QUEUE: &'static str;
    /// apalis retries a job whose handler errs without any backoff, so handlers deal with provider
    /// errors themselves (by pushing a later job); this only bounds unexpected failures such as a
    /// lost database connection.
    const MAX_ATTEMPTS: usize = 5;
}

/// Hand a message to its channel's provider. `attempt` is the message's `send_attempts` the job
/// expects to find, so a duplicate or stale job claims nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMessage {
    pub message_id: Uuid,
    pub attempt: i32,
}

impl Job for SendMessage {
    const QUEUE: &'static str = "herald.send";
}

/// Apply a stored receipt to its message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessReceipt {
    pub receipt_id: Uuid,
    /// How many times this receipt waited for its message to appear (it may outrun the send job).
    #[serde(default)]
    pub attempt: u32,
}

impl Job for ProcessReceipt {
    const QUEUE: &'static str = "herald.receipt";
}

/// Pushes jobs of one kind on the caller's connection or transaction, due at `run_at` (now when None).
pub async fn push_all<J: Job>(
    conn: &mut PgConnection,
    jobs: impl IntoIterator<Item = (J, Option<DateTime<Utc>>)>,
) -> Result<()> {
    let (jobs, run_at): (Vec<J>, Vec<Option<DateTime<Utc>>>) = jobs.into_iter().unzip();
    if jobs.is_empty() {
        return Ok(());
    }
    let rows = job_rows(jobs);
    sqlx::query(sqlx::AssertSqlSafe(insert_sql::<J>(
        "SELECT * FROM unnest($1::text[], $2::bytea[], $3::timestamptz[])",
    )))
    .bind(&rows.ids)
    .bind(&rows.payloads)
    .bind(&run_at)
    .execute(conn)
    .await?;
    pushed::<J>();
    Ok(())
}

/// Notes that jobs of `J` were written (by `push_all`, or by a statement of the caller's own
/// through `insert_sql`), so that its queue is woken once the work in hand is done.
pub fn pushed<J: Job>() {
    crate::wakes::pushed(J::QUEUE);
}

/// The values of jobs for `insert_sql`, an array each: ids (ULIDs, as apalis reads them) and
/// payloads.
pub struct JobRows {
    pub ids: Vec<String>,
    pub payloads: Vec<Vec<u8>>,
}

pub fn job_rows<J: Job>(jobs: impl IntoIterator<Item = J>) -> JobRows {
    let (ids, payloads) = jobs
        .into_iter()
        .map(|job| {
            (
                ulid::Ulid::generate().to_string(),
                serde_json::to_vec(&job).expect("job payloads serialize"),
            )
        })
        .unzip();
    JobRows { ids, payloads }
}

/// An `INSERT` of `J` jobs, one for each row of `rows` (a query giving `(id text, payload bytea,
/// run_at timestamptz)`), for a statement that writes them together with what they act on (a
/// data-modifying `WITH`); it returns the jobs' ids. The caller then calls `pushed::<J>()`.
pub fn insert_sql<J: Job>(rows: &str) -> String {
    format!(
        "INSERT INTO apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, priority)
         SELECT j.id, '{queue}', j.payload, 'Pending', 0, {max}, coalesce(j.run_at, now()), 0
         FROM ({rows}) AS j(id, payload, run_at)
         RETURNING id",
        queue = J::QUEUE,
        max = J::MAX_ATTEMPTS
    )
}

pub async fn push<J: Job>(
    conn: &mut PgConnection,
    job: J,
    run_at: Option<DateTime<Utc>>,
) -> Result<()> {
    push_all(conn, [(job, run_at)]).await
}

/// Ask the provider where a message still SENT stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PollStatus {
    pub message_id: Uuid,
    pub attempt: u32,
}

impl Job for PollStatus {
    const QUEUE: &'static str = "herald.poll";
}

/// Route an inbound text (an opt-out keyword) to its organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessInbound {
    pub inbound_id: Uuid,
}

impl Job for ProcessInbound {
    const QUEUE: &'static str = "herald.inbound";
}

/// Make one attempt at a webhook delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverWebhook {
    pub delivery_id: Uuid,
}

impl Job for DeliverWebhook {
    const QUEUE: &'static str = "herald.webhook";
}
