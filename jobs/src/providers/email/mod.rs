//! Email providers, chosen by `EMAIL_PROVIDER`.

mod sandbox;

use domain::{Config, config::EmailProviderConfig, messages::Message};
use sqlx::PgPool;

use crate::{ProviderAccepted, ProviderError};

pub enum EmailProvider {
    Sandbox(sandbox::Sandbox),
}

impl EmailProvider {
    pub fn from_config(config: &Config, pool: PgPool) -> Self {
        match config.email.provider {
            EmailProviderConfig::Sandbox => {
                EmailProvider::Sandbox(sandbox::Sandbox::new(pool, config.clone()))
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            EmailProvider::Sandbox(_) => "sandbox",
        }
    }

    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        match self {
            EmailProvider::Sandbox(p) => p.send(message).await,
        }
    }
}
