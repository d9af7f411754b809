//! What every channel's sandbox provider shares: a provider like the others, whose outcome the
//! recipient chooses (API.md, "Sandbox providers"). Each call is recorded in `sandbox_calls`, and
//! its receipts travel the same receipt path as real providers', in a transaction of its own, as
//! an outside provider's would.

use chrono::Utc;
use domain::messages::{Channel, Message, MessageError, Status, receipts};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{ProviderAccepted, ProviderError};

/// One simulated receipt: the status it reports, its error, what it says, and when it arrives
/// (seconds after the send).
pub(crate) struct Receipt {
    pub status: Option<Status>,
    pub error: Option<MessageError>,
    pub raw: Value,
    pub after_secs: i64,
}

/// A sandbox call: what was sent, and what the simulated provider does with it.
pub(crate) struct Call<'a> {
    pub channel: Channel,
    pub message: &'a Message,
    pub sender: &'a str,
    pub body: &'a str,
    pub outcome: &'static str,
    /// The provider refuses the message with this code and message.
    pub refused: Option<(&'static str, &'static str)>,
    /// The receipts it will report, given the provider id.
    pub receipts: fn(&str) -> Vec<Receipt>,
    /// What the provider answers, given its id for the message and the message.
    pub answer: fn(&str, &Message) -> Value,
    /// The provider's id for the message, given a fresh unique token.
    pub id: fn(&str) -> String,
}

/// The answer of the SMS and email sandboxes.
pub(crate) fn accepted(provider_message_id: &str, _: &Message) -> Value {
    json!({"id": provider_message_id, "status": "accepted"})
}

/// The ids of the SMS and email sandboxes.
pub(crate) fn sbx_id(token: &str) -> String {
    format!("sbx_{token}")
}

pub(crate) async fn call(pool: &PgPool, c: Call<'_>) -> Result<ProviderAccepted, ProviderError> {
    let provider_message_id = (c.id)(&Uuid::now_v7().simple().to_string());
    let db_error = |e: domain::Error| {
        ProviderError::new(
            true,
            "SANDBOX_UNAVAILABLE",
            format!("the sandbox could not record the call: {e}"),
        )
    };
    let mut tx = pool.begin().await.map_err(|e| db_error(e.into()))?;
    sqlx::query(
        "INSERT INTO sandbox_calls (id, channel, message_id, recipient, sender, body, outcome, provider_message_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(Uuid::now_v7())
    .bind(c.channel.as_str())
    .bind(c.message.id)
    .bind(&c.message.recipient)
    .bind(c.sender)
    .bind(c.body)
    .bind(c.outcome)
    .bind(c.refused.is_none().then_some(&provider_message_id))
    .execute(&mut *tx)
    .await
    .map_err(|e| db_error(e.into()))?;
    if let Some((code, message)) = c.refused {
        tx.commit().await.map_err(|e| db_error(e.into()))?;
        return Err(ProviderError::new(false, code, message)
            .with_raw(json!({"error": "refused", "to": c.message.recipient})));
    }
    for r in (c.receipts)(&provider_message_id) {
        let new = receipts::NewReceipt {
            channel: c.channel,
            provider: "sandbox".into(),
            provider_message_id: provider_message_id.clone(),
            status: r.status,
            error: r.error,
            raw: r.raw,
            organization_id: Some(c.message.organization_id),
        };
        let at = Utc::now() + chrono::Duration::seconds(r.after_secs);
        receipts::record(&mut tx, new, Some(at))
            .await
            .map_err(db_error)?;
    }
    tx.commit().await.map_err(|e| db_error(e.into()))?;
    Ok(ProviderAccepted {
        raw: (c.answer)(&provider_message_id, c.message),
        provider_message_id: Some(provider_message_id),
        sender: None,
    })
}
