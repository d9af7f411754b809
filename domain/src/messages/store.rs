//! The `messages` store and the one function through which every status change goes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::{Channel, Status};
use crate::{Error, Page, Paged, Result, webhooks::OutEvent};

/// A message as the API shows it: the fields every channel shares, then the channel's own.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: Uuid,
    pub channel: Channel,
    pub status: Status,
    /// The channel's recipients as the API shows them: a phone number (SMS, WhatsApp), a list of
    /// addresses (email).
    pub to: Value,
    pub external_id: Option<String>,
    pub provider_message_id: Option<String>,
    pub error: Option<MessageError>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub scheduled_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub content: Map<String, Value>,
    #[serde(skip)]
    pub organization_id: Uuid,
    #[serde(skip)]
    pub provider: Option<String>,
    #[serde(skip)]
    pub send_attempts: i32,
    #[serde(skip)]
    pub sent_at: Option<DateTime<Utc>>,
    /// The one recipient the pipeline routes by (an SMS's number; an email's first address).
    #[serde(skip)]
    pub recipient: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MessageError {
    pub code: String,
    pub message: String,
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: Uuid,
    organization_id: Uuid,
    channel: String,
    status: String,
    recipient: String,
    content: sqlx::types::Json<Map<String, Value>>,
    external_id: Option<String>,
    provider: Option<String>,
    provider_message_id: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    scheduled_at: Option<DateTime<Utc>>,
    send_attempts: i32,
    sent_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, organization_id, channel, status, recipient, content, \
    external_id, provider, provider_message_id, error_code, error_message, scheduled_at, send_attempts, \
    sent_at, created_at, updated_at";

impl TryFrom<MessageRow> for Message {
    type Error = Error;

    /// A stored channel or status that this code does not know is an error, never coerced.
    fn try_from(r: MessageRow) -> Result<Self> {
        let channel = Channel::parse(&r.channel)
            .ok_or_else(|| anyhow::anyhow!("message {}: unknown channel {:?}", r.id, r.channel))?;
        let status = Status::parse(&r.status)
            .ok_or_else(|| anyhow::anyhow!("message {}: unknown status {:?}", r.id, r.status))?;
        // A channel with several recipients keeps them in its content under `to`; they are shown
        // there once, as `to`.
        let mut content = r.content.0;
        let to = content
            .remove("to")
            .unwrap_or_else(|| Value::String(r.recipient.clone()));
        Ok(Message {
            id: r.id,
            channel,
            status,
            to,
            recipient: r.recipient,
            external_id: r.external_id,
            provider_message_id: r.provider_message_id,
            error: r.error_code.map(|code| MessageError {
                code,
                message: r.error_message.unwrap_or_default(),
            }),
            created_at: r.created_at,
            updated_at: r.updated_at,
            scheduled_at: r.scheduled_at,
            content,
            organization_id: r.organization_id,
            provider: r.provider,
            send_attempts: r.send_attempts,
            sent_at: r.sent_at,
        })
    }
}

fn messages_of(rows: Vec<MessageRow>) -> Result<Vec<Message>> {
    rows.into_iter().map(Message::try_from).collect()
}

/// A message ready to be stored (validated by its channel's module).
pub struct NewMessage {
    pub channel: Channel,
    pub recipient: String,
    pub sender: Option<String>,
    pub category: Option<String>,
    pub content: Map<String, Value>,
    pub external_id: Option<String>,
    pub search_text: String,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// What delivery needs but the API never shows (an email's attachments).
    pub private_content: Option<Value>,
}

/// Inserts messages as QUEUED with their first timeline entries: one multi-row insert per table.
pub async fn insert_queued(
    conn: &mut PgConnection,
    organization_id: Uuid,
    items: Vec<NewMessage>,
) -> Result<Vec<Message>> {
    let now = Utc::now();
    let n = items.len();
    let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    let mut channel = Vec::with_capacity(n);
    let mut recipient = Vec::with_capacity(n);
    let mut sender = Vec::with_capacity(n);
    let mut category = Vec::with_capacity(n);
    let mut content = Vec::with_capacity(n);
    let mut external_id = Vec::with_capacity(n);
    let mut search = Vec::with_capacity(n);
    let mut scheduled = Vec::with_capacity(n);
    let mut private = Vec::with_capacity(n);
    let mut event_types = Vec::with_capacity(n);
    for m in items {
        event_types.push(m.channel.event_type(Status::Queued));
        channel.push(m.channel.as_str());
        recipient.push(m.recipient);
        sender.push(m.sender);
        category.push(m.category);
        content.push(Value::Object(m.content));
        external_id.push(m.external_id);
        search.push(m.search_text);
        scheduled.push(m.scheduled_at);
        private.push(m.private_content);
    }
    let rows = sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO messages (id, organization_id, channel, status, recipient, sender, category, content,
             external_id, search_text, scheduled_at, private_content, created_at, updated_at)
         SELECT id, $2, channel, 'QUEUED', recipient, sender, category, content, external_id, search_text,
             scheduled_at, private_content, $11, $11
         FROM unnest($1::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[],
             $9::text[], $10::timestamptz[], $12::jsonb[])
             AS t(id, channel, recipient, sender, category, content, external_id, search_text, scheduled_at,
                  private_content)
         RETURNING {MESSAGE_COLUMNS}"
    )))
    .bind(&ids)
    .bind(organization_id)
    .bind(&channel)
    .bind(&recipient)
    .bind(&sender)
    .bind(&category)
    .bind(&content)
    .bind(&external_id)
    .bind(&search)
    .bind(&scheduled)
    .bind(now)
    .bind(&private)
    .fetch_all(&mut *conn)
    .await?;
    let event_ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    sqlx::query(
        "INSERT INTO events (id, organization_id, message_id, type, status, occurred_at)
         SELECT id, $2, message_id, type, 'QUEUED', $5
         FROM unnest($1::uuid[], $3::uuid[], $4::text[]) AS t(id, message_id, type)",
    )
    .bind(&event_ids)
    .bind(organization_id)
    .bind(&ids)
    .bind(&event_types)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    // RETURNING does not promise the input order; callers answer in request order.
    let mut by_id: std::collections::HashMap<Uuid, Message> =
        messages_of(rows)?.into_iter().map(|m| (m.id, m)).collect();
    let messages: Vec<Message> = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    let out: Vec<OutEvent> = messages
        .iter()
        .zip(&event_ids)
        .zip(&event_types)
        .map(|((m, id), t)| {
            let data = serde_json::to_value(m).expect("messages serialize");
            OutEvent::new(*id, t, now, organization_id, &data)
        })
        .collect();
    crate::webhooks::fan_out(conn, organization_id, &out).await?;
    Ok(messages)
}

