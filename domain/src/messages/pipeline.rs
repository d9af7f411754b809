//! The worker's side of a message: claiming it for a send, and recording what the provider said.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;

use super::{
    Change, Channel, Message, MessageError, Status, Transition, add_entry, load_for_claim,
    transition,
};
use crate::{
    Result,
    queue::{self, PollStatus, SendMessage},
};

/// Claims a message for the send job that names it: QUEUED → PROCESSING on the first attempt, or a
/// fresh lease on a PROCESSING message for a retry. A duplicate, stale or canceled job claims nothing.
/// A message that must not be sent now (its channel has no provider configured, or its recipient
/// opted out of its channel after it was accepted) ends FAILED instead, and nothing is claimed.
pub async fn claim_for_send(
    pool: &PgPool,
    job: &SendMessage,
    lease: Duration,
    configured: &[Channel],
) -> Result<Option<Message>> {
    let mut tx = pool.begin().await?;
    let (message, opted_out) = load_for_claim(&mut tx, job.message_id).await?;
    let claimable = if job.attempt == 0 {
        message.status == Status::Queued
    } else {
        message.status == Status::Processing && message.send_attempts == job.attempt
    };
    if !claimable {
        return Ok(None);
    }
    let provider_configured = configured.contains(&message.channel);
    if let Some(error) = refusal(&message, provider_configured, opted_out) {
        let change = Change {
            error: Some(error),
            ..Change::default()
        };
        transition(&mut tx, message.id, message.channel, Status::Failed, change).await?;
        tx.commit().await?;
        return Ok(None);
    }
    let claimed = if job.attempt == 0 {
        let change = Change {
            claim: Some((0, lease)),
            ..Change::default()
        };
        match transition(
            &mut tx,
            job.message_id,
            message.channel,
            Status::Processing,
            change,
        )
        .await?
        {
            Transition::Applied(m) => Some(m),
            Transition::Refused(_) => None,
        }
    } else {
        let row: Option<(i32,)> = sqlx::query_as(
            "UPDATE messages SET send_attempts = send_attempts + 1, updated_at = now(),
                 lease_until = now() + make_interval(secs => $3::bigint / 1000.0)
             WHERE id = $1 AND status = 'PROCESSING' AND send_attempts = $2
             RETURNING send_attempts",
        )
        .bind(job.message_id)
        .bind(job.attempt)
        .bind(lease.as_millis() as i64)
        .fetch_optional(&mut *tx)
        .await?;
        row.map(|(n,)| Message {
            send_attempts: n,
            ..message
        })
    };
    tx.commit().await?;
    Ok(claimed)
}

/// Why a message about to be claimed must not be sent, if it must not.
fn refusal(message: &Message, provider_configured: bool, opted_out: bool) -> Option<MessageError> {
    if !provider_configured {
        return Some(MessageError {
            code: "CHANNEL_NOT_CONFIGURED".into(),
            message: format!(
                "no provider is configured for the {} channel",
                message.channel.as_str()
            ),
        });
    }
    opted_out.then(|| MessageError {
        code: "RECIPIENT_OPTED_OUT".into(),
        message:
            "the recipient opted out of messages from this organization after this one was accepted"
                .into(),
    })
}

/// Records the provider's answer (SENT with its id, or FAILED with its error) in a transaction of
/// its own, with the first status poll when the provider can be asked later (`poll_at`).
pub async fn record_outcome(
    pool: &PgPool,
    message: &Message,
    status: Status,
    change: Change,
    poll_at: Option<DateTime<Utc>>,
) -> Result<Transition> {
    let mut tx = pool.begin().await?;
    let t = transition(&mut tx, message.id, message.channel, status, change).await?;
    if let (Transition::Applied(_), Some(at)) = (&t, poll_at) {
        queue::push(
            &mut tx,
            PollStatus {
                message_id: message.id,
                attempt: 0,
            },
            Some(at),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(t)
}

/// A transient provider error: the answer goes on the timeline and the send is tried again later
/// by a new job (no worker sleeps); the lease covers the wait so the scheduler does not step in.
pub async fn record_retry(
    pool: &PgPool,
    message: &Message,
    error: &MessageError,
    retry_at: DateTime<Utc>,
    lease: Duration,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    let detail = json!({"error": error, "retryAt": retry_at, "attempt": message.send_attempts});
    add_entry(&mut tx, message, "provider_response", None, Some(detail)).await?;
    sqlx::query("UPDATE messages SET lease_until = $2 WHERE id = $1 AND status = 'PROCESSING'")
        .bind(message.id)
        .bind(retry_at + chrono::Duration::from_std(lease).expect("lease fits"))
        .execute(&mut *tx)
        .await?;
    queue::push(
        &mut tx,
        SendMessage {
            message_id: message.id,
            attempt: message.send_attempts,
        },
        Some(retry_at),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
