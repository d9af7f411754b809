//! Job handlers. Each is idempotent: a conditional status update guards every effect, so a job
//! that runs twice (a worker died before acknowledging it) changes nothing the second time.

use apalis::prelude::{BoxDynError, Data};
use chrono::Utc;
use domain::{
    messages::{
        self, Change, MessageError, Status, answers,
        receipts::{self, NewReceipt, ReceiptOutcome},
    },
    meters,
    queue::{self, PollStatus, ProcessInbound, ProcessReceipt, SendMessage},
};
use serde_json::json;
use tracing::{info, warn};

use crate::{JobContext, ProviderError};

/// Transient provider errors are tried this many times in all before the message fails.
pub const MAX_SEND_ATTEMPTS: i32 = 5;

fn backoff(attempt: i32) -> chrono::Duration {
    // 5 s, 10 s, 20 s, 40 s …
    chrono::Duration::seconds(5 * 2i64.pow(attempt.clamp(1, 10) as u32 - 1))
}

fn after(d: std::time::Duration) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

pub async fn send_message(job: SendMessage, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    let lease = ctx.config.send_lease;
    let configured = ctx.providers.channels();
    let Some(message) = messages::claim_for_send(&ctx.commits, &job, lease, configured).await?
    else {
        return Ok(());
    };
    let Some(provider) = ctx.providers.for_channel(message.channel) else {
        return Err(format!("no provider for the {} channel", message.channel.as_str()).into());
    };
    let started = std::time::Instant::now();
    let result = provider.send(&message).await;
    let name = provider.name();
    let outcome = match &result {
        Ok(_) => "accepted",
        Err(e) if e.transient && message.send_attempts < MAX_SEND_ATTEMPTS => "retry",
        Err(_) => "refused",
    };
    meters::provider_call(message.channel.as_str(), name, outcome, started.elapsed());
    match result {
        Ok(accepted) => {
            // What the provider said is sanitised before it is stored, so that recording SENT
            // cannot fail (and the lease rescue never sends the message again because of it).
            let answer = answers::sanitize(accepted.raw);
            let mut detail = answers::shown(name, &answer);
            let provider_message_id = accepted
                .provider_message_id
                .as_deref()
                .and_then(answers::provider_id);
            if provider_message_id.is_none()
                && let Some(d) = detail.as_object_mut()
            {
                d.insert(
                    "note".into(),
                    json!("the provider's answer held no usable message id; receipts cannot be matched to this message"),
                );
            }
            let change = Change {
                provider: Some(name.to_owned()),
                sender: accepted.sender,
                provider_message_id,
                detail: Some(detail),
                answer: Some(answer),
                ..Change::default()
            };
            let poll_at = provider.polling(&ctx.config).map(|p| after(p.after));
            messages::record_outcome(&ctx.commits, &message, Status::Sent, change, poll_at).await?;
            info!(message_id = %message.id, provider = name, "message handed to the provider");
        }
        Err(e) if e.transient && message.send_attempts < MAX_SEND_ATTEMPTS => {
            // A provider's Retry-After is the least it asks us to wait: it may lengthen the backoff,
            // never shorten it, or a throttling provider saying "1" would spend every attempt within
            // seconds.
            let ours = backoff(message.send_attempts);
            let wait = e
                .retry_after
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map_or(ours, |asked| asked.max(ours));
            let error = stored_error(&e);
            warn!(message_id = %message.id, provider = name, code = %error.code, "transient provider error; retrying");
            messages::record_retry(&ctx.commits, &message, &error, Utc::now() + wait, lease)
                .await?;
        }
        Err(e) => {
            let error = stored_error(&e);
            warn!(message_id = %message.id, provider = name, code = %error.code, "provider refused the message");
            let answer = e.raw.map(answers::sanitize);
            let change = Change {
                provider: Some(name.to_owned()),
                error: Some(error),
                detail: answer.as_ref().map(|a| answers::shown(name, a)),
                answer,
                ..Change::default()
            };
            messages::record_outcome(&ctx.commits, &message, Status::Failed, change, None).await?;
        }
    }
    Ok(())
}

