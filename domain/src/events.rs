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
    insert(conn, e, None).await
}

/// Records a customer-visible event and, in the same statement, its webhook deliveries with `data`
/// frozen as it is now.
pub async fn publish(conn: &mut PgConnection, e: Entry<'_>, data: &Value) -> Result<Uuid> {
    Ok(insert(conn, e, Some(data)).await?.id)
}

/// The one insert of an event, with its fan-out when it is published (`data`): one statement.
async fn insert(conn: &mut PgConnection, e: Entry<'_>, data: Option<&Value>) -> Result<Recorded> {
    let id = Uuid::now_v7();
    let occurred_at = Utc::now();
    let payloads: Vec<String> = data
        .map(|d| OutEvent::new(id, e.event_type, occurred_at, e.organization_id, d).payload)
        .into_iter()
        .collect();
    let published: Vec<Uuid> = payloads.iter().map(|_| id).collect();
    let types: Vec<&str> = payloads.iter().map(|_| e.event_type).collect();
    let deliveries: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "WITH event_in AS (
             INSERT INTO events (id, organization_id, message_id, type, status, detail, provider_answer, occurred_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ),
         {}
         SELECT count(*) FROM fanned",
        webhooks::fan_out_sql("$2", "$9::uuid[]", "$10::text[]", "$11::text[]")
    )))
    .bind(id)
    .bind(e.organization_id)
    .bind(e.message_id)
    .bind(e.event_type)
    .bind(e.status)
    .bind(e.detail)
    .bind(e.provider_answer)
    .bind(occurred_at)
    .bind(&published)
    .bind(&types)
    .bind(&payloads)
    .fetch_one(&mut *conn)
    .await?;
    if deliveries > 0 {
        queue::pushed::<DeliverWebhook>();
    }
    Ok(Recorded { id, occurred_at })
}
