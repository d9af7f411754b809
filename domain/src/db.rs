//! Connecting to Postgres, creating the database when it is missing, and applying migrations
//! (Herald's own, in `migrations/`, and the queue's).

use std::{str::FromStr, time::Duration};

use sqlx::{
    ConnectOptions, Connection, Executor, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

/// Herald's migrations are tracked in their own table so that they and apalis's never mistake each
/// other's rows for missing migrations.
pub fn migrator() -> Migrator {
    let mut m = sqlx::migrate!("../migrations");
    m.dangerous_set_table_name("_herald_migrations");
    m
}

pub async fn create_database_if_missing(url: &str) -> anyhow::Result<()> {
    let opts = PgConnectOptions::from_str(url)?;
    let name = opts
        .get_database()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL names no database"))?;
    let mut conn = opts.clone().database("postgres").connect().await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        // A concurrent start may have created it meanwhile; that is fine.
        let create = sqlx::AssertSqlSafe(format!("CREATE DATABASE {quoted}"));
        if let Err(e) = conn.execute(create).await
            && !e.to_string().contains("already exists")
        {
            return Err(e.into());
        }
        tracing::info!(database = %name, "created the database");
    }
    conn.close().await?;
    Ok(())
}

pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    // A random read priced as about a sequential one, as on SSDs or with the data in memory (the
    // default, 4, is for spinning disks): lookups by key are then preferred to scans once a table
    // holds a few thousand rows (see `TUNE_QUEUE` for the statement that needs it most).
    let opts = PgConnectOptions::from_str(url)?
        .application_name("herald")
        .options([("random_page_cost", "1.1")])
        .log_statements(tracing::log::LevelFilter::Trace);
    // No ping before each acquire: a dead connection fails its statement, which is retried or
    // answered 503 like any database error, instead of every statement paying a round trip.
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .connect_with(opts)
        .await?)
}

/// Connections for LISTEN: each listener holds one for its whole life, so they come from a pool of
/// their own rather than starving the queries of the main pool.
pub fn listen_pool(url: &str) -> anyhow::Result<PgPool> {
    let opts = PgConnectOptions::from_str(url)?.application_name("herald-listen");
    Ok(PgPoolOptions::new()
        .max_connections(8)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(opts))
}

/// Applies Herald's migrations and the queue's, then tunes the queue's table (`TUNE_QUEUE`).
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    migrator().run(pool).await?;
    apalis_postgres::PostgresStorage::setup(pool).await?;
    sqlx::raw_sql(TUNE_QUEUE).execute(pool).await?;
    Ok(())
}

/// What Herald changes in the queue's schema after every run of its migrations (which may bring
/// any of it back):
/// - the per-row NOTIFY trigger goes: wake-ups go out after commit instead (`wakes`);
/// - `unique_job_id` goes: it is the primary key again, and cost every insert a write;
/// - the two indexes on `lock_by` (`lidx`, `idx_apalis_jobs_lock_by`) give way to one on the
///   `lock_by` of queued and running jobs only, which is what rescuing a dead worker's jobs reads
///   (`lock_by IS NOT NULL` in its predicate keeps a claim's `status = 'Queued' OR …` from reading
///   the whole index as one arm of a bitmap OR: measured, 42 million index reads in one run).
///   The queue's acknowledgement asks for `lock_by = $2` beside the ids it acknowledges; with an
///   index on every job's `lock_by`, taken as selective (as an equality is without statistics), it
///   read through that index every job its worker had ever run, for each acknowledgement
///   (measured: 66 million index reads and a third of the database's time in a 20,000-message
///   run). Without it, the ids lead, through the primary key (with Herald's `random_page_cost`, once
///   the table holds a few thousand jobs; below that a scan is as cheap);
/// - the scheduler's two duties on the queue (deleting jobs finished ten minutes ago, burying jobs
///   out of attempts) read indexes of their own instead of the whole table every tick.
const TUNE_QUEUE: &str = "
DROP TRIGGER IF EXISTS notify_workers ON apalis.jobs;
DROP INDEX IF EXISTS apalis.unique_job_id;
DROP INDEX IF EXISTS apalis.lidx;
DROP INDEX IF EXISTS apalis.idx_apalis_jobs_lock_by;
CREATE INDEX IF NOT EXISTS herald_jobs_held_lock_by ON apalis.jobs (lock_by)
    WHERE lock_by IS NOT NULL AND (status = 'Queued' OR status = 'Running');
CREATE INDEX IF NOT EXISTS herald_jobs_done_at ON apalis.jobs (done_at) WHERE status = 'Done';
CREATE INDEX IF NOT EXISTS herald_jobs_dead ON apalis.jobs (id)
    WHERE (status = 'Failed' AND attempts >= max_attempts) OR status = 'Killed';
";

/// Whether the database answers and every migration has been applied (for `/health/ready`).
pub async fn ready(pool: &PgPool) -> bool {
    let expected = migrator()
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .count() as i64;
    let applied: Result<i64, _> =
        sqlx::query_scalar("SELECT count(*) FROM _herald_migrations WHERE success")
            .fetch_one(pool)
            .await;
    matches!(applied, Ok(n) if n >= expected)
}
