//! Deliveries: one per event and subscribed endpoint, written in the event's own transaction with
//! its body frozen; each attempt is a job, and each retry a new job due at its time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Endpoint, get};
use crate::{
    Error, Page, Paged, Result,
    commits::Batcher,
    events,
    queue::{self, DeliverWebhook},
};

/// A customer-visible event, ready to be sent.
pub struct OutEvent {
    pub id: Uuid,
    pub event_type: String,
    pub payload: String,
}

impl OutEvent {
    pub fn new(
        id: Uuid,
        event_type: &str,
        created_at: DateTime<Utc>,
        organization_id: Uuid,
        data: &Value,
    ) -> Self {
        let payload = json!({
            "id": id,
            "type": event_type,
            "createdAt": created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "organizationId": organization_id,
            "data": data,
        });
        OutEvent {
            id,
            event_type: event_type.to_owned(),
            payload: payload.to_string(),
        }
    }
}

async fn insert_deliveries(
    conn: &mut PgConnection,
    organization_id: Uuid,
    rows: Vec<(Uuid, &OutEvent)>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::now_v7()).collect();
    let endpoints: Vec<Uuid> = rows.iter().map(|(e, _)| *e).collect();
    let events: Vec<Uuid> = rows.iter().map(|(_, ev)| ev.id).collect();
    let types: Vec<&str> = rows.iter().map(|(_, ev)| ev.event_type.as_str()).collect();
    let payloads: Vec<&str> = rows.iter().map(|(_, ev)| ev.payload.as_str()).collect();
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, organization_id, endpoint_id, event_id, event_type, payload, status, next_attempt_at)
         SELECT id, $2, endpoint_id, event_id, event_type, payload, 'PENDING', now()
         FROM unnest($1::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[])
             AS t(id, endpoint_id, event_id, event_type, payload)
         ON CONFLICT (endpoint_id, event_id) DO NOTHING",
    )
    .bind(&ids)
    .bind(organization_id)
    .bind(&endpoints)
    .bind(&events)
    .bind(&types)
    .bind(&payloads)
    .execute(&mut *conn)
    .await?;
    queue::push_all(
        conn,
        ids.into_iter()
            .map(|delivery_id| (DeliverWebhook { delivery_id }, None)),
    )
    .await
}

/// The fan-out, as `WITH` items of the statement that writes its events: one delivery per enabled
/// endpoint of its organization subscribed to each event (the events' organizations, ids, types and
/// payloads in the array expressions `orgs`, `ids`, `types` and `payloads`), and one delivery job
/// each. The statement
/// can `SELECT count(*) FROM fanned` to learn whether the webhook queue needs waking. One statement
/// whatever the number of endpoints: reading them first would be a round trip of its own.
pub(crate) fn fan_out_sql(orgs: &str, ids: &str, types: &str, payloads: &str) -> String {
    let jobs = queue::insert_sql::<DeliverWebhook>(
        "SELECT apalis.generate_ulid(), convert_to(jsonb_build_object('delivery_id', id)::text, 'UTF8'),
                NULL::timestamptz
         FROM deliveries_in",
    );
    format!(
        "deliveries_in AS (
             INSERT INTO webhook_deliveries (id, organization_id, endpoint_id, event_id, event_type, payload, status, next_attempt_at)
             SELECT herald_uuid_v7(), t.org, w.id, t.id, t.type, t.payload, 'PENDING', now()
             FROM unnest({orgs}, {ids}, {types}, {payloads}) AS t(org, id, type, payload)
             JOIN webhook_endpoints w ON w.organization_id = t.org AND w.enabled
                 AND (cardinality(w.event_types) = 0 OR t.type = ANY (w.event_types))
             ON CONFLICT (endpoint_id, event_id) DO NOTHING
             RETURNING id
         ),
         fanned AS ({jobs})"
    )
}

