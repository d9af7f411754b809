//! Open and click tracking. When a message asks for it, the HTML that is sent gets an open pixel
//! (`PUBLIC_BASE_URL/t/o/:token`) and its links rewritten (`/t/c/:token`). A token is signed by the
//! platform (HMAC-SHA256, truncated to 128 bits) over the message id, the kind of hit and, for a
//! click, the link: a forged or altered token is refused, and a click only ever redirects to a link
//! that was in the message. Each hit is an `email_opened` / `email_clicked` timeline entry and
//! webhook, and counts in the message's `opens` / `clicks` (with `openedAt` / `clickedAt`, the
//! first); the first hit of each kind is marked `first`, which is what the stats count.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64URL};
use hmac::Hmac;
use serde_json::json;
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    Config, Result,
    crypto::constant_time_eq,
    messages::{self, Channel, Message},
    signatures::mac,
};

const TAG_BYTES: usize = 16;
/// The longest link a click token carries.
const MAX_LINK_BYTES: usize = 2048;

/// A verified hit: which message, and for a click, where to.
#[derive(Debug, PartialEq, Eq)]
pub enum Hit {
    Open(Uuid),
    Click(Uuid, String),
}

fn key(config: &Config) -> Vec<u8> {
    mac::<Hmac<Sha256>>(&config.jwt_secret, &[b"herald email tracking v1"])
}

fn token(config: &Config, message_id: Uuid, kind: u8, link: &str) -> String {
    let mut payload = message_id.as_bytes().to_vec();
    payload.push(kind);
    payload.extend_from_slice(link.as_bytes());
    let tag = mac::<Hmac<Sha256>>(&key(config), &[&payload]);
    payload.extend_from_slice(&tag[..TAG_BYTES]);
    B64URL.encode(payload)
}

/// Reads a token back, or None when it is malformed, forged or altered.
pub fn verify(config: &Config, raw: &str) -> Option<Hit> {
    let bytes = B64URL.decode(raw).ok()?;
    if bytes.len() < 17 + TAG_BYTES {
        return None;
    }
    let (payload, tag) = bytes.split_at(bytes.len() - TAG_BYTES);
    let expected = mac::<Hmac<Sha256>>(&key(config), &[payload]);
    if !constant_time_eq(&expected[..TAG_BYTES], tag) {
        return None;
    }
    let id = Uuid::from_slice(&payload[..16]).ok()?;
    match payload[16] {
        b'o' if payload.len() == 17 => Some(Hit::Open(id)),
        b'c' => Some(Hit::Click(
            id,
            String::from_utf8(payload[17..].to_vec()).ok()?,
        )),
        _ => None,
    }
}

/// The HTML as it is sent: links rewritten when `clicks`, the pixel appended when `opens`.
pub fn render(config: &Config, message_id: Uuid, html: &str, opens: bool, clicks: bool) -> String {
    let base = &config.public_base_url;
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    if clicks {
        while let Some(at) = find_href(rest) {
            let (before, after) = rest.split_at(at.start);
            out.push_str(before);
            let link = &after[..at.len];
            if (link.starts_with("https://") || link.starts_with("http://"))
                && link.len() <= MAX_LINK_BYTES
            {
                let t = token(config, message_id, b'c', &html_unescape(link));
                out.push_str(&format!("{base}/t/c/{t}"));
            } else {
                out.push_str(link);
            }
            rest = &after[at.len..];
        }
    }
    out.push_str(rest);
    if opens {
        let pixel = format!(
            r#"<img src="{base}/t/o/{}" width="1" height="1" alt="" style="display:none">"#,
            token(config, message_id, b'o', "")
        );
        match out.rfind("</body>") {
            Some(i) => out.insert_str(i, &pixel),
            None => out.push_str(&pixel),
        }
    }
    out
}

/// A message's HTML as it is handed to a provider: with its pixel and rewritten links when its
/// `tracking` asks for them; None when it has no HTML.
pub fn html_to_send(config: &Config, message: &Message) -> Option<String> {
    let c = &message.content;
    let flag = |name: &str| c["tracking"][name].as_bool().unwrap_or(false);
    c["html"]
        .as_str()
        .map(|h| render(config, message.id, h, flag("opens"), flag("clicks")))
}

/// Where the next `href="…"` (or `'…'`) value starts, relative to `s`, and how long it is.
struct Span {
    start: usize,
    len: usize,
}

fn find_href(s: &str) -> Option<Span> {
    let lower = s.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("href") {
        let mut j = from + i + 4;
        let bytes = lower.as_bytes();
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if j < bytes.len() && bytes[j] == b'=' {
            j += 1;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < bytes.len() && (bytes[j] == b'"' || bytes[j] == b'\'') {
                let quote = bytes[j] as char;
                let start = j + 1;
                if let Some(len) = s[start..].find(quote) {
                    return Some(Span { start, len });
                }
            }
        }
        from = from + i + 4;
    }
    None
}

fn html_unescape(s: &str) -> String {
    s.replace("&amp;", "&")
}

/// Records a verified hit on the message: its counters, a timeline entry and an `email_opened` /
/// `email_clicked` event; None when the message is gone.
pub async fn record(pool: &PgPool, hit: &Hit) -> Result<Option<Message>> {
    let (id, kind, link) = match hit {
        Hit::Open(id) => (*id, "opened", None),
        Hit::Click(id, link) => (*id, "clicked", Some(link.as_str())),
    };
    let mut tx = pool.begin().await?;
    let Some((message, first)) = messages::record_engagement(&mut tx, id, kind).await? else {
        return Ok(None);
    };
    let data = serde_json::to_value(&message).expect("messages serialize");
    let event_type = format!("{}_{kind}", Channel::Email.as_str());
    let entry = crate::events::Entry {
        organization_id: message.organization_id,
        message_id: Some(message.id),
        event_type: &event_type,
        status: None,
        detail: Some(json!({"first": first, "link": link})),
        provider_answer: None,
    };
    crate::events::publish(&mut tx, entry, &data).await?;
    tx.commit().await?;
    Ok(Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let settings: std::collections::HashMap<String, String> = [
            ("JWT_SECRET", "a-test-secret-that-is-long-enough-0123456789"),
            (
                "SECRETS_ENCRYPTION_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
            ("PUBLIC_BASE_URL", "https://herald.example.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Config::from_source(&settings).unwrap()
    }

    #[test]
    fn links_are_rewritten_and_their_tokens_lead_back_to_them_only() {
        let c = config();
        let id = Uuid::now_v7();
        let html = r#"<html><body><a href="https://acme.test/a?x=1&amp;y=2">A</a> <A HREF='mailto:x@y.z'>m</A></body></html>"#;
        let out = render(&c, id, html, true, true);
        assert!(!out.contains("acme.test/a"), "{out}");
        assert!(out.contains("mailto:x@y.z"));
        let click = out
            .split("/t/c/")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(
            verify(&c, click),
            Some(Hit::Click(id, "https://acme.test/a?x=1&y=2".into()))
        );
        let open = out
            .split("/t/o/")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(verify(&c, open), Some(Hit::Open(id)));
        assert!(out.find("/t/o/").unwrap() < out.find("</body>").unwrap());
        // Altered: another link, another message, a flipped bit.
        let mut bytes = B64URL.decode(click).unwrap();
        bytes[20] ^= 1;
        assert_eq!(verify(&c, &B64URL.encode(&bytes)), None);
        assert_eq!(verify(&c, "nonsense"), None);
        assert_eq!(render(&c, id, html, false, false), html);
    }
}
