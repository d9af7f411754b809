//! The `messages` store and the one function through which every status change goes.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::{Channel, Status};
use crate::{
    Error, Page, Paged, Result,
    commits::in_rounds,
    queue::{self, DeliverWebhook, SendMessage},
    webhooks::OutEvent,
};

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
        let mut content = r.content.0;
        let to = shown_to(&mut content, &r.recipient);
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

/// A channel with several recipients keeps them in its content under `to`; they are shown there
/// once, as `to`.
fn shown_to(content: &mut Map<String, Value>, recipient: &str) -> Value {
    content
        .remove("to")
        .unwrap_or_else(|| Value::String(recipient.to_owned()))
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

/// Inserts messages as QUEUED, in one statement that needs no transaction around it: the messages,
/// their first timeline entries, their send jobs (due at `scheduledAt` when set) and their webhook
/// deliveries with those deliveries' jobs. Returns the messages as the API shows them, built here
/// once for the answer and the webhooks alike, which is what the statement stores (times in the
/// database's microseconds).
pub async fn insert_queued(
    conn: &mut PgConnection,
    organization_id: Uuid,
    items: Vec<NewMessage>,
) -> Result<Vec<Value>> {
    let now = Utc::now().trunc_subsecs(6);
    let n = items.len();
    let mut ids = Vec::with_capacity(n);
    let mut channel = Vec::with_capacity(n);
    let mut recipient = Vec::with_capacity(n);
    let mut sender = Vec::with_capacity(n);
    let mut category = Vec::with_capacity(n);
    let mut content = Vec::with_capacity(n);
    let mut external_id = Vec::with_capacity(n);
    let mut search = Vec::with_capacity(n);
    let mut scheduled = Vec::with_capacity(n);
    let mut private = Vec::with_capacity(n);
    let mut event_ids = Vec::with_capacity(n);
    let mut event_types = Vec::with_capacity(n);
    let mut payloads = Vec::with_capacity(n);
    let mut messages = Vec::with_capacity(n);
    for m in items {
        let id = Uuid::now_v7();
        let event_id = Uuid::now_v7();
        let event_type = m.channel.event_type(Status::Queued);
        let mut shown = m.content.clone();
        let message = Message {
            id,
            channel: m.channel,
            status: Status::Queued,
            to: shown_to(&mut shown, &m.recipient),
            external_id: m.external_id.clone(),
            provider_message_id: None,
            error: None,
            created_at: now,
            updated_at: now,
            scheduled_at: m.scheduled_at,
            content: shown,
            organization_id,
            provider: None,
            send_attempts: 0,
            sent_at: None,
            recipient: m.recipient.clone(),
        };
        let data = serde_json::to_value(&message).expect("messages serialize");
        payloads.push(OutEvent::new(event_id, &event_type, now, organization_id, &data).payload);
        ids.push(id);
        event_ids.push(event_id);
        event_types.push(event_type);
        channel.push(m.channel.as_str());
        recipient.push(m.recipient);
        sender.push(m.sender);
        category.push(m.category);
        content.push(Value::Object(m.content));
        external_id.push(m.external_id);
        search.push(m.search_text);
        scheduled.push(m.scheduled_at);
        private.push(m.private_content);
        messages.push(data);
    }
    let jobs = queue::job_rows(ids.iter().map(|id| SendMessage {
        message_id: *id,
        attempt: 0,
    }));
    let deliveries: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "WITH messages_in AS (
             INSERT INTO messages (id, organization_id, channel, status, recipient, sender, category, content,
                 external_id, search_text, scheduled_at, private_content, created_at, updated_at)
             SELECT id, $2, channel, 'QUEUED', recipient, sender, category, content, external_id, search_text,
                 scheduled_at, private_content, $11, $11
             FROM unnest($1::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[],
                 $9::text[], $10::timestamptz[], $12::jsonb[])
                 AS t(id, channel, recipient, sender, category, content, external_id, search_text, scheduled_at,
                      private_content)
         ),
         events_in AS (
             INSERT INTO events (id, organization_id, message_id, type, status, occurred_at)
             SELECT id, $2, message_id, type, 'QUEUED', $11
             FROM unnest($13::uuid[], $1::uuid[], $14::text[]) AS t(id, message_id, type)
         ),
         jobs_in AS ({}),
         {}
         SELECT count(*) FROM fanned",
        queue::insert_sql::<SendMessage>(
            "SELECT * FROM unnest($16::text[], $17::bytea[], $10::timestamptz[])"
        ),
        crate::webhooks::fan_out_sql(
            "array_fill($2::uuid, ARRAY[cardinality($13::uuid[])])",
            "$13::uuid[]",
            "$14::text[]",
            "$15::text[]"
        ),
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
    .bind(&event_ids)
    .bind(&event_types)
    .bind(&payloads)
    .bind(&jobs.ids)
    .bind(&jobs.payloads)
    .fetch_one(&mut *conn)
    .await?;
    queue::pushed::<SendMessage>();
    if deliveries > 0 {
        queue::pushed::<DeliverWebhook>();
    }
    Ok(messages)
}

