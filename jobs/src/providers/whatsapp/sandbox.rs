//! The sandbox WhatsApp provider: it answers as the Graph API does, and reports statuses as Meta's
//! callbacks carry them. Numbers ending 0000 are refused, 0001 fail after the send, 0002 never get
//! a status, anything else is delivered a second after the send and read a second later.

use chrono::Utc;
use domain::{
    messages::{Channel, Message, Status},
    whatsapp::receipts as wa_receipts,
};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{
    ProviderAccepted, ProviderError,
    providers::sandbox::{self, Call, Receipt},
};

pub struct Sandbox {
    pool: PgPool,
}

fn digits(recipient: &str) -> &str {
    recipient.trim_start_matches('+')
}

fn answer(wamid: &str, message: &Message) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": message.recipient, "wa_id": digits(&message.recipient)}],
        "messages": [{"id": wamid}],
    })
}

fn wamid(token: &str) -> String {
    format!("wamid.sbx_{token}")
}

/// A status as Meta's callback carries it, `after_secs` after the send.
fn status(wamid: &str, state: &str, after_secs: i64) -> Receipt {
    let mut raw = json!({
        "id": wamid,
        "status": state,
        "timestamp": (Utc::now().timestamp() + after_secs).to_string(),
    });
    if state == "failed" {
        raw["errors"] = json!([{
            "code": 131026,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": {"details": "the sandbox handset cannot receive this message"},
        }]);
    }
    let status = wa_receipts::status(state);
    Receipt {
        status,
        error: (status == Some(Status::Failed))
            .then(|| raw.get("errors").and_then(wa_receipts::error_of))
            .flatten(),
        raw,
        after_secs,
    }
}

impl Sandbox {
    pub fn new(pool: PgPool) -> Self {
        Sandbox { pool }
    }

    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        let r = message.recipient.as_str();
        let (outcome, receipts): (_, fn(&str) -> Vec<Receipt>) = if r.ends_with("0000") {
            ("refused", |_| Vec::new())
        } else if r.ends_with("0001") {
            ("accepted, failed", |id| vec![status(id, "failed", 1)])
        } else if r.ends_with("0002") {
            ("accepted, no status", |_| Vec::new())
        } else {
            ("accepted, delivered, read", |id| {
                vec![status(id, "delivered", 1), status(id, "read", 2)]
            })
        };
        let body = super::summary(message);
        let call = Call {
            channel: Channel::Whatsapp,
            message,
            sender: "sandbox",
            body: &body,
            outcome,
            refused: (outcome == "refused").then_some((
                "SANDBOX_REFUSED",
                "the sandbox refuses numbers ending in 0000",
            )),
            receipts,
            answer,
            id: wamid,
        };
        sandbox::call(&self.pool, call).await
    }
}
