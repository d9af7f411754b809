//! The job handlers and the provider adapters they call.

mod handlers;
mod http;
pub mod providers;
mod webhooks;

use std::sync::Arc;

use domain::{Config, commits::Batcher, wakes::Wakes};
use sqlx::PgPool;

pub use handlers::{poll_status, process_inbound, process_receipt, send_message};
pub use webhooks::deliver_webhook;

/// What every handler needs, shared by all of a process's workers.
#[derive(Clone)]
pub struct JobContext {
    pub pool: PgPool,
    /// Connections held by the queue's LISTEN wake-ups.
    pub listen_pool: PgPool,
    pub config: Arc<Config>,
    pub providers: Arc<providers::Providers>,
    pub webhooks: Arc<webhooks::WebhookSender>,
    /// This process's queue wake-ups.
    pub wakes: Wakes,
    /// Where send and webhook claims, outcomes, attempt records and receipt applications are
    /// committed, in batches.
    pub commits: Batcher,
}

impl JobContext {
    pub fn new(pool: PgPool, listen_pool: PgPool, config: Arc<Config>, wakes: Wakes) -> Self {
        let providers = Arc::new(providers::Providers::from_config(&config, pool.clone()));
        let webhooks = Arc::new(webhooks::WebhookSender::new(&config));
        let commits = Batcher::start(pool.clone());
        JobContext {
            pool,
            listen_pool,
            config,
            providers,
            webhooks,
            wakes,
            commits,
        }
    }
}

/// A provider's refusal: transient ones (time-outs, 5xx, 429) are retried later, permanent ones fail
/// the message at once.
#[derive(Debug, Clone)]
pub struct ProviderError {
    pub transient: bool,
    pub code: String,
    pub message: String,
    pub retry_after: Option<std::time::Duration>,
    pub raw: Option<serde_json::Value>,
}

impl ProviderError {
    /// A failure without a provider answer to keep; transient ones are tried again later.
    pub fn new(transient: bool, code: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError {
            transient,
            code: code.into(),
            message: message.into(),
            retry_after: None,
            raw: None,
        }
    }

    /// The same failure, with what the provider answered.
    pub fn with_raw(self, raw: serde_json::Value) -> Self {
        ProviderError {
            raw: Some(raw),
            ..self
        }
    }
}

/// A provider's acceptance: its id for the message (None when its answer lacked one: the provider
/// took the message all the same, so it is SENT, never sent again), and what it answered.
#[derive(Debug, Clone)]
pub struct ProviderAccepted {
    pub provider_message_id: Option<String>,
    pub raw: serde_json::Value,
    /// Where it was sent from, when the provider chose (a WhatsApp line).
    pub sender: Option<String>,
}
