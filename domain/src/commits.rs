//! The worker's commit batcher. A send's claim, its outcome and a receipt's application are each a
//! few statements and a commit; run one by one, a message cost the database a commit (and often a
//! WAL flush) for each. Here the units that jobs in flight hand over are gathered, up to
//! `MAX_BATCH` at a time, and run in one transaction with one commit; a batch is flushed as soon as
//! nothing else is pending, so a unit never waits for company. If any unit of a batch fails, or its
//! commit does, the batch is rolled back and each of its units runs again alone, in a transaction
//! of its own: one bad row never fails its neighbours, and each caller gets its own answer.
//!
//! A unit is a function of the connection, or an item of a `Set`, that may run twice (after a
//! rolled-back batch), so it must not act outside the database; its caller learns the result only
//! once it is committed. The items of one `Set` in a batch run together, in set-based statements
//! (`UPDATE … FROM unnest(…)`) written once for all of them.

use std::{
    any::{Any, TypeId},
    collections::HashSet,
    hash::Hash,
    panic::AssertUnwindSafe,
    sync::Arc,
};

use futures::{FutureExt, future::BoxFuture};
use sqlx::{PgConnection, PgPool};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::{Result, wakes};

/// At most this many units share a commit.
pub const MAX_BATCH: usize = 32;

/// Batches are run on this many connections at once: while one commits, the next gathers.
const LANES: usize = 4;

type Work<T> = dyn for<'c> Fn(&'c mut PgConnection) -> BoxFuture<'c, Result<T>> + Send + Sync;

/// Work whose items run together: the items of one set in a batch are handed over at once, so
/// that each statement is written once for all of them.
pub trait Set: 'static {
    type Item: Clone + Send + Sync + 'static;
    type Output: Send + 'static;

    /// Runs `items` on the batch's transaction; answers one output for each item, in their order.
    fn run_all(
        conn: &mut PgConnection,
        items: Vec<Self::Item>,
    ) -> BoxFuture<'_, Result<Vec<Self::Output>>>;
}

/// Splits a set's work into what can go in one set-based statement (the first piece for each row,
/// in their order) and what must wait for it (the row's later pieces): one statement changing a
/// row twice would change it once.
pub fn first_of_each<T, K: Eq + Hash>(work: Vec<T>, row_of: impl Fn(&T) -> K) -> (Vec<T>, Vec<T>) {
    let mut seen = HashSet::new();
    work.into_iter().partition(|w| seen.insert(row_of(w)))
}

/// Runs a set's `work` in rounds of distinct rows (`first_of_each` by `row_of`), each by `round`,
/// which answers each piece it is given by its place; answers in the order of `work`.
pub async fn in_rounds<T, K, O>(
    conn: &mut PgConnection,
    work: Vec<T>,
    row_of: impl Fn(&T) -> K,
    round: impl for<'c> Fn(&'c mut PgConnection, Vec<(usize, T)>) -> RoundFuture<'c, O>,
) -> Result<Vec<O>>
where
    K: Eq + Hash,
{
    let mut answers: Vec<Option<O>> = work.iter().map(|_| None).collect();
    let mut waiting: Vec<(usize, T)> = work.into_iter().enumerate().collect();
    while !waiting.is_empty() {
        let (now, later) = first_of_each(waiting, |(_, w)| row_of(w));
        waiting = later;
        for (i, answer) in round(&mut *conn, now).await? {
            answers[i] = Some(answer);
        }
    }
    answers
        .into_iter()
        .map(|a| a.ok_or_else(|| anyhow::anyhow!("a round left a piece of work unanswered").into()))
        .collect()
}

/// What a round of `in_rounds` answers: each piece's place and answer.
pub type RoundFuture<'c, O> = BoxFuture<'c, Result<Vec<(usize, O)>>>;

/// A unit of work waiting for its batch, with the caller's answer.
trait Unit: Send {
    /// The set the unit is an item of, if any: the units of one set in a batch run together.
    fn set(&self) -> Option<TypeId>;
    /// Runs the unit, and the `others` of its set with it (none for a unit of no set).
    fn run<'c>(
        &'c mut self,
        others: &'c mut [Box<dyn Unit>],
        conn: &'c mut PgConnection,
    ) -> BoxFuture<'c, Result<()>>;
    /// Sends the caller its result (`failed`: the unit's own error, from its run alone).
    fn answer(self: Box<Self>, failed: Option<crate::Error>);
    fn as_any(&mut self) -> &mut dyn Any;
}