/// Sends a `webhook_test` event to one endpoint, whatever its event types and enabled flag.
pub async fn send_test(
    pool: &PgPool,
    organization_id: Uuid,
    endpoint_id: Uuid,
) -> Result<Delivery> {
    get(pool, organization_id, endpoint_id).await?;
    let mut tx = pool.begin().await?;
    let data = json!({"endpointId": endpoint_id, "message": "A test event from Herald"});
    let entry = events::Entry {
        organization_id,
        message_id: None,
        event_type: "webhook_test",
        status: None,
        detail: Some(data.clone()),
        provider_answer: None,
    };
    let recorded = events::record(&mut tx, entry).await?;
    let ev = OutEvent::new(
        recorded.id,
        "webhook_test",
        recorded.occurred_at,
        organization_id,
        &data,
    );
    insert_deliveries(&mut tx, organization_id, vec![(endpoint_id, &ev)]).await?;
    tx.commit().await?;
    let id: Uuid = sqlx::query_scalar(
        "SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND event_id = $2",
    )
    .bind(endpoint_id)
    .bind(recorded.id)
    .fetch_one(pool)
    .await?;
    get_delivery(pool, organization_id, id).await
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub status: String,
    pub attempts: i32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub response_status: Option<i32>,
    pub response_body_excerpt: Option<String>,
    pub duration_ms: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

const DELIVERY_COLUMNS: &str = "id, endpoint_id, event_id, event_type, status, attempts, last_attempt_at, \
    next_attempt_at, response_status, response_body_excerpt, duration_ms, last_error, created_at";

pub async fn get_delivery(pool: &PgPool, organization_id: Uuid, id: Uuid) -> Result<Delivery> {
    sqlx::query_as::<_, Delivery>(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND organization_id = $2"
    )))
    .bind(id)
    .bind(organization_id)
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound)
}

pub async fn list_deliveries(
    pool: &PgPool,
    organization_id: Uuid,
    endpoint_id: Uuid,
    status: Option<String>,
    page: Page,
) -> Result<Paged<Delivery>> {
    get(pool, organization_id, endpoint_id).await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND ($2::text IS NULL OR status = $2)",
    )
    .bind(endpoint_id)
    .bind(&status)
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as::<_, Delivery>(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND ($2::text IS NULL OR status = $2)
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    )))
    .bind(endpoint_id)
    .bind(&status)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    Ok(page.wrap(rows, total))
}

/// Manual replay: the delivery is attempted again now, whatever its status. An attempt already under
/// way keeps its lease: the replay's job waits for it to end instead of posting beside it.
pub async fn retry(pool: &PgPool, organization_id: Uuid, id: Uuid) -> Result<Delivery> {
    let mut tx = pool.begin().await?;
    let n = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'PENDING', next_attempt_at = now()
         WHERE id = $1 AND organization_id = $2",
    )
    .bind(id)
    .bind(organization_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(Error::NotFound);
    }
    queue::push(&mut tx, DeliverWebhook { delivery_id: id }, None).await?;
    tx.commit().await?;
    get_delivery(pool, organization_id, id).await
}

/// How far back a recovery may reach.
pub const RECOVER_MAX_DAYS: i64 = 30;
const RECOVER_BATCH: i64 = 1000;

/// After an outage: every FAILED delivery of the endpoint since `since` (at most 30 days back) is
/// attempted again, in batches of a thousand, each batch its own transaction with its jobs.
pub async fn recover(
    pool: &PgPool,
    organization_id: Uuid,
    endpoint_id: Uuid,
    since: DateTime<Utc>,
) -> Result<u64> {
    get(pool, organization_id, endpoint_id).await?;
    if since < Utc::now() - chrono::Duration::days(RECOVER_MAX_DAYS) {
        return Err(Error::validation(
            "since",
            format!("must be within the last {RECOVER_MAX_DAYS} days"),
        ));
    }
    let mut total = 0;
    loop {
        let mut tx = pool.begin().await?;
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET status = 'PENDING', next_attempt_at = now()
             WHERE id IN (SELECT id FROM webhook_deliveries
                          WHERE endpoint_id = $1 AND organization_id = $2 AND status = 'FAILED'
                            AND created_at >= $3
                          LIMIT $4 FOR UPDATE SKIP LOCKED)
             RETURNING id",
        )
        .bind(endpoint_id)
        .bind(organization_id)
        .bind(since)
        .bind(RECOVER_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        queue::push_all(
            &mut tx,
            ids.iter()
                .map(|id| (DeliverWebhook { delivery_id: *id }, None)),
        )
        .await?;
        tx.commit().await?;
        total += ids.len() as u64;
        if (ids.len() as i64) < RECOVER_BATCH {
            return Ok(total);
        }
    }
}

