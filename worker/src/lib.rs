//! Runs the queue's workers: which queues, how many jobs at once, and a graceful stop
//! (stop taking jobs, finish the running ones, exit).

use std::{future::Future, time::Duration};

use apalis::prelude::*;
use apalis_postgres::{Config as QueueConfig, PostgresStorage, Pubsub};
use domain::{
    queue::{DeliverWebhook, Job, PollStatus, ProcessInbound, ProcessReceipt, SendMessage},
    wakes::Wakes,
};
use jobs::JobContext;

/// A worker that misses three heartbeats (`QUEUE_HEARTBEAT`, 10 s by default) is presumed dead and
/// its jobs go back to the queue; every handler's time-out stays below that window (checked at
/// start-up: `SEND_TIMEOUT` for sends, `Config::job_timeout` for the rest) so that a live worker
/// never has its running jobs taken from it.
use domain::config::MISSED_HEARTBEATS;

/// This process's own pushes wake its workers in-process, other processes' through LISTEN (both
/// after commit: `domain::wakes`); polling finds scheduled jobs, retries and delayed receipts
/// (`run_at` has whole-second resolution), and anything a wake-up missed.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The queue backend of one job type, configured as every Herald worker uses it (the benchmark's
/// no-op worker uses it too, so that what it measures is what runs).
pub fn storage<J: Job>(
    pool: &sqlx::PgPool,
    listen_pool: &sqlx::PgPool,
    wakes: &Wakes,
    heartbeat: Duration,
    concurrency: usize,
) -> PollWith<PostgresStorage<J>, Strategy> {
    let config = QueueConfig::default()
        .queue(J::QUEUE)
        // Fetched jobs that wait for a free slot neither heartbeat nor flush completions, so a
        // batch never exceeds what can run at once.
        .batch_size(concurrency.clamp(1, 100))
        .heartbeat_interval(heartbeat)
        .missed_heartbeats(MISSED_HEARTBEATS as usize);
    let pool = pool.clone();
    let strategy = Strategy::new()
        .stream(wakes.stream(J::QUEUE))
        .stream(Pubsub::new(listen_pool.clone(), J::QUEUE.to_owned()))
        .interval(POLL_INTERVAL);
    PostgresStorage::<J>::new(&pool)
        .with_config(config)
        .poll_with_strategy(strategy)
}

/// A name unique to this process and worker, so that rescuing a dead worker's jobs never
/// confuses two live ones.
pub fn worker_name(queue: &str, restarts: usize) -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    format!("{queue}@{host}:{}:{restarts}", std::process::id())
}

/// Registers one worker for the queue of `$job`, run by `$handler`.
macro_rules! queue_worker {
    ($monitor:expr, $ctx:expr, $job:ty, $handler:path, $concurrency:expr, $timeout:expr) => {{
        let ctx = $ctx.clone();
        let concurrency = $concurrency;
        let timeout = $timeout;
        $monitor.register(move |restarts| {
            WorkerBuilder::new(worker_name(<$job>::QUEUE, restarts))
                .backend(storage::<$job>(
                    &ctx.pool,
                    &ctx.listen_pool,
                    &ctx.wakes,
                    ctx.config.queue_heartbeat,
                    concurrency,
                ))
                .concurrency(concurrency)
                .catch_panic()
                .timeout(timeout)
                .data(ctx.clone())
                // What a job pushes wakes its queue once the job is done (its commits made).
                .build(
                    |job: $job, ctx: Data<JobContext>, attempt: Attempt| async move {
                        // apalis counts the running attempt before the handler starts.
                        let last = attempt.current() >= <$job>::MAX_ATTEMPTS;
                        let run = domain::meters::JobRun::start(<$job>::QUEUE, last);
                        let wakes = ctx.wakes.clone();
                        let done = wakes.around($handler(job, ctx)).await;
                        run.end(done.is_ok());
                        done
                    },
                )
        })
    }};
}

/// Runs the workers until `shutdown` resolves, then lets running jobs finish.
pub async fn run(
    ctx: JobContext,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    domain::meters::announce_job_runs();
    let monitor = Monitor::new();
    let n = ctx.config.worker_concurrency;
    let (send, other) = (ctx.config.send_timeout, ctx.config.job_timeout());
    let monitor = queue_worker!(monitor, ctx, SendMessage, jobs::send_message, n, send);
    let monitor = queue_worker!(
        monitor,
        ctx,
        ProcessReceipt,
        jobs::process_receipt,
        n,
        other
    );
    let monitor = queue_worker!(monitor, ctx, PollStatus, jobs::poll_status, n, other);
    let monitor = queue_worker!(
        monitor,
        ctx,
        ProcessInbound,
        jobs::process_inbound,
        n,
        other
    );
    // Deliveries have their own worker and limit: slow endpoints hold its slots, never the sends'.
    let monitor = queue_worker!(
        monitor,
        ctx,
        DeliverWebhook,
        jobs::deliver_webhook,
        ctx.config.webhooks.concurrency,
        other
    );
    let monitor = monitor
        .should_restart(|worker, error| {
            tracing::error!(worker = %worker.name(), %error, "worker stopped; restarting it in a second");
            // A lost database would otherwise make the restart loop spin.
            if tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
                tokio::task::block_in_place(|| std::thread::sleep(Duration::from_secs(1)));
            }
            true
        })
        .on_event(|worker, event| {
            if let Event::Error(e) = event {
                tracing::warn!(worker = %worker.name(), error = %e, "job failed");
            }
        });
    monitor
        .run_with_signal(async move {
            shutdown.await;
            tracing::info!("worker stopping: finishing running jobs");
            Ok(())
        })
        .await?;
    Ok(())
}
