//! The one accept path every channel's send and batch routes take: idempotency first, validation
//! into channel-neutral new messages, the channel's rules that need the database in one read, then
//! one statement writing the messages, their first events, their jobs and their webhook deliveries.

use std::future::Future;

use chrono::{DateTime, SubsecRound, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Channel, NewMessage, insert_queued};
use crate::{
    Config, Error, Errors, FieldError, Result,
    idempotency::{Claim, IdempotencyKey},
};

/// Messages one batch may hold.
pub const MAX_BATCH: usize = 100;
/// How far ahead `scheduledAt` may be.
pub const MAX_SCHEDULE_DAYS: i64 = 30;

/// What a channel brings to the accept path.
pub trait ChannelSend: Send + Sync + 'static {
    const CHANNEL: Channel;
    /// The list filter that picks a message's `category` (SMS: `flow`), with its allowed values.
    const CATEGORY: Option<(&'static str, &'static [&'static str])> = None;
    /// The send body as the API takes it (each item of a batch too).
    type Request: DeserializeOwned + Send + Sync;
    /// A send body that passed validation.
    type Valid: Send + Sync;

    /// Validates one send body; field errors are named with `prefix` (`messages[3].` in a batch).
    fn validate(
        request: &Self::Request,
        prefix: &str,
        now: DateTime<Utc>,
        errors: &mut Errors,
    ) -> Option<Self::Valid>;

    /// The rules that need the database, for every item at once, in one statement: one error per
    /// failing item.
    fn check_rules(
        conn: &mut PgConnection,
        config: &Config,
        organization_id: Uuid,
        items: &[Self::Valid],
    ) -> impl Future<Output = Result<Vec<(usize, FieldError)>>> + Send;

    fn into_new_message(valid: Self::Valid) -> NewMessage;
}

/// Parses a `scheduledAt`: RFC 3339, not in the past, at most 30 days ahead; kept to the
/// microsecond, as the database keeps it (the answer to a send is built before it is stored).
fn parse_schedule(raw: &str, now: DateTime<Utc>) -> std::result::Result<DateTime<Utc>, String> {
    let at = DateTime::parse_from_rfc3339(raw)
        .map_err(|_| "must be an RFC 3339 timestamp".to_string())?
        .with_timezone(&Utc)
        .trunc_subsecs(6);
    if at < now {
        return Err("must not be in the past".into());
    }
    if at > now + chrono::Duration::days(MAX_SCHEDULE_DAYS) {
        return Err(format!("must be at most {MAX_SCHEDULE_DAYS} days ahead"));
    }
    Ok(at)
}

/// Parses an `externalId`: trimmed, 1 to 255 characters.
fn parse_external_id(raw: &str) -> std::result::Result<String, String> {
    let e = raw.trim();
    if e.is_empty() || e.chars().count() > 255 || e.contains('\0') {
        return Err("must be 1 to 255 characters".into());
    }
    Ok(e.to_owned())
}

/// The optional fields every channel's send body shares, `externalId` and `scheduledAt`, validated
/// with their errors named under `prefix`.
pub fn parse_common(
    external_id: Option<&str>,
    scheduled_at: Option<&str>,
    prefix: &str,
    now: DateTime<Utc>,
    errors: &mut Errors,
) -> (Option<String>, Option<DateTime<Utc>>) {
    let field = |f: &str| format!("{prefix}{f}");
    let external_id = external_id
        .and_then(|raw| errors.required(field("externalId"), Some(raw), parse_external_id));
    let scheduled_at = scheduled_at.and_then(|raw| {
        errors.required(field("scheduledAt"), Some(raw), |r| parse_schedule(r, now))
    });
    (external_id, scheduled_at)
}

/// The answer to a send: the message (or `{data: […]}`), and whether it replays an earlier one.
pub struct Accepted {
    pub body: Value,
    pub replayed: bool,
}

/// Validates, stores and enqueues messages of channel `C`: the messages, their first timeline
/// entries, their send jobs (due at `scheduledAt` when set) and their webhook deliveries. Never
/// calls a provider. `batch` answers `{data: […]}` and names fields by item.
///
/// Without an idempotency key that is two statements and no transaction: the channel's rules in
/// one read, and every write in one statement, atomic on its own. A key adds its claim and its
/// stored answer, in one transaction with the writes.
pub async fn accept<C: ChannelSend>(
    pool: &PgPool,
    config: &Config,
    organization_id: Uuid,
    requests: Vec<C::Request>,
    batch: bool,
    idempotency: Option<IdempotencyKey>,
) -> Result<Accepted> {
    let Some(key) = idempotency else {
        let mut conn = pool.acquire().await?;
        let body =
            validate_and_insert::<C>(&mut conn, config, organization_id, &requests, batch).await?;
        return Ok(Accepted {
            body,
            replayed: false,
        });
    };
    // A replay answers what the first request was answered, even when its body would no longer
    // pass (a `scheduledAt` that has since passed): the key is looked up before validation. A
    // fresh key's row is rolled back with the transaction when validation then fails.
    let mut tx = pool.begin().await?;
    if let Claim::Replay { body } = key.claim(&mut tx, organization_id).await? {
        return Ok(Accepted {
            body,
            replayed: true,
        });
    }
    let body = validate_and_insert::<C>(&mut tx, config, organization_id, &requests, batch).await?;
    key.store(&mut tx, organization_id, &body).await?;
    tx.commit().await?;
    Ok(Accepted {
        body,
        replayed: false,
    })
}

async fn validate_and_insert<C: ChannelSend>(
    conn: &mut PgConnection,
    config: &Config,
    organization_id: Uuid,
    requests: &[C::Request],
    batch: bool,
) -> Result<Value> {
    let now = Utc::now();
    let mut errors = Errors::default();
    let items: Vec<Option<C::Valid>> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let prefix = if batch {
                format!("messages[{i}].")
            } else {
                String::new()
            };
            C::validate(r, &prefix, now, &mut errors)
        })
        .collect();
    errors.finish()?;
    let items: Vec<C::Valid> = items.into_iter().map(|i| i.expect("validated")).collect();
    let failures = C::check_rules(conn, config, organization_id, &items).await?;
    if let Some((_, first)) = failures.first() {
        if !batch {
            return Err(Error::Rule {
                code: first.code.unwrap_or("VALIDATION_ERROR"),
                message: first.message.clone(),
                field: Some(first.field.clone()),
            });
        }
        return Err(Error::Validation(
            failures
                .into_iter()
                .map(|(i, e)| FieldError {
                    field: format!("messages[{i}].{}", e.field),
                    ..e
                })
                .collect(),
        ));
    }
    let created = insert_queued(
        conn,
        organization_id,
        items.into_iter().map(C::into_new_message).collect(),
    )
    .await?;
    Ok(if batch {
        json!({ "data": created })
    } else {
        created.into_iter().next().expect("one message")
    })
}
