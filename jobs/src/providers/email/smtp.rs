//! The SMTP provider: a relay at `SMTP_URL` (lettre, a connection per message: a conversation cut
//! short by `EMAIL_PROVIDER_TIMEOUT` or by the job's end goes with its connection, where a pool
//! would hand the half-finished connection to the next message). Each message goes as
//! proper MIME (multipart/alternative for text and HTML, multipart/mixed with attachments, UTF-8
//! subjects and names), with a `Message-ID` of `<id@from-domain>`, the platform's message id in
//! `X-Herald-Message-Id`, a VERP return path (`bounces+<id>@bounces.<from-domain>`) and a DKIM
//! signature (relaxed/relaxed) with the sending domain's key. Relay answers are classified like
//! SMS providers': 4xx replies and connection failures are retried, 5xx replies fail the message.

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use domain::{
    Config, Mailbox,
    email::{domains, tracking},
    messages::Message,
};
use lettre::{
    Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    address::Envelope,
    message::{
        Attachment, MultiPart, SinglePart,
        dkim::{
            DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
            DkimSigningKey,
        },
        header::{ContentType, HeaderName, HeaderValue},
    },
};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{ProviderAccepted, ProviderError};

pub struct Smtp {
    pool: PgPool,
    config: Config,
    transport: Result<AsyncSmtpTransport<Tokio1Executor>, String>,
}

fn permanent(code: &str, message: impl Into<String>) -> ProviderError {
    ProviderError::new(false, code, message)
}

