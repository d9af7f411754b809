//! The one `events` table: every timeline entry and every customer-visible event. An event's id is
//! the `webhook-id` of its deliveries.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Result;

/// Records an event on the caller's transaction and returns its id.
pub async fn record(
    conn: &mut PgConnection,
    organization_id: Uuid,
    message_id: Option<Uuid>,
    event_type: &str,
    status: Option<&str>,
    detail: Option<Value>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO events (id, organization_id, message_id, type, status, detail, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp())",
    )
    .bind(id)
    .bind(organization_id)
    .bind(message_id)
    .bind(event_type)
    .bind(status)
    .bind(detail)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}
