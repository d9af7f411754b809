//! What an email send must satisfy, and how it enters the shared accept path (`messages::accept`).

use std::collections::BTreeMap;

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::suppressions;
use crate::config::EmailProviderConfig;
use crate::{
    Errors, FieldError, Mailbox, Result,
    messages::{Channel, ChannelSend, NewMessage, parse_common},
};

/// Recipients at most, `to`, `cc` and `bcc` together.
pub const MAX_RECIPIENTS: usize = 50;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 256;
pub const MAX_HEADERS: usize = 50;
pub const MAX_ATTACHMENTS: usize = 20;
/// Attachments' decoded bytes at most, together (their base64 fits the 10 MiB body limit).
pub const MAX_ATTACHMENT_BYTES: usize = 7 * 1024 * 1024;
pub const MAX_SUBJECT_CHARS: usize = 998;

/// Headers the platform writes itself; a send's `headers` cannot set them.
const OWNED_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "sender",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "return-path",
    "dkim-signature",
    "received",
    "list-unsubscribe",
];

/// One address or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Recipients {
    One(String),
    Many(Vec<String>),
}

impl Recipients {
    fn items(&self) -> Vec<&str> {
        match self {
            Recipients::One(s) => vec![s.as_str()],
            Recipients::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Attachment {
    pub filename: Option<String>,
    /// base64
    pub content: Option<String>,
    #[serde(rename = "contentType")]
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Tracking {
    pub opens: Option<bool>,
    pub clicks: Option<bool>,
}

/// `POST …/emails/send`, and each item of `…/emails/batch`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailSend {
    pub from: Option<String>,
    pub to: Option<Recipients>,
    pub cc: Option<Recipients>,
    pub bcc: Option<Recipients>,
    pub reply_to: Option<Recipients>,
    pub subject: Option<String>,
    pub html: Option<String>,
    pub text: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub tags: Option<BTreeMap<String, String>>,
    pub attachments: Option<Vec<Attachment>>,
    pub external_id: Option<String>,
    pub scheduled_at: Option<String>,
    pub tracking: Option<Tracking>,
}

pub struct ValidEmail {
    from: Mailbox,
    to: Vec<Mailbox>,
    cc: Vec<Mailbox>,
    bcc: Vec<Mailbox>,
    reply_to: Vec<Mailbox>,
    subject: String,
    html: Option<String>,
    text: Option<String>,
    headers: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    /// filename, content type, decoded size, base64 content
    attachments: Vec<(String, String, usize, String)>,
    external_id: Option<String>,
    scheduled_at: Option<DateTime<Utc>>,
    tracking: Tracking,
}

struct Check<'a> {
    errors: &'a mut Errors,
    prefix: &'a str,
}

impl Check<'_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.add(format!("{}{field}", self.prefix), message);
    }

    fn mailboxes(&mut self, field: &str, r: Option<&Recipients>) -> Vec<Mailbox> {
        let Some(r) = r else { return Vec::new() };
        let mut out = Vec::new();
        for (i, raw) in r.items().into_iter().enumerate() {
            match Mailbox::parse(raw) {
                Ok(m) => out.push(m),
                Err(e) => {
                    let at = match r {
                        Recipients::One(_) => field.to_owned(),
                        Recipients::Many(_) => format!("{field}[{i}]"),
                    };
                    self.fail(&at, e);
                }
            }
        }
        out
    }

    fn no_control(&mut self, field: &str, v: &str, max: usize) -> bool {
        if v.chars().any(char::is_control) {
            self.fail(field, "must not contain control characters");
            false
        } else if v.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
            false
        } else {
            true
        }
    }
}

fn header_name_ok(name: &str) -> bool {
    !name.is_empty() && name.len() <= 100 && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
}

fn mime_type_ok(t: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    matches!(t.split_once('/'), Some((a, b)) if token(a) && token(b))
}

