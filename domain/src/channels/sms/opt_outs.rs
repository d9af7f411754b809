//! Handset opt-outs: a recipient who texted STOP (or was added through the API) receives no more SMS
//! from that organization until START. Every change is an `sms_opt_out` event.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Error, Page, Paged, PhoneNumber, Result, events};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Inbound,
    Api,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Inbound => "inbound",
            Source::Api => "api",
        }
    }
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct OptOut {
    pub phone_number: String,
    pub source: String,
    pub created_at: DateTime<Utc>,
}

/// What a handset's text asks for: the whole trimmed text, compared without case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Stop,
    Start,
}

pub fn keyword(text: &str) -> Option<Keyword> {
    let t = text.trim().to_ascii_uppercase();
    match t.as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" => Some(Keyword::Stop),
        "START" | "UNSTOP" => Some(Keyword::Start),
        _ => None,
    }
}

async fn emit(
    conn: &mut PgConnection,
    organization_id: Uuid,
    phone: &str,
    action: &str,
    source: Source,
) -> Result<()> {
    let detail = json!({
        "phoneNumber": phone,
        "action": action,
        "source": source.as_str(),
        "occurredAt": Utc::now(),
    });
    let entry = events::Entry {
        organization_id,
        message_id: None,
        event_type: "sms_opt_out",
        status: None,
        detail: Some(detail.clone()),
        provider_answer: None,
    };
    events::publish(conn, entry, &detail).await?;
    Ok(())
}

/// Whether a handset has opted out of an organization's messages.
pub async fn is_opted_out(
    conn: &mut PgConnection,
    organization_id: Uuid,
    phone: &str,
) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sms_opt_outs WHERE organization_id = $1 AND phone_number = $2)",
    )
    .bind(organization_id)
    .bind(phone)
    .fetch_one(&mut *conn)
    .await?)
}

/// Adds an opt-out; None when the handset had already opted out (nothing changes, no event).
pub async fn add(
    conn: &mut PgConnection,
    organization_id: Uuid,
    phone: &PhoneNumber,
    source: Source,
) -> Result<Option<OptOut>> {
    let row = sqlx::query_as::<_, OptOut>(
        "INSERT INTO sms_opt_outs (organization_id, phone_number, source) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING phone_number, source, created_at",
    )
    .bind(organization_id)
    .bind(phone.as_str())
    .bind(source.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if row.is_some() {
        emit(conn, organization_id, phone.as_str(), "added", source).await?;
    }
    Ok(row)
}

/// Removes an opt-out; false when there was none.
pub async fn remove(
    conn: &mut PgConnection,
    organization_id: Uuid,
    phone: &PhoneNumber,
    source: Source,
) -> Result<bool> {
    let removed =
        sqlx::query("DELETE FROM sms_opt_outs WHERE organization_id = $1 AND phone_number = $2")
            .bind(organization_id)
            .bind(phone.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected()
            > 0;
    if removed {
        emit(conn, organization_id, phone.as_str(), "removed", source).await?;
    }
    Ok(removed)
}

pub async fn add_via_api(pool: &PgPool, organization_id: Uuid, raw_phone: &str) -> Result<OptOut> {
    let phone = PhoneNumber::parse(raw_phone).map_err(|m| Error::validation("phoneNumber", m))?;
    let mut tx = pool.begin().await?;
    let row = add(&mut tx, organization_id, &phone, Source::Api)
        .await?
        .ok_or_else(|| Error::conflict("this phone number has already opted out"))?;
    tx.commit().await?;
    Ok(row)
}

pub async fn remove_via_api(pool: &PgPool, organization_id: Uuid, raw_phone: &str) -> Result<()> {
    let phone = PhoneNumber::parse_lenient(raw_phone).map_err(|_| Error::NotFound)?;
    let mut tx = pool.begin().await?;
    if !remove(&mut tx, organization_id, &phone, Source::Api).await? {
        return Err(Error::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

pub async fn list(pool: &PgPool, organization_id: Uuid, page: Page) -> Result<Paged<OptOut>> {
    crate::pagination::by_organization(
        pool,
        "sms_opt_outs",
        "phone_number, source, created_at",
        "created_at DESC, phone_number",
        organization_id,
        page,
    )
    .await
}

/// Stores an inbound text as it arrived, for the inbound job to route.
pub async fn record_inbound(
    conn: &mut PgConnection,
    from: &str,
    to: &str,
    text: &str,
    raw: &serde_json::Value,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO inbound_messages (id, channel, sender, recipient, text, raw) VALUES ($1, 'sms', $2, $3, $4, $5)")
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(text)
        .bind(raw)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Applies an inbound text: a STOP or START keyword goes to the organization that most recently sent
/// SMS to the handset from that sender ID, else the one that most recently sent to it at all.
pub async fn process_inbound(pool: &PgPool, inbound_id: Uuid) -> Result<Option<String>> {
    let mut tx = pool.begin().await?;
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT sender, recipient, text FROM inbound_messages WHERE id = $1 AND processed_at IS NULL FOR UPDATE",
    )
    .bind(inbound_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((from, to, text)) = row else {
        return Ok(None);
    };
    let parsed = PhoneNumber::parse(&from).ok();
    let (organization_id, outcome) = match (keyword(&text), parsed) {
        (Some(kw), Some(phone)) => {
            let org: Option<Uuid> = sqlx::query_scalar(
                "SELECT organization_id FROM (
                     (SELECT organization_id, 0 AS rank, created_at FROM messages
                      WHERE channel = 'sms' AND recipient = $1 AND lower(sender) = lower($2)
                      ORDER BY created_at DESC LIMIT 1)
                     UNION ALL
                     (SELECT organization_id, 1, created_at FROM messages
                      WHERE channel = 'sms' AND recipient = $1 ORDER BY created_at DESC LIMIT 1)) m
                 ORDER BY rank LIMIT 1",
            )
            .bind(phone.as_str())
            .bind(to.trim())
            .fetch_optional(&mut *tx)
            .await?;
            match (org, kw) {
                (None, _) => (None, "unrouted"),
                (Some(org), Keyword::Stop) => {
                    add(&mut tx, org, &phone, Source::Inbound).await?;
                    (Some(org), "opted_out")
                }
                (Some(org), Keyword::Start) => {
                    remove(&mut tx, org, &phone, Source::Inbound).await?;
                    (Some(org), "opted_in")
                }
            }
        }
        _ => (None, "ignored"),
    };
    sqlx::query("UPDATE inbound_messages SET organization_id = $2, outcome = $3, processed_at = now() WHERE id = $1")
        .bind(inbound_id)
        .bind(organization_id)
        .bind(outcome)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(outcome.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_the_whole_trimmed_text_in_any_case() {
        for stop in [
            "STOP",
            " stop ",
            "StopAll",
            "unsubscribe",
            "Cancel",
            "END",
            "quit",
        ] {
            assert_eq!(keyword(stop), Some(Keyword::Stop), "{stop}");
        }
        assert_eq!(keyword("start"), Some(Keyword::Start));
        assert_eq!(keyword("UNSTOP"), Some(Keyword::Start));
        for other in ["please stop", "STOP!", "", "stopp"] {
            assert_eq!(keyword(other), None, "{other}");
        }
    }
}