/// What a status change carries besides the new status.
#[derive(Clone, Default)]
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

/// One status change asked of `transition_all`.
pub struct Step {
    pub message_id: Uuid,
    pub channel: Channel,
    pub to: Status,
    pub change: Change,
}

/// A status change on the caller's transaction (`transition_all` of one).
pub async fn transition(
    conn: &mut PgConnection,
    message_id: Uuid,
    channel: Channel,
    to: Status,
    change: Change,
) -> Result<Transition> {
    let step = Step {
        message_id,
        channel,
        to,
        change,
    };
    Ok(transition_all(conn, vec![step]).await?.remove(0))
}

/// Every status change goes through here, on the caller's transaction: the conditional updates
/// that the status machine allows, and the timeline entries whose ids are the events' (and
/// webhooks') ids, in one statement each however many messages change (two changes of the same
/// message are made one after the other). Answers in the order of `steps`.
pub async fn transition_all(conn: &mut PgConnection, steps: Vec<Step>) -> Result<Vec<Transition>> {
    let done = in_rounds(
        conn,
        steps,
        |step| step.message_id,
        |conn, round| Box::pin(transition_round(conn, round)),
    )
    .await?;
    for t in &done {
        if let Transition::Applied(m) = t {
            crate::meters::status_change(m.channel.as_str(), m.status.as_str());
        }
    }
    Ok(done)
}

