//! What a WhatsApp send must satisfy, and how it enters the shared accept path (`messages::accept`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::lines;
use crate::{
    Config, Errors, FieldError, LanguageCode, PhoneNumber, Result, TemplateName, WhatsappText,
    messages::{Channel, ChannelSend, NewMessage, opt_outs, parse_common},
};

/// Template components at most (a header, a body and buttons fit many times over).
pub const MAX_COMPONENTS: usize = 32;

/// `POST …/whatsapp/send`, and each item of `…/whatsapp/batch`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhatsappSend {
    /// E.164, with the leading +.
    pub to: Option<String>,
    /// `text` or `template`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub text: Option<TextPart>,
    pub template: Option<TemplatePart>,
    pub external_id: Option<String>,
    /// RFC 3339; up to 30 days ahead.
    pub scheduled_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextPart {
    /// 1 to 4,096 characters.
    pub body: Option<String>,
    /// Whether WhatsApp shows a preview of the first link.
    pub preview_url: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplatePart {
    /// An approved template's name.
    pub name: Option<String>,
    /// Its language code (`en_US`), sent to Meta as `language: {code}`.
    pub language: Option<String>,
    /// Passed through in Meta's own form: an array of objects, each with a `type`.
    pub components: Option<Value>,
}

enum Content {
    Text {
        body: WhatsappText,
        preview_url: bool,
    },
    Template {
        name: TemplateName,
        language: LanguageCode,
        components: Option<Value>,
    },
}

pub struct ValidWhatsapp {
    to: PhoneNumber,
    content: Content,
    external_id: Option<String>,
    scheduled_at: Option<DateTime<Utc>>,
}

fn components_ok(v: &Value) -> Result<(), String> {
    let Some(items) = v.as_array() else {
        return Err("must be an array of components".into());
    };
    if items.len() > MAX_COMPONENTS {
        return Err(format!("must hold at most {MAX_COMPONENTS} components"));
    }
    if !items
        .iter()
        .all(|c| c.get("type").is_some_and(Value::is_string))
    {
        return Err("each component must be an object with a type".into());
    }
    Ok(())
}

fn validate(
    req: &WhatsappSend,
    prefix: &str,
    now: DateTime<Utc>,
    errors: &mut Errors,
) -> Option<ValidWhatsapp> {
    let before = errors.len();
    let field = |f: &str| format!("{prefix}{f}");
    let to = errors.required(field("to"), req.to.as_deref(), PhoneNumber::parse);
    let content = match req.kind.as_deref() {
        None => {
            errors.add(field("type"), "is required (text or template)");
            None
        }
        Some("text") => {
            if req.template.is_some() {
                errors.add(field("template"), "must not be set when type is text");
            }
            let text = req.text.as_ref();
            let body = text.and_then(|t| t.body.as_deref());
            errors
                .required(field("text.body"), body, WhatsappText::parse)
                .map(|body| Content::Text {
                    body,
                    preview_url: text.and_then(|t| t.preview_url).unwrap_or(false),
                })
        }
        Some("template") => {
            if req.text.is_some() {
                errors.add(field("text"), "must not be set when type is template");
            }
            match &req.template {
                None => {
                    errors.add(field("template"), "is required when type is template");
                    None
                }
                Some(t) => {
                    let name = errors.required(
                        field("template.name"),
                        t.name.as_deref(),
                        TemplateName::parse,
                    );
                    let language = errors.required(
                        field("template.language"),
                        t.language.as_deref(),
                        LanguageCode::parse,
                    );
                    let components = t.components.clone().filter(|c| !c.is_null());
                    if let Some(c) = &components
                        && let Err(m) = components_ok(c)
                    {
                        errors.add(field("template.components"), m);
                    }
                    match (name, language) {
                        (Some(name), Some(language)) => Some(Content::Template {
                            name,
                            language,
                            components,
                        }),
                        _ => None,
                    }
                }
            }
        }
        Some(_) => {
            errors.add(field("type"), "must be text or template");
            None
        }
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
    Some(ValidWhatsapp {
        to: to?,
        content: content?,
        external_id,
        scheduled_at,
    })
}

impl ValidWhatsapp {
    fn into_new_message(self) -> NewMessage {
        let mut content = Map::new();
        let searchable = match &self.content {
            Content::Text { body, preview_url } => {
                content.insert("type".into(), json!("text"));
                content.insert(
                    "text".into(),
                    json!({"body": body.as_str(), "previewUrl": preview_url}),
                );
                body.as_str().to_owned()
            }
            Content::Template {
                name,
                language,
                components,
            } => {
                content.insert("type".into(), json!("template"));
                let mut t = Map::new();
                t.insert("name".into(), json!(name.as_str()));
                t.insert("language".into(), json!(language.as_str()));
                if let Some(c) = components {
                    t.insert("components".into(), c.clone());
                }
                content.insert("template".into(), Value::Object(t));
                name.as_str().to_owned()
            }
        };
        let search_text = format!(
            "{} {} {}",
            self.to.as_str(),
            searchable,
            self.external_id.as_deref().unwrap_or("")
        )
        .to_lowercase();
        NewMessage {
            channel: Channel::Whatsapp,
            recipient: self.to.as_str().to_owned(),
            sender: None,
            category: None,
            content,
            external_id: self.external_id,
            search_text,
            scheduled_at: self.scheduled_at,
            private_content: None,
        }
    }
}

/// The rules that need the database or the platform's settings, for every item at once: the channel
/// can send for this organization (CHANNEL_DISABLED) and the recipient has not opted out.
async fn check_rules(
    conn: &mut PgConnection,
    config: &Config,
    organization_id: Uuid,
    items: &[ValidWhatsapp],
) -> Result<Vec<(usize, FieldError)>> {
    let recipients: Vec<String> = items.iter().map(|i| i.to.as_str().to_owned()).collect();
    // One read: the recipients who opted out, and the organization's own line.
    let (opted_out, own_line, own_token): (Vec<String>, Option<String>, bool) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT ARRAY({}), whatsapp_phone_number_id, whatsapp_access_token IS NOT NULL
             FROM organizations WHERE id = $1",
            opt_outs::opted_out_sql("$1", "$2", "$3")
        )))
        .bind(organization_id)
        .bind(Channel::Whatsapp.as_str())
        .bind(&recipients)
        .fetch_one(&mut *conn)
        .await?;
    if let Some(why) = lines::cannot_send(config, own_line.as_deref(), own_token) {
        return Ok((0..items.len())
            .map(|i| {
                (
                    i,
                    FieldError {
                        field: "to".into(),
                        message: why.clone(),
                        code: Some("CHANNEL_DISABLED"),
                    },
                )
            })
            .collect());
    }
    Ok(recipients
        .iter()
        .enumerate()
        .filter(|(_, r)| opted_out.contains(r))
        .map(|(i, _)| (i, opt_outs::opted_out_error()))
        .collect())
}

/// The WhatsApp channel on the shared accept path.
pub struct Whatsapp;

impl ChannelSend for Whatsapp {
    const CHANNEL: Channel = Channel::Whatsapp;
    type Request = WhatsappSend;
    type Valid = ValidWhatsapp;

    fn validate(
        request: &WhatsappSend,
        prefix: &str,
        now: DateTime<Utc>,
        errors: &mut Errors,
    ) -> Option<ValidWhatsapp> {
        validate(request, prefix, now, errors)
    }

    async fn check_rules(
        conn: &mut PgConnection,
        config: &Config,
        organization_id: Uuid,
        items: &[ValidWhatsapp],
    ) -> Result<Vec<(usize, FieldError)>> {
        check_rules(conn, config, organization_id, items).await
    }

    fn into_new_message(valid: ValidWhatsapp) -> NewMessage {
        valid.into_new_message()
    }
}