/// A delivery claimed for one attempt, with what the attempt needs.
pub struct Claimed {
    pub id: Uuid,
    pub endpoint: Endpoint,
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: String,
    pub attempts: i32,
}

/// What a delivery job found when it tried to claim its delivery.
pub enum Claim {
    Claimed(Box<Claimed>),
    /// Another job holds it, or its next attempt is not due yet: look again at this time.
    NotYet(DateTime<Utc>),
    /// Nothing left to do (it succeeded or failed, or is gone).
    Done,
}

/// Claims a PENDING, due delivery for one attempt, under a lease. A job that finds it held (a
/// duplicate, or a job rescued from a dead worker before the lease ran out) comes back when the
/// lease ends, so no delivery is left PENDING without a job.
/// Committed through `commits` before it is answered.
pub async fn claim(commits: &Batcher, id: Uuid, lease: Duration) -> Result<Claim> {
    commits
        .run(move |conn| Box::pin(claim_in(conn, id, lease)))
        .await
}

async fn claim_in(conn: &mut PgConnection, id: Uuid, lease: Duration) -> Result<Claim> {
    #[derive(sqlx::FromRow)]
    struct Row {
        event_id: Uuid,
        event_type: String,
        payload: String,
        attempts: i32,
        #[sqlx(flatten)]
        endpoint: Endpoint,
    }
    // The claim and its endpoint in one statement.
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH claimed AS (
             UPDATE webhook_deliveries SET lease_until = now() + make_interval(secs => $2::bigint / 1000.0)
             WHERE id = $1 AND status = 'PENDING' AND (lease_until IS NULL OR lease_until < now())
               AND (next_attempt_at IS NULL OR next_attempt_at <= now() + interval '1 second')
             RETURNING endpoint_id, event_id, event_type, payload, attempts
         )
         SELECT claimed.event_id, claimed.event_type, claimed.payload, claimed.attempts, {}
         FROM claimed JOIN webhook_endpoints ON webhook_endpoints.id = claimed.endpoint_id",
        super::COLUMNS
    )))
    .bind(id)
    .bind(lease.as_millis() as i64)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        type State = (String, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
        let state: Option<State> = sqlx::query_as(
            "SELECT status, lease_until, next_attempt_at FROM webhook_deliveries WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        return Ok(match state {
            Some((status, lease_until, next)) if status == "PENDING" => {
                Claim::NotYet(lease_until.max(next).unwrap_or_else(Utc::now))
            }
            _ => Claim::Done,
        });
    };
    Ok(Claim::Claimed(Box::new(Claimed {
        id,
        endpoint: row.endpoint,
        event_id: row.event_id,
        event_type: row.event_type,
        payload: row.payload,
        attempts: row.attempts,
    })))
}

/// What one attempt found.
pub struct Attempt {
    pub response_status: Option<u16>,
    pub duration: Duration,
    pub body_excerpt: Option<String>,
    pub error: Option<String>,
    pub retry_after: Option<Duration>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Succeeded,
    RetryAt(DateTime<Utc>),
    Failed,
    /// 410 Gone: the endpoint is disabled and the delivery FAILED.
    EndpointGone,
}