fn validate(
    req: &EmailSend,
    prefix: &str,
    now: DateTime<Utc>,
    errors: &mut Errors,
) -> Option<ValidEmail> {
    let before = errors.len();
    let mut c = Check { errors, prefix };
    let from = match req.from.as_deref() {
        None => {
            c.fail("from", "is required");
            None
        }
        Some(raw) => match Mailbox::parse(raw) {
            Ok(m) => Some(m),
            Err(e) => {
                c.fail("from", e);
                None
            }
        },
    };
    if req.to.is_none() {
        c.fail("to", "is required");
    }
    let to = c.mailboxes("to", req.to.as_ref());
    if req.to.is_some() && to.is_empty() && c.errors.len() == before {
        c.fail("to", "must name at least one recipient");
    }
    let cc = c.mailboxes("cc", req.cc.as_ref());
    let bcc = c.mailboxes("bcc", req.bcc.as_ref());
    let reply_to = c.mailboxes("replyTo", req.reply_to.as_ref());
    if to.len() + cc.len() + bcc.len() > MAX_RECIPIENTS {
        c.fail(
            "to",
            format!("to, cc and bcc may name at most {MAX_RECIPIENTS} recipients together"),
        );
    }
    let subject = match req.subject.as_deref().map(str::trim) {
        None | Some("") => {
            c.fail("subject", "is required");
            None
        }
        Some(s) => c
            .no_control("subject", s, MAX_SUBJECT_CHARS)
            .then(|| s.to_owned()),
    };
    let html = req.html.clone().filter(|h| !h.is_empty());
    let text = req.text.clone().filter(|t| !t.is_empty());
    if html.is_none() && text.is_none() {
        c.fail("html", "one of html or text is required");
    }
    let headers = req.headers.clone().unwrap_or_default();
    if headers.len() > MAX_HEADERS {
        c.fail(
            "headers",
            format!("must hold at most {MAX_HEADERS} headers"),
        );
    }
    for (name, value) in &headers {
        let field = format!("headers.{name}");
        if !header_name_ok(name) {
            c.fail(&field, "is not a valid header name");
        } else if OWNED_HEADERS.contains(&name.to_ascii_lowercase().as_str())
            || name.to_ascii_lowercase().starts_with("x-herald-")
        {
            c.fail(&field, "is set by the platform and cannot be overridden");
        } else {
            c.no_control(&field, value, 998);
        }
    }
    let tags = req.tags.clone().unwrap_or_default();
    if tags.len() > MAX_TAGS {
        c.fail("tags", format!("must hold at most {MAX_TAGS} tags"));
    }
    for (name, value) in &tags {
        let field = format!("tags.{name}");
        if name.is_empty() {
            c.fail("tags", "tag names must not be empty");
        } else if name.chars().count() > MAX_TAG_CHARS || value.chars().count() > MAX_TAG_CHARS {
            c.fail(
                &field,
                format!("names and values must be at most {MAX_TAG_CHARS} characters"),
            );
        }
    }
    let mut attachments = Vec::new();
    let raw_attachments = req.attachments.clone().unwrap_or_default();
    if raw_attachments.len() > MAX_ATTACHMENTS {
        c.fail(
            "attachments",
            format!("must hold at most {MAX_ATTACHMENTS} attachments"),
        );
    }
    let mut total = 0usize;
    for (i, a) in raw_attachments.iter().enumerate() {
        let field = |f: &str| format!("attachments[{i}].{f}");
        let filename = a.filename.as_deref().map(str::trim).unwrap_or("");
        if filename.is_empty() || filename.contains(['/', '\\']) {
            c.fail(&field("filename"), "is required, without / or \\");
        } else {
            c.no_control(&field("filename"), filename, 255);
        }
        let content_type = a.content_type.as_deref().unwrap_or("");
        if !mime_type_ok(content_type) {
            c.fail(
                &field("contentType"),
                "must be a MIME type like application/pdf",
            );
        }
        match a.content.as_deref().map(|b| B64.decode(b.trim())) {
            None => c.fail(&field("content"), "is required (base64)"),
            Some(Err(_)) => c.fail(&field("content"), "is not valid base64"),
            Some(Ok(bytes)) => {
                total += bytes.len();
                attachments.push((
                    filename.to_owned(),
                    content_type.to_ascii_lowercase(),
                    bytes.len(),
                    a.content.clone().unwrap_or_default().trim().to_owned(),
                ));
            }
        }
    }
    if total > MAX_ATTACHMENT_BYTES {
        c.fail(
            "attachments",
            format!("must hold at most {MAX_ATTACHMENT_BYTES} bytes together"),
        );
    }
    let (external_id, scheduled_at) = parse_common(
        req.external_id.as_deref(),
        req.scheduled_at.as_deref(),
        c.prefix,
        now,
        c.errors,
    );
    if c.errors.len() > before {
        return None;
    }
    Some(ValidEmail {
        from: from?,
        to,
        cc,
        bcc,
        reply_to,
        subject: subject?,
        html,
        text,
        headers,
        tags,
        attachments,
        external_id,
        scheduled_at,
        tracking: req.tracking.clone().unwrap_or_default(),
    })
}

