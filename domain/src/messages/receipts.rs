//! The one receipt path: every provider's receipts (carrier DLRs, provider callbacks, the sandbox's
//! simulated ones) are stored raw, then applied by a job through the status machine.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    Change, Channel, Message, MessageError, Status, Transition, add_entry, answers,
    load_for_receipt, transition,
};
use crate::{
    Result,
    commits::Batcher,
    queue::{self, ProcessReceipt},
};

/// A receipt as a provider reported it, already mapped to a status (None: no status, kept as a note).
pub struct NewReceipt {
    pub channel: Channel,
    pub provider: String,
    pub provider_message_id: String,
    pub status: Option<Status>,
    pub error: Option<MessageError>,
    pub raw: Value,
    /// When the provider's callback names the organization (a WhatsApp line it holds), the receipt
    /// applies to that organization's messages only.
    pub organization_id: Option<Uuid>,
}

/// How long a receipt that names no known message yet (it outran the send job) is retried.
pub const HOLD_UNMATCHED: chrono::Duration = chrono::Duration::minutes(10);

/// Stores a receipt and enqueues its processing, on the caller's connection, due at `process_at`.
pub async fn record(
    conn: &mut PgConnection,
    r: NewReceipt,
    process_at: Option<DateTime<Utc>>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    // Whatever a provider or a handset sent must be storable: no NUL, bounded sizes.
    let (code, message) = r
        .error
        .map(|e| {
            (
                Some(answers::text(&e.code, 64)),
                Some(answers::text(&e.message, 1000)),
            )
        })
        .unwrap_or((None, None));
    let provider_message_id = answers::text(&r.provider_message_id, 256);
    let raw = answers::sanitize(r.raw);
    sqlx::query(
        "INSERT INTO receipts (id, channel, provider, provider_message_id, status, error_code, error_message,
             raw, organization_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(r.channel.as_str())
    .bind(&r.provider)
    .bind(&provider_message_id)
    .bind(r.status.map(Status::as_str))
    .bind(code)
    .bind(message)
    .bind(&raw)
    .bind(r.organization_id)
    .execute(&mut *conn)
    .await?;
    queue::push(
        conn,
        ProcessReceipt {
            receipt_id: id,
            attempt: 0,
        },
        process_at,
    )
    .await?;
    Ok(id)
}

#[derive(Debug, PartialEq, Eq)]
pub enum ReceiptOutcome {
    Applied,
    /// The status machine refused it; a `receipt_ignored` entry says so.
    Ignored,
    /// The same status was already applied from an earlier receipt; nothing is added.
    Duplicate,
    /// It maps to no status; kept as a `note`.
    Note,
    /// No message has this provider id yet: try again at the given time.
    RetryAt(DateTime<Utc>),
    /// Still no message after the hold period.
    Unmatched,
    /// This receipt was processed before (a duplicate job).
    AlreadyProcessed,
}

impl ReceiptOutcome {
    fn label(&self) -> &'static str {
        match self {
            ReceiptOutcome::Applied => "applied",
            ReceiptOutcome::Ignored => "ignored",
            ReceiptOutcome::Duplicate => "duplicate",
            ReceiptOutcome::Note => "note",
            ReceiptOutcome::Unmatched => "unmatched",
            ReceiptOutcome::RetryAt(_) | ReceiptOutcome::AlreadyProcessed => "pending",
        }
    }
}

#[derive(sqlx::FromRow)]
struct ReceiptRow {
    channel: String,
    provider: String,
    provider_message_id: String,
    status: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    raw: Value,
    received_at: DateTime<Utc>,
    processed_at: Option<DateTime<Utc>>,
    organization_id: Option<Uuid>,
    /// An earlier receipt of the same provider id is still waiting to be applied.
    earlier_pending: bool,
}

/// Applies a stored receipt to its message, committed through `commits`.
pub async fn process(commits: &Batcher, receipt_id: Uuid, attempt: u32) -> Result<ReceiptOutcome> {
    commits
        .run(move |conn| Box::pin(process_in(conn, receipt_id, attempt)))
        .await
}

