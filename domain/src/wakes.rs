//! Waking workers without a NOTIFY on the commit path. A transaction that calls `pg_notify` takes
//! Postgres's cluster-wide notify lock at commit and holds it until its commit is flushed, so a
//! notification in every accept made every accept commit alone. Instead, a push only notes its
//! queue in the enclosing scope (a request, a job, a scheduler tick); when the scope's work is done
//! (its transactions committed) the queues are woken: this process's workers at once, in-process,
//! where it has workers for the queue; otherwise other processes' workers, through one NOTIFY per
//! queue, sent on a connection of its own and gathered over a few milliseconds. The workers' 500 ms poll stays as the backstop for scheduled
//! jobs and for a push made outside any scope.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::Arc,
    time::Duration,
};

use futures::Stream;
use parking_lot::Mutex;
use sqlx::PgPool;
use tokio::sync::Notify;

tokio::task_local! {
    static SCOPE: Scope;
}

/// The pushes of one request, job or scheduler tick, woken when it is done.
#[derive(Clone)]
pub(crate) struct Scope {
    pushed: Arc<Mutex<HashSet<&'static str>>>,
}

/// How long announcements to other processes are gathered before one statement sends them.
const GATHER: Duration = Duration::from_millis(2);

/// This process's wake-ups: per queue, a signal for its own workers, and the queues still to be
/// announced to other processes.
#[derive(Clone, Default)]
pub struct Wakes(Arc<Inner>);

#[derive(Default)]
struct Inner {
    local: Mutex<HashMap<&'static str, Arc<Notify>>>,
    /// The queues this process's own workers take jobs from.
    served: Mutex<HashSet<&'static str>>,
    remote: Mutex<HashSet<&'static str>>,
    announce: Notify,
}

impl Wakes {
    /// Runs `work` and, once it is done, wakes the queues it pushed to.
    pub async fn around<F: Future>(&self, work: F) -> F::Output {
        let scope = Scope {
            pushed: Arc::default(),
        };
        let pushed = scope.pushed.clone();
        let out = SCOPE.scope(scope, work).await;
        let queues: Vec<&'static str> = pushed.lock().drain().collect();
        for queue in queues {
            self.wake(queue);
        }
        out
    }

    /// Wakes `queue`'s workers: this process's now when it has some, else other processes' with the
    /// next announcement. A process that works the queue takes its own pushes; waking other
    /// processes' workers too would only send them into fetches that find nothing (each an
    /// announcement and a commit), and their poll finds whatever this one leaves.
    pub fn wake(&self, queue: &'static str) {
        if self.0.served.lock().contains(queue) {
            self.local(queue).notify_one();
            return;
        }
        self.0.remote.lock().insert(queue);
        self.0.announce.notify_one();
    }

    fn local(&self, queue: &'static str) -> Arc<Notify> {
        self.0.local.lock().entry(queue).or_default().clone()
    }

    /// Yields each time this process wakes `queue`: a poll trigger for this process's workers, which
    /// from now on take the queue's wake-ups of this process.
    pub fn stream(
        &self,
        queue: &'static str,
    ) -> impl Stream<Item = ()> + Unpin + Send + Sync + 'static {
        self.0.served.lock().insert(queue);
        Box::pin(futures::stream::unfold(self.local(queue), |n| async move {
            n.notified().await;
            Some(((), n))
        }))
    }

    /// Announces woken queues to other processes: one `pg_notify` per queue, in apalis's payload,
    /// in one statement of its own. Runs for the life of the process.
    pub async fn announce(self, pool: PgPool) {
        loop {
            self.0.announce.notified().await;
            tokio::time::sleep(GATHER).await;
            let queues: Vec<String> = self.0.remote.lock().drain().map(str::to_owned).collect();
            if queues.is_empty() {
                continue;
            }
            let sent = sqlx::query(
                "SELECT pg_notify('apalis::job::insert',
                     json_build_object('job_type', q, 'id', 0, 'run_at', now())::text)
                 FROM unnest($1::text[]) AS q",
            )
            .bind(&queues)
            .execute(&pool)
            .await;
            if let Err(e) = sent {
                if pool.is_closed() {
                    return;
                }
                // The workers' poll finds the jobs all the same.
                tracing::debug!(error = %e, "queue wake-up not announced");
            }
        }
    }
}

/// Notes a push to `queue` for the enclosing scope's wake-up (`queue::push_all` calls it).
pub(crate) fn pushed(queue: &'static str) {
    let _ = SCOPE.try_with(|s| s.pushed.lock().insert(queue));
}

/// The enclosing scope, for work that runs elsewhere on its behalf (the commit batcher).
pub(crate) fn scope() -> Option<Scope> {
    SCOPE.try_with(Scope::clone).ok()
}

/// Runs `work` within `scope`, so that its pushes wake their queues when that scope is done.
pub(crate) async fn within<F: Future>(scope: Option<Scope>, work: F) -> F::Output {
    match scope {
        Some(scope) => SCOPE.scope(scope, work).await,
        None => work.await,
    }
}