/// What a status change carries besides the new status.
#[derive(Default)]
pub struct Change {
    pub provider: Option<String>,
    /// Where the provider sent from, when it chose (a WhatsApp line).
    pub sender: Option<String>,
    pub provider_message_id: Option<String>,
    pub error: Option<MessageError>,
    /// Kept on the timeline entry: what tenants may see of the provider's answer where there is one.
    pub detail: Option<Value>,
    /// The provider's whole (sanitised) answer, kept for operators only.
    pub answer: Option<Value>,
    /// A send job's claim: the message's `send_attempts` it expects, and how long its lease lasts.
    pub claim: Option<(i32, std::time::Duration)>,
    /// For a tenant's own request: the change applies only within this organization.
    pub organization_id: Option<Uuid>,
}

pub enum Transition {
    Applied(Message),
    /// The status machine does not allow the change from the message's current status.
    Refused(Message),
}

/// Every status change goes through here, on the caller's transaction: the conditional update that
/// the status machine allows, and the timeline entry whose id is the event's (and webhook's) id.
pub async fn transition(
    conn: &mut PgConnection,
    message_id: Uuid,
    channel: Channel,
    to: Status,
    change: Change,
) -> Result<Transition> {
    let sources = channel.sources_of(to);
    let (code, text) = change
        .error
        .map(|e| (Some(e.code), Some(e.message)))
        .unwrap_or((None, None));
    let (expected_attempts, lease_ms) = match change.claim {
        Some((n, lease)) => (Some(n), Some(lease.as_millis() as i64)),
        None => (None, None),
    };
    let updated = sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE messages SET status = $3, updated_at = now(),
             provider = coalesce($4, provider),
             sender = coalesce($12, sender),
             provider_message_id = coalesce($5, provider_message_id),
             error_code = coalesce($6, error_code),
             error_message = coalesce($7, error_message),
             send_attempts = send_attempts + CASE WHEN $9::int IS NULL THEN 0 ELSE 1 END,
             sent_at = CASE WHEN $3 = 'SENT' THEN now() ELSE sent_at END,
             lease_until = CASE WHEN $10::bigint IS NULL THEN NULL
                                ELSE now() + make_interval(secs => $10::bigint / 1000.0) END
         WHERE id = $1 AND channel = $2 AND status = ANY($8)
           AND ($9::int IS NULL OR send_attempts = $9)
           AND ($11::uuid IS NULL OR organization_id = $11)
         RETURNING {MESSAGE_COLUMNS}"
    )))
    .bind(message_id)
    .bind(channel.as_str())
    .bind(to.as_str())
    .bind(change.provider)
    .bind(change.provider_message_id)
    .bind(code)
    .bind(text)
    .bind(&sources)
    .bind(expected_attempts)
    .bind(lease_ms)
    .bind(change.organization_id)
    .bind(change.sender)
    // Planned for each call, never from a cached generic plan: a plan cached while the table was
    // nearly empty took the (channel, recipient, sender) index for `channel = $2` and read every
    // message of the channel on each change (measured: a thousand million index reads in one
    // benchmark run, 40 ms a change).
    .persistent(false)
    .fetch_optional(&mut *conn)
    .await?;
    match updated {
        Some(row) => {
            let message = Message::try_from(row)?;
            crate::channels::after_status_change(conn, &message, change.detail.as_ref()).await?;
            let data = serde_json::to_value(&message).expect("messages serialize");
            crate::events::publish(
                conn,
                crate::events::Entry {
                    organization_id: message.organization_id,
                    message_id: Some(message.id),
                    event_type: &channel.event_type(to),
                    status: Some(to.as_str()),
                    detail: change.detail,
                    provider_answer: change.answer,
                },
                &data,
            )
            .await?;
            Ok(Transition::Applied(message))
        }
        None => Ok(Transition::Refused(load(conn, message_id).await?)),
    }
}