/// Changes of distinct messages, in one update and one insert of their events.
async fn transition_round(
    conn: &mut PgConnection,
    mut round: Vec<(usize, Step)>,
) -> Result<Vec<(usize, Transition)>> {
    // Listed in the order of their ids, the order in which claims and receipts lock messages: the
    // update's loop over the list locks rows in that order too, so two transactions changing some of
    // the same messages do not wait on each other in a cycle.
    round.sort_by_key(|(_, step)| step.message_id);
    let n = round.len();
    let mut ids = Vec::with_capacity(n);
    let mut channels = Vec::with_capacity(n);
    let mut to = Vec::with_capacity(n);
    let mut sources = Vec::with_capacity(n);
    let mut providers = Vec::with_capacity(n);
    let mut senders = Vec::with_capacity(n);
    let mut provider_ids = Vec::with_capacity(n);
    let mut codes = Vec::with_capacity(n);
    let mut texts = Vec::with_capacity(n);
    let mut attempts = Vec::with_capacity(n);
    let mut leases = Vec::with_capacity(n);
    let mut orgs = Vec::with_capacity(n);
    for (_, step) in &round {
        let c = &step.change;
        ids.push(step.message_id);
        channels.push(step.channel.as_str());
        to.push(step.to.as_str());
        sources.push(step.channel.sources_of(step.to).join(","));
        providers.push(c.provider.clone());
        senders.push(c.sender.clone());
        provider_ids.push(c.provider_message_id.clone());
        codes.push(c.error.as_ref().map(|e| e.code.clone()));
        texts.push(c.error.as_ref().map(|e| e.message.clone()));
        attempts.push(c.claim.map(|(n, _)| n));
        leases.push(c.claim.map(|(_, lease)| lease.as_millis() as i64));
        orgs.push(c.organization_id);
    }
    let rows = sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE messages m SET status = u.status, updated_at = now(),
             provider = coalesce(u.provider, m.provider),
             sender = coalesce(u.sender, m.sender),
             provider_message_id = coalesce(u.provider_message_id, m.provider_message_id),
             error_code = coalesce(u.code, m.error_code),
             error_message = coalesce(u.text, m.error_message),
             send_attempts = m.send_attempts + CASE WHEN u.attempts IS NULL THEN 0 ELSE 1 END,
             sent_at = CASE WHEN u.status = 'SENT' THEN now() ELSE m.sent_at END,
             lease_until = CASE WHEN u.lease_ms IS NULL THEN NULL
                                ELSE now() + make_interval(secs => u.lease_ms / 1000.0) END
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::text[], $10::int[], $11::bigint[], $12::uuid[])
             AS u(id, channel, status, sources, provider, sender, provider_message_id, code, text,
                  attempts, lease_ms, org)
         WHERE m.id = u.id AND m.channel = u.channel
           AND m.status = ANY (string_to_array(u.sources, ','))
           AND (u.attempts IS NULL OR m.send_attempts = u.attempts)
           AND (u.org IS NULL OR m.organization_id = u.org)
         RETURNING {}",
        columns_of("m")
    )))
    .bind(&ids)
    .bind(&channels)
    .bind(&to)
    .bind(&sources)
    .bind(&providers)
    .bind(&senders)
    .bind(&provider_ids)
    .bind(&codes)
    .bind(&texts)
    .bind(&attempts)
    .bind(&leases)
    .bind(&orgs)
    // Planned for each call, never from a cached generic plan: a plan cached while the table was
    // nearly empty could read every message of a channel on each change (measured once: a
    // thousand million index reads in one benchmark run, 40 ms a change).
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    let mut changed = HashMap::new();
    for row in rows {
        let message = Message::try_from(row)?;
        changed.insert(message.id, message);
    }
    let mut answers = Vec::with_capacity(n);
    let mut published = Vec::new();
    for (i, step) in round {
        let Some(message) = changed.remove(&step.message_id) else {
            answers.push((i, Transition::Refused(load(conn, step.message_id).await?)));
            continue;
        };
        crate::channels::after_status_change(conn, &message, step.change.detail.as_ref()).await?;
        published.push(Published {
            event_type: step.channel.event_type(step.to),
            organization_id: message.organization_id,
            message_id: message.id,
            status: step.to,
            detail: step.change.detail,
            answer: step.change.answer,
            data: serde_json::to_value(&message).expect("messages serialize"),
        });
        answers.push((i, Transition::Applied(message)));
    }
    if !published.is_empty() {
        let entries = published
            .iter()
            .map(|p| {
                let entry = crate::events::Entry {
                    organization_id: p.organization_id,
                    message_id: Some(p.message_id),
                    event_type: &p.event_type,
                    status: Some(p.status.as_str()),
                    detail: p.detail.clone(),
                    provider_answer: p.answer.clone(),
                };
                (entry, Some(&p.data))
            })
            .collect();
        crate::events::insert_all(conn, entries).await?;
    }
    Ok(answers)
}

/// A status change made, and the event it publishes.
struct Published {
    event_type: String,
    organization_id: Uuid,
    message_id: Uuid,
    status: Status,
    detail: Option<Value>,
    answer: Option<Value>,
    data: Value,
}

/// The message columns, each prefixed with `alias` (for statements that join messages to others).
fn columns_of(alias: &str) -> String {
    MESSAGE_COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
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
        columns_of("m")
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

/// Messages locked for sends' claims, each with whether its recipient has since opted out of its
/// channel (SMS and WhatsApp keep opt-outs; an email's recipients never match one): one statement
/// however many. They are locked in the order of their ids, so that two transactions claiming some
/// of the same messages never wait on each other in a cycle.
pub async fn load_for_claim(
    conn: &mut PgConnection,
    message_ids: &[Uuid],
) -> Result<HashMap<Uuid, (Message, bool)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        message: MessageRow,
        opted_out: bool,
    }
    let rows = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS},
                EXISTS (SELECT 1 FROM opt_outs o
                        WHERE o.organization_id = m.organization_id AND o.channel = m.channel
                          AND o.phone_number = m.recipient) AS opted_out
         FROM messages m WHERE id = ANY ($1) ORDER BY id FOR UPDATE OF m"
    )))
    .bind(message_ids)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| Ok((r.message.id, (r.message.try_into()?, r.opted_out))))
        .collect()
}

