//! `?page=1&pageSize=20`: page from 1, pageSize 1..100 (default 20); anything else is a 422.

use serde::Serialize;
use sqlx::{PgPool, postgres::PgRow};
use uuid::Uuid;

use crate::{Errors, FieldError, Result};

/// How deep a list may be paged: an offset costs the rows it skips, so deeper pages would let one
/// request scan a whole table.
pub const MAX_ROWS_REACHED: u64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub page_size: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paged<T> {
    pub data: Vec<T>,
    pub page: u32,
    pub page_size: u32,
    pub total: i64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            page: 1,
            page_size: 20,
        }
    }
}

fn number(field: &str, raw: Option<&str>, default: u32, max: u32) -> Result<u32, FieldError> {
    let Some(raw) = raw else { return Ok(default) };
    match raw.trim().parse::<i64>() {
        Ok(n) if n >= 1 && n <= max as i64 => Ok(n as u32),
        _ if max == u32::MAX => Err(FieldError::new(
            field,
            "must be a whole number of at least 1",
        )),
        _ => Err(FieldError::new(
            field,
            format!("must be a whole number from 1 to {max}"),
        )),
    }
}

impl Page {
    pub fn parse(errors: &mut Errors, page: Option<&str>, page_size: Option<&str>) -> Page {
        let p = errors.take(number("page", page, 1, u32::MAX));
        let s = errors.take(number("pageSize", page_size, 20, 100));
        let parsed = Page {
            page: p.unwrap_or(1),
            page_size: s.unwrap_or(20),
        };
        if parsed.page as u64 * parsed.page_size as u64 > MAX_ROWS_REACHED {
            errors.add(
                "page",
                format!(
                    "page × pageSize must be at most {MAX_ROWS_REACHED}: narrow the list with filters (status, query, dates) instead of paging this deep"
                ),
            );
        }
        parsed
    }

    pub fn limit(&self) -> i64 {
        self.page_size as i64
    }

    pub fn offset(&self) -> i64 {
        (self.page as i64 - 1) * self.page_size as i64
    }

    pub fn wrap<T>(&self, data: Vec<T>, total: i64) -> Paged<T> {
        Paged {
            data,
            page: self.page,
            page_size: self.page_size,
            total,
        }
    }
}

/// One page of an organization's rows of `table`, newest first by `order`, with the total.
/// `table`, `columns` and `order` are constants of the caller, never input.
pub async fn by_organization<R>(
    pool: &PgPool,
    table: &'static str,
    columns: &'static str,
    order: &'static str,
    organization_id: Uuid,
    page: Page,
) -> Result<Paged<R>>
where
    R: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table} WHERE organization_id = $1"
    )))
    .bind(organization_id)
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(format!(
        "SELECT {columns} FROM {table} WHERE organization_id = $1 ORDER BY {order} LIMIT $2 OFFSET $3"
    )))
    .bind(organization_id)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    Ok(page.wrap(rows, total))
}

/// Deletes the organization's row of `table` whose `key` column is `value`; NotFound when it has
/// none (another organization's rows are not found). `table` and `key` are constants of the caller.
pub async fn delete_owned<T>(
    pool: &PgPool,
    table: &'static str,
    key: &'static str,
    value: T,
    organization_id: Uuid,
) -> Result<()>
where
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
{
    let n = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM {table} WHERE {key} = $1 AND organization_id = $2"
    )))
    .bind(value)
    .bind(organization_id)
    .execute(pool)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(crate::Error::NotFound);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_bounds_follow_the_contract() {
        let mut e = Errors::default();
        assert_eq!(Page::parse(&mut e, None, None), Page::default());
        assert_eq!(
            Page::parse(&mut e, Some("3"), Some("100")),
            Page {
                page: 3,
                page_size: 100
            }
        );
        assert!(e.is_empty());
        for (p, s) in [
            (Some("0"), None),
            (None, Some("0")),
            (None, Some("101")),
            (Some("-1"), None),
            (Some("x"), None),
        ] {
            let mut e = Errors::default();
            Page::parse(&mut e, p, s);
            assert!(!e.is_empty(), "{p:?} {s:?}");
        }
    }
}
