//! SMS sender IDs: an organization asks for one, a platform admin approves or rejects the request,
//! and only approved sender IDs may send. Approval is per organization.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{Error, Errors, Page, Paged, Result, SenderId, identity::User};

/// A request for a sender ID.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewSenderIdRequest {
    /// 3–11 letters, digits or spaces with at least one letter, or 3–15 digits; its case is kept.
    #[schema(value_type = String, required = true, example = "Acme", min_length = 3, max_length = 15)]
    pub sender_id: Option<String>,
    /// What the organization sends with it.
    #[schema(value_type = String, required = true, example = "login codes", min_length = 1)]
    pub use_case: Option<String>,
    /// A message it would send.
    #[schema(value_type = String, required = false, example = "Your code is 123456")]
    pub sample_message: Option<String>,
}

/// A sender-ID request and its review.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SenderIdRequest {
    /// Its id.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d28")]
    pub id: Uuid,
    /// The sender ID asked for.
    #[schema(example = "Acme")]
    pub sender_id: String,
    /// What the organization sends with it.
    #[schema(example = "login codes")]
    pub use_case: String,
    /// A message it would send.
    #[schema(example = "Your code is 123456")]
    pub sample_message: Option<String>,
    /// PENDING, APPROVED or REJECTED.
    #[schema(example = "APPROVED")]
    pub status: String,
    /// The reviewer's note.
    #[schema(example = "approved for OTP traffic")]
    pub review_note: Option<String>,
    /// When it was reviewed.
    #[schema(example = "2026-11-27T11:00:00Z")]
    pub reviewed_at: Option<DateTime<Utc>>,
    /// When it was asked for.
    #[schema(example = "2026-11-27T10:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// The organization that asked; shown to platform admins, who see every organization's requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Uuid, required = false, example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d21")]
    pub organization_id: Option<Uuid>,
    /// Its name; shown to platform admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false, example = "Acme")]
    pub organization_name: Option<String>,
}

/// A sender ID the organization may send from.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovedSenderId {
    /// The sender ID.
    #[schema(example = "Acme")]
    pub sender_id: String,
    /// When it was approved.
    #[schema(example = "2026-11-27T11:00:00Z")]
    pub approved_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
pub struct Review {
    pub decision: Option<String>,
    pub note: Option<String>,
}

const COLUMNS: &str = "r.id, r.sender_id, r.use_case, r.sample_message, r.status, r.review_note, \
    r.reviewed_at, r.created_at";

pub async fn request(
    pool: &PgPool,
    organization_id: Uuid,
    input: NewSenderIdRequest,
) -> Result<SenderIdRequest> {
    let mut errors = Errors::default();
    let sender = match input.sender_id.as_deref() {
        None => {
            errors.add("senderId", "is required");
            None
        }
        Some(raw) => SenderId::parse(raw)
            .map_err(|m| errors.add("senderId", m))
            .ok(),
    };
    let use_case = input
        .use_case
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    if use_case.is_empty() {
        errors.add("useCase", "is required");
    } else if use_case.chars().count() > 1000 {
        errors.add("useCase", "must be at most 1000 characters");
    }
    if input
        .sample_message
        .as_deref()
        .is_some_and(|s| s.chars().count() > 1600)
    {
        errors.add("sampleMessage", "must be at most 1600 characters");
    }
    errors.finish()?;
    let sender = sender.expect("validated");
    let row = sqlx::query_as::<_, SenderIdRequest>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO sender_id_requests AS r (id, organization_id, sender_id, use_case, sample_message, status)
         VALUES ($1, $2, $3, $4, $5, 'PENDING')
         ON CONFLICT DO NOTHING
         RETURNING {COLUMNS}, NULL::uuid AS organization_id, NULL::text AS organization_name"
    )))
    .bind(Uuid::now_v7())
    .bind(organization_id)
    .bind(sender.as_str())
    .bind(&use_case)
    .bind(input.sample_message.as_deref().map(str::trim).filter(|s| !s.is_empty()))
    .fetch_optional(pool)
    .await?;
    row.ok_or_else(|| Error::conflict("a request for this sender ID is already pending"))
}

/// Validates a `?status=` filter of the request list.
pub fn status_filter(raw: Option<&str>, errors: &mut Errors) -> Option<String> {
    let s = raw?;
    if ["PENDING", "APPROVED", "REJECTED"].contains(&s) {
        Some(s.to_owned())
    } else {
        errors.add("status", "must be one of PENDING, APPROVED, REJECTED");
        None
    }
}

