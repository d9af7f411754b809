//! The one `events` table: every timeline entry and every customer-visible event. An event's id is
//! the `webhook-id` of its deliveries.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    Result,
    webhooks::{self, OutEvent},
};

pub struct Recorded {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
}

/// Records a timeline entry on the caller's transaction.
pub async fn record(
    conn: &mut PgConnection,
    organization_id: Uuid,
    message_id: Option<Uuid>,
    event_type: &str,
    status: Option<&str>,
    detail: Option<Value>,
) -> Result<Recorded> {
    let id = Uuid::now_v7();
    let occurred_at = Utc::now();
    sqlx::query(
        "INSERT INTO events (id, organization_id, message_id, type, status, detail, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(organization_id)
    .bind(message_id)
    .bind(event_type)
    .bind(status)
    .bind(detail)
    .bind(occurred_at)
    .execute(&mut *conn)
    .await?;
    Ok(Recorded { id, occurred_at })
}

/// Records a customer-visible event and, in the same transaction, its webhook deliveries with `data`
/// frozen as it is now.
#[allow(clippy::too_many_arguments)]
pub async fn publish(
    conn: &mut PgConnection,
    organization_id: Uuid,
    message_id: Option<Uuid>,
    event_type: &str,
    status: Option<&str>,
    detail: Option<Value>,
    data: &Value,
) -> Result<Uuid> {
    let r = record(
        conn,
        organization_id,
        message_id,
        event_type,
        status,
        detail,
    )
    .await?;
    let event = OutEvent::new(r.id, event_type, r.occurred_at, organization_id, data);
    webhooks::fan_out(conn, organization_id, &[event]).await?;
    Ok(r.id)
}
