//! Job handlers. Each is idempotent: a conditional status update guards every effect, so a job
//! that runs twice (a worker died before acknowledging it) changes nothing the second time.

use apalis::prelude::{BoxDynError, Data};
use chrono::Utc;
use domain::{
    messages::{
        self, Channel, MessageError,
        receipts::{self, ReceiptOutcome},
    },
    queue::{self, ProcessReceipt, SendMessage},
};
use tracing::{info, warn};

use crate::JobContext;

/// Transient provider errors are tried this many times in all before the message fails.
pub const MAX_SEND_ATTEMPTS: i32 = 5;

fn backoff(attempt: i32) -> chrono::Duration {
    // 5 s, 10 s, 20 s, 40 s …
    chrono::Duration::seconds(5 * 2i64.pow(attempt.clamp(1, 10) as u32 - 1))
}

pub async fn send_message(job: SendMessage, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    let lease = ctx.config.send_lease;
    let Some(message) = messages::claim_for_send(&ctx.pool, &job, lease).await? else {
        return Ok(());
    };
    let result = match message.channel {
        Channel::Sms => ctx.sms.send(&message).await,
        other => {
            return Err(format!(
                "no provider is configured for the {} channel",
                other.as_str()
            )
            .into());
        }
    };
    let provider = ctx.sms.name();
    match result {
        Ok(accepted) => {
            messages::record_sent(
                &ctx.pool,
                &message,
                provider,
                &accepted.provider_message_id,
                accepted.raw,
            )
            .await?;
            info!(message_id = %message.id, provider, "message handed to the provider");
        }
        Err(e) if e.transient && message.send_attempts < MAX_SEND_ATTEMPTS => {
            let wait = e
                .retry_after
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .unwrap_or_else(|| backoff(message.send_attempts));
            let error = MessageError {
                code: e.code,
                message: e.message,
            };
            warn!(message_id = %message.id, provider, code = %error.code, "transient provider error; retrying");
            messages::record_retry(&ctx.pool, &message, &error, Utc::now() + wait, lease).await?;
        }
        Err(e) => {
            warn!(message_id = %message.id, provider, code = %e.code, "provider refused the message");
            let error = MessageError {
                code: e.code,
                message: e.message,
            };
            messages::record_failed(&ctx.pool, &message, provider, error, e.raw).await?;
        }
    }
    Ok(())
}

pub async fn process_receipt(
    job: ProcessReceipt,
    ctx: Data<JobContext>,
) -> Result<(), BoxDynError> {
    match receipts::process(&ctx.pool, job.receipt_id, job.attempt).await? {
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