/// A provider's error code and message as they may be stored.
fn stored_error(e: &ProviderError) -> MessageError {
    MessageError {
        code: answers::text(&e.code, 64),
        message: answers::text(&e.message, 1000),
    }
}

pub async fn process_receipt(
    job: ProcessReceipt,
    ctx: Data<JobContext>,
) -> Result<(), BoxDynError> {
    let outcome = receipts::process(&ctx.commits, job.receipt_id, job.attempt).await?;
    meters::receipt(match outcome {
        ReceiptOutcome::Applied => "applied",
        ReceiptOutcome::Ignored => "ignored",
        ReceiptOutcome::Duplicate => "duplicate",
        ReceiptOutcome::Note => "note",
        ReceiptOutcome::RetryAt(_) => "held",
        ReceiptOutcome::Unmatched => "unmatched",
        ReceiptOutcome::AlreadyProcessed => "already_processed",
    });
    match outcome {
        ReceiptOutcome::RetryAt(at) => {
            let mut conn = ctx.pool.acquire().await?;
            let next = ProcessReceipt {
                receipt_id: job.receipt_id,
                attempt: job.attempt + 1,
            };
            queue::push(&mut conn, next, Some(at)).await?;
        }
        outcome => info!(receipt_id = %job.receipt_id, ?outcome, "receipt processed"),
    }
    Ok(())
}

/// Asks the provider where a message still SENT stands. A final answer travels the receipt path;
/// otherwise it asks again later (doubling the wait) until the give-up time, then leaves a note.
pub async fn poll_status(job: PollStatus, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    let message = messages::get_any(&ctx.pool, job.message_id).await?;
    let Some(provider) = ctx.providers.for_channel(message.channel) else {
        return Ok(());
    };
    let name = provider.name();
    if message.status != Status::Sent || message.provider.as_deref() != Some(name) {
        return Ok(());
    }
    let Some(provider_id) = message.provider_message_id.clone() else {
        return Ok(());
    };
    let Some(polling) = provider.polling(&ctx.config) else {
        return Ok(());
    };
    let sent_at = message.sent_at.unwrap_or(message.created_at);
    let give_up_at = sent_at + chrono::Duration::from_std(polling.give_up)?;
    let polled = match provider.poll(&provider_id).await {
        None => return Ok(()),
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            warn!(message_id = %message.id, code = %e.code, "status poll failed");
            None
        }
    };
    let mut tx = ctx.pool.begin().await?;
    match polled {
        Some(p) if matches!(p.status, Some(Status::Delivered | Status::Failed)) => {
            let error = (p.status == Some(Status::Failed)).then(|| MessageError {
                code: p.error_code.clone().unwrap_or_else(|| "FAILED".into()),
                message: "the provider reported the message failed".into(),
            });
            let receipt = NewReceipt {
                channel: message.channel,
                provider: name.to_owned(),
                provider_message_id: provider_id,
                status: p.status,
                error,
                raw: json!({"poll": p.raw}),
                organization_id: None,
            };
            receipts::record(&mut tx, receipt, None).await?;
        }
        _ if Utc::now() >= give_up_at => {
            let note = json!({"reason": "status_poll_gave_up", "message": "no final status from the provider; the message stays SENT"});
            messages::add_entry(&mut tx, &message, "note", None, Some(note)).await?;
        }
        _ => {
            let wait = polling
                .after
                .saturating_mul(2u32.saturating_pow(job.attempt.min(16) + 1));
            let at = after(wait).min(give_up_at);
            queue::push(
                &mut tx,
                PollStatus {
                    message_id: message.id,
                    attempt: job.attempt + 1,
                },
                Some(at),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub async fn process_inbound(
    job: ProcessInbound,
    ctx: Data<JobContext>,
) -> Result<(), BoxDynError> {
    let outcome =
        messages::opt_outs::process_inbound(&ctx.pool, &ctx.config, job.inbound_id).await?;
    if let Some(outcome) = outcome {
        info!(inbound_id = %job.inbound_id, outcome, "inbound text processed");
    }
    Ok(())
}
