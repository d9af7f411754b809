//! The SMS channel: what a send request must satisfy, and how it enters the shared pipeline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    Error, Errors, FieldError, PhoneNumber, Result, SenderId, SmsBody,
    idempotency::{Claim, IdempotencyKey},
    messages::{self, Channel, ListFilter, Message, NewMessage, Status},
    queue::{self, SendMessage},
    sender_ids,
};

/// `POST …/sms/send`, and each item of `…/sms/batch`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmsSend {
    /// E.164, with the leading +.
    #[schema(example = "+2348067000111")]
    pub to: Option<String>,
    /// 1 to 1,600 characters.
    pub body: Option<String>,
    /// A sender ID approved for the organization.
    pub sender_id: Option<String>,
    /// OTP or STANDARD (the default).
    pub flow: Option<String>,
    pub external_id: Option<String>,
    /// RFC 3339; up to 30 days ahead.
    pub scheduled_at: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SmsBatch {
    pub messages: Option<Vec<Value>>,
}

pub const MAX_BATCH: usize = 100;
pub const MAX_SCHEDULE_DAYS: i64 = 30;
/// The longest search text of a list's `query`.
pub const MAX_QUERY_CHARS: usize = 100;

struct ValidSms {
    to: PhoneNumber,
    body: SmsBody,
    sender_id: SenderId,
    flow: &'static str,
    external_id: Option<String>,
    scheduled_at: Option<DateTime<Utc>>,
}

fn required<'a>(
    errors: &mut Errors,
    prefix: &str,
    field: &str,
    v: &'a Option<String>,
) -> Option<&'a str> {
    match v.as_deref() {
        Some(s) => Some(s),
        None => {
            errors.add(format!("{prefix}{field}"), "is required");
            None
        }
    }
}

pub fn parse_flow(raw: &str) -> Option<&'static str> {
    ["OTP", "STANDARD"].into_iter().find(|f| *f == raw)
}

/// Parses a `scheduledAt`: RFC 3339, not in the past, at most 30 days ahead.
pub fn parse_schedule(raw: &str, now: DateTime<Utc>) -> std::result::Result<DateTime<Utc>, String> {
    let at = DateTime::parse_from_rfc3339(raw)
        .map_err(|_| "must be an RFC 3339 timestamp".to_string())?
        .with_timezone(&Utc);
    if at < now {
        return Err("must not be in the past".into());
    }
    if at > now + chrono::Duration::days(MAX_SCHEDULE_DAYS) {
        return Err(format!("must be at most {MAX_SCHEDULE_DAYS} days ahead"));
    }
    Ok(at)
}

fn validate(
    req: &SmsSend,
    prefix: &str,
    now: DateTime<Utc>,
    errors: &mut Errors,
) -> Option<ValidSms> {
    let before = errors.len();
    let field = |f: &str| format!("{prefix}{f}");
    let to = required(errors, prefix, "to", &req.to).and_then(|raw| {
        errors.take(PhoneNumber::parse(raw).map_err(|m| FieldError::new(field("to"), m)))
    });
    let body = required(errors, prefix, "body", &req.body).and_then(|raw| {
        errors.take(SmsBody::parse(raw).map_err(|m| FieldError::new(field("body"), m)))
    });
    let sender_id = required(errors, prefix, "senderId", &req.sender_id).and_then(|raw| {
        errors.take(SenderId::parse(raw).map_err(|m| FieldError::new(field("senderId"), m)))
    });
    let flow = match req.flow.as_deref() {
        None => Some("STANDARD"),
        Some(raw) => errors.take(
            parse_flow(raw)
                .ok_or_else(|| FieldError::new(field("flow"), "must be OTP or STANDARD")),
        ),
    };
    let external_id = req.external_id.as_deref().map(str::trim).map(str::to_owned);
    if external_id
        .as_deref()
        .is_some_and(|e| e.is_empty() || e.chars().count() > 255)
    {
        errors.add(field("externalId"), "must be 1 to 255 characters");
    }
    let scheduled_at = match req.scheduled_at.as_deref() {
        None => None,
        Some(raw) => errors
            .take(parse_schedule(raw, now).map_err(|m| FieldError::new(field("scheduledAt"), m))),
    };
    if errors.len() > before {
        return None;
    }
    Some(ValidSms {
        to: to?,
        body: body?,
        sender_id: sender_id?,
        flow: flow?,
        external_id,
        scheduled_at,
    })
}

impl ValidSms {
    fn into_new_message(self) -> NewMessage {
        let mut content = Map::new();
        content.insert("senderId".into(), json!(self.sender_id.as_str()));
        content.insert("flow".into(), json!(self.flow));
        content.insert("body".into(), json!(self.body.as_str()));
        content.insert("segments".into(), json!(self.body.segments()));
        content.insert("encoding".into(), json!(self.body.encoding().as_str()));
        let search_text = format!(
            "{} {} {}",
            self.to.as_str(),
            self.body.as_str(),
            self.external_id.as_deref().unwrap_or("")
        )
        .to_lowercase();
        NewMessage {
            channel: Channel::Sms,
            recipient: self.to.as_str().to_owned(),
            sender: Some(self.sender_id.as_str().to_owned()),
            category: Some(self.flow.to_owned()),
            content,
            external_id: self.external_id,
            search_text,
            scheduled_at: self.scheduled_at,
        }
    }
}

/// The answer to a send: what to return, and whether it replays an earlier one.
pub struct Accepted {
    pub status: u16,
    pub body: Value,
    pub replayed: bool,
}

