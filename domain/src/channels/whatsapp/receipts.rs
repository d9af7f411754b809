//! How Meta's webhook payloads map onto the WhatsApp status machine: `statuses[]` by wamid (the
//! sandbox reports in the same form), and `messages[]`, users' own messages.

use serde_json::Value;

use crate::messages::{MessageError, Status};

/// A status's `status`. None: no status (`deleted`, `warning`, anything new), kept as a note.
pub fn status(state: &str) -> Option<Status> {
    match state {
        "sent" => Some(Status::Sent),
        "delivered" => Some(Status::Delivered),
        "read" => Some(Status::Read),
        "failed" => Some(Status::Failed),
        _ => None,
    }
}

/// Meta's first error of a failed status (or of an error answer), as the message keeps it:
/// `META_<code>` and the most specific text Meta gave.
pub fn error_of(errors: &Value) -> Option<MessageError> {
    let e = errors.as_array().and_then(|a| a.first()).unwrap_or(errors);
    let code = e.get("code")?;
    let code = code
        .as_i64()
        .map(|c| c.to_string())
        .or_else(|| code.as_str().map(str::to_owned))?;
    let message = [
        e.pointer("/error_data/details"),
        e.get("message"),
        e.get("title"),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_str)
    .find(|s| !s.is_empty())
    .unwrap_or("Meta reported an error");
    Some(MessageError {
        code: format!("META_{code}"),
        message: message.to_owned(),
    })
}

/// One entry of `value.statuses[]`.
pub struct StatusUpdate {
    /// The line it came in on (`metadata.phone_number_id`).
    pub phone_number_id: String,
    pub wamid: String,
    pub state: String,
    pub error: Option<MessageError>,
    pub raw: Value,
}

/// One entry of `value.messages[]`: a user wrote to a line.
pub struct UserMessage {
    pub phone_number_id: String,
    /// E.164: Meta's `from` with its +.
    pub from: String,
    /// The text of a text message or of a quick-reply button; empty for other kinds.
    pub text: String,
    pub raw: Value,
}

/// What one callback carries.
#[derive(Default)]
pub struct Callback {
    pub statuses: Vec<StatusUpdate>,
    pub messages: Vec<UserMessage>,
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Reads `entry[].changes[].value` of a callback; entries without the fields they need are skipped.
pub fn parse(payload: &Value) -> Callback {
    let mut out = Callback::default();
    let values = payload
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("changes").and_then(Value::as_array))
        .flatten()
        .filter_map(|c| c.get("value"));
    for value in values {
        let Some(line) = value
            .pointer("/metadata/phone_number_id")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let list = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        for s in list("statuses") {
            let (Some(wamid), Some(state)) = (string(&s, "id"), string(&s, "status")) else {
                continue;
            };
            out.statuses.push(StatusUpdate {
                phone_number_id: line.to_owned(),
                wamid,
                error: (state == "failed")
                    .then(|| s.get("errors").and_then(error_of))
                    .flatten(),
                state,
                raw: s,
            });
        }
        for m in list("messages") {
            let Some(from) = string(&m, "from") else {
                continue;
            };
            let text = m
                .pointer("/text/body")
                .or_else(|| m.pointer("/button/text"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            out.messages.push(UserMessage {
                phone_number_id: line.to_owned(),
                from: format!("+{}", from.trim_start_matches('+')),
                text,
                raw: m,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn statuses_and_user_messages_are_read_from_every_entry() {
        let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1065"},
            "statuses": [
                {"id": "wamid.A", "status": "read", "timestamp": "1", "recipient_id": "2348067000111"},
                {"id": "wamid.B", "status": "failed", "timestamp": "1", "recipient_id": "2348067000111",
                 "errors": [{"code": 131026, "title": "Message undeliverable", "error_data": {"details": "not on WhatsApp"}}]},
                {"status": "sent"}
            ],
            "messages": [{"from": "2348067000111", "id": "wamid.C", "type": "text", "text": {"body": " Stop "}}]
        }}]}]});
        let c = parse(&payload);
        assert_eq!(c.statuses.len(), 2);
        assert_eq!(c.statuses[0].wamid, "wamid.A");
        assert_eq!(status(&c.statuses[0].state), Some(Status::Read));
        let e = c.statuses[1].error.clone().unwrap();
        assert_eq!(e.code, "META_131026");
        assert_eq!(e.message, "not on WhatsApp");
        assert_eq!(c.messages[0].from, "+2348067000111");
        assert_eq!(c.messages[0].text, " Stop ");
        assert_eq!(c.messages[0].phone_number_id, "1065");
        assert_eq!(status("deleted"), None);
    }
}
