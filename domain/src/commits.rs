//! The worker's commit batcher. A send's claim, its outcome and a receipt's application are each a
//! few statements and a commit; run one by one, a message cost the database a commit (and often a
//! WAL flush) for each. Here the units that jobs in flight hand over are gathered, up to
//! `MAX_BATCH` at a time, and run in one transaction with one commit; a batch is flushed as soon as
//! nothing else is pending, so a unit never waits for company. If any unit of a batch fails, or its
//! commit does, the batch is rolled back and each of its units runs again alone, in a transaction
//! of its own: one bad row never fails its neighbours, and each caller gets its own answer.
//!
//! A unit is a function of the connection that may run twice (after a rolled-back batch), so it
//! must not act outside the database; its caller learns the result only once it is committed.

use std::{panic::AssertUnwindSafe, sync::Arc};

use futures::{FutureExt, future::BoxFuture};
use sqlx::{PgConnection, PgPool};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::{Result, wakes};

/// At most this many units share a commit.
pub const MAX_BATCH: usize = 32;

/// Batches are run on this many connections at once: while one commits, the next gathers.
const LANES: usize = 4;

type Work<T> = dyn for<'c> Fn(&'c mut PgConnection) -> BoxFuture<'c, Result<T>> + Send + Sync;

/// A unit of work waiting for its batch, with the caller's answer.
trait Unit: Send {
    fn run<'c>(&'c mut self, conn: &'c mut PgConnection) -> BoxFuture<'c, Result<()>>;
    /// Sends the caller its result (`failed`: the unit's own error, from its run alone).
    fn answer(self: Box<Self>, failed: Option<crate::Error>);
}

struct Pending<T> {
    work: Box<Work<T>>,
    /// The caller's wake-up scope: the jobs a unit pushes wake their queues when the caller is done.
    scope: Option<wakes::Scope>,
    result: Option<T>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T: Send + 'static> Unit for Pending<T> {
    fn run<'c>(&'c mut self, conn: &'c mut PgConnection) -> BoxFuture<'c, Result<()>> {
        Box::pin(async move {
            let value = wakes::within(self.scope.clone(), (self.work)(conn)).await?;
            self.result = Some(value);
            Ok(())
        })
    }

    fn answer(self: Box<Self>, failed: Option<crate::Error>) {
        let out = match (failed, self.result) {
            (Some(e), _) => Err(e),
            (None, Some(value)) => Ok(value),
            (None, None) => Err(anyhow::anyhow!("a committed unit left no result").into()),
        };
        // A caller that went away (its job was cancelled) needs no answer.
        let _ = self.reply.send(out);
    }
}

/// Hands units of work to the batching lanes; cheap to clone.
#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::UnboundedSender<Box<dyn Unit>>,
}

impl Batcher {
    /// Starts the lanes on `pool`; they stop when the last `Batcher` is dropped.
    pub fn start(pool: PgPool) -> Self {
        let (queue, pending) = mpsc::unbounded_channel();
        let pending = Arc::new(Mutex::new(pending));
        for _ in 0..LANES {
            tokio::spawn(lane(pool.clone(), pending.clone()));
        }
        Batcher { queue }
    }

    /// Runs `work` in a batch's transaction and answers once that is committed (or, after a failed
    /// batch, once `work` has run alone).
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c mut PgConnection) -> BoxFuture<'c, Result<T>> + Send + Sync + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let unit = Pending {
            work: Box::new(work),
            scope: wakes::scope(),
            result: None,
            reply,
        };
        self.queue
            .send(Box::new(unit))
            .map_err(|_| anyhow::anyhow!("the commit batcher has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the commit batcher dropped a unit"))?
    }
}

/// Takes what is pending (at least one unit, at most `MAX_BATCH`), runs it, answers, and again.
async fn lane(pool: PgPool, pending: Arc<Mutex<mpsc::UnboundedReceiver<Box<dyn Unit>>>>) {
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        {
            let mut pending = pending.lock().await;
            let Some(first) = pending.recv().await else {
                return;
            };
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match pending.try_recv() {
                    Ok(unit) => batch.push(unit),
                    Err(_) => break,
                }
            }
        }
        if batch.len() > 1 {
            match guarded(together(&pool, &mut batch)).await {
                Ok(()) => {
                    for unit in batch {
                        unit.answer(None);
                    }
                    continue;
                }
                Err(e) => {
                    tracing::debug!(error = %e, units = batch.len(), "a batch failed; its units run alone");
                }
            }
        }
        for mut unit in batch {
            let failed = guarded(together(&pool, std::slice::from_mut(&mut unit)))
                .await
                .err();
            unit.answer(failed);
        }
    }
}

/// A unit that panics fails its batch (and then itself alone), never the lane.
async fn guarded(work: impl Future<Output = Result<()>>) -> Result<()> {
    AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("a unit of work panicked").into()))
}

async fn together(pool: &PgPool, batch: &mut [Box<dyn Unit>]) -> Result<()> {
    let mut tx = pool.begin().await?;
    for unit in batch.iter_mut() {
        unit.run(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
