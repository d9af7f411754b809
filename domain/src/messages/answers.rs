//! What providers say, made safe to keep. Recording a provider's answer must never fail because of
//! what the provider said: a successful send whose answer cannot be stored would be sent again by
//! the lease rescue. So every answer is sanitised before it reaches the database (NUL characters,
//! which Postgres `jsonb` refuses, are removed; its size is capped), provider ids are checked for
//! length and characters, and what tenants see on the timeline keeps only the fields of an
//! allowlist per provider (never the platform account's `account_sid`, `balance`, `user`, …). The
//! whole sanitised answer is kept in an operator-only column.

use serde_json::{Map, Value, json};

/// The largest answer kept, as serialized JSON; a larger one is kept as an excerpt.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;
/// The longest provider message id accepted.
pub const MAX_PROVIDER_ID_CHARS: usize = 128;

fn strip_nul(s: &str) -> String {
    s.replace('\0', "")
}

fn without_nul(v: Value) -> Value {
    match v {
        Value::String(s) if s.contains('\0') => Value::String(strip_nul(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nul).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (strip_nul(&k), without_nul(v)))
                .collect(),
        ),
        other => other,
    }
}

fn capped(v: Value) -> Value {
    let text = v.to_string();
    if text.len() <= MAX_ANSWER_BYTES {
        return v;
    }
    let mut end = MAX_ANSWER_BYTES / 4;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    json!({"truncated": true, "bytes": text.len(), "excerpt": &text[..end]})
}

/// An answer as it may be stored: no NUL anywhere (keys included), at most `MAX_ANSWER_BYTES`.
pub fn sanitize(v: Value) -> Value {
    capped(without_nul(v))
}

/// Text from a provider (an error message, a code) as it may be stored: no NUL, at most `max` chars.
pub fn text(raw: &str, max: usize) -> String {
    raw.chars().filter(|c| *c != '\0').take(max).collect()
}

/// A provider's message id, when it is one we can store and match receipts by: 1 to 128 printable
/// ASCII characters without spaces.
pub fn provider_id(raw: &str) -> Option<String> {
    let ok = !raw.is_empty()
        && raw.len() <= MAX_PROVIDER_ID_CHARS
        && raw.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| raw.to_owned())
}

/// The fields of each provider's answers that tenants may see; anything else stays operator-only.
fn allowed_fields(provider: &str) -> &'static [&'static str] {
    match provider {
        "twilio" => &[
            "sid",
            "MessageSid",
            "SmsSid",
            "status",
            "MessageStatus",
            "SmsStatus",
            "error_code",
            "ErrorCode",
            "error_message",
            "ErrorMessage",
            "num_segments",
            "date_created",
            "date_sent",
            "date_updated",
            "to",
            "To",
        ],
        "termii" => &[
            "message_id",
            "messageId",
            "message",
            "code",
            "status",
            "type",
            "receiver",
            "sent_at",
            "notify_id",
        ],
        // The generic aggregator, and the carrier DLR and signed provider schemes it reports through.
        "http" => &[
            "id",
            "messageId",
            "reference",
            "status",
            "error",
            "errorCode",
            "errorMessage",
            "code",
            "message",
            "doneAt",
            "occurredAt",
        ],
        // Meta's Graph API answers and status callbacks; pricing and conversation stay operator-only.
        "cloud" => &[
            "messaging_product",
            "contacts",
            "input",
            "wa_id",
            "messages",
            "id",
            "message_status",
            "status",
            "timestamp",
            "recipient_id",
            "biz_opaque_callback_data",
            "errors",
            "error",
            "code",
            "title",
            "message",
            "type",
            "error_subcode",
            "error_data",
            "details",
            "fbtrace_id",
        ],
        "sandbox" => &[
            "messaging_product",
            "contacts",
            "input",
            "wa_id",
            "messages",
            "timestamp",
            "recipient_id",
            "errors",
            "id",
            "messageId",
            "status",
            "error",
            "to",
            "doneAt",
            "event",
            "recipient",
            "reason",
            "occurredAt",
        ],
        _ => &[],
    }
}

/// Wrappers our own adapters and routes put around a provider's answer; always shown, their
/// contents filtered.
const WRAPPERS: [&str; 4] = ["status", "body", "receipt", "poll"];

fn keep(v: &Value, allowed: &[&str], depth: usize) -> Value {
    match v {
        Value::Object(map) => {
            let kept: Map<String, Value> = map
                .iter()
                .filter(|(k, _)| allowed.contains(&k.as_str()) || WRAPPERS.contains(&k.as_str()))
                .map(|(k, v)| {
                    let inner = if depth < 3 && v.is_object() {
                        keep(v, allowed, depth + 1)
                    } else {
                        v.clone()
                    };
                    (k.clone(), inner)
                })
                .collect();
            Value::Object(kept)
        }
        other => other.clone(),
    }
}

/// What tenants see of a provider's (sanitised) answer: the allowlisted fields only.
pub fn shown(provider: &str, answer: &Value) -> Value {
    keep(answer, allowed_fields(provider), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_removed_everywhere() {
        let v = json!({"sid": "SM\u{0}1", "a\u{0}b": ["x\u{0}", {"k": "\u{0}"}]});
        let s = sanitize(v);
        assert!(!s.to_string().contains("\\u0000"));
        assert_eq!(s["sid"], "SM1");
        assert_eq!(s["ab"][1]["k"], "");
    }

    #[test]
    fn a_huge_answer_is_kept_as_an_excerpt() {
        let v = json!({"blob": "x".repeat(100_000)});
        let s = sanitize(v);
        assert_eq!(s["truncated"], true);
        assert!(s.to_string().len() < MAX_ANSWER_BYTES);
    }

    #[test]
    fn provider_ids_are_short_printable_ascii() {
        assert_eq!(provider_id("SM123").as_deref(), Some("SM123"));
        for bad in ["", "a b", "a\u{0}", &"x".repeat(129), "é"] {
            assert_eq!(provider_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_platform_accounts_fields_are_not_shown() {
        let twilio =
            json!({"sid": "SM1", "account_sid": "AC1", "status": "queued", "price": "-0.05"});
        assert_eq!(
            shown("twilio", &twilio),
            json!({"sid": "SM1", "status": "queued"})
        );
        let termii =
            json!({"status": 400, "body": {"message": "bad", "balance": 12, "user": "acme"}});
        assert_eq!(
            shown("termii", &termii),
            json!({"status": 400, "body": {"message": "bad"}})
        );
    }
}
