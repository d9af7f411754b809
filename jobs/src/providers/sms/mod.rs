//! SMS providers, chosen by `SMS_PROVIDER`.

mod http;
mod sandbox;
mod termii;
mod twilio;

use domain::{
    Config,
    config::SmsProviderConfig,
    messages::{Message, Status},
};
use sqlx::PgPool;

use crate::{ProviderAccepted, ProviderError};

pub struct SmsProvider {
    name: &'static str,
    adapter: Adapter,
}

enum Adapter {
    Sandbox(sandbox::Sandbox),
    Twilio(twilio::Twilio),
    Termii(termii::Termii),
    Http(http::Http),
}

/// What a status fetch found.
pub struct Polled {
    pub status: Option<Status>,
    pub error_code: Option<String>,
    pub raw: serde_json::Value,
}

impl SmsProvider {
    pub fn from_config(config: &Config, pool: PgPool) -> Self {
        let client = || crate::http::client(config.sms.provider_timeout);
        let adapter = match &config.sms.provider {
            SmsProviderConfig::Sandbox => Adapter::Sandbox(sandbox::Sandbox::new(pool)),
            SmsProviderConfig::Twilio {
                api_base,
                account_sid,
                auth_token,
            } => Adapter::Twilio(twilio::Twilio {
                client: client(),
                api_base: api_base.clone(),
                account_sid: account_sid.clone(),
                auth_token: auth_token.clone(),
                status_callback: format!("{}/v1/webhooks/sms/twilio", config.public_base_url),
            }),
            SmsProviderConfig::Termii {
                api_base, api_key, ..
            } => Adapter::Termii(termii::Termii {
                client: client(),
                api_base: api_base.clone(),
                api_key: api_key.clone(),
            }),
            SmsProviderConfig::Http { url, token } => Adapter::Http(http::Http {
                client: client(),
                url: url.clone(),
                token: token.clone(),
            }),
        };
        SmsProvider {
            name: config.sms.provider.name(),
            adapter,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        match &self.adapter {
            Adapter::Sandbox(p) => p.send(message).await,
            Adapter::Twilio(p) => p.send(message).await,
            Adapter::Termii(p) => p.send(message).await,
            Adapter::Http(p) => p.send(message).await,
        }
    }

    /// Whether the provider can be asked where a message stands.
    pub fn can_poll(&self) -> bool {
        matches!(self.adapter, Adapter::Twilio(_))
    }

    pub async fn poll(&self, provider_message_id: &str) -> Option<Result<Polled, ProviderError>> {
        match &self.adapter {
            Adapter::Twilio(p) => Some(p.poll(provider_message_id).await),
            _ => None,
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