fn shown(list: &[Mailbox]) -> Value {
    Value::Array(list.iter().map(|m| json!(m.to_string())).collect())
}

impl ValidEmail {
    fn recipients(&self) -> impl Iterator<Item = &Mailbox> {
        self.to.iter().chain(&self.cc).chain(&self.bcc)
    }

    fn into_new_message(self) -> NewMessage {
        let mut content = Map::new();
        content.insert("to".into(), shown(&self.to));
        content.insert("from".into(), json!(self.from.to_string()));
        content.insert("cc".into(), shown(&self.cc));
        content.insert("bcc".into(), shown(&self.bcc));
        content.insert("replyTo".into(), shown(&self.reply_to));
        content.insert("subject".into(), json!(self.subject));
        content.insert("html".into(), json!(self.html));
        content.insert("text".into(), json!(self.text));
        content.insert("headers".into(), json!(self.headers));
        content.insert("tags".into(), json!(self.tags));
        content.insert(
            "attachments".into(),
            Value::Array(
                self.attachments
                    .iter()
                    .map(|(f, t, n, _)| json!({"filename": f, "contentType": t, "size": n}))
                    .collect(),
            ),
        );
        content.insert(
            "tracking".into(),
            json!({"opens": self.tracking.opens.unwrap_or(false), "clicks": self.tracking.clicks.unwrap_or(false)}),
        );
        content.insert("opens".into(), json!(0));
        content.insert("clicks".into(), json!(0));
        content.insert("openedAt".into(), Value::Null);
        content.insert("clickedAt".into(), Value::Null);
        let search_text = std::iter::once(self.subject.clone())
            .chain(self.recipients().map(Mailbox::address))
            .chain(self.external_id.clone())
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let private_content = (!self.attachments.is_empty()).then(|| {
            json!({"attachments": self.attachments.iter().map(|(f, t, _, b)| json!({"filename": f, "contentType": t, "content": b})).collect::<Vec<_>>()})
        });
        NewMessage {
            channel: Channel::Email,
            recipient: self.to[0].address(),
            sender: Some(self.from.address()),
            category: None,
            content,
            external_id: self.external_id,
            search_text,
            scheduled_at: self.scheduled_at,
            private_content,
        }
    }
}

/// The email channel on the shared accept path.
pub struct Email;

impl ChannelSend for Email {
    const CHANNEL: Channel = Channel::Email;
    type Request = EmailSend;
    type Valid = ValidEmail;

    fn validate(
        request: &EmailSend,
        prefix: &str,
        now: DateTime<Utc>,
        errors: &mut Errors,
    ) -> Option<ValidEmail> {
        validate(request, prefix, now, errors)
    }

