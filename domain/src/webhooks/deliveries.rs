//! Deliveries: one per event and subscribed endpoint, written in the event's own transaction with
//! its body frozen; each attempt is a job, and each retry a new job due at its time.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Endpoint, get};
use crate::{
    Error, Page, Paged, Result,
    commits::{Batcher, Set, first_of_each, in_rounds},
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

/// One event's delivery to one endpoint, with its attempts so far.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = WebhookDelivery)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Its id.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d25")]
    pub id: Uuid,
    /// The endpoint.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d24")]
    pub endpoint_id: Uuid,
    /// The event (its `webhook-id`).
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d26")]
    pub event_id: Uuid,
    /// The event's type.
    #[schema(example = "sms_delivered")]
    pub event_type: String,
    /// PENDING, SUCCEEDED or FAILED.
    #[schema(example = "SUCCEEDED")]
    pub status: String,
    /// Attempts made.
    #[schema(example = 1)]
    pub attempts: i32,
    /// When the last attempt was made.
    #[schema(example = "2026-11-27T10:00:01Z")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due, while PENDING.
    #[schema(example = json!(null))]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The endpoint's last HTTP status.
    #[schema(example = 200)]
    pub response_status: Option<i32>,
    /// The first 1 KiB of the endpoint's last answer.
    #[schema(example = "ok")]
    pub response_body_excerpt: Option<String>,
    /// How long the last attempt took.
    #[schema(example = 42)]
    pub duration_ms: Option<i32>,
    /// Why the last attempt failed, when no status explains it (a time-out, a refused connection).
    #[schema(example = json!(null))]
    pub last_error: Option<String>,
    /// When the delivery was created.
    #[schema(example = "2026-11-27T10:00:00Z")]
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
/// Committed through `commits`, with the other claims in flight, before it is answered.
pub async fn claim(commits: &Batcher, id: Uuid, lease: Duration) -> Result<Claim> {
    commits.run_in::<Claims>((id, lease)).await
}

/// The delivery claims of a batch: one statement claims them with their endpoints, one more
/// reads where those not claimed stand.
struct Claims;

impl Set for Claims {
    type Item = (Uuid, Duration);
    type Output = Claim;

    fn run_all(
        conn: &mut PgConnection,
        claims: Vec<(Uuid, Duration)>,
    ) -> BoxFuture<'_, Result<Vec<Claim>>> {
        // Two jobs of one delivery claim one after the other: the second finds it held.
        Box::pin(in_rounds(
            conn,
            claims,
            |(id, _)| *id,
            |conn, round| Box::pin(claim_round(conn, round)),
        ))
    }
}

