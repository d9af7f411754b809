//! The one `events` table: every timeline entry and every customer-visible event. An event's id is
//! the `webhook-id` of its deliveries.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    Result,
    queue::{self, DeliverWebhook},
    webhooks::{self, OutEvent},
};

pub struct Recorded {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
}

/// One timeline entry: what it is, and the provider answer behind it where there is one.
pub struct Entry<'a> {
    pub organization_id: Uuid,
    pub message_id: Option<Uuid>,
    pub event_type: &'a str,
    pub status: Option<&'a str>,
    /// What tenants see on the timeline and in the webhook.
    pub detail: Option<Value>,
    /// The provider's whole answer: operators only, never served.
    pub provider_answer: Option<Value>,
}

/// Records a timeline entry on the caller's transaction.
pub async fn record(conn: &mut PgConnection, e: Entry<'_>) -> Result<Recorded> {
    let mut recorded = insert_all(conn, vec![(e, None)]).await?;
    Ok(recorded.remove(0))
}

/// Records a customer-visible event and, in the same statement, its webhook deliveries with `data`
/// frozen as it is now.
pub async fn publish(conn: &mut PgConnection, e: Entry<'_>, data: &Value) -> Result<Uuid> {
    Ok(insert_all(conn, vec![(e, Some(data))]).await?.remove(0).id)
}

/// The one insert of events, each with its fan-out when it is published (its `data` given): one
/// statement however many there are. Returns what was recorded, in the order given.
pub(crate) async fn insert_all(
    conn: &mut PgConnection,
    entries: Vec<(Entry<'_>, Option<&Value>)>,
) -> Result<Vec<Recorded>> {
    let n = entries.len();
    let occurred_at = Utc::now();
    let mut recorded = Vec::with_capacity(n);
    let (mut ids, mut orgs, mut message_ids, mut types) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut statuses, mut details, mut answers) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut published, mut published_orgs, mut published_types, mut payloads) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (e, data) in entries {
        let id = Uuid::now_v7();
        if let Some(d) = data {
            let out = OutEvent::new(id, e.event_type, occurred_at, e.organization_id, d);
            published.push(id);
            published_orgs.push(e.organization_id);
            published_types.push(e.event_type);
            payloads.push(out.payload);
        }
        ids.push(id);
        orgs.push(e.organization_id);
        message_ids.push(e.message_id);
        types.push(e.event_type);
        statuses.push(e.status);
        details.push(e.detail);
        answers.push(e.provider_answer);
        recorded.push(Recorded { id, occurred_at });
    }
    let deliveries: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "WITH event_in AS (
             INSERT INTO events (id, organization_id, message_id, type, status, detail, provider_answer, occurred_at)
             SELECT id, organization_id, message_id, type, status, detail, provider_answer, $8
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[])
                 AS t(id, organization_id, message_id, type, status, detail, provider_answer)
         ),
         {}
         SELECT count(*) FROM fanned",
        webhooks::fan_out_sql("$9::uuid[]", "$10::uuid[]", "$11::text[]", "$12::text[]")
    )))
    .bind(&ids)
    .bind(&orgs)
    .bind(&message_ids)
    .bind(&types)
    .bind(&statuses)
    .bind(&details)
    .bind(&answers)
    .bind(occurred_at)
    .bind(&published_orgs)
    .bind(&published)
    .bind(&published_types)
    .bind(&payloads)
    .fetch_one(&mut *conn)
    .await?;
    if deliveries > 0 {
        queue::pushed::<DeliverWebhook>();
    }
    Ok(recorded)
}
