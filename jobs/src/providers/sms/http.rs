//! A generic aggregator: `POST SMS_HTTP_URL` with a bearer token and `{to, from, body, reference}`
//! (our message id as the reference), answered `{messageId}`. Receipts come through the generic
//! DLR and provider routes.

use domain::messages::Message;
use serde_json::{Value, json};

use crate::{ProviderAccepted, ProviderError, http};

pub struct Http {
    pub client: reqwest::Client,
    pub url: String,
    pub token: String,
}

fn error_of(body: &Value) -> Option<(String, String)> {
    let code = body
        .get("code")
        .or_else(|| body.get("error"))
        .and_then(Value::as_str)?;
    let message = body.get("message").and_then(Value::as_str).unwrap_or(code);
    Some((code.to_owned(), message.to_owned()))
}

impl Http {
    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        let (sender, body) = super::text_of(message);
        let res = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&json!({"to": message.recipient, "from": sender, "body": body, "reference": message.id}))
            .send()
            .await
            .map_err(|e| http::unreachable("http", e))?;
        let body = http::read("http", res, error_of).await?;
        Ok(ProviderAccepted {
            provider_message_id: body
                .get("messageId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            raw: body,
            sender: None,
        })
    }
}
