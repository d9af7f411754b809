//! Email stats: per organization and UTC day, rolled up by the scheduler from the events written
//! since its last run (never a scan of all messages), served for a range of days with rates.

use chrono::{Days, NaiveDate};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Errors, FieldError, Result};

/// The longest range one request may ask for.
pub const MAX_DAYS: u64 = 366;

/// Adds the email events of every transaction that ended since the last run to the daily rollup.
/// Runs in the caller's transaction (the scheduler's duty, under its advisory lock).
pub async fn roll_up(conn: &mut PgConnection) -> Result<u64> {
    let (from, to): (i64, i64) = sqlx::query_as(
        "SELECT txid, txid_snapshot_xmin(txid_current_snapshot())::text::bigint
         FROM email_stats_watermark FOR UPDATE",
    )
    .fetch_one(&mut *conn)
    .await?;
    if to <= from {
        return Ok(0);
    }
    let rows = sqlx::query(
        "INSERT INTO email_stats_daily AS s
             (organization_id, day, queued, sent, delivered, bounced, complained, failed, opened, clicked)
         SELECT organization_id, (occurred_at AT TIME ZONE 'UTC')::date,
             count(*) FILTER (WHERE type = 'email_queued'),
             count(*) FILTER (WHERE type = 'email_sent'),
             count(*) FILTER (WHERE type = 'email_delivered'),
             count(*) FILTER (WHERE type = 'email_bounced'),
             count(*) FILTER (WHERE type = 'email_complained'),
             count(*) FILTER (WHERE type = 'email_failed'),
             count(*) FILTER (WHERE type = 'email_opened' AND detail ->> 'first' = 'true'),
             count(*) FILTER (WHERE type = 'email_clicked' AND detail ->> 'first' = 'true')
         FROM events
         WHERE txid >= $1 AND txid < $2 AND type LIKE 'email\\_%'
         GROUP BY 1, 2
         ON CONFLICT (organization_id, day) DO UPDATE SET
             queued = s.queued + EXCLUDED.queued,
             sent = s.sent + EXCLUDED.sent,
             delivered = s.delivered + EXCLUDED.delivered,
             bounced = s.bounced + EXCLUDED.bounced,
             complained = s.complained + EXCLUDED.complained,
             failed = s.failed + EXCLUDED.failed,
             opened = s.opened + EXCLUDED.opened,
             clicked = s.clicked + EXCLUDED.clicked",
    )
    .bind(from)
    .bind(to)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query("UPDATE email_stats_watermark SET txid = $1")
        .bind(to)
        .execute(&mut *conn)
        .await?;
    Ok(rows)
}

/// Messages counted once each, by what happened to them.
#[derive(Debug, Default, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = EmailCounts)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Accepted.
    #[schema(example = 1200)]
    pub queued: i64,
    /// Handed to the provider.
    #[schema(example = 1180)]
    pub sent: i64,
    /// Delivered.
    #[schema(example = 1150)]
    pub delivered: i64,
    /// Bounced.
    #[schema(example = 20)]
    pub bounced: i64,
    /// Marked as spam after delivery.
    #[schema(example = 2)]
    pub complained: i64,
    /// Failed before or at the provider.
    #[schema(example = 10)]
    pub failed: i64,
    /// Opened at least once.
    #[schema(example = 600)]
    pub opened: i64,
    /// Clicked at least once.
    #[schema(example = 150)]
    pub clicked: i64,
}

/// The range's counts and rates.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = EmailStatsTotals)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    #[serde(flatten)]
    pub counts: Counts,
    /// Delivered over sent, 0..1.
    #[schema(example = 0.9746)]
    pub delivery_rate: f64,
    /// Bounced over sent, 0..1.
    #[schema(example = 0.0169)]
    pub bounce_rate: f64,
    /// Opened over delivered, 0..1.
    #[schema(example = 0.5217)]
    pub open_rate: f64,
    /// Clicked over delivered, 0..1.
    #[schema(example = 0.1304)]
    pub click_rate: f64,
}

/// One UTC day's counts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = EmailStatsDay)]
pub struct Day {
    /// The day, UTC.
    #[schema(example = "2026-11-27")]
    pub date: NaiveDate,
    #[serde(flatten)]
    pub counts: Counts,
}

/// Email statistics over a range of UTC days.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = EmailStats)]
pub struct Stats {
    /// The first day, inclusive.
    #[schema(example = "2026-11-01")]
    pub from: NaiveDate,
    /// The last day, inclusive.
    #[schema(example = "2026-11-30")]
    pub to: NaiveDate,
    /// The whole range.
    pub totals: Totals,
    /// Each day of the range, oldest first.
    pub daily: Vec<Day>,
}

fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// A range of UTC days, both inclusive: `from` and `to` as `YYYY-MM-DD`, at most 366 days; by
/// default the 30 days up to today.
pub fn parse_range(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate)> {
    let mut errors = Errors::default();
    let mut date = |field: &str, raw: Option<&str>| -> Option<NaiveDate> {
        let raw = raw?;
        errors.take(
            NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
                .map_err(|_| FieldError::new(field, "must be a date like 2026-11-28")),
        )
    };
    let to_date = date("to", to);
    let from_date = date("from", from);
    errors.finish()?;
    let to = to_date.unwrap_or(today);
    let from = from_date.unwrap_or_else(|| to - Days::new(29));
    if from > to {
        return Err(crate::Error::validation("from", "must not be after to"));
    }
    if (to - from).num_days() as u64 >= MAX_DAYS {
        return Err(crate::Error::validation(
            "from",
            format!("the range may span at most {MAX_DAYS} days"),
        ));
    }
    Ok((from, to))
}

pub async fn get(
    pool: &PgPool,
    organization_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Stats> {
    #[derive(sqlx::FromRow)]
    struct Row {
        day: NaiveDate,
        #[sqlx(flatten)]
        counts: Counts,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT day, queued, sent, delivered, bounced, complained, failed, opened, clicked
         FROM email_stats_daily WHERE organization_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day",
    )
    .bind(organization_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let mut daily = Vec::new();
    let mut totals = Counts::default();
    let mut rows = rows.into_iter().peekable();
    let mut day = from;
    while day <= to {
        let counts = match rows.peek() {
            Some(r) if r.day == day => rows.next().expect("peeked").counts,
            _ => Counts::default(),
        };
        totals.queued += counts.queued;
        totals.sent += counts.sent;
        totals.delivered += counts.delivered;
        totals.bounced += counts.bounced;
        totals.complained += counts.complained;
        totals.failed += counts.failed;
        totals.opened += counts.opened;
        totals.clicked += counts.clicked;
        daily.push(Day { date: day, counts });
        day = day + Days::new(1);
    }
    Ok(Stats {
        from,
        to,
        totals: Totals {
            delivery_rate: rate(totals.delivered, totals.sent),
            bounce_rate: rate(totals.bounced, totals.sent),
            open_rate: rate(totals.opened, totals.delivered),
            click_rate: rate(totals.clicked, totals.delivered),
            counts: totals,
        },
        daily,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive_and_bounded() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let (f, t) = parse_range(None, None, today).unwrap();
        assert_eq!((t - f).num_days(), 29);
        // 366 days, both ends included, is the most.
        assert!(parse_range(Some("2025-11-27"), Some("2026-11-28"), today).is_err());
        assert!(parse_range(Some("2025-11-28"), Some("2026-11-28"), today).is_ok());
        assert!(parse_range(Some("2026-11-29"), Some("2026-11-28"), today).is_err());
        assert!(parse_range(Some("yesterday"), None, today).is_err());
    }
}