/// Records an attempt and decides what follows: success, a retry job at its due time (the schedule
/// with ±20 % jitter, or the receiver's `Retry-After`), or FAILED after the last; committed
/// through `commits`.
pub async fn record_attempt(
    commits: &Batcher,
    claimed: &Claimed,
    attempt: &Attempt,
    schedule: &[Duration],
) -> Result<DeliveryOutcome> {
    let status = attempt.response_status;
    let attempts = claimed.attempts + 1;
    let outcome = match status {
        Some(s) if (200..300).contains(&s) => DeliveryOutcome::Succeeded,
        Some(410) => DeliveryOutcome::EndpointGone,
        _ if claimed.event_type != "webhook_test" && !claimed.endpoint.enabled => {
            DeliveryOutcome::Failed
        }
        _ => match schedule.get(attempts as usize - 1) {
            None => DeliveryOutcome::Failed,
            Some(wait) => {
                let jitter = rand::rng().random_range(0.8..1.2);
                let wait = attempt.retry_after.unwrap_or_else(|| wait.mul_f64(jitter));
                DeliveryOutcome::RetryAt(
                    Utc::now()
                        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(24)),
                )
            }
        },
    };
    let (new_status, next) = match &outcome {
        DeliveryOutcome::Succeeded => ("SUCCEEDED", None),
        DeliveryOutcome::RetryAt(at) => ("PENDING", Some(*at)),
        DeliveryOutcome::Failed | DeliveryOutcome::EndpointGone => ("FAILED", None),
    };
    let duration_ms = attempt.duration.as_millis().min(i32::MAX as u128) as i32;
    // What the endpoint's row records: a success ends a failing streak, 410 disables it, any
    // other failure starts a streak (or continues it).
    let endpoint_change = match &outcome {
        DeliveryOutcome::Succeeded => "ok",
        DeliveryOutcome::EndpointGone => "gone",
        DeliveryOutcome::RetryAt(_) | DeliveryOutcome::Failed => "failing",
    };
    let retry = queue::job_rows(matches!(outcome, DeliveryOutcome::RetryAt(_)).then_some(
        DeliverWebhook {
            delivery_id: claimed.id,
        },
    ));
    // The attempt, the delivery, its endpoint and its retry job in one statement.
    let statement = format!(
        "WITH attempt_in AS (
             INSERT INTO webhook_attempts (id, delivery_id, attempted_at, response_status, duration_ms, response_body_excerpt, error)
             VALUES ($9, $1, now(), $5, $7, $6, $8)
         ),
         endpoint_in AS (
             UPDATE webhook_endpoints SET
                 failing_since = CASE $11 WHEN 'ok' THEN NULL WHEN 'gone' THEN failing_since
                                 ELSE coalesce(failing_since, now()) END,
                 enabled = enabled AND $11 <> 'gone',
                 disabled_reason = CASE $11 WHEN 'gone' THEN 'the endpoint answered 410 Gone' ELSE disabled_reason END,
                 updated_at = CASE $11 WHEN 'gone' THEN now() ELSE updated_at END
             WHERE id = $10 AND ($11 <> 'ok' OR failing_since IS NOT NULL)
         ),
         retry_in AS ({})
         UPDATE webhook_deliveries SET status = $2, attempts = greatest(attempts + 1, $3), last_attempt_at = now(),
             next_attempt_at = $4, response_status = $5, response_body_excerpt = $6, duration_ms = $7, last_error = $8,
             lease_until = NULL
         WHERE id = $1",
        queue::insert_sql::<DeliverWebhook>(
            "SELECT id, payload, $4::timestamptz FROM unnest($12::text[], $13::bytea[]) AS r(id, payload)"
        )
    );
    let (delivery_id, endpoint_id, attempt_id) = (claimed.id, claimed.endpoint.id, Uuid::now_v7());
    let (excerpt, error) = (attempt.body_excerpt.clone(), attempt.error.clone());
    let retried = !retry.ids.is_empty();
    let (retry_ids, retry_payloads) = (retry.ids, retry.payloads);
    commits
        .run(move |conn| {
            let statement = statement.clone();
            let (excerpt, error) = (excerpt.clone(), error.clone());
            let (retry_ids, retry_payloads) = (retry_ids.clone(), retry_payloads.clone());
            Box::pin(async move {
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .bind(delivery_id)
                    .bind(new_status)
                    .bind(attempts)
                    .bind(next)
                    .bind(status.map(i32::from))
                    .bind(excerpt)
                    .bind(duration_ms)
                    .bind(error)
                    .bind(attempt_id)
                    .bind(endpoint_id)
                    .bind(endpoint_change)
                    .bind(retry_ids)
                    .bind(retry_payloads)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await?;
    if retried {
        queue::pushed::<DeliverWebhook>();
    }
    Ok(outcome)
}

/// Schedules the delivery's job again at `at`; `release` gives back a claim made without an attempt
/// (its endpoint was at its concurrency limit).
pub async fn come_back(pool: &PgPool, id: Uuid, at: DateTime<Utc>, release: bool) -> Result<()> {
    let mut tx = pool.begin().await?;
    if release {
        sqlx::query("UPDATE webhook_deliveries SET lease_until = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    queue::push(&mut tx, DeliverWebhook { delivery_id: id }, Some(at)).await?;
    tx.commit().await?;
    Ok(())
}