/// Counts an open or a click (`kind` is `opened` or `clicked`) on an email message: `opens` or
/// `clicks` goes up by one, and `openedAt` or `clickedAt` is set by the first. Returns the message
/// and whether this was the first of its kind; None when there is no such email message.
pub async fn record_engagement(
    conn: &mut PgConnection,
    message_id: Uuid,
    kind: &str,
) -> Result<Option<(Message, bool)>> {
    let (count, at) = match kind {
        "opened" => ("opens", "openedAt"),
        _ => ("clicks", "clickedAt"),
    };
    #[derive(sqlx::FromRow)]
    struct Row {
        first: bool,
        #[sqlx(flatten)]
        message: MessageRow,
    }
    let row = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "WITH old AS (
             SELECT id, content ->> $3 IS NULL AS first FROM messages
             WHERE id = $1 AND channel = 'email' FOR UPDATE)
         UPDATE messages m SET updated_at = now(),
             content = m.content || jsonb_build_object(
                 $2::text, coalesce((m.content ->> $2)::int, 0) + 1,
                 $3::text, CASE WHEN old.first THEN to_jsonb(now()) ELSE m.content -> $3 END)
         FROM old WHERE m.id = old.id
         RETURNING old.first, {}",
        MESSAGE_COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
    .bind(message_id)
    .bind(count)
    .bind(at)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((Message::try_from(r.message)?, r.first)))
        .transpose()
}

/// Adds a timeline entry (a status change's event, or a `note`, `provider_response`, `receipt_ignored`).
pub async fn add_entry(
    conn: &mut PgConnection,
    message: &Message,
    entry_type: &str,
    status: Option<Status>,
    detail: Option<Value>,
) -> Result<Uuid> {
    let recorded = crate::events::record(
        conn,
        crate::events::Entry {
            organization_id: message.organization_id,
            message_id: Some(message.id),
            event_type: entry_type,
            status: status.map(Status::as_str),
            detail,
            provider_answer: None,
        },
    )
    .await?;
    Ok(recorded.id)
}

/// An organization's latest message of `channel` to `recipient` (where a handset's reply is noted).
pub(crate) async fn latest_to(
    conn: &mut PgConnection,
    organization_id: Uuid,
    channel: Channel,
    recipient: &str,
) -> Result<Option<Message>> {
    sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE channel = $1 AND recipient = $2 AND organization_id = $3
         ORDER BY created_at DESC LIMIT 1"
    )))
    .bind(channel.as_str())
    .bind(recipient)
    .bind(organization_id)
    .fetch_optional(&mut *conn)
    .await?
    .map(Message::try_from)
    .transpose()
}

