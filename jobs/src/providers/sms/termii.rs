//! Termii's send API, with the sender ID as `from`; its delivery reports arrive on
//! `/v1/webhooks/sms/termii`, signed with `X-Termii-Signature`. Termii is not polled.

use domain::messages::Message;
use serde_json::{Value, json};

use crate::{ProviderAccepted, ProviderError, http};

pub struct Termii {
    pub client: reqwest::Client,
    pub api_base: String,
    pub api_key: String,
}

fn error_of(body: &Value) -> Option<(String, String)> {
    let message = body.get("message").and_then(Value::as_str)?;
    Some(("TERMII_REJECTED".into(), message.to_owned()))
}

impl Termii {
    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        let (sender, body) = super::text_of(message);
        let payload = json!({
            "api_key": self.api_key,
            // Termii takes the number without its +.
            "to": message.recipient.trim_start_matches('+'),
            "from": sender,
            "sms": body,
            "type": "plain",
            "channel": "generic",
        });
        let res = self
            .client
            .post(format!("{}/api/sms/send", self.api_base))
            .json(&payload)
            .send()
            .await
            .map_err(|e| http::unreachable("termii", e))?;
        let body = http::read("termii", res, error_of).await?;
        let id = body.get("message_id").and_then(|v| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| v.as_i64().map(|n| n.to_string()))
        });
        Ok(ProviderAccepted {
            provider_message_id: id,
            raw: body,
            sender: None,
        })
    }
}
