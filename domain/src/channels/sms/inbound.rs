//! Which organization a handset's text is for (`messages::opt_outs` does the rest).

use sqlx::PgConnection;
use uuid::Uuid;

use crate::{PhoneNumber, Result};

/// The organization that most recently sent SMS to the handset from the sender ID the text was
/// sent to (any earlier message counts, whatever its status), else the one that most recently sent
/// to it at all.
pub async fn route_inbound(
    conn: &mut PgConnection,
    from: &PhoneNumber,
    to: &str,
) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT organization_id FROM (
             (SELECT organization_id, 0 AS rank, created_at FROM messages
              WHERE channel = 'sms' AND recipient = $1 AND lower(sender) = lower($2)
              ORDER BY created_at DESC LIMIT 1)
             UNION ALL
             (SELECT organization_id, 1, created_at FROM messages
              WHERE channel = 'sms' AND recipient = $1 ORDER BY created_at DESC LIMIT 1)) m
         ORDER BY rank LIMIT 1",
    )
    .bind(from.as_str())
    .bind(to.trim())
    .fetch_optional(&mut *conn)
    .await?)
}