/// The organization's own requests; a platform admin sees every organization's.
pub async fn list(
    pool: &PgPool,
    actor: &User,
    status: Option<String>,
    page: Page,
) -> Result<Paged<SenderIdRequest>> {
    let filters = |q: &mut QueryBuilder<Postgres>| {
        q.push(" WHERE true");
        if !actor.platform_admin {
            q.push(" AND r.organization_id = ")
                .push_bind(actor.organization_id);
        }
        if let Some(s) = &status {
            q.push(" AND r.status = ").push_bind(s.clone());
        }
    };
    let mut count = QueryBuilder::new("SELECT count(*) FROM sender_id_requests r");
    filters(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
    let org_cols = if actor.platform_admin {
        "r.organization_id, o.name AS organization_name"
    } else {
        "NULL::uuid AS organization_id, NULL::text AS organization_name"
    };
    let mut q = QueryBuilder::new(format!(
        "SELECT {COLUMNS}, {org_cols} FROM sender_id_requests r JOIN organizations o ON o.id = r.organization_id"
    ));
    filters(&mut q);
    q.push(" ORDER BY r.created_at DESC, r.id DESC LIMIT ")
        .push_bind(page.limit())
        .push(" OFFSET ")
        .push_bind(page.offset());
    let rows = q
        .build_query_as::<SenderIdRequest>()
        .fetch_all(pool)
        .await?;
    Ok(page.wrap(rows, total))
}

/// A platform admin's decision; a request is reviewed once.
pub async fn review(
    pool: &PgPool,
    reviewer: &User,
    request_id: Uuid,
    input: Review,
) -> Result<SenderIdRequest> {
    if !reviewer.platform_admin {
        return Err(Error::Forbidden(
            "only a platform admin may review sender ID requests".into(),
        ));
    }
    let decision = match input.decision.as_deref() {
        Some("APPROVE") => "APPROVED",
        Some("REJECT") => "REJECTED",
        _ => return Err(Error::validation("decision", "must be APPROVE or REJECT")),
    };
    if input
        .note
        .as_deref()
        .is_some_and(|n| n.chars().count() > 1000)
    {
        return Err(Error::validation("note", "must be at most 1000 characters"));
    }
    let row = sqlx::query_as::<_, SenderIdRequest>(sqlx::AssertSqlSafe(format!(
        "UPDATE sender_id_requests r SET status = $2, review_note = $3, reviewed_at = now(), reviewed_by = $4
         FROM organizations o
         WHERE r.id = $1 AND r.status = 'PENDING' AND o.id = r.organization_id
         RETURNING {COLUMNS}, r.organization_id, o.name AS organization_name"
    )))
    .bind(request_id)
    .bind(decision)
    .bind(input.note.as_deref().map(str::trim).filter(|s| !s.is_empty()))
    .bind(reviewer.id)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(r) => Ok(r),
        None => {
            let exists: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM sender_id_requests WHERE id = $1)",
            )
            .bind(request_id)
            .fetch_one(pool)
            .await?;
            if exists {
                Err(Error::conflict("this request has already been reviewed"))
            } else {
                Err(Error::NotFound)
            }
        }
    }
}

pub async fn approved(
    pool: &PgPool,
    organization_id: Uuid,
    page: Page,
) -> Result<Paged<ApprovedSenderId>> {
    let total: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT lower(sender_id)) FROM sender_id_requests
         WHERE organization_id = $1 AND status = 'APPROVED'",
    )
    .bind(organization_id)
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as::<_, ApprovedSenderId>(
        "SELECT sender_id, approved_at FROM (
             SELECT DISTINCT ON (lower(sender_id)) sender_id, reviewed_at AS approved_at
             FROM sender_id_requests WHERE organization_id = $1 AND status = 'APPROVED'
             ORDER BY lower(sender_id), reviewed_at DESC) a
         ORDER BY approved_at DESC, sender_id LIMIT $2 OFFSET $3",
    )
    .bind(organization_id)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    Ok(page.wrap(rows, total))
}

/// Which of `candidates` (compared without case) are approved for the organization, in lower case.
pub(crate) fn approved_sql(organization_id: &str, candidates: &str) -> String {
    format!(
        "SELECT DISTINCT lower(sender_id) FROM sender_id_requests
         WHERE organization_id = {organization_id} AND status = 'APPROVED' AND lower(sender_id) = ANY ({candidates})"
    )
}
