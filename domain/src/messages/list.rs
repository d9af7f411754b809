//! The one message list every channel serves: `status` (the channel's own statuses), `query`,
//! `createdFrom`, `createdTo`, the channel's category filter where it has one (SMS: `flow`), paged.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{ChannelSend, ListFilter, Message, Status};
use crate::{Errors, FieldError, Page, Paged, Result};

/// The longest search text of a list's `query`.
pub const MAX_QUERY_CHARS: usize = 100;

/// A message list's filters as the caller gave them, not yet validated.
#[derive(Debug, Default)]
pub struct ListParams {
    /// The category filter, for channels that have one (SMS calls it `flow`).
    pub category: Option<String>,
    pub status: Option<String>,
    pub query: Option<String>,
    pub created_from: Option<String>,
    pub created_to: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

/// Validates a list's query string for channel `C` and runs the list.
pub async fn list<C: ChannelSend>(
    pool: &PgPool,
    organization_id: Uuid,
    q: &ListParams,
) -> Result<Paged<Message>> {
    let mut errors = Errors::default();
    let page = Page::parse(&mut errors, q.page.as_deref(), q.page_size.as_deref());
    let mut filter = ListFilter::default();
    if let (Some((name, allowed)), Some(raw)) = (C::CATEGORY, q.category.as_deref()) {
        filter.category = errors
            .take(allowed.iter().find(|a| **a == raw).ok_or_else(|| {
                FieldError::new(name, format!("must be one of {}", allowed.join(", ")))
            }))
            .map(|c| (*c).to_owned());
    }
    if let Some(raw) = q.status.as_deref() {
        let allowed = C::CHANNEL.statuses();
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
    // Postgres text cannot hold a NUL (a body carrying one is refused the same way).
    if filter.query.as_deref().is_some_and(|t| t.contains('\0')) {
        errors.add("query", "must not contain NUL characters");
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
    super::store::list(pool, organization_id, C::CHANNEL, &filter, page).await
}