async fn claim_round(
    conn: &mut PgConnection,
    round: Vec<(usize, (Uuid, Duration))>,
) -> Result<Vec<(usize, Claim)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        delivery_id: Uuid,
        event_id: Uuid,
        event_type: String,
        payload: String,
        attempts: i32,
        #[sqlx(flatten)]
        endpoint: Endpoint,
    }
    let ids: Vec<Uuid> = round.iter().map(|(_, (id, _))| *id).collect();
    let leases: Vec<i64> = round
        .iter()
        .map(|(_, (_, lease))| lease.as_millis() as i64)
        .collect();
    // The claims and their endpoints in one statement.
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH claimed AS (
             UPDATE webhook_deliveries d
             SET lease_until = now() + make_interval(secs => u.lease_ms / 1000.0)
             FROM unnest($1::uuid[], $2::bigint[]) AS u(id, lease_ms)
             WHERE d.id = u.id AND d.status = 'PENDING' AND (d.lease_until IS NULL OR d.lease_until < now())
               AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= now() + interval '1 second')
             RETURNING d.id AS delivery_id, d.endpoint_id, d.event_id, d.event_type, d.payload, d.attempts
         )
         SELECT claimed.delivery_id, claimed.event_id, claimed.event_type, claimed.payload,
                claimed.attempts, {}
         FROM claimed JOIN webhook_endpoints ON webhook_endpoints.id = claimed.endpoint_id",
        super::COLUMNS
    )))
    .bind(&ids)
    .bind(&leases)
    .fetch_all(&mut *conn)
    .await?;
    let mut claimed: HashMap<Uuid, Row> = rows.into_iter().map(|r| (r.delivery_id, r)).collect();
    let missed: Vec<Uuid> = ids
        .iter()
        .filter(|id| !claimed.contains_key(id))
        .copied()
        .collect();
    type State = (Uuid, String, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let states: HashMap<Uuid, State> = if missed.is_empty() {
        HashMap::new()
    } else {
        sqlx::query_as::<_, State>(
            "SELECT id, status, lease_until, next_attempt_at FROM webhook_deliveries WHERE id = ANY ($1)",
        )
        .bind(&missed)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|state| (state.0, state))
        .collect()
    };
    Ok(round
        .into_iter()
        .map(|(i, (id, _))| {
            let claim = match (claimed.remove(&id), states.get(&id)) {
                (Some(row), _) => Claim::Claimed(Box::new(Claimed {
                    id,
                    endpoint: row.endpoint,
                    event_id: row.event_id,
                    event_type: row.event_type,
                    payload: row.payload,
                    attempts: row.attempts,
                })),
                (None, Some((_, status, lease_until, next))) if status == "PENDING" => {
                    Claim::NotYet((*lease_until).max(*next).unwrap_or_else(Utc::now))
                }
                (None, _) => Claim::Done,
            };
            (i, claim)
        })
        .collect())
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
                // The receiver's Retry-After may lengthen the schedule's wait, never shorten it.
                let scheduled = wait.mul_f64(jitter);
                let wait = attempt
                    .retry_after
                    .map_or(scheduled, |asked| asked.max(scheduled));
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
    // What the endpoint's row records: a success ends a failing streak, 410 disables it, any
    // other failure starts a streak (or continues it).
    let endpoint_change = match &outcome {
        DeliveryOutcome::Succeeded => EndpointChange::Ok,
        DeliveryOutcome::EndpointGone => EndpointChange::Gone,
        DeliveryOutcome::RetryAt(_) | DeliveryOutcome::Failed => EndpointChange::Failing,
    };
    let record = AttemptRecord {
        delivery_id: claimed.id,
        endpoint_id: claimed.endpoint.id,
        attempt_id: Uuid::now_v7(),
        status: new_status,
        attempts,
        next,
        retried: matches!(outcome, DeliveryOutcome::RetryAt(_)),
        response_status: status.map(i32::from),
        excerpt: attempt.body_excerpt.clone(),
        duration_ms: attempt.duration.as_millis().min(i32::MAX as u128) as i32,
        error: attempt.error.clone(),
        endpoint_change,
    };
    let retried = record.retried;
    commits.run_in::<AttemptRecords>(record).await?;
    if retried {
        queue::pushed::<DeliverWebhook>();
    }
    Ok(outcome)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EndpointChange {
    Ok,
    Gone,
    Failing,
}

/// An attempt to record, with what it does to its delivery and endpoint.
#[derive(Clone)]
struct AttemptRecord {
    delivery_id: Uuid,
    endpoint_id: Uuid,
    attempt_id: Uuid,
    status: &'static str,
    attempts: i32,
    next: Option<DateTime<Utc>>,
    retried: bool,
    response_status: Option<i32>,
    excerpt: Option<String>,
    duration_ms: i32,
    error: Option<String>,
    endpoint_change: EndpointChange,
}

/// The attempt records of a batch: the attempts, their deliveries, their endpoints and their retry
/// jobs in one statement.
struct AttemptRecords;

impl Set for AttemptRecords {
    type Item = AttemptRecord;
    type Output = ();

    fn run_all(
        conn: &mut PgConnection,
        records: Vec<AttemptRecord>,
    ) -> BoxFuture<'_, Result<Vec<()>>> {
        Box::pin(async move {
            let n = records.len();
            let mut waiting = records;
            while !waiting.is_empty() {
                let (round, later) = first_of_each(waiting, |r| r.delivery_id);
                waiting = later;
                record_round(conn, round).await?;
            }
            Ok(vec![(); n])
        })
    }
}

