//! Email providers, chosen by `EMAIL_PROVIDER`.

mod sandbox;
mod smtp;

use domain::{Config, config::EmailProviderConfig, messages::Message};
use sqlx::PgPool;

use crate::{ProviderAccepted, ProviderError};

pub enum EmailProvider {
    Sandbox(sandbox::Sandbox),
    Smtp(smtp::Smtp),
}

impl EmailProvider {
    pub fn from_config(config: &Config, pool: PgPool) -> Self {
        match &config.email.provider {
            EmailProviderConfig::Sandbox => {
                EmailProvider::Sandbox(sandbox::Sandbox::new(pool, config.clone()))
            }
            EmailProviderConfig::Smtp { url } => {
                EmailProvider::Smtp(smtp::Smtp::new(pool, config.clone(), url))
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            EmailProvider::Sandbox(_) => "sandbox",
            EmailProvider::Smtp(_) => "smtp",
        }
    }

    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        match self {
            EmailProvider::Sandbox(p) => p.send(message).await,
            EmailProvider::Smtp(p) => p.send(message).await,
        }
    }
}
