//! The worker's side of a message: claiming it for a send, and recording what the provider said.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use super::{
    Change, Channel, Message, MessageError, Status, Transition, add_entry, load_for_claim,
    transition,
};
use crate::{
    Result,
    commits::Batcher,
    queue::{self, PollStatus, SendMessage},
};

/// Claims a message for the send job that names it: QUEUED → PROCESSING on the first attempt, or a
/// fresh lease on a PROCESSING message for a retry. A duplicate, stale or canceled job claims nothing.
/// A message that must not be sent now (its channel has no provider configured, or its recipient
/// opted out of its channel after it was accepted) ends FAILED instead, and nothing is claimed.
/// The claim is committed (in a batch, through `commits`) before it is answered, so a provider is
/// called only for a message that is durably PROCESSING.
pub async fn claim_for_send(
    commits: &Batcher,
    job: &SendMessage,
    lease: Duration,
    configured: &[Channel],
) -> Result<Option<Message>> {
    let (job, configured) = (job.clone(), configured.to_vec());
    commits
        .run(move |conn| Box::pin(claim(conn, job.clone(), lease, configured.clone())))
        .await
}

async fn claim(
    conn: &mut PgConnection,
    job: SendMessage,
    lease: Duration,
    configured: Vec<Channel>,
) -> Result<Option<Message>> {
    let (message, opted_out) = load_for_claim(conn, job.message_id).await?;
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
        transition(conn, message.id, message.channel, Status::Failed, change).await?;
        return Ok(None);
    }
    let claimed = if job.attempt == 0 {
        let change = Change {
            claim: Some((0, lease)),
            ..Change::default()
        };
        match transition(
            conn,
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
        .fetch_optional(&mut *conn)
        .await?;
        row.map(|(n,)| Message {
            send_attempts: n,
            ..message
        })
    };
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

/// Records the provider's answer (SENT with its id, or FAILED with its error), with the first
/// status poll when the provider can be asked later (`poll_at`), committed through `commits`.
pub async fn record_outcome(
    commits: &Batcher,
    message: &Message,
    status: Status,
    change: Change,
    poll_at: Option<DateTime<Utc>>,
) -> Result<Transition> {
    let message = message.clone();
    commits
        .run(move |conn| {
            Box::pin(outcome(
                conn,
                message.clone(),
                status,
                change.clone(),
                poll_at,
            ))
        })
        .await
}

async fn outcome(
    conn: &mut PgConnection,
    message: Message,
    status: Status,
    change: Change,
    poll_at: Option<DateTime<Utc>>,
) -> Result<Transition> {
    let t = transition(conn, message.id, message.channel, status, change).await?;
    if let (Transition::Applied(_), Some(at)) = (&t, poll_at) {
        queue::push(
            conn,
            PollStatus {
                message_id: message.id,
                attempt: 0,
            },
            Some(at),
        )
        .await?;
    }
    Ok(t)
}

/// A transient provider error: the answer goes on the timeline and the send is tried again later
/// by a new job (no worker sleeps); the lease covers the wait so the scheduler does not step in.
pub async fn record_retry(
    commits: &Batcher,
    message: &Message,
    error: &MessageError,
    retry_at: DateTime<Utc>,
    lease: Duration,
) -> Result<()> {
    let (message, error) = (message.clone(), error.clone());
    commits
        .run(move |conn| Box::pin(retry(conn, message.clone(), error.clone(), retry_at, lease)))
        .await
}

async fn retry(
    conn: &mut PgConnection,
    message: Message,
    error: MessageError,
    retry_at: DateTime<Utc>,
    lease: Duration,
) -> Result<()> {
    let detail = json!({"error": error, "retryAt": retry_at, "attempt": message.send_attempts});
    add_entry(conn, &message, "provider_response", None, Some(detail)).await?;
    sqlx::query("UPDATE messages SET lease_until = $2 WHERE id = $1 AND status = 'PROCESSING'")
        .bind(message.id)
        .bind(retry_at + chrono::Duration::from_std(lease).expect("lease fits"))
        .execute(&mut *conn)
        .await?;
    queue::push(
        conn,
        SendMessage {
            message_id: message.id,
            attempt: message.send_attempts,
        },
        Some(retry_at),
    )
    .await?;
    Ok(())
}