pub async fn load_for_update(conn: &mut PgConnection, message_id: Uuid) -> Result<Message> {
    sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1 FOR UPDATE"
    )))
    .bind(message_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound)?
    .try_into()
}

/// A message by id, whatever its organization (for workers, which act on behalf of all of them).
pub async fn get_any(pool: &PgPool, message_id: Uuid) -> Result<Message> {
    let mut conn = pool.acquire().await?;
    load(&mut conn, message_id).await
}

pub(crate) async fn load(conn: &mut PgConnection, message_id: Uuid) -> Result<Message> {
    sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"
    )))
    .bind(message_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound)?
    .try_into()
}

pub async fn get(
    pool: &PgPool,
    organization_id: Uuid,
    channel: Channel,
    id: Uuid,
) -> Result<Message> {
    sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1 AND organization_id = $2 AND channel = $3"
    )))
    .bind(id)
    .bind(organization_id)
    .bind(channel.as_str())
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound)?
    .try_into()
}

/// The filters of a message list, already validated.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub status: Option<Status>,
    pub category: Option<String>,
    pub query: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

fn push_filters(
    q: &mut QueryBuilder<Postgres>,
    organization_id: Uuid,
    channel: Channel,
    f: &ListFilter,
) {
    q.push(" WHERE organization_id = ")
        .push_bind(organization_id)
        .push(" AND channel = ")
        .push_bind(channel.as_str());
    if let Some(s) = f.status {
        q.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(c) = &f.category {
        q.push(" AND category = ").push_bind(c);
    }
    if let Some(text) = &f.query {
        let escaped = text
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        q.push(" AND search_text LIKE ")
            .push_bind(format!("%{escaped}%"));
    }
    if let Some(t) = f.created_from {
        q.push(" AND created_at >= ").push_bind(t);
    }
    if let Some(t) = f.created_to {
        q.push(" AND created_at <= ").push_bind(t);
    }
}

/// The page query of a message list; `prefix` lets tests `EXPLAIN` exactly what the API runs.
pub fn list_query(
    prefix: &str,
    organization_id: Uuid,
    channel: Channel,
    filter: &ListFilter,
    page: Page,
) -> QueryBuilder<Postgres> {
    let mut q = QueryBuilder::new(format!("{prefix}SELECT {MESSAGE_COLUMNS} FROM messages"));
    push_filters(&mut q, organization_id, channel, filter);
    q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(page.limit())
        .push(" OFFSET ")
        .push_bind(page.offset());
    q
}

pub async fn list(
    pool: &PgPool,
    organization_id: Uuid,
    channel: Channel,
    filter: &ListFilter,
    page: Page,
) -> Result<Paged<Message>> {
    let mut count = QueryBuilder::new("SELECT count(*) FROM messages");
    push_filters(&mut count, organization_id, channel, filter);
    let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
    let mut q = list_query("", organization_id, channel, filter, page);
    let rows = q.build_query_as::<MessageRow>().fetch_all(pool).await?;
    Ok(page.wrap(messages_of(rows)?, total))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub id: Uuid,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub entry_type: String,
    pub status: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub detail: Option<Value>,
}

pub async fn timeline(
    pool: &PgPool,
    organization_id: Uuid,
    channel: Channel,
    id: Uuid,
) -> Result<Vec<TimelineEntry>> {
    get(pool, organization_id, channel, id).await?;
    Ok(sqlx::query_as::<_, TimelineEntry>(
        "SELECT id, type, status, occurred_at, detail FROM events
         WHERE message_id = $1 AND organization_id = $2 ORDER BY occurred_at, id",
    )
    .bind(id)
    .bind(organization_id)
    .fetch_all(pool)
    .await?)
}

/// Cancels a message that is still QUEUED (typically scheduled); its send job then finds nothing to do.
pub async fn cancel(
    pool: &PgPool,
    organization_id: Uuid,
    channel: Channel,
    id: Uuid,
) -> Result<Message> {
    get(pool, organization_id, channel, id).await?;
    let mut tx = pool.begin().await?;
    let change = Change {
        organization_id: Some(organization_id),
        ..Change::default()
    };
    match transition(&mut tx, id, channel, Status::Canceled, change).await? {
        Transition::Applied(m) => {
            tx.commit().await?;
            Ok(m)
        }
        Transition::Refused(m) => Err(Error::conflict(format!(
            "only a QUEUED message can be canceled; this one is {}",
            m.status.as_str()
        ))),
    }
}
