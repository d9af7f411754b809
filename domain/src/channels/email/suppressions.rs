//! Addresses an organization no longer sends email to: a hard bounce or a complaint adds one (in
//! the status change's transaction), `DELETE /v1/emails/suppressions/:address` removes it, and a
//! send to one is refused with `RECIPIENT_SUPPRESSED`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    Error, Mailbox, Page, Paged, Result,
    messages::{Message, Status},
};

/// An address no email is sent to, after a hard bounce or a complaint.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Suppression {
    /// The address, lower case.
    #[schema(example = "ada@example.com")]
    pub address: String,
    /// BOUNCED or COMPLAINED.
    #[schema(example = "BOUNCED")]
    pub reason: String,
    /// The message whose receipt suppressed it.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d20")]
    pub message_id: Option<Uuid>,
    /// When it was suppressed.
    #[schema(example = "2026-11-27T10:00:00Z")]
    pub created_at: DateTime<Utc>,
}

/// The query for the suppressed ones among the addresses (lower-cased) of the array parameter
/// `addresses`, for a send's one rules read.
pub(crate) fn suppressed_sql(organization_id: &str, addresses: &str) -> String {
    format!(
        "SELECT address FROM email_suppressions
         WHERE organization_id = {organization_id} AND address = ANY ({addresses})"
    )
}

/// After a status change: BOUNCED or COMPLAINED suppresses the recipient the provider named (else
/// every recipient of the message).
pub async fn after_status_change(
    conn: &mut PgConnection,
    message: &Message,
    detail: Option<&Value>,
) -> Result<()> {
    let reason = match message.status {
        Status::Bounced => "BOUNCED",
        Status::Complained => "COMPLAINED",
        _ => return Ok(()),
    };
    let named = detail
        .and_then(|d| d.get("recipient"))
        .and_then(Value::as_str)
        .and_then(|r| Mailbox::parse(r).ok());
    let addresses: Vec<String> = match named {
        Some(m) => vec![m.normalized()],
        None => message
            .to
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|r| Mailbox::parse(r).ok())
            .map(|m| m.normalized())
            .collect(),
    };
    sqlx::query(
        "INSERT INTO email_suppressions (organization_id, address, reason, message_id)
         SELECT $1, unnest($2::text[]), $3, $4
         ON CONFLICT (organization_id, address) DO NOTHING",
    )
    .bind(message.organization_id)
    .bind(&addresses)
    .bind(reason)
    .bind(message.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn list(pool: &PgPool, organization_id: Uuid, page: Page) -> Result<Paged<Suppression>> {
    crate::pagination::by_organization(
        pool,
        "email_suppressions",
        "address, reason, message_id, created_at",
        "created_at DESC, address",
        organization_id,
        page,
    )
    .await
}

pub async fn remove(pool: &PgPool, organization_id: Uuid, raw: &str) -> Result<()> {
    let address = Mailbox::parse(raw)
        .map_err(|_| Error::NotFound)?
        .normalized();
    crate::pagination::delete_owned(
        pool,
        "email_suppressions",
        "address",
        address,
        organization_id,
    )
    .await
}
