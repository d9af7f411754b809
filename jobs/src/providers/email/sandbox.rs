//! The sandbox email provider: the first recipient's local part chooses the outcome: `bounced…`
//! bounces, `complained…` is delivered then complained about, `failed…` is refused, `noreceipt…`
//! stays SENT, anything else is delivered a second after the send.

use chrono::Utc;
use domain::{
    Config,
    email::tracking,
    messages::{Channel, Message, Status},
};
use serde_json::json;
use sqlx::PgPool;

use crate::{
    ProviderAccepted, ProviderError,
    providers::sandbox::{self, Call, Receipt},
};

pub struct Sandbox {
    pool: PgPool,
    config: Config,
}

fn event(id: &str, status: Status, event: &str, recipient: &str, after_secs: i64) -> Receipt {
    Receipt {
        status: Some(status),
        error: (status == Status::Bounced).then(|| domain::messages::MessageError {
            code: "HARD_BOUNCE".into(),
            message: "the sandbox mailbox does not exist".into(),
        }),
        raw: json!({"messageId": id, "event": event, "recipient": recipient, "occurredAt": Utc::now()}),
        after_secs,
    }
}

impl Sandbox {
    pub fn new(pool: PgPool, config: Config) -> Self {
        Sandbox { pool, config }
    }

    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        let local = message
            .recipient
            .split('@')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        // What would have been sent: the HTML with its tracking, else the text.
        let body = tracking::html_to_send(&self.config, message).unwrap_or_else(|| {
            message.content["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        });
        let sender = message
            .content
            .get("from")
            .and_then(|s| s.as_str())
            .unwrap_or("");
        let (outcome, receipts): (_, fn(&str) -> Vec<Receipt>) = if local.starts_with("bounced") {
            ("accepted, bounced", |id| {
                vec![event(id, Status::Bounced, "bounced", "", 1)]
            })
        } else if local.starts_with("complained") {
            ("accepted, delivered, complained", |id| {
                vec![
                    event(id, Status::Delivered, "delivered", "", 1),
                    event(id, Status::Complained, "complained", "", 2),
                ]
            })
        } else if local.starts_with("failed") {
            ("refused", |_| Vec::new())
        } else if local.starts_with("noreceipt") {
            ("accepted, no receipt", |_| Vec::new())
        } else {
            ("accepted, delivered", |id| {
                vec![event(id, Status::Delivered, "delivered", "", 1)]
            })
        };
        let call = Call {
            channel: Channel::Email,
            message,
            sender,
            body: &body,
            outcome,
            refused: (outcome == "refused").then_some((
                "SANDBOX_REFUSED",
                "the sandbox refuses recipients whose local part starts with failed",
            )),
            receipts,
            answer: sandbox::accepted,
            id: sandbox::sbx_id,
        };
        sandbox::call(&self.pool, call).await
    }
}
