//! Standard Webhooks signing: `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
//! keyed with the base64-decoded part of a `whsec_` secret; space-separated when two secrets are live.

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::crypto::{constant_time_eq, random_token_bytes};

pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", B64.encode(random_token_bytes::<32>()))
}

fn key_of(secret: &str) -> Option<Vec<u8>> {
    B64.decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()
}

/// One `v1,…` signature of a message with one secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let key = key_of(secret).expect("secrets are generated as base64");
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header value for every live secret.
pub fn header(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .map(|s| sign(s, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a receiver does: any `v1,` signature in the header that matches the secret verifies.
pub fn verify(secret: &str, id: &str, timestamp: i64, body: &str, header: &str) -> bool {
    if key_of(secret).is_none() {
        return false;
    }
    let expected = sign(secret, id, timestamp, body);
    header
        .split(' ')
        .any(|candidate| constant_time_eq(candidate.as_bytes(), expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn the_published_standard_webhooks_vectors_pass() {
        let v: Value = crate::test_vectors::signatures();
        for case in v["standardWebhooks"].as_array().unwrap() {
            let ok = verify(
                case["secret"].as_str().unwrap(),
                case["id"].as_str().unwrap(),
                case["timestamp"].as_i64().unwrap(),
                case["payload"].as_str().unwrap(),
                case["signature"].as_str().unwrap(),
            );
            assert_eq!(ok, case["valid"].as_bool().unwrap(), "{}", case["name"]);
        }
    }

    #[test]
    fn signing_reproduces_the_vectors_and_rotation_gives_two_signatures() {
        let a = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
        let body = r#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            sign(a, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
        let b = new_secret();
        let h = header(
            &[&b, a],
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            body,
        );
        assert_eq!(h.split(' ').count(), 2);
        assert!(verify(
            a,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            body,
            &h
        ));
        assert!(verify(
            &b,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            body,
            &h
        ));
        assert!(b.starts_with("whsec_") && key_of(&b).unwrap().len() == 32);
    }
}