    /// `from` uses a VERIFIED domain of the organization (unless the sandbox provider is in use),
    /// and no recipient is suppressed by the organization.
    async fn check_rules(
        conn: &mut PgConnection,
        config: &crate::Config,
        organization_id: Uuid,
        items: &[ValidEmail],
    ) -> Result<Vec<(usize, FieldError)>> {
        // One read: the verified domains among the senders' (none asked for with the sandbox),
        // and the suppressed addresses among the recipients.
        let domains: Vec<String> = if config.email.provider == EmailProviderConfig::Sandbox {
            Vec::new()
        } else {
            items.iter().map(|i| i.from.domain().to_owned()).collect()
        };
        let all: Vec<String> = items
            .iter()
            .flat_map(|i| i.recipients().map(Mailbox::normalized))
            .collect();
        let (verified, suppressed): (Vec<String>, Vec<String>) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT ARRAY(SELECT name FROM email_domains
                              WHERE organization_id = $1 AND status = 'VERIFIED' AND name = ANY ($2)),
                        ARRAY({})",
                suppressions::suppressed_sql("$1", "$3")
            )))
            .bind(organization_id)
            .bind(&domains)
            .bind(&all)
            .fetch_one(&mut *conn)
            .await?;
        let mut failures = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if config.email.provider != EmailProviderConfig::Sandbox
                && !verified.iter().any(|d| d == item.from.domain())
            {
                failures.push((
                    i,
                    FieldError {
                        field: "from".into(),
                        message: format!(
                            "{} is not a verified sending domain of this organization",
                            item.from.domain()
                        ),
                        code: Some("DOMAIN_NOT_VERIFIED"),
                    },
                ));
            } else if let Some(m) = item
                .recipients()
                .find(|m| suppressed.contains(&m.normalized()))
            {
                failures.push((
                    i,
                    FieldError {
                        field: "to".into(),
                        message: format!(
                            "{} is suppressed for this organization (an earlier hard bounce or complaint)",
                            m.address()
                        ),
                        code: Some("RECIPIENT_SUPPRESSED"),
                    },
                ));
            }
        }
        Ok(failures)
    }

    fn into_new_message(valid: ValidEmail) -> NewMessage {
        valid.into_new_message()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> (Option<ValidEmail>, Vec<String>) {
        let req: EmailSend = serde_json::from_value(v).unwrap();
        let mut errors = Errors::default();
        let valid = validate(&req, "", Utc::now(), &mut errors);
        let fields = match errors.finish() {
            Ok(()) => Vec::new(),
            Err(crate::Error::Validation(e)) => e.into_iter().map(|f| f.field).collect(),
            Err(other) => panic!("{other}"),
        };
        (valid, fields)
    }

    #[test]
    fn a_plain_email_validates_with_a_list_of_recipients() {
        let (v, errors) = parse(
            json!({"from": "Acme <hello@acme.test>", "to": "Ada@Example.com", "subject": "Hi", "text": "Hello"}),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let m = v.unwrap().into_new_message();
        assert_eq!(m.content["to"], json!(["Ada@example.com"]));
        assert_eq!(m.recipient, "Ada@example.com");
    }

    #[test]
    fn each_rule_names_its_field() {
        let many: Vec<String> = (0..51).map(|i| format!("r{i}@example.com")).collect();
        let (_, errors) = parse(json!({
            "from": "nobody", "to": many, "subject": "a\r\nBcc: x@evil.test",
            "headers": {"Message-ID": "<x@y>", "X-Ok": "fine", "X-Herald-Message-Id": "1"},
            "tags": {"": "x"},
            "attachments": [{"filename": "a.pdf", "content": "%%%", "contentType": "application/pdf"},
                            {"filename": "../b", "content": "aGk=", "contentType": "nope"}]
        }));
        for field in [
            "from",
            "to",
            "subject",
            "html",
            "headers.Message-ID",
            "headers.X-Herald-Message-Id",
            "tags",
            "attachments[0].content",
            "attachments[1].filename",
            "attachments[1].contentType",
        ] {
            assert!(errors.iter().any(|e| e == field), "{field} in {errors:?}");
        }
        assert!(!errors.iter().any(|e| e == "headers.X-Ok"));
    }
}
