//! SMS providers, chosen by `SMS_PROVIDER`.

mod sandbox;

use domain::{Config, config::SmsProviderKind, messages::Message};
use sqlx::PgPool;

pub use sandbox::Sandbox;

use crate::{ProviderAccepted, ProviderError};

pub enum SmsProvider {
    Sandbox(Sandbox),
}

impl SmsProvider {
    pub fn from_config(config: &Config, pool: PgPool) -> Self {
        match config.sms_provider {
            SmsProviderKind::Sandbox => SmsProvider::Sandbox(Sandbox::new(pool)),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            SmsProvider::Sandbox(_) => "sandbox",
        }
    }

    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        match self {
            SmsProvider::Sandbox(s) => s.send(message).await,
        }
    }
}

/// The fields of an SMS message's content that providers need.
pub(crate) fn text_of(message: &Message) -> (&str, &str) {
    let get = |k: &str| {
        message
            .content
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
    };
    (get("senderId"), get("body"))
}