struct Pending<T> {
    work: Box<Work<T>>,
    /// The caller's wake-up scope: the jobs a unit pushes wake their queues when the caller is done.
    scope: Option<wakes::Scope>,
    result: Option<T>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T: Send + 'static> Unit for Pending<T> {
    fn set(&self) -> Option<TypeId> {
        None
    }

    fn run<'c>(
        &'c mut self,
        _: &'c mut [Box<dyn Unit>],
        conn: &'c mut PgConnection,
    ) -> BoxFuture<'c, Result<()>> {
        Box::pin(async move {
            let value = wakes::within(self.scope.clone(), (self.work)(conn)).await?;
            self.result = Some(value);
            Ok(())
        })
    }

    fn answer(self: Box<Self>, failed: Option<crate::Error>) {
        reply(self.reply, failed, self.result);
    }

    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

/// An item of a set waiting for its batch, with the caller's answer.
struct Item<S: Set> {
    item: S::Item,
    scope: Option<wakes::Scope>,
    result: Option<S::Output>,
    reply: oneshot::Sender<Result<S::Output>>,
}

impl<S: Set> Item<S> {
    fn of(unit: &mut Box<dyn Unit>) -> Result<&mut Self> {
        unit.as_any()
            .downcast_mut::<Self>()
            .ok_or_else(|| anyhow::anyhow!("a unit of another set was run with this one").into())
    }
}

impl<S: Set> Unit for Item<S> {
    fn set(&self) -> Option<TypeId> {
        Some(TypeId::of::<S>())
    }

    fn run<'c>(
        &'c mut self,
        others: &'c mut [Box<dyn Unit>],
        conn: &'c mut PgConnection,
    ) -> BoxFuture<'c, Result<()>> {
        Box::pin(async move {
            let mut items = vec![self.item.clone()];
            for other in others.iter_mut() {
                items.push(Item::<S>::of(other)?.item.clone());
            }
            // The jobs a set pushes wake their queues when its first caller is done.
            let outputs = wakes::within(self.scope.clone(), S::run_all(conn, items)).await?;
            if outputs.len() != 1 + others.len() {
                return Err(
                    anyhow::anyhow!("a set answered {} of its items", outputs.len()).into(),
                );
            }
            let mut outputs = outputs.into_iter();
            self.result = outputs.next();
            for (other, output) in others.iter_mut().zip(outputs) {
                Item::<S>::of(other)?.result = Some(output);
            }
            Ok(())
        })
    }

    fn answer(self: Box<Self>, failed: Option<crate::Error>) {
        reply(self.reply, failed, self.result);
    }

    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

fn reply<T>(to: oneshot::Sender<Result<T>>, failed: Option<crate::Error>, result: Option<T>) {
    let out = match (failed, result) {
        (Some(e), _) => Err(e),
        (None, Some(value)) => Ok(value),
        (None, None) => Err(anyhow::anyhow!("a committed unit left no result").into()),
    };
    // A caller that went away (its job was cancelled) needs no answer.
    let _ = to.send(out);
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
        self.submit(Box::new(unit), answer).await
    }

    /// Runs `item` with the other items of its set in a batch, and answers once that is committed
    /// (or, after a failed batch, once `item` has run alone, as a set of one).
    pub async fn run_in<S: Set>(&self, item: S::Item) -> Result<S::Output> {
        let (reply, answer) = oneshot::channel();
        let unit = Item::<S> {
            item,
            scope: wakes::scope(),
            result: None,
            reply,
        };
        self.submit(Box::new(unit), answer).await
    }

    async fn submit<T>(
        &self,
        unit: Box<dyn Unit>,
        answer: oneshot::Receiver<Result<T>>,
    ) -> Result<T> {
        self.queue
            .send(unit)
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

/// Runs a batch in one transaction: each unit of no set alone, the units of each set together.
async fn together(pool: &PgPool, batch: &mut [Box<dyn Unit>]) -> Result<()> {
    batch.sort_by_key(|unit| unit.set());
    let mut tx = pool.begin().await?;
    let mut rest = batch;
    while let Some(first) = rest.first() {
        let set = first.set();
        let n = match set {
            None => 1,
            Some(_) => rest.iter().take_while(|unit| unit.set() == set).count(),
        };
        let (group, tail) = std::mem::take(&mut rest).split_at_mut(n);
        let (first, others) = group.split_first_mut().expect("a group holds a unit");
        first.run(others, &mut tx).await?;
        rest = tail;
    }
    tx.commit().await?;
    Ok(())
}