fn mailbox(raw: &str) -> Result<lettre::message::Mailbox, ProviderError> {
    let m =
        Mailbox::parse(raw).map_err(|e| permanent("INVALID_ADDRESS", format!("{raw:?} {e}")))?;
    let address = Address::new(m.local_part(), m.domain())
        .map_err(|e| permanent("INVALID_ADDRESS", format!("{raw:?}: {e}")))?;
    Ok(lettre::message::Mailbox::new(
        m.name().map(str::to_owned),
        address,
    ))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

impl Smtp {
    pub fn new(pool: PgPool, config: Config, url: &str) -> Self {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map(|b| b.timeout(Some(config.email.provider_timeout)).build())
            .map_err(|e| format!("SMTP_URL: {e}"));
        Smtp {
            pool,
            config,
            transport,
        }
    }

    /// The attachments kept for delivery, as they were accepted.
    async fn attachments(&self, message: &Message) -> Result<Vec<SinglePart>, ProviderError> {
        let private: Option<Value> =
            sqlx::query_scalar("SELECT private_content FROM messages WHERE id = $1")
                .bind(message.id)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| transient("DATABASE", e.to_string()))?;
        let mut parts = Vec::new();
        for a in private
            .as_ref()
            .and_then(|p| p["attachments"].as_array())
            .into_iter()
            .flatten()
        {
            let content = B64
                .decode(a["content"].as_str().unwrap_or_default())
                .map_err(|e| permanent("INVALID_ATTACHMENT", e.to_string()))?;
            let content_type = ContentType::parse(a["contentType"].as_str().unwrap_or_default())
                .map_err(|e| permanent("INVALID_ATTACHMENT", e.to_string()))?;
            let filename = a["filename"].as_str().unwrap_or("attachment").to_owned();
            parts.push(Attachment::new(filename).body(content, content_type));
        }
        Ok(parts)
    }

    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        let transport = self
            .transport
            .as_ref()
            .map_err(|e| permanent("SMTP_NOT_CONFIGURED", e.clone()))?;
        let c = &message.content;
        let from = mailbox(c["from"].as_str().unwrap_or_default())?;
        let from_domain = from.email.domain().to_owned();
        let message_id = format!("{}@{from_domain}", message.id);
        let mut builder = lettre::Message::builder()
            .from(from)
            .subject(c["subject"].as_str().unwrap_or_default())
            .message_id(Some(format!("<{message_id}>")))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Herald-Message-Id"),
                message.id.to_string(),
            ));
        let mut recipients = Vec::new();
        for (field, list) in [("to", &message.to), ("cc", &c["cc"]), ("bcc", &c["bcc"])] {
            for raw in strings(list) {
                let m = mailbox(raw)?;
                recipients.push(m.email.clone());
                builder = match field {
                    "to" => builder.to(m),
                    "cc" => builder.cc(m),
                    _ => builder.bcc(m),
                };
            }
        }
        for raw in strings(&c["replyTo"]) {
            builder = builder.reply_to(mailbox(raw)?);
        }
        for (name, value) in c["headers"].as_object().into_iter().flatten() {
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|e| permanent("INVALID_HEADER", e.to_string()))?;
            builder = builder.raw_header(HeaderValue::new(
                name,
                value.as_str().unwrap_or_default().to_owned(),
            ));
        }
        let return_path = Address::new(
            format!("bounces+{}", message.id.simple()),
            format!("bounces.{from_domain}"),
        )
        .map_err(|e| permanent("INVALID_ADDRESS", e.to_string()))?;
        let envelope = Envelope::new(Some(return_path), recipients)
            .map_err(|e| permanent("INVALID_ADDRESS", e.to_string()))?;
        builder = builder.envelope(envelope);

        let html = tracking::html_to_send(&self.config, message);
        let text = c["text"].as_str().map(str::to_owned);
        let body = match (text, html) {
            (Some(t), Some(h)) => MultiPart::alternative_plain_html(t, h),
            (None, Some(h)) => MultiPart::mixed().singlepart(SinglePart::html(h)),
            (Some(t), None) => MultiPart::mixed().singlepart(SinglePart::plain(t)),
            (None, None) => MultiPart::mixed().singlepart(SinglePart::plain(String::new())),
        };
        let attachments = self.attachments(message).await?;
        let body = if attachments.is_empty() {
            body
        } else {
            attachments
                .into_iter()
                .fold(MultiPart::mixed().multipart(body), |m, a| m.singlepart(a))
        };
        let mut email = builder
            .multipart(body)
            .map_err(|e| permanent("INVALID_MESSAGE", e.to_string()))?;
        if let Some((selector, pem)) = domains::signing_key(
            &self.pool,
            &self.config,
            message.organization_id,
            &from_domain,
        )
        .await
        .map_err(|e| transient("DATABASE", e.to_string()))?
        {
            let key = DkimSigningKey::new(&pem, DkimSigningAlgorithm::Rsa)
                .map_err(|e| permanent("DKIM_KEY", format!("{e:?}")))?;
            let headers = ["From", "Subject", "To", "Date", "MIME-Version"]
                .into_iter()
                .map(HeaderName::new_from_ascii_str)
                .collect();
            let dkim = DkimConfig::new(
                selector,
                from_domain.clone(),
                key,
                headers,
                DkimCanonicalization {
                    header: DkimCanonicalizationType::Relaxed,
                    body: DkimCanonicalizationType::Relaxed,
                },
            );
            email.sign(&dkim);
        }
        // lettre bounds only the connect; this bounds the whole conversation, a slow DATA reply
        // included, so that it ends before the send job does. A relay that took the message but
        // answered too late gets it again on the retry: SMTP has no idempotency key.
        let limit = self.config.email.provider_timeout;
        let sent = tokio::time::timeout(limit, transport.send(email))
            .await
            .map_err(|_| {
                transient(
                    "PROVIDER_TIMEOUT",
                    format!("the relay did not finish within {}ms", limit.as_millis()),
                )
            })?;
        match sent {
            Ok(response) => Ok(ProviderAccepted {
                provider_message_id: Some(message_id),
                raw: json!({
                    "code": response.code().to_string(),
                    "message": response.message().collect::<Vec<_>>().join(" "),
                }),
                sender: None,
            }),
            Err(e) => Err(classify(&e)),
        }
    }
}

fn transient(code: &str, message: String) -> ProviderError {
    ProviderError::new(true, code, message)
}

/// 5xx replies fail the message with the reply code; 4xx replies, time-outs and connection failures
/// are tried again later.
fn classify(e: &lettre::transport::smtp::Error) -> ProviderError {
    let code = e.status().map(|c| format!("SMTP_{c}"));
    let failure = if e.is_permanent() {
        ProviderError::new(
            false,
            code.unwrap_or_else(|| "SMTP_REJECTED".into()),
            format!("the relay refused the message: {e}"),
        )
    } else {
        let fallback = if e.is_timeout() {
            "PROVIDER_TIMEOUT"
        } else {
            "PROVIDER_UNREACHABLE"
        };
        ProviderError::new(
            true,
            code.unwrap_or_else(|| fallback.into()),
            format!("the relay did not take the message: {e}"),
        )
    };
    failure.with_raw(json!({"error": e.to_string()}))
}
