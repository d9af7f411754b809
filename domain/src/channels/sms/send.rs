//! What an SMS send must satisfy, and how it enters the shared accept path (`messages::accept`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::sender_ids;
use crate::{
    Errors, FieldError, PhoneNumber, Result, SenderId, SmsBody,
    messages::{Channel, ChannelSend, NewMessage, opt_outs, parse_common},
};

/// `POST …/sms/send`, and each item of `…/sms/batch`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsSend {
    /// E.164, with the leading +.
    pub to: Option<String>,
    /// 1 to 1,600 characters.
    pub body: Option<String>,
    /// A sender ID approved for the organization.
    pub sender_id: Option<String>,
    /// OTP or STANDARD (the default).
    pub flow: Option<String>,
    pub external_id: Option<String>,
    /// RFC 3339; up to 30 days ahead.
    pub scheduled_at: Option<String>,
}

pub struct ValidSms {
    to: PhoneNumber,
    body: SmsBody,
    sender_id: SenderId,
    flow: &'static str,
    external_id: Option<String>,
    scheduled_at: Option<DateTime<Utc>>,
}

pub fn parse_flow(raw: &str) -> Option<&'static str> {
    ["OTP", "STANDARD"].into_iter().find(|f| *f == raw)
}

fn validate(
    req: &SmsSend,
    prefix: &str,
    now: DateTime<Utc>,
    errors: &mut Errors,
) -> Option<ValidSms> {
    let before = errors.len();
    let field = |f: &str| format!("{prefix}{f}");
    let to = errors.required(field("to"), req.to.as_deref(), PhoneNumber::parse);
    let body = errors.required(field("body"), req.body.as_deref(), SmsBody::parse);
    let sender_id = errors.required(field("senderId"), req.sender_id.as_deref(), SenderId::parse);
    let flow = match req.flow.as_deref() {
        None => Some("STANDARD"),
        Some(raw) => errors.take(
            parse_flow(raw)
                .ok_or_else(|| FieldError::new(field("flow"), "must be OTP or STANDARD")),
        ),
    };
    let (external_id, scheduled_at) = parse_common(
        req.external_id.as_deref(),
        req.scheduled_at.as_deref(),
        prefix,
        now,
        errors,
    );
    if errors.len() > before {
        return None;
    }
    Some(ValidSms {
        to: to?,
        body: body?,
        sender_id: sender_id?,
        flow: flow?,
        external_id,
        scheduled_at,
    })
}

impl ValidSms {
    fn into_new_message(self) -> NewMessage {
        let mut content = Map::new();
        content.insert("senderId".into(), json!(self.sender_id.as_str()));
        content.insert("flow".into(), json!(self.flow));
        content.insert("body".into(), json!(self.body.as_str()));
        content.insert("segments".into(), json!(self.body.segments()));
        content.insert("encoding".into(), json!(self.body.encoding().as_str()));
        let search_text = format!(
            "{} {} {}",
            self.to.as_str(),
            self.body.as_str(),
            self.external_id.as_deref().unwrap_or("")
        )
        .to_lowercase();
        NewMessage {
            channel: Channel::Sms,
            recipient: self.to.as_str().to_owned(),
            sender: Some(self.sender_id.as_str().to_owned()),
            category: Some(self.flow.to_owned()),
            content,
            external_id: self.external_id,
            search_text,
            scheduled_at: self.scheduled_at,
            private_content: None,
        }
    }
}

/// The rules that need the database, checked for every item at once in one read: the sender ID is
/// approved for the organization and the recipient has not opted out. Returns one error per failing
/// item.
async fn check_rules(
    conn: &mut PgConnection,
    organization_id: Uuid,
    items: &[ValidSms],
) -> Result<Vec<(usize, FieldError)>> {
    let senders: Vec<String> = items
        .iter()
        .map(|i| i.sender_id.as_str().to_lowercase())
        .collect();
    let recipients: Vec<String> = items.iter().map(|i| i.to.as_str().to_owned()).collect();
    let (approved, opted_out): (Vec<String>, Vec<String>) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT ARRAY({}), ARRAY({})",
            sender_ids::approved_sql("$1", "$2"),
            opt_outs::opted_out_sql("$1", "$3", "$4")
        )))
        .bind(organization_id)
        .bind(&senders)
        .bind(Channel::Sms.as_str())
        .bind(&recipients)
        .fetch_one(&mut *conn)
        .await?;
    let mut failures = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if !approved.contains(&senders[i]) {
            failures.push((
                i,
                FieldError {
                    field: "senderId".into(),
                    message: format!(
                        "sender ID {:?} is not approved for this organization",
                        item.sender_id.as_str()
                    ),
                    code: Some("SENDER_ID_NOT_APPROVED"),
                },
            ));
        } else if opted_out.contains(&recipients[i]) {
            failures.push((i, opt_outs::opted_out_error()));
        }
    }
    Ok(failures)
}

/// The SMS channel on the shared accept path.
pub struct Sms;

impl ChannelSend for Sms {
    const CHANNEL: Channel = Channel::Sms;
    const CATEGORY: Option<(&'static str, &'static [&'static str])> =
        Some(("flow", &["OTP", "STANDARD"]));
    type Request = SmsSend;
    type Valid = ValidSms;

    fn validate(
        request: &SmsSend,
        prefix: &str,
        now: DateTime<Utc>,
        errors: &mut Errors,
    ) -> Option<ValidSms> {
        validate(request, prefix, now, errors)
    }

    async fn check_rules(
        conn: &mut PgConnection,
        _config: &crate::Config,
        organization_id: Uuid,
        items: &[ValidSms],
    ) -> Result<Vec<(usize, FieldError)>> {
        check_rules(conn, organization_id, items).await
    }

    fn into_new_message(valid: ValidSms) -> NewMessage {
        valid.into_new_message()
    }
}
