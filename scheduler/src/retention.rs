//! Retention: what is kept how long (`domain::config::Retention`), deleted in batches of rows no one
//! else touches any more, and one-time codes redacted once their message is final.

use std::time::Duration;

use domain::config::Retention;
use sqlx::PgConnection;

use crate::BATCH;

/// Batches a table may lose in one tick (10,000 rows every five seconds).
const BATCHES: usize = 10;

/// Deletes, at most `batches` batches and until one comes back short, the rows of `table` whose
/// `column` is older than `keep` (and that `also` selects).
pub(crate) async fn delete_older(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    also: &str,
    keep: Duration,
    batches: usize,
) -> domain::Result<u64> {
    let sql = format!(
        "DELETE FROM {table} WHERE id IN (
             SELECT id FROM {table}
             WHERE {column} < now() - make_interval(secs => $1::bigint) {also}
             LIMIT $2 FOR UPDATE SKIP LOCKED)"
    );
    let mut deleted = 0;
    for _ in 0..batches {
        let n = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(keep.as_secs() as i64)
            .bind(BATCH)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        deleted += n;
        if n < BATCH as u64 {
            break;
        }
    }
    Ok(deleted)
}

/// Processed raw receipts, finished webhook deliveries (their attempts go with them), sandbox
/// calls and timeline events past their retention.
pub async fn expire(conn: &mut PgConnection, r: &Retention) -> domain::Result<u64> {
    let receipts = delete_older(conn, "receipts", "processed_at", "", r.receipts, BATCHES).await?;
    let deliveries = delete_older(
        conn,
        "webhook_deliveries",
        "last_attempt_at",
        "AND status <> 'PENDING'",
        r.webhook_deliveries,
        BATCHES,
    )
    .await?;
    let calls = delete_older(
        conn,
        "sandbox_calls",
        "created_at",
        "",
        r.sandbox_calls,
        BATCHES,
    )
    .await?;
    let events = delete_older(conn, "events", "occurred_at", "", r.events, BATCHES).await?;
    Ok(receipts + deliveries + calls + events)
}

/// The text that replaces a one-time code.
pub const REDACTED: &str = "[redacted]";

/// SMS sent with `flow: OTP` whose status is final (or SENT past the status poll's give-up, when no
/// receipt will come) lose their text: in the message (and its search text), in what the sandbox
/// received, and wherever a timeline entry, a stored provider answer or a webhook body carries it
/// as a whole JSON string.
pub async fn redact_otp(conn: &mut PgConnection, sent_give_up: Duration) -> domain::Result<u64> {
    let redacted: Vec<(uuid::Uuid,)> = sqlx::query_as(
        "WITH due AS (
             SELECT id, to_json(content ->> 'body')::text AS quoted FROM messages
             WHERE category = 'OTP' AND redacted_at IS NULL AND channel = 'sms'
               AND (status IN ('DELIVERED', 'FAILED', 'CANCELED') OR (status = 'SENT' AND updated_at < now() - make_interval(secs => $1::bigint)))
             ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED),
         messages_done AS (
             UPDATE messages m SET redacted_at = now(),
                 content = jsonb_set(m.content, '{body}', to_jsonb($3::text)),
                 search_text = lower(m.recipient || ' ' || coalesce(m.external_id, ''))
             FROM due WHERE m.id = due.id RETURNING m.id),
         calls AS (
             UPDATE sandbox_calls c SET body = $3 FROM due WHERE c.message_id = due.id RETURNING c.id),
         events_done AS (
             UPDATE events e SET
                 detail = replace(e.detail::text, due.quoted, to_json($3::text)::text)::jsonb,
                 provider_answer = replace(e.provider_answer::text, due.quoted, to_json($3::text)::text)::jsonb
             FROM due WHERE e.message_id = due.id AND due.quoted IS NOT NULL
               AND (e.detail IS NOT NULL OR e.provider_answer IS NOT NULL)
             RETURNING e.id),
         deliveries AS (
             UPDATE webhook_deliveries d SET payload = replace(d.payload, due.quoted, to_json($3::text)::text)
             FROM events e, due
             WHERE d.event_id = e.id AND e.message_id = due.id AND due.quoted IS NOT NULL
             RETURNING d.id)
         SELECT id FROM messages_done",
    )
    .bind(sent_give_up.as_secs() as i64)
    .bind(BATCH)
    .bind(REDACTED)
    .fetch_all(&mut *conn)
    .await?;
    Ok(redacted.len() as u64)
}
