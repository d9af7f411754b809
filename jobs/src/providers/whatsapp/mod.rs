//! WhatsApp providers, chosen by `WHATSAPP_PROVIDER`: the sandbox, and Meta's Cloud API.

mod cloud;
mod sandbox;

use domain::{Config, config::WhatsappProviderConfig, messages::Message};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{ProviderAccepted, ProviderError};

pub enum WhatsappProvider {
    Sandbox(sandbox::Sandbox),
    Cloud(cloud::Cloud),
}

impl WhatsappProvider {
    pub fn from_config(config: &Config, pool: PgPool) -> Self {
        match config.whatsapp.provider {
            WhatsappProviderConfig::Sandbox => {
                WhatsappProvider::Sandbox(sandbox::Sandbox::new(pool))
            }
            WhatsappProviderConfig::Cloud => {
                WhatsappProvider::Cloud(cloud::Cloud::new(pool, config.clone()))
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            WhatsappProvider::Sandbox(_) => WhatsappProviderConfig::Sandbox.name(),
            WhatsappProvider::Cloud(_) => WhatsappProviderConfig::Cloud.name(),
        }
    }

    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        match self {
            WhatsappProvider::Sandbox(p) => p.send(message).await,
            WhatsappProvider::Cloud(p) => p.send(message).await,
        }
    }
}

/// The Graph API's send body for a stored WhatsApp message (`to` as stored: E.164). Our message id
/// travels as `biz_opaque_callback_data`, which Meta echoes in every status of the message.
pub(crate) fn graph_body(message: &Message) -> Value {
    let c = &message.content;
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.recipient,
        "biz_opaque_callback_data": message.id.to_string(),
    });
    match c.get("type").and_then(Value::as_str) {
        Some("template") => {
            let t = c.get("template").cloned().unwrap_or_default();
            let mut template = json!({
                "name": t.get("name"),
                "language": {"code": t.get("language")},
            });
            if let Some(components) = t.get("components") {
                template["components"] = components.clone();
            }
            body["type"] = json!("template");
            body["template"] = template;
        }
        _ => {
            let t = c.get("text").cloned().unwrap_or_default();
            body["type"] = json!("text");
            body["text"] = json!({
                "preview_url": t.get("previewUrl").and_then(Value::as_bool).unwrap_or(false),
                "body": t.get("body"),
            });
        }
    }
    body
}

/// What the sandbox calls record of a message: its text, or its template's name.
pub(crate) fn summary(message: &Message) -> String {
    let c = &message.content;
    match c.get("type").and_then(Value::as_str) {
        Some("template") => format!(
            "template:{}",
            c.get("template")
                .and_then(|t| t.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default()
        ),
        _ => c
            .get("text")
            .and_then(|t| t.get("body"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    }
}