/// A receipt's message, as `load_for_receipt` looks for it.
pub(crate) struct Wanted<'a> {
    pub receipt_id: Uuid,
    pub channel: &'a str,
    pub provider: &'a str,
    pub provider_message_id: &'a str,
    pub status: Option<&'a str>,
}

/// The messages receipts name, locked, by receipt, each with whether a receipt of the same status
/// was applied to it already (none for a receipt without one): one statement. The provider's id is
/// unique per channel and provider (a unique index), so a message is found by it alone; the caller
/// checks the organization on the row. With the organization in the statement, the planner could
/// take the (organization, channel, …) indexes and read every message the organization had sent,
/// for each receipt (measured: 447 million index reads for 20,000 messages).
pub(crate) async fn load_for_receipt(
    conn: &mut PgConnection,
    wanted: &[Wanted<'_>],
) -> Result<HashMap<Uuid, (Message, bool)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        receipt_id: Uuid,
        #[sqlx(flatten)]
        message: MessageRow,
        repeat: bool,
    }
    let (mut receipts, mut channels, mut providers, mut provider_ids, mut statuses) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for w in wanted {
        receipts.push(w.receipt_id);
        channels.push(w.channel);
        providers.push(w.provider);
        provider_ids.push(w.provider_message_id);
        statuses.push(w.status);
    }
    let rows = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "SELECT u.receipt_id, {},
                EXISTS (SELECT 1 FROM receipts p
                        WHERE p.message_id = m.id AND p.status = u.status AND p.outcome = 'applied'
                          AND p.id <> u.receipt_id) AS repeat
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
             AS u(receipt_id, channel, provider, provider_message_id, status)
         JOIN messages m ON m.channel = u.channel AND m.provider = u.provider
             AND m.provider_message_id = u.provider_message_id
         ORDER BY m.id
         FOR UPDATE OF m",
        columns_of("m")
    )))
    .bind(&receipts)
    .bind(&channels)
    .bind(&providers)
    .bind(&provider_ids)
    .bind(&statuses)
    // Planned for each call: a generic plan cached while the table was nearly empty took the
    // (channel, recipient) index for the channel and read every message of the channel.
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| Ok((r.receipt_id, (r.message.try_into()?, r.repeat))))
        .collect()
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
    let mut q = QueryBuilder::new(prefix);
    if filter.query.is_some() {
        // A search finds its matches through the trigram index, then orders them. Left to itself, the planner
        // sometimes guesses a term common and walks the organization's messages newest first, filtering each:
        // a rare term then reads every message the organization has.
        q.push(format!(
            "WITH hits AS MATERIALIZED (SELECT {MESSAGE_COLUMNS} FROM messages"
        ));
        push_filters(&mut q, organization_id, channel, filter);
        q.push(format!(") SELECT {MESSAGE_COLUMNS} FROM hits"));
    } else {
        q.push(format!("SELECT {MESSAGE_COLUMNS} FROM messages"));
        push_filters(&mut q, organization_id, channel, filter);
    }
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

/// One entry of a message's timeline.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    /// Its id.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d29")]
    pub id: Uuid,
    /// A status change's event type (`sms_delivered`), or `provider_response`, `receipt_ignored`,
    /// `note`, `email_opened`, `email_clicked`.
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    #[schema(example = "sms_delivered")]
    pub entry_type: String,
    /// The status it moved the message to, for a status change.
    #[schema(example = "DELIVERED")]
    pub status: Option<String>,
    /// When it happened.
    #[schema(example = "2026-11-27T10:00:02Z")]
    pub occurred_at: DateTime<Utc>,
    /// The raw provider payload or other detail, where there is one.
    #[schema(schema_with = detail_schema)]
    pub detail: Option<Value>,
}

/// `detail`'s schema, written out: the derive drops the example of an object-typed field.
fn detail_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::Object,
            utoipa::openapi::schema::Type::Null,
        ]))
        .description(Some(
            "The raw provider payload or other detail, where there is one.",
        ))
        .examples([serde_json::json!({"status": "DELIVRD"})])
        .build()
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
