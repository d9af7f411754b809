//! Meta's WhatsApp Cloud API: `POST {base}/{version}/{phone_number_id}/messages` with a bearer token,
//! from the organization's own line when it has one (with its own token, else the platform's),
//! otherwise from the platform line. The answer's `messages[0].id` (the wamid) is the provider id.

use domain::{Config, messages::Message, whatsapp::lines, whatsapp::receipts as wa_receipts};
use serde_json::Value;
use sqlx::PgPool;

use crate::{ProviderAccepted, ProviderError, http};

pub struct Cloud {
    client: reqwest::Client,
    pool: PgPool,
    config: std::sync::Arc<Config>,
}

/// Meta's error codes worth trying again: throttling (4, 80007, 130429, 131048, 131056) and
/// temporary failures on Meta's side (1, 2, 131000, 131016, 133004), whatever the HTTP status.
const TRANSIENT_CODES: [&str; 10] = [
    "META_1",
    "META_2",
    "META_4",
    "META_80007",
    "META_130429",
    "META_131000",
    "META_131016",
    "META_131048",
    "META_131056",
    "META_133004",
];

fn error_of(body: &Value) -> Option<(String, String)> {
    wa_receipts::error_of(body.get("error")?).map(|e| (e.code, e.message))
}

impl Cloud {
    pub fn new(pool: PgPool, config: Config) -> Self {
        Cloud {
            client: http::client(config.whatsapp.provider_timeout),
            pool,
            config: std::sync::Arc::new(config),
        }
    }

    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        let line = lines::sending_line(&self.pool, &self.config, message.organization_id)
            .await
            .map_err(|e| {
                ProviderError::new(
                    true,
                    "WHATSAPP_LINE_UNAVAILABLE",
                    format!("the sending line could not be read: {e}"),
                )
            })?
            .ok_or_else(|| {
                ProviderError::new(
                    false,
                    "WHATSAPP_LINE_NOT_CONFIGURED",
                    "no WhatsApp line with a token is configured for this organization or the platform",
                )
            })?;
        let w = &self.config.whatsapp;
        let url = format!(
            "{}/{}/{}/messages",
            w.graph_api_base, w.graph_api_version, line.phone_number_id
        );
        let res = self
            .client
            .post(url)
            .bearer_auth(&line.access_token)
            .json(&super::graph_body(message))
            .send()
            .await
            .map_err(|e| http::unreachable("whatsapp", e))?;
        let body = http::read("whatsapp", res, error_of)
            .await
            .map_err(|mut e| {
                e.transient |= TRANSIENT_CODES.contains(&e.code.as_str());
                e
            })?;
        Ok(ProviderAccepted {
            provider_message_id: body
                .pointer("/messages/0/id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            raw: body,
            sender: Some(line.phone_number_id),
        })
    }
}