/// What a round's attempts do to each endpoint, as if recorded one after another: 410 anywhere
/// disables it; the last other answer decides its failing streak (`ok` ends it, `failing` starts or
/// continues it, `restart` starts one anew after an `ok` in the same round).
fn endpoint_changes(round: &[AttemptRecord]) -> (Vec<Uuid>, Vec<bool>, Vec<Option<&'static str>>) {
    let mut ids: Vec<Uuid> = Vec::new();
    let mut net: HashMap<Uuid, (bool, Option<&'static str>)> = HashMap::new();
    for r in round {
        let (gone, streak) = net.entry(r.endpoint_id).or_insert_with(|| {
            ids.push(r.endpoint_id);
            (false, None)
        });
        match r.endpoint_change {
            EndpointChange::Gone => *gone = true,
            EndpointChange::Ok => *streak = Some("ok"),
            EndpointChange::Failing => {
                *streak = Some(match streak {
                    Some("ok" | "restart") => "restart",
                    _ => "failing",
                })
            }
        }
    }
    let (gone, streaks) = ids.iter().map(|id| net[id]).unzip();
    (ids, gone, streaks)
}

async fn record_round(conn: &mut PgConnection, round: Vec<AttemptRecord>) -> Result<()> {
    let (endpoints, gone, streaks) = endpoint_changes(&round);
    let retries: Vec<_> = round.iter().filter(|r| r.retried).collect();
    let retry_at: Vec<_> = retries.iter().map(|r| r.next).collect();
    let retry = queue::job_rows(retries.iter().map(|r| DeliverWebhook {
        delivery_id: r.delivery_id,
    }));
    let statement = format!(
        "WITH u AS (
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::int[],
                                  $6::text[], $7::int[], $8::text[], $9::uuid[])
                 AS u(delivery_id, status, attempts, next, response_status, excerpt, duration_ms, error,
                      attempt_id)
         ),
         attempt_in AS (
             INSERT INTO webhook_attempts (id, delivery_id, attempted_at, response_status, duration_ms, response_body_excerpt, error)
             SELECT attempt_id, delivery_id, now(), response_status, duration_ms, excerpt, error FROM u
         ),
         endpoint_in AS (
             UPDATE webhook_endpoints w SET
                 failing_since = CASE e.streak WHEN 'ok' THEN NULL WHEN 'restart' THEN now()
                                 WHEN 'failing' THEN coalesce(w.failing_since, now())
                                 ELSE w.failing_since END,
                 enabled = w.enabled AND NOT e.gone,
                 disabled_reason = CASE WHEN e.gone THEN 'the endpoint answered 410 Gone' ELSE w.disabled_reason END,
                 updated_at = CASE WHEN e.gone THEN now() ELSE w.updated_at END
             FROM unnest($10::uuid[], $11::bool[], $12::text[]) AS e(id, gone, streak)
             WHERE w.id = e.id AND (e.gone OR e.streak <> 'ok' OR w.failing_since IS NOT NULL)
         ),
         retry_in AS ({})
         UPDATE webhook_deliveries d SET status = u.status, attempts = greatest(d.attempts + 1, u.attempts),
             last_attempt_at = now(), next_attempt_at = u.next, response_status = u.response_status,
             response_body_excerpt = u.excerpt, duration_ms = u.duration_ms, last_error = u.error,
             lease_until = NULL
         FROM u WHERE d.id = u.delivery_id",
        queue::insert_sql::<DeliverWebhook>(
            "SELECT * FROM unnest($13::text[], $14::bytea[], $15::timestamptz[])"
        )
    );
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .bind(round.iter().map(|r| r.delivery_id).collect::<Vec<_>>())
        .bind(round.iter().map(|r| r.status).collect::<Vec<_>>())
        .bind(round.iter().map(|r| r.attempts).collect::<Vec<_>>())
        .bind(round.iter().map(|r| r.next).collect::<Vec<_>>())
        .bind(round.iter().map(|r| r.response_status).collect::<Vec<_>>())
        .bind(round.iter().map(|r| r.excerpt.clone()).collect::<Vec<_>>())
        .bind(round.iter().map(|r| r.duration_ms).collect::<Vec<_>>())
        .bind(round.iter().map(|r| r.error.clone()).collect::<Vec<_>>())
        .bind(round.iter().map(|r| r.attempt_id).collect::<Vec<_>>())
        .bind(endpoints)
        .bind(gone)
        .bind(streaks)
        .bind(retry.ids)
        .bind(retry.payloads)
        .bind(retry_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(endpoint_id: Uuid, endpoint_change: EndpointChange) -> AttemptRecord {
        AttemptRecord {
            delivery_id: Uuid::now_v7(),
            endpoint_id,
            attempt_id: Uuid::now_v7(),
            status: "PENDING",
            attempts: 1,
            next: None,
            retried: false,
            response_status: None,
            excerpt: None,
            duration_ms: 0,
            error: None,
            endpoint_change,
        }
    }

    #[test]
    fn a_rounds_attempts_change_each_endpoint_as_they_would_one_after_another() {
        use EndpointChange::{Failing, Gone, Ok};
        let cases: [(&[EndpointChange], bool, Option<&str>); 6] = [
            (&[Failing, Ok], false, Some("ok")),
            (&[Ok, Failing], false, Some("restart")),
            (&[Ok, Failing, Failing], false, Some("restart")),
            (&[Failing, Failing], false, Some("failing")),
            (&[Failing, Gone], true, Some("failing")),
            (&[Gone], true, None),
        ];
        for (changes, gone, streak) in cases {
            let id = Uuid::now_v7();
            let other = Uuid::now_v7();
            let mut round: Vec<_> = changes.iter().map(|c| record(id, *c)).collect();
            round.insert(1, record(other, Ok));
            let (ids, gones, streaks) = endpoint_changes(&round);
            assert_eq!(ids, vec![id, other]);
            assert_eq!(
                (gones[0], streaks[0]),
                (gone, streak),
                "{:?}",
                changes.len()
            );
            assert_eq!((gones[1], streaks[1]), (false, Some("ok")));
        }
    }
}
