//! The `herald` binary's library: start-up (configuration, database, migrations, the platform
//! admin) and the roles a process can take (API, worker, scheduler, or all three).

use std::{sync::Arc, time::Duration};

use domain::{Config, wakes::Wakes};
use sqlx::PgPool;
use tokio::{net::TcpListener, sync::watch};

/// What a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub api: bool,
    pub worker: bool,
    pub scheduler: bool,
}

impl Roles {
    pub const ALL: Roles = Roles {
        api: true,
        worker: true,
        scheduler: true,
    };
    pub const API: Roles = Roles {
        api: true,
        worker: false,
        scheduler: false,
    };
    pub const WORKER: Roles = Roles {
        api: false,
        worker: true,
        scheduler: false,
    };
    pub const SCHEDULER: Roles = Roles {
        api: false,
        worker: false,
        scheduler: true,
    };
}

pub fn init_logging(config: &Config) {
    use tracing_subscriber::{EnvFilter, fmt, prelude::*};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,apalis=warn,apalis_core=warn,apalis_postgres=warn")
    });
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match config.log_format {
        domain::config::LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init(),
        domain::config::LogFormat::Text => registry.with(fmt::layer()).try_init(),
    };
}

/// Connects, creating the database when it is missing, and applies pending migrations.
pub async fn prepare_database(config: &Config) -> anyhow::Result<PgPool> {
    domain::db::create_database_if_missing(&config.database_url).await?;
    let pool = domain::db::connect(&config.database_url, config.database_pool_size).await?;
    domain::db::migrate(&pool).await?;
    let resealed = domain::sealed::reseal_all(&pool, config).await?;
    if resealed > 0 {
        tracing::info!(
            values = resealed,
            "sealed secrets re-sealed under the current key, bound to their rows"
        );
    }
    Ok(pool)
}

/// A running Herald process: its pool, and (when it serves the API) its address.
pub struct Application {
    pub pool: PgPool,
    listen_pool: PgPool,
    /// Queue wake-ups, shared by the roles of this process.
    wakes: Wakes,
    pub config: Arc<Config>,
    listener: Option<TcpListener>,
    roles: Roles,
}

impl Application {
    /// Prepares a process: database and migrations (when it serves the API), the platform admin,
    /// and its listener (bound now, so tests can use port 0 and read the port back).
    pub async fn build(config: Config, roles: Roles) -> anyhow::Result<Self> {
        let pool = if roles.api {
            prepare_database(&config).await?
        } else {
            domain::db::connect(&config.database_url, config.database_pool_size).await?
        };
        if let (Some(email), Some(password)) = (
            &config.platform_admin_email,
            &config.platform_admin_password,
        ) && roles.api
        {
            domain::identity::ensure_platform_admin(&pool, email, password).await?;
            tracing::info!("platform admin ensured");
        }
        let listener = if roles.api {
            Some(TcpListener::bind(config.bind_addr).await?)
        } else {
            None
        };
        let listen_pool = domain::db::listen_pool(&config.database_url)?;
        Ok(Application {
            pool,
            listen_pool,
            wakes: Wakes::default(),
            config: Arc::new(config),
            listener,
            roles,
        })
    }

    pub fn port(&self) -> Option<u16> {
        self.listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    /// Runs until `stop` turns true: the API stops accepting and finishes requests, workers stop
    /// taking jobs and finish running ones, the scheduler stops after its current duty. A role that
    /// stops on its own before then (the HTTP server, the worker monitor, the scheduler) is an error,
    /// so that the process exits non-zero and its supervisor restarts it.
    pub async fn run(self, stop: watch::Receiver<bool>) -> anyhow::Result<()> {
        let signal = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let mut tasks = RoleTasks::new();
        tokio::spawn(self.wakes.clone().announce(self.pool.clone()));
        if let Some(listener) = self.listener {
            let state =
                api::AppState::new(self.pool.clone(), self.config.clone(), self.wakes.clone());
            tracing::info!(addr = %listener.local_addr()?, "API listening");
            let served = api::serve(
                listener,
                state,
                self.listen_pool.clone(),
                signal(stop.clone()),
            );
            tasks.spawn(async move { ("HTTP server", served.await) });
        }
        if let Some(addr) = self.config.metrics_bind_addr {
            api::install_metrics();
            let listener = TcpListener::bind(addr).await?;
            tracing::info!(%addr, "metrics and probes listening");
            let served = api::serve_operations(listener, self.pool.clone(), signal(stop.clone()));
            tasks.spawn(async move { ("operations server", served.await) });
        }
        if self.roles.worker {
            let ctx = jobs::JobContext::new(
                self.pool.clone(),
                self.listen_pool.clone(),
                self.config.clone(),
                self.wakes.clone(),
            );
            let ran = worker::run(ctx, signal(stop.clone()));
            tasks.spawn(async move { ("worker monitor", ran.await) });
        }
        if self.roles.scheduler {
            let pool = self.pool.clone();
            let settings = scheduler::Settings::from_config(&self.config);
            let stop = signal(stop.clone());
            let wakes = self.wakes.clone();
            tasks.spawn(async move {
                scheduler::run(pool, settings, wakes, stop).await;
                ("scheduler", Ok(()))
            });
        }
        supervise(tasks, stop).await
    }
}

/// The roles of a running process, each named.
type RoleTasks = tokio::task::JoinSet<(&'static str, anyhow::Result<()>)>;

/// Waits for the roles to finish after `stop`; a role that ends before (with or without an error,
/// or by panicking) is an error, so that the process exits non-zero and is restarted.
async fn supervise(mut tasks: RoleTasks, stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    while let Some(done) = tasks.join_next().await {
        let (role, result) = done?;
        if !*stop.borrow() {
            let why = match result {
                Ok(()) => "without an error".to_owned(),
                Err(e) => format!("{e:#}"),
            };
            anyhow::bail!(
                "the {role} stopped on its own ({why}); exiting so that a supervisor restarts the process"
            );
        }
        result?;
    }
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// How long a stopping process waits for running work before it exits anyway.
pub const STOP_GRACE: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_role_that_stops_on_its_own_is_an_error() {
        let (stop_tx, stop) = watch::channel(false);
        let mut tasks = RoleTasks::new();
        tasks.spawn(async { ("scheduler", Ok(())) });
        tasks.spawn(async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            ("HTTP server", Ok(()))
        });
        let e = supervise(tasks, stop).await.unwrap_err();
        assert!(
            e.to_string().contains("the scheduler stopped on its own"),
            "{e}"
        );

        let mut tasks = RoleTasks::new();
        tasks.spawn(async { ("worker monitor", Ok(())) });
        stop_tx.send_replace(true);
        assert!(supervise(tasks, stop_tx.subscribe()).await.is_ok());

        let mut tasks = RoleTasks::new();
        tasks.spawn(async { panic!("boom") });
        let (_tx, rx) = watch::channel(false);
        assert!(
            supervise(tasks, rx).await.is_err(),
            "a panicked role stops the process"
        );
    }
}