/// The rules that need the database, checked for every item at once: the sender ID is approved for
/// the organization and the recipient has not opted out. Returns one error per failing item.
async fn check_rules(
    conn: &mut PgConnection,
    organization_id: Uuid,
    items: &[ValidSms],
) -> Result<Vec<(usize, FieldError)>> {
    let senders: Vec<String> = items
        .iter()
        .map(|i| i.sender_id.as_str().to_lowercase())
        .collect();
    let approved = sender_ids::approved_among(conn, organization_id, &senders).await?;
    let recipients: Vec<String> = items.iter().map(|i| i.to.as_str().to_owned()).collect();
    let opted_out: Vec<String> = sqlx::query_scalar(
        "SELECT phone_number FROM sms_opt_outs WHERE organization_id = $1 AND phone_number = ANY($2)",
    )
    .bind(organization_id)
    .bind(&recipients)
    .fetch_all(&mut *conn)
    .await?;
    let mut failures = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if !approved.contains(&senders[i]) {
            failures.push((
                i,
                FieldError {
                    field: "senderId".into(),
                    message: format!(
                        "sender ID {:?} is not approved for this organization",
                        item.sender_id.as_str()
                    ),
                    code: Some("SENDER_ID_NOT_APPROVED"),
                },
            ));
        } else if opted_out.contains(&recipients[i]) {
            failures.push((
                i,
                FieldError {
                    field: "to".into(),
                    message: "the recipient has opted out of messages from this organization"
                        .into(),
                    code: Some("RECIPIENT_OPTED_OUT"),
                },
            ));
        }
    }
    Ok(failures)
}

/// Validates, stores and enqueues SMS messages in one transaction: the messages, their first
/// timeline entries and their send jobs (due at `scheduledAt` when set). Never calls a provider.
pub async fn send(
    pool: &PgPool,
    organization_id: Uuid,
    requests: Vec<SmsSend>,
    batch: bool,
    idempotency: Option<IdempotencyKey>,
) -> Result<Accepted> {
    // A replay answers what the first request was answered, even when its body would no longer
    // pass (a `scheduledAt` that has since passed): the key is looked up before validation. A
    // fresh key's row is rolled back with the transaction when validation then fails.
    let mut tx = pool.begin().await?;
    if let Some(key) = &idempotency
        && let Claim::Replay { status, body } = key.claim(&mut tx, organization_id).await?
    {
        return Ok(Accepted {
            status,
            body,
            replayed: true,
        });
    }
    let now = Utc::now();
    let mut errors = Errors::default();
    let items: Vec<Option<ValidSms>> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let prefix = if batch {
                format!("messages[{i}].")
            } else {
                String::new()
            };
            validate(r, &prefix, now, &mut errors)
        })
        .collect();
    errors.finish()?;
    let items: Vec<ValidSms> = items.into_iter().map(|i| i.expect("validated")).collect();
    let failures = check_rules(&mut tx, organization_id, &items).await?;
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
    let schedules: Vec<Option<DateTime<Utc>>> = items.iter().map(|i| i.scheduled_at).collect();
    let created = messages::insert_queued(
        &mut tx,
        organization_id,
        items.into_iter().map(ValidSms::into_new_message).collect(),
    )
    .await?;
    queue::push_all(
        &mut tx,
        created.iter().zip(schedules).map(|(m, at)| {
            (
                SendMessage {
                    message_id: m.id,
                    attempt: 0,
                },
                at,
            )
        }),
    )
    .await?;
    let body = if batch {
        json!({ "data": created })
    } else {
        serde_json::to_value(&created[0]).expect("messages serialize")
    };
    if let Some(key) = &idempotency {
        key.store(&mut tx, organization_id, 202, &body).await?;
    }
    tx.commit().await?;
    Ok(Accepted {
        status: 202,
        body,
        replayed: false,
    })
}

/// The raw `?flow=&status=&query=&createdFrom=&createdTo=` of a message list.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    pub flow: Option<String>,
    pub status: Option<String>,
    pub query: Option<String>,
    pub created_from: Option<String>,
    pub created_to: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

pub async fn list(
    pool: &PgPool,
    organization_id: Uuid,
    q: &ListQuery,
) -> Result<crate::Paged<Message>> {
    let mut errors = Errors::default();
    let page = crate::Page::parse(&mut errors, q.page.as_deref(), q.page_size.as_deref());
    let mut filter = ListFilter::default();
    if let Some(raw) = q.flow.as_deref() {
        filter.category = errors
            .take(parse_flow(raw).ok_or_else(|| FieldError::new("flow", "must be OTP or STANDARD")))
            .map(str::to_owned);
    }
    if let Some(raw) = q.status.as_deref() {
        let allowed = Channel::Sms.statuses();
        filter.status = errors.take(
            Status::parse(raw)
                .filter(|s| allowed.contains(s))
                .ok_or_else(|| {
                    let names: Vec<_> = allowed.iter().map(|s| s.as_str()).collect();
                    FieldError::new("status", format!("must be one of {}", names.join(", ")))
                }),
        );
    }
    filter.query = q
        .query
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if filter
        .query
        .as_deref()
        .is_some_and(|t| t.chars().count() > MAX_QUERY_CHARS)
    {
        errors.add(
            "query",
            format!("must be at most {MAX_QUERY_CHARS} characters"),
        );
    }
    for (name, raw, slot) in [
        ("createdFrom", &q.created_from, &mut filter.created_from),
        ("createdTo", &q.created_to, &mut filter.created_to),
    ] {
        if let Some(raw) = raw {
            // A `+` in a query string arrives as a space.
            let fixed = raw.trim().replace(' ', "+");
            *slot = errors.take(
                DateTime::parse_from_rfc3339(&fixed)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| FieldError::new(name, "must be an RFC 3339 timestamp")),
            );
        }
    }
    errors.finish()?;
    messages::list(pool, organization_id, Channel::Sms, &filter, page).await
}
