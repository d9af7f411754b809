//! The one receipt path: every provider's receipts (carrier DLRs, provider callbacks, the sandbox's
//! simulated ones) are stored raw, then applied by a job through the status machine.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    Change, Channel, Message, MessageError, Status, Transition, add_entry, answers,
    load_for_receipt,
    store::{Step, Wanted, transition_all},
};
use crate::{
    Result,
    commits::{Batcher, Set, first_of_each},
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
    id: Uuid,
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
    /// An earlier receipt of the same provider id, not among those processed with this one, is
    /// still waiting to be applied.
    earlier_pending: bool,
}

/// Applies a stored receipt to its message, committed through `commits` with the other receipts
/// in flight.
pub async fn process(commits: &Batcher, receipt_id: Uuid, attempt: u32) -> Result<ReceiptOutcome> {
    commits.run_in::<Receipts>((receipt_id, attempt)).await
}

/// The receipts of a batch (their ids and attempts), applied in a few statements whatever their
/// number: one locks them all; then, for each round (the receipts of one provider id go one a
/// round, in the order they arrived, as they would one after another), one finds and locks their
/// messages, the status changes are one set, and one statement records what became of them.
struct Receipts;

impl Set for Receipts {
    type Item = (Uuid, u32);
    type Output = ReceiptOutcome;

    fn run_all(
        conn: &mut PgConnection,
        items: Vec<(Uuid, u32)>,
    ) -> BoxFuture<'_, Result<Vec<ReceiptOutcome>>> {
        Box::pin(process_all(conn, items))
    }
}

