//! The worker's side of a message: claiming it for a send, and recording what the provider said.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use futures::future::BoxFuture;
use uuid::Uuid;

use super::{
    Change, Channel, Message, MessageError, Status, Transition, add_entry, load_for_claim,
    store::{Step, transition_all},
};
use crate::{
    Result,
    commits::{Batcher, Set, in_rounds},
    queue::{self, PollStatus, SendMessage},
};

/// Claims a message for the send job that names it: QUEUED → PROCESSING on the first attempt, or a
/// fresh lease on a PROCESSING message for a retry. A duplicate, stale or canceled job claims
/// nothing, nor does a job whose message is gone (its job was written with it, so it never comes
/// before it).
/// A message that must not be sent now (its channel has no provider configured, or its recipient
/// opted out of its channel after it was accepted) ends FAILED instead, and nothing is claimed.
/// The claim is committed (in a batch, through `commits`, with the other claims in flight) before
/// it is answered, so a provider is called only for a message that is durably PROCESSING.
pub async fn claim_for_send(
    commits: &Batcher,
    job: &SendMessage,
    lease: Duration,
    configured: &[Channel],
) -> Result<Option<Message>> {
    let claim = Claim {
        job: job.clone(),
        lease,
        configured: configured.to_vec(),
    };
    commits.run_in::<Claims>(claim).await
}

/// The claims of a batch, in one statement for each step whatever their number.
struct Claims;

#[derive(Clone)]
struct Claim {
    job: SendMessage,
    lease: Duration,
    configured: Vec<Channel>,
}

impl Set for Claims {
    type Item = Claim;
    type Output = Option<Message>;

    fn run_all(
        conn: &mut PgConnection,
        claims: Vec<Claim>,
    ) -> BoxFuture<'_, Result<Vec<Option<Message>>>> {
        // Two jobs of one message are claimed one after the other: the second sees the first's claim.
        Box::pin(in_rounds(
            conn,
            claims,
            |c| c.job.message_id,
            |conn, round| Box::pin(claim_round(conn, round)),
        ))
    }
}

/// Claims of distinct messages: one statement locks them all, one changes those claimed first and
/// fails those refused, and one records their events.
async fn claim_round(
    conn: &mut PgConnection,
    round: Vec<(usize, Claim)>,
) -> Result<Vec<(usize, Option<Message>)>> {
    let ids: Vec<_> = round.iter().map(|(_, c)| c.job.message_id).collect();
    let mut loaded = load_for_claim(conn, &ids).await?;
    let mut claimed = Vec::with_capacity(round.len());
    let (mut steps, mut stepped) = (Vec::new(), Vec::new());
    for (i, c) in round {
        let Some((message, opted_out)) = loaded.remove(&c.job.message_id) else {
            claimed.push((i, None));
            continue;
        };
        let claimable = if c.job.attempt == 0 {
            message.status == Status::Queued
        } else {
            message.status == Status::Processing && message.send_attempts == c.job.attempt
        };
        if !claimable {
            claimed.push((i, None));
            continue;
        }
        let provider_configured = c.configured.contains(&message.channel);
        let (to, change) = match refusal(&message, provider_configured, opted_out) {
            Some(error) => {
                let change = Change {
                    error: Some(error),
                    ..Change::default()
                };
                (Status::Failed, change)
            }
            None if c.job.attempt == 0 => {
                let change = Change {
                    claim: Some((0, c.lease)),
                    ..Change::default()
                };
                (Status::Processing, change)
            }
            None => {
                claimed.push((i, reclaim(conn, message, c.lease).await?));
                continue;
            }
        };
        stepped.push((i, to));
        steps.push(Step {
            message_id: message.id,
            channel: message.channel,
            to,
            change,
        });
    }
    for ((i, to), t) in stepped.into_iter().zip(transition_all(conn, steps).await?) {
        let message = match (to, t) {
            (Status::Processing, Transition::Applied(m)) => Some(m),
            _ => None,
        };
        claimed.push((i, message));
    }
    Ok(claimed)
}

/// A retry's claim: a fresh lease on the PROCESSING message its job found, one attempt more.
async fn reclaim(
    conn: &mut PgConnection,
    message: Message,
    lease: Duration,
) -> Result<Option<Message>> {
    let row: Option<(i32,)> = sqlx::query_as(
        "UPDATE messages SET send_attempts = send_attempts + 1, updated_at = now(),
             lease_until = now() + make_interval(secs => $3::bigint / 1000.0)
         WHERE id = $1 AND status = 'PROCESSING' AND send_attempts = $2
         RETURNING send_attempts",
    )
    .bind(message.id)
    .bind(message.send_attempts)
    .bind(lease.as_millis() as i64)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(n,)| Message {
        send_attempts: n,
        ..message
    }))
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
/// status poll when the provider can be asked later (`poll_at`), committed through `commits` with
/// the other outcomes in flight.
pub async fn record_outcome(
    commits: &Batcher,
    message: &Message,
    status: Status,
    change: Change,
    poll_at: Option<DateTime<Utc>>,
) -> Result<Transition> {
    let outcome = Outcome {
        message_id: message.id,
        channel: message.channel,
        status,
        change,
        poll_at,
    };
    commits.run_in::<Outcomes>(outcome).await
}

/// The outcomes of a batch: their status changes and first polls, one statement each.
struct Outcomes;

#[derive(Clone)]
struct Outcome {
    message_id: Uuid,
    channel: Channel,
    status: Status,
    change: Change,
    poll_at: Option<DateTime<Utc>>,
}

impl Set for Outcomes {
    type Item = Outcome;
    type Output = Transition;

    fn run_all(
        conn: &mut PgConnection,
        outcomes: Vec<Outcome>,
    ) -> BoxFuture<'_, Result<Vec<Transition>>> {
        Box::pin(async move {
            let polls: Vec<_> = outcomes.iter().map(|o| (o.message_id, o.poll_at)).collect();
            let steps = outcomes
                .into_iter()
                .map(|o| Step {
                    message_id: o.message_id,
                    channel: o.channel,
                    to: o.status,
                    change: o.change,
                })
                .collect();
            let made = transition_all(conn, steps).await?;
            let due = made
                .iter()
                .zip(polls)
                .filter_map(|(t, (message_id, at))| match (t, at) {
                    (Transition::Applied(_), Some(at)) => Some((
                        PollStatus {
                            message_id,
                            attempt: 0,
                        },
                        Some(at),
                    )),
                    _ => None,
                });
            queue::push_all(conn, due).await?;
            Ok(made)
        })
    }
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
