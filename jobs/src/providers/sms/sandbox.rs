//! The sandbox SMS provider: a provider like the others, whose outcome the recipient chooses
//! (API.md, "Sandbox providers"). It records every call in Postgres and reports receipts through
//! the same receipt path as real carriers, about a second after the send.

use chrono::Utc;
use domain::messages::{Channel, Message, MessageError, Status, receipts};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{ProviderAccepted, ProviderError};

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
        let outcome = outcome_for(&message.to);
        let provider_message_id = format!("sbx_{}", Uuid::now_v7().simple());
        let label = match outcome {
            Outcome::Refused => "refused",
            Outcome::Undelivered => "accepted, undelivered",
            Outcome::NoReceipt => "accepted, no receipt",
            Outcome::Delivered => "accepted, delivered",
        };
        let db_error = |e: domain::Error| ProviderError {
            transient: true,
            code: "SANDBOX_UNAVAILABLE".into(),
            message: format!("the sandbox could not record the call: {e}"),
            retry_after: None,
            raw: None,
        };
        let mut tx = self.pool.begin().await.map_err(|e| db_error(e.into()))?;
        sqlx::query(
            "INSERT INTO sandbox_calls (id, channel, message_id, recipient, sender, body, outcome, provider_message_id)
             VALUES ($1, 'sms', $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7())
        .bind(message.id)
        .bind(&message.to)
        .bind(sender)
        .bind(body)
        .bind(label)
        .bind((!matches!(outcome, Outcome::Refused)).then_some(&provider_message_id))
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(e.into()))?;
        let receipt = match outcome {
            Outcome::Refused => {
                tx.commit().await.map_err(|e| db_error(e.into()))?;
                return Err(ProviderError {
                    transient: false,
                    code: "SANDBOX_REFUSED".into(),
                    message: "the sandbox refuses numbers ending in 0000".into(),
                    retry_after: None,
                    raw: Some(json!({"error": "refused", "to": message.to})),
                });
            }
            Outcome::NoReceipt => None,
            Outcome::Undelivered => Some((
                Status::Failed,
                Some(MessageError {
                    code: "UNDELIV".into(),
                    message: "the sandbox handset did not accept the message".into(),
                }),
                "UNDELIV",
            )),
            Outcome::Delivered => Some((Status::Delivered, None, "DELIVRD")),
        };
        if let Some((status, error, raw_status)) = receipt {
            let raw = json!({"messageId": provider_message_id, "status": raw_status, "doneAt": Utc::now()});
            let new = receipts::NewReceipt {
                channel: Channel::Sms,
                provider: "sandbox".into(),
                provider_message_id: provider_message_id.clone(),
                status: Some(status),
                error,
                raw,
            };
            receipts::record(
                &mut tx,
                new,
                Some(Utc::now() + chrono::Duration::seconds(1)),
            )
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(|e| db_error(e.into()))?;
        Ok(ProviderAccepted {
            raw: json!({"id": provider_message_id, "status": "accepted"}),
            provider_message_id: Some(provider_message_id),
        })
    }
}
