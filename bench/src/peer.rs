//! The queue comparison: Herald's worker path (apalis-postgres, configured as Herald configures it)
//! against graphile-worker at its recommended best, both draining no-op jobs on the same Postgres.

use std::time::{Duration, Instant};

use apalis::prelude::*;
use domain::queue::{self, Job};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;

use crate::Args;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BenchNoop {
    n: usize,
}

impl Job for BenchNoop {
    const QUEUE: &'static str = "herald.bench.noop";
}

/// Jobs the no-op handler completed: counted in the worker, as graphile-worker's script counts its
/// own, rather than by querying the jobs table while it drains.
static DONE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

async fn noop(_: BenchNoop) -> Result<(), BoxDynError> {
    DONE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

const CONCURRENCY: usize = 32;

async fn herald(args: &Args, pool: &PgPool) -> anyhow::Result<f64> {
    sqlx::query("DELETE FROM apalis.jobs WHERE job_type = $1")
        .bind(BenchNoop::QUEUE)
        .execute(pool)
        .await?;
    let mut conn = pool.acquire().await?;
    for start in (0..args.jobs).step_by(1000) {
        let n = 1000.min(args.jobs - start);
        queue::push_all(
            &mut conn,
            (start..start + n).map(|i| (BenchNoop { n: i }, None)),
        )
        .await?;
    }
    drop(conn);
    DONE.store(0, std::sync::atomic::Ordering::Relaxed);
    let worker_pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(10)
        .connect_with(pool.connect_options().as_ref().clone())
        .await?;
    let heartbeat = Duration::from_secs(10);
    let started = Instant::now();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let wp = worker_pool.clone();
    let lp = domain::db::listen_pool(&args.database_url)?;
    let monitor = Monitor::new().register(move |restarts| {
        WorkerBuilder::new(worker::worker_name(BenchNoop::QUEUE, restarts))
            .backend(worker::storage::<BenchNoop>(
                &wp,
                &lp,
                &domain::wakes::Wakes::default(),
                heartbeat,
                CONCURRENCY,
            ))
            .concurrency(CONCURRENCY)
            .catch_panic()
            .timeout((heartbeat * domain::config::MISSED_HEARTBEATS).mul_f64(0.8))
            .build(noop)
    });
    let running = tokio::spawn(monitor.run_with_signal(async move {
        let _ = stop_rx.await;
        Ok(())
    }));
    let total = args.jobs;
    loop {
        let done = DONE.load(std::sync::atomic::Ordering::Relaxed);
        if done >= total {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "herald drained {done} of {total} jobs"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    let _ = stop_tx.send(());
    let _ = running.await;
    Ok(rate)
}

const PEER_SCRIPT: &str = r#"
import { run, makeWorkerUtils, Logger } from "graphile-worker";
const [, , connectionString, n] = process.argv;
const total = Number(n);
// Quiet: a console line per job would measure the terminal, not the queue.
const logger = new Logger(() => () => {});
const utils = await makeWorkerUtils({ connectionString, logger });
await utils.migrate();
for (let i = 0; i < total; i += 1000) {
  const specs = [];
  for (let j = i; j < Math.min(total, i + 1000); j++) specs.push({ identifier: "noop", payload: { n: j } });
  await utils.addJobs(specs);
}
let done = 0;
let finish;
const finished = new Promise((r) => (finish = r));
const started = Date.now();
const runner = await run({
  connectionString,
  logger,
  concurrency: 32,
  noHandleSignals: true,
  pollInterval: 1000,
  preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
  taskList: { noop: async () => { if (++done === total) finish(); } },
});
await finished;
const seconds = (Date.now() - started) / 1000;
await runner.stop();
await utils.release();
console.log(JSON.stringify({ jobs: total, seconds }));
"#;

async fn graphile(args: &Args) -> anyhow::Result<f64> {
    let dir = std::env::temp_dir().join("herald-bench-peer");
    std::fs::create_dir_all(&dir)?;
    if !dir.join("node_modules/graphile-worker").exists() {
        std::fs::write(
            dir.join("package.json"),
            r#"{"name":"herald-bench-peer","private":true,"type":"module"}"#,
        )?;
        let ok = std::process::Command::new("npm")
            .args([
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "graphile-worker@0.18.0",
            ])
            .current_dir(&dir)
            .status()?;
        anyhow::ensure!(ok.success(), "npm install graphile-worker failed");
    }
    std::fs::write(dir.join("peer.mjs"), PEER_SCRIPT)?;
    let out = std::process::Command::new("node")
        .arg("peer.mjs")
        .arg(&args.database_url)
        .arg(args.jobs.to_string())
        .current_dir(&dir)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "graphile-worker run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(line.trim().lines().last().unwrap_or("{}"))?;
    Ok(v["jobs"].as_f64().unwrap_or(0.0) / v["seconds"].as_f64().unwrap_or(f64::INFINITY))
}

/// Row writes to a queue table so far (inserts, updates, deletes), from Postgres's statistics.
async fn writes(pool: &PgPool, schema: &str, table: &str) -> anyhow::Result<(i64, i64, i64)> {
    // Idle backends report their counts up to ten seconds after their last transaction.
    tokio::time::sleep(Duration::from_secs(11)).await;
    Ok(sqlx::query_as(
        "SELECT coalesce(sum(n_tup_ins), 0)::bigint, coalesce(sum(n_tup_upd), 0)::bigint,
                coalesce(sum(n_tup_del), 0)::bigint
         FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2",
    )
    .bind(schema)
    .bind(table)
    .fetch_one(pool)
    .await?)
}

fn per_job(before: (i64, i64, i64), after: (i64, i64, i64), jobs: usize) -> serde_json::Value {
    let n = jobs as f64;
    json!({
        "inserts": (after.0 - before.0) as f64 / n,
        "updates": (after.1 - before.1) as f64 / n,
        "deletes": (after.2 - before.2) as f64 / n,
    })
}

pub async fn compare(args: &Args, pool: &PgPool) -> anyhow::Result<serde_json::Value> {
    let before = writes(pool, "apalis", "jobs").await?;
    let herald = herald(args, pool).await?;
    let after = writes(pool, "apalis", "jobs").await?;
    let herald_writes = per_job(before, after, args.jobs);
    sqlx::query("DELETE FROM apalis.jobs WHERE job_type = $1")
        .bind(BenchNoop::QUEUE)
        .execute(pool)
        .await?;
    let peer = graphile(args).await?;
    let peer_after = writes(pool, "graphile_worker", "_private_jobs").await?;
    // graphile-worker's table is new in a fresh database, so its counts are this run's alone.
    Ok(json!({
        "jobs": args.jobs,
        "herald_jobs_per_s": herald,
        "peer_jobs_per_s": peer,
        "ratio": herald / peer,
        "herald_row_writes_per_job": herald_writes,
        "peer_row_writes_per_job": per_job((0, 0, 0), peer_after, args.jobs),
    }))
}
