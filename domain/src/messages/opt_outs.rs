//! Handset opt-outs of the phone channels (SMS, WhatsApp): a recipient who texted STOP (or was added
//! through the API) receives no more messages of that channel from that organization until START.
//! Inbound texts of both channels are stored raw and routed by the inbound job: the channel decides
//! which organization a text is for, the keywords are the same everywhere. An SMS opt-out change is an
//! `sms_opt_out` event; the contract has no WhatsApp opt-out event, so a WhatsApp one is a timeline note.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Channel, add_entry, store::latest_to};
use crate::{Config, Error, Page, Paged, PhoneNumber, Result, events};

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

/// A handset that asked not to be sent to.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OptOut {
    /// The handset, E.164.
    #[schema(example = "+2348067000111")]
    pub phone_number: String,
    /// `inbound` (the handset texted STOP) or `api`.
    #[schema(example = "inbound")]
    pub source: String,
    /// When it opted out.
    #[schema(example = "2026-11-27T10:00:00Z")]
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
    channel: Channel,
    phone: &str,
    action: &str,
    source: Source,
) -> Result<()> {
    if channel != Channel::Sms {
        return Ok(());
    }
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

/// The query for the numbers among `phones` (an array) that opted out of the organization's
/// messages of `channel`, its parameters named, for a channel's one rules read.
pub(crate) fn opted_out_sql(organization_id: &str, channel: &str, phones: &str) -> String {
    format!(
        "SELECT phone_number FROM opt_outs
         WHERE organization_id = {organization_id} AND channel = {channel} AND phone_number = ANY ({phones})"
    )
}

/// The error a send to an opted-out recipient gets (422 at accept, FAILED at the send job).
pub fn opted_out_error() -> crate::FieldError {
    crate::FieldError {
        field: "to".into(),
        message: "the recipient has opted out of messages from this organization".into(),
        code: Some("RECIPIENT_OPTED_OUT"),
    }
}

/// Adds an opt-out; None when the handset had already opted out (nothing changes, no event).
pub async fn add(
    conn: &mut PgConnection,
    organization_id: Uuid,
    channel: Channel,
    phone: &PhoneNumber,
    source: Source,
) -> Result<Option<OptOut>> {
    let row = sqlx::query_as::<_, OptOut>(
        "INSERT INTO opt_outs (organization_id, channel, phone_number, source) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING phone_number, source, created_at",
    )
    .bind(organization_id)
    .bind(channel.as_str())
    .bind(phone.as_str())
    .bind(source.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if row.is_some() {
        emit(
            conn,
            organization_id,
            channel,
            phone.as_str(),
            "added",
            source,
        )
        .await?;
    }
    Ok(row)
}

/// Removes an opt-out; false when there was none.
pub async fn remove(
    conn: &mut PgConnection,
    organization_id: Uuid,
    channel: Channel,
    phone: &PhoneNumber,
    source: Source,
) -> Result<bool> {
    let removed = sqlx::query(
        "DELETE FROM opt_outs WHERE organization_id = $1 AND channel = $2 AND phone_number = $3",
    )
    .bind(organization_id)
    .bind(channel.as_str())
    .bind(phone.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    if removed {
        emit(
            conn,
            organization_id,
            channel,
            phone.as_str(),
            "removed",
            source,
        )
        .await?;
    }
    Ok(removed)
}

pub async fn add_via_api(
    pool: &PgPool,
    organization_id: Uuid,
    channel: Channel,
    raw_phone: &str,
) -> Result<OptOut> {
    let phone = PhoneNumber::parse(raw_phone).map_err(|m| Error::validation("phoneNumber", m))?;
    let mut tx = pool.begin().await?;
    let row = add(&mut tx, organization_id, channel, &phone, Source::Api)
        .await?
        .ok_or_else(|| Error::conflict("this phone number has already opted out"))?;
    tx.commit().await?;
    Ok(row)
}

pub async fn remove_via_api(
    pool: &PgPool,
    organization_id: Uuid,
    channel: Channel,
    raw_phone: &str,
) -> Result<()> {
    let phone = PhoneNumber::parse_lenient(raw_phone).map_err(|_| Error::NotFound)?;
    let mut tx = pool.begin().await?;
    if !remove(&mut tx, organization_id, channel, &phone, Source::Api).await? {
        return Err(Error::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

pub async fn list(
    pool: &PgPool,
    organization_id: Uuid,
    channel: Channel,
    page: Page,
) -> Result<Paged<OptOut>> {
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM opt_outs WHERE organization_id = $1 AND channel = $2",
    )
    .bind(organization_id)
    .bind(channel.as_str())
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as::<_, OptOut>(
        "SELECT phone_number, source, created_at FROM opt_outs
         WHERE organization_id = $1 AND channel = $2
         ORDER BY created_at DESC, phone_number LIMIT $3 OFFSET $4",
    )
    .bind(organization_id)
    .bind(channel.as_str())
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    Ok(page.wrap(rows, total))
}

/// An inbound text as a handset sent it: its channel, who sent it (`from`), where it was sent (an
/// SMS sender ID or number, a WhatsApp line's phone number id) and its text.
pub struct Inbound<'a> {
    pub channel: Channel,
    pub from: &'a str,
    pub to: &'a str,
    pub text: &'a str,
    pub raw: &'a Value,
}

/// Stores an inbound text as it arrived, for the inbound job to route; None when it is a repeat of
/// one already stored (a WhatsApp message with the same id, delivered again by Meta).
pub async fn record_inbound(conn: &mut PgConnection, i: Inbound<'_>) -> Result<Option<Uuid>> {
    let id = Uuid::now_v7();
    let stored = sqlx::query(
        "INSERT INTO inbound_messages (id, channel, sender, recipient, text, raw)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(i.channel.as_str())
    .bind(crate::messages::answers::text(i.from, 64))
    .bind(crate::messages::answers::text(i.to, 128))
    .bind(crate::messages::answers::text(i.text, 4096))
    .bind(crate::messages::answers::sanitize(i.raw.clone()))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok((stored > 0).then_some(id))
}

/// The organization an inbound text is for: the channel decides (SMS: by the sender ID it was sent
/// to; WhatsApp: by the line).
async fn route(
    conn: &mut PgConnection,
    config: &Config,
    channel: Channel,
    from: &PhoneNumber,
    to: &str,
) -> Result<Option<Uuid>> {
    match channel {
        Channel::Sms => crate::sms::route_inbound(conn, from, to).await,
        Channel::Whatsapp => crate::whatsapp::lines::route_inbound(conn, config, from, to).await,
        Channel::Email => Ok(None),
    }
}

/// Applies an inbound text: it is routed to an organization, kept as a `note` on the timeline of that
/// organization's latest message to the handset, and a STOP or START keyword changes the opt-out.
pub async fn process_inbound(
    pool: &PgPool,
    config: &Config,
    inbound_id: Uuid,
) -> Result<Option<String>> {
    let mut tx = pool.begin().await?;
    let row: Option<(String, String, String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT channel, sender, recipient, text, received_at FROM inbound_messages
         WHERE id = $1 AND processed_at IS NULL FOR UPDATE",
    )
    .bind(inbound_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((channel, from, to, text, received_at)) = row else {
        return Ok(None);
    };
    let channel = Channel::parse(&channel)
        .ok_or_else(|| anyhow::anyhow!("inbound {inbound_id}: unknown channel {channel:?}"))?;
    let Ok(phone) = PhoneNumber::parse(&from) else {
        return finish(tx, inbound_id, None, "ignored").await;
    };
    let Some(org) = route(&mut tx, config, channel, &phone, &to).await? else {
        return finish(tx, inbound_id, None, "unrouted").await;
    };
    let outcome = match keyword(&text) {
        Some(Keyword::Stop) => {
            add(&mut tx, org, channel, &phone, Source::Inbound).await?;
            "opted_out"
        }
        Some(Keyword::Start) => {
            remove(&mut tx, org, channel, &phone, Source::Inbound).await?;
            "opted_in"
        }
        None => "recorded",
    };
    if let Some(message) = latest_to(&mut tx, org, channel, phone.as_str()).await? {
        let detail = json!({
            "reason": "inbound_message",
            "from": phone.as_str(),
            "text": text,
            "receivedAt": received_at,
            "outcome": outcome,
        });
        add_entry(&mut tx, &message, "note", None, Some(detail)).await?;
    }
    finish(tx, inbound_id, Some(org), outcome).await
}

async fn finish(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    inbound_id: Uuid,
    organization_id: Option<Uuid>,
    outcome: &'static str,
) -> Result<Option<String>> {
    sqlx::query(
        "UPDATE inbound_messages SET organization_id = $2, outcome = $3, processed_at = now() WHERE id = $1",
    )
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
