//! The sandbox SMS provider: numbers ending 0000 are refused, 0001 undelivered, 0002 never get a
//! receipt, anything else is delivered a second after the send (`providers::sandbox` does the rest).

use chrono::Utc;
use domain::messages::{Channel, Message, MessageError, Status};
use serde_json::json;
use sqlx::PgPool;

use crate::{
    ProviderAccepted, ProviderError,
    providers::sandbox::{self, Call, Receipt},
};

pub struct Sandbox {
    pool: PgPool,
}

enum Outcome {
    Refused,
    Undelivered,
    NoReceipt,
    Delivered,
}

fn outcome_for(recipient: &str) -> Outcome {
    if recipient.ends_with("0000") {
        Outcome::Refused
    } else if recipient.ends_with("0001") {
        Outcome::Undelivered
    } else if recipient.ends_with("0002") {
        Outcome::NoReceipt
    } else {
        Outcome::Delivered
    }
}

impl Sandbox {
    pub fn new(pool: PgPool) -> Self {
        Sandbox { pool }
    }

    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        let (sender, body) = super::text_of(message);
        let outcome = outcome_for(&message.recipient);
        let (label, receipts): (_, fn(&str) -> Vec<Receipt>) = match outcome {
            Outcome::Refused => ("refused", |_| Vec::new()),
            Outcome::Undelivered => ("accepted, undelivered", |id| {
                vec![dlr(id, Status::Failed, "UNDELIV")]
            }),
            Outcome::NoReceipt => ("accepted, no receipt", |_| Vec::new()),
            Outcome::Delivered => ("accepted, delivered", |id| {
                vec![dlr(id, Status::Delivered, "DELIVRD")]
            }),
        };
        let call = Call {
            channel: Channel::Sms,
            message,
            sender,
            body,
            outcome: label,
            refused: matches!(outcome, Outcome::Refused).then_some((
                "SANDBOX_REFUSED",
                "the sandbox refuses numbers ending in 0000",
            )),
            receipts,
            answer: sandbox::accepted,
            id: sandbox::sbx_id,
        };
        sandbox::call(&self.pool, call).await
    }
}

/// A carrier-style delivery report a second after the send.
fn dlr(provider_message_id: &str, status: Status, state: &str) -> Receipt {
    let error = (status == Status::Failed).then(|| MessageError {
        code: state.into(),
        message: "the sandbox handset did not accept the message".into(),
    });
    Receipt {
        status: Some(status),
        error,
        raw: json!({"messageId": provider_message_id, "status": state, "doneAt": Utc::now()}),
        after_secs: 1,
    }
}