async fn process_in(
    conn: &mut PgConnection,
    receipt_id: Uuid,
    attempt: u32,
) -> Result<ReceiptOutcome> {
    // Receipts of one message apply in the order they arrived, though their jobs may run in any
    // order: one that has an earlier receipt still pending waits for it (within the hold period).
    let r = sqlx::query_as::<_, ReceiptRow>(
        "SELECT r.channel, r.provider, r.provider_message_id, r.status, r.error_code, r.error_message,
                r.raw, r.received_at, r.processed_at, r.organization_id,
                EXISTS (SELECT 1 FROM receipts e
                        WHERE e.provider_message_id = r.provider_message_id AND e.processed_at IS NULL
                          AND e.channel = r.channel AND e.provider = r.provider
                          AND (e.received_at, e.id) < (r.received_at, r.id)) AS earlier_pending
         FROM receipts r WHERE r.id = $1 FOR UPDATE OF r",
    )
    .bind(receipt_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = r.filter(|r| r.processed_at.is_none()) else {
        return Ok(ReceiptOutcome::AlreadyProcessed);
    };
    if r.earlier_pending && Utc::now() - r.received_at < HOLD_UNMATCHED {
        return Ok(ReceiptOutcome::RetryAt(
            Utc::now() + chrono::Duration::seconds(1),
        ));
    }
    let found = load_for_receipt(
        conn,
        &r.channel,
        &r.provider,
        &r.provider_message_id,
        r.status.as_deref(),
        receipt_id,
    )
    .await?
    .filter(|(m, _)| r.organization_id.is_none_or(|o| o == m.organization_id));
    let message_id = found.as_ref().map(|(m, _)| m.id);
    let outcome = match found {
        None if Utc::now() - r.received_at < HOLD_UNMATCHED => {
            // 1 s, 2 s, 4 s … capped at 60 s: a receipt that outran the send job is found quickly.
            let wait = 2i64.saturating_pow(attempt.min(6)).min(60);
            return Ok(ReceiptOutcome::RetryAt(
                Utc::now() + chrono::Duration::seconds(wait),
            ));
        }
        None => ReceiptOutcome::Unmatched,
        Some((message, repeat)) => apply(conn, receipt_id, message, repeat, &r).await?,
    };
    sqlx::query(
        "UPDATE receipts SET message_id = $2, outcome = $3, processed_at = now() WHERE id = $1",
    )
    .bind(receipt_id)
    .bind(message_id)
    .bind(outcome.label())
    .execute(&mut *conn)
    .await?;
    Ok(outcome)
}

/// Applies a receipt to its message (locked); `repeat`: a receipt of the same status was applied
/// to it already.
async fn apply(
    conn: &mut PgConnection,
    receipt_id: Uuid,
    message: Message,
    repeat: bool,
    r: &ReceiptRow,
) -> Result<ReceiptOutcome> {
    let message_id = message.id;
    let channel = Channel::parse(&r.channel)
        .ok_or_else(|| anyhow::anyhow!("receipt {receipt_id}: unknown channel {:?}", r.channel))?;
    let shown = answers::shown(&r.provider, &r.raw);
    let Some(raw_status) = r.status.as_deref() else {
        add_entry(
            conn,
            &message,
            "note",
            None,
            Some(json!({"receipt": shown})),
        )
        .await?;
        return Ok(ReceiptOutcome::Note);
    };
    let status = Status::parse(raw_status)
        .ok_or_else(|| anyhow::anyhow!("receipt {receipt_id}: unknown status {raw_status:?}"))?;
    if repeat || message.status == status {
        return Ok(ReceiptOutcome::Duplicate);
    }
    let change = Change {
        error: r.error_code.clone().map(|code| MessageError {
            code,
            message: r.error_message.clone().unwrap_or_default(),
        }),
        detail: Some(shown.clone()),
        answer: Some(r.raw.clone()),
        ..Change::default()
    };
    match transition(conn, message_id, channel, status, change).await? {
        Transition::Applied(_) => Ok(ReceiptOutcome::Applied),
        Transition::Refused(current) => {
            let detail = json!({
                "receivedStatus": status.as_str(),
                "currentStatus": current.status.as_str(),
                "receipt": shown,
            });
            add_entry(conn, &current, "receipt_ignored", None, Some(detail)).await?;
            Ok(ReceiptOutcome::Ignored)
        }
    }
}