async fn process_all(
    conn: &mut PgConnection,
    items: Vec<(Uuid, u32)>,
) -> Result<Vec<ReceiptOutcome>> {
    let ids: Vec<Uuid> = items.iter().map(|(id, _)| *id).collect();
    // Receipts of one message apply in the order they arrived, though their jobs may run in any
    // order: one that has an earlier receipt still pending waits for it (within the hold period).
    let rows = sqlx::query_as::<_, ReceiptRow>(
        "SELECT r.id, r.channel, r.provider, r.provider_message_id, r.status, r.error_code,
                r.error_message, r.raw, r.received_at, r.processed_at, r.organization_id,
                EXISTS (SELECT 1 FROM receipts e
                        WHERE e.provider_message_id = r.provider_message_id AND e.processed_at IS NULL
                          AND e.channel = r.channel AND e.provider = r.provider
                          AND (e.received_at, e.id) < (r.received_at, r.id)
                          AND e.id <> ALL ($1)) AS earlier_pending
         FROM receipts r WHERE r.id = ANY ($1) ORDER BY r.id FOR UPDATE OF r",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut rows: HashMap<Uuid, ReceiptRow> = rows.into_iter().map(|r| (r.id, r)).collect();
    let mut outcomes: Vec<Option<ReceiptOutcome>> = items.iter().map(|_| None).collect();
    let mut pending = Vec::new();
    for (i, (id, attempt)) in items.into_iter().enumerate() {
        match rows.remove(&id).filter(|r| r.processed_at.is_none()) {
            Some(r) => pending.push((i, attempt, r)),
            None => outcomes[i] = Some(ReceiptOutcome::AlreadyProcessed),
        }
    }
    // One round a receipt of each provider id, earliest first; a receipt whose earlier one (in an
    // earlier round) must wait waits with it.
    pending.sort_by_key(|(_, _, r)| (r.received_at, r.id));
    let mut waiting_keys = HashSet::new();
    while !pending.is_empty() {
        let (round, later) = first_of_each(pending, |(_, _, r)| key(r));
        pending = later;
        let mut now = Vec::new();
        for (i, attempt, mut r) in round {
            r.earlier_pending |= waiting_keys.contains(&key(&r));
            if r.earlier_pending && Utc::now() - r.received_at < HOLD_UNMATCHED {
                waiting_keys.insert(key(&r));
                outcomes[i] = Some(ReceiptOutcome::RetryAt(
                    Utc::now() + chrono::Duration::seconds(1),
                ));
            } else {
                now.push((i, attempt, r));
            }
        }
        if now.is_empty() {
            continue;
        }
        for (i, outcome) in process_round(conn, now, &mut waiting_keys).await? {
            outcomes[i] = Some(outcome);
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every receipt is answered"))
        .collect())
}

/// The provider id a receipt names.
fn key(r: &ReceiptRow) -> (String, String, String) {
    (
        r.channel.clone(),
        r.provider.clone(),
        r.provider_message_id.clone(),
    )
}

/// Receipts of distinct provider ids: their messages found and locked in one statement, their
/// status changes made as one set, and what became of each recorded in one statement.
async fn process_round(
    conn: &mut PgConnection,
    round: Vec<(usize, u32, ReceiptRow)>,
    waiting_keys: &mut HashSet<(String, String, String)>,
) -> Result<Vec<(usize, ReceiptOutcome)>> {
    let wanted: Vec<_> = round
        .iter()
        .map(|(_, _, r)| Wanted {
            receipt_id: r.id,
            channel: &r.channel,
            provider: &r.provider,
            provider_message_id: &r.provider_message_id,
            status: r.status.as_deref(),
        })
        .collect();
    let mut found = load_for_receipt(conn, &wanted).await?;
    let mut outcomes = Vec::with_capacity(round.len());
    let (mut steps, mut changing) = (Vec::new(), Vec::new());
    let mut recorded = Vec::new();
    for (i, attempt, r) in round {
        let matched = found
            .remove(&r.id)
            .filter(|(m, _)| r.organization_id.is_none_or(|o| o == m.organization_id));
        let Some((message, repeat)) = matched else {
            if Utc::now() - r.received_at < HOLD_UNMATCHED {
                // 1 s, 2 s, 4 s … capped at 60 s: a receipt that outran the send job is found quickly.
                let wait = 2i64.saturating_pow(attempt.min(6)).min(60);
                waiting_keys.insert(key(&r));
                outcomes.push((
                    i,
                    ReceiptOutcome::RetryAt(Utc::now() + chrono::Duration::seconds(wait)),
                ));
            } else {
                recorded.push((r.id, None, ReceiptOutcome::Unmatched.label()));
                outcomes.push((i, ReceiptOutcome::Unmatched));
            }
            continue;
        };
        let message_id = message.id;
        let outcome = match plan(message, repeat, &r)? {
            Plan::Done(outcome) => outcome,
            Plan::Note(message, shown) => {
                let detail = json!({"receipt": shown});
                add_entry(conn, &message, "note", None, Some(detail)).await?;
                ReceiptOutcome::Note
            }
            Plan::Change(step, shown) => {
                changing.push((i, r.id, shown, step.to));
                steps.push(step);
                continue;
            }
        };
        recorded.push((r.id, Some(message_id), outcome.label()));
        outcomes.push((i, outcome));
    }
    for ((i, receipt_id, shown, status), t) in
        changing.into_iter().zip(transition_all(conn, steps).await?)
    {
        let (message_id, outcome) = match t {
            Transition::Applied(m) => (m.id, ReceiptOutcome::Applied),
            Transition::Refused(current) => {
                let detail = json!({
                    "receivedStatus": status.as_str(),
                    "currentStatus": current.status.as_str(),
                    "receipt": shown,
                });
                add_entry(conn, &current, "receipt_ignored", None, Some(detail)).await?;
                (current.id, ReceiptOutcome::Ignored)
            }
        };
        recorded.push((receipt_id, Some(message_id), outcome.label()));
        outcomes.push((i, outcome));
    }
    record_outcomes(conn, recorded).await?;
    Ok(outcomes)
}

/// What a receipt does to its message (locked); `repeat`: a receipt of the same status was applied
/// to it already.
enum Plan {
    Done(ReceiptOutcome),
    /// It maps to no status: a note on the message's timeline, with what tenants may see of it.
    Note(Message, Value),
    /// A status change, with what tenants may see of the receipt.
    Change(Step, Value),
}

fn plan(message: Message, repeat: bool, r: &ReceiptRow) -> Result<Plan> {
    let channel = Channel::parse(&r.channel)
        .ok_or_else(|| anyhow::anyhow!("receipt {}: unknown channel {:?}", r.id, r.channel))?;
    let shown = answers::shown(&r.provider, &r.raw);
    let Some(raw_status) = r.status.as_deref() else {
        return Ok(Plan::Note(message, shown));
    };
    let status = Status::parse(raw_status)
        .ok_or_else(|| anyhow::anyhow!("receipt {}: unknown status {raw_status:?}", r.id))?;
    if repeat || message.status == status {
        return Ok(Plan::Done(ReceiptOutcome::Duplicate));
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
    let step = Step {
        message_id: message.id,
        channel,
        to: status,
        change,
    };
    Ok(Plan::Change(step, shown))
}

/// Records what became of receipts (their ids, messages and outcomes' labels): one statement.
async fn record_outcomes(
    conn: &mut PgConnection,
    recorded: Vec<(Uuid, Option<Uuid>, &'static str)>,
) -> Result<()> {
    if recorded.is_empty() {
        return Ok(());
    }
    let (mut ids, mut messages, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for (id, message_id, label) in recorded {
        ids.push(id);
        messages.push(message_id);
        labels.push(label);
    }
    sqlx::query(
        "UPDATE receipts r SET message_id = u.message_id, outcome = u.outcome, processed_at = now()
         FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS u(id, message_id, outcome)
         WHERE r.id = u.id",
    )
    .bind(&ids)
    .bind(&messages)
    .bind(&labels)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
