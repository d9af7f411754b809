//! Twilio's Messages API: basic auth with the account SID and auth token, our status callback on
//! `/v1/webhooks/sms/twilio`, and a status fetch for polling. Twilio has no client-reference field.

use domain::{messages::Message, sms::receipts as sms_receipts};
use serde_json::Value;

use super::Polled;
use crate::{ProviderAccepted, ProviderError, http};

pub struct Twilio {
    pub client: reqwest::Client,
    pub api_base: String,
    pub account_sid: String,
    pub auth_token: String,
    pub status_callback: String,
}

fn error_of(body: &Value) -> Option<(String, String)> {
    let code = body.get("code")?;
    let code = code
        .as_i64()
        .map(|c| c.to_string())
        .or_else(|| code.as_str().map(str::to_owned))?;
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("Twilio refused the message");
    Some((format!("TWILIO_{code}"), message.to_owned()))
}

impl Twilio {
    fn messages_url(&self) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/Messages",
            self.api_base, self.account_sid
        )
    }

    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        let (sender, body) = super::text_of(message);
        let form = [
            ("To", message.recipient.as_str()),
            ("From", sender),
            ("Body", body),
            ("StatusCallback", self.status_callback.as_str()),
        ];
        let res = self
            .client
            .post(format!("{}.json", self.messages_url()))
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&form)
            .send()
            .await
            .map_err(|e| http::unreachable("twilio", e))?;
        let body = http::read("twilio", res, error_of).await?;
        Ok(ProviderAccepted {
            provider_message_id: body.get("sid").and_then(Value::as_str).map(str::to_owned),
            raw: body,
            sender: None,
        })
    }

    pub async fn poll(&self, sid: &str) -> Result<Polled, ProviderError> {
        let res = self
            .client
            .get(format!("{}/{sid}.json", self.messages_url()))
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .send()
            .await
            .map_err(|e| http::unreachable("twilio", e))?;
        let body = http::read("twilio", res, error_of).await?;
        let state = body
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let error_code = body
            .get("error_code")
            .filter(|c| !c.is_null())
            .map(|c| c.to_string().trim_matches('"').to_owned());
        Ok(Polled {
            status: sms_receipts::twilio(state),
            error_code,
            raw: body,
        })
    }
}
