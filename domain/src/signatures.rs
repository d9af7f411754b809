//! Signatures the platform checks on inbound webhooks. Every comparison is constant-time.

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use crate::crypto::constant_time_eq;

/// How far `X-Timestamp` may be from the server's clock.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 300;

pub(crate) fn mac<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

/// The provider scheme: `sha256=<hex HMAC-SHA256 of "{timestamp}.{raw body}">`.
pub fn provider_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let sig = mac::<Hmac<Sha256>>(secret.as_bytes(), &[timestamp.as_bytes(), b".", body]);
    format!("sha256={}", hex::encode(sig))
}

/// Checks the provider scheme's signature and that the timestamp is within ±5 minutes of `now`.
pub fn verify_provider(
    secret: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
) -> bool {
    let Ok(ts) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    if (now - ts).abs() > TIMESTAMP_TOLERANCE_SECS {
        return false;
    }
    constant_time_eq(
        provider_signature(secret, timestamp.trim(), body).as_bytes(),
        signature.trim().as_bytes(),
    )
}

/// Twilio's `X-Twilio-Signature`: base64 HMAC-SHA1 of the full URL followed by every POST
/// parameter, sorted by name, as name and value concatenated.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_owned();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    B64.encode(mac::<Hmac<Sha1>>(auth_token.as_bytes(), &[data.as_bytes()]))
}

pub fn verify_twilio(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    constant_time_eq(
        twilio_signature(auth_token, url, params).as_bytes(),
        signature.trim().as_bytes(),
    )
}

/// Termii's `X-Termii-Signature`: hex HMAC-SHA512 of the raw body.
pub fn termii_signature(secret: &str, body: &[u8]) -> String {
    hex::encode(mac::<Hmac<Sha512>>(secret.as_bytes(), &[body]))
}

pub fn verify_termii(secret: &str, body: &[u8], signature: &str) -> bool {
    constant_time_eq(
        termii_signature(secret, body).as_bytes(),
        signature.trim().to_ascii_lowercase().as_bytes(),
    )
}

/// Meta's `X-Hub-Signature-256`: `sha256=<hex HMAC-SHA256 of the raw body>`, keyed with the app
/// secret.
pub fn hub_signature(app_secret: &str, body: &[u8]) -> String {
    let sig = mac::<Hmac<Sha256>>(app_secret.as_bytes(), &[body]);
    format!("sha256={}", hex::encode(sig))
}

pub fn verify_hub(app_secret: &str, body: &[u8], header: &str) -> bool {
    constant_time_eq(
        hub_signature(app_secret, body).as_bytes(),
        header.trim().to_ascii_lowercase().as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        crate::test_vectors::signatures()
    }

    #[test]
    fn the_provider_scheme_passes_the_published_vectors() {
        let v = vectors();
        for case in v["providerWebhook"].as_array().unwrap() {
            let ts = case["timestamp"].as_i64().unwrap();
            let ok = verify_provider(
                case["secret"].as_str().unwrap(),
                &ts.to_string(),
                case["header"].as_str().unwrap(),
                case["body"].as_str().unwrap().as_bytes(),
                ts,
            );
            assert_eq!(ok, case["valid"].as_bool().unwrap(), "{}", case["name"]);
        }
    }

    #[test]
    fn the_hub_signature_passes_the_published_vectors() {
        let v = vectors();
        let cases = v["whatsappHubSignature256"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let ok = verify_hub(
                case["appSecret"].as_str().unwrap(),
                case["body"].as_str().unwrap().as_bytes(),
                case["header"].as_str().unwrap(),
            );
            assert_eq!(ok, case["valid"].as_bool().unwrap(), "{}", case["name"]);
        }
    }

    #[test]
    fn a_stale_or_future_timestamp_is_refused() {
        let sig = provider_signature("s", "1000", b"{}");
        assert!(verify_provider("s", "1000", &sig, b"{}", 1000 + 300));
        assert!(!verify_provider("s", "1000", &sig, b"{}", 1000 + 301));
        assert!(!verify_provider("s", "1000", &sig, b"{}", 1000 - 301));
        assert!(!verify_provider("s", "abc", &sig, b"{}", 1000));
        assert!(!verify_provider("other", "1000", &sig, b"{}", 1000));
    }

    #[test]
    fn twilio_signatures_follow_twilios_documented_example() {
        // The example in Twilio's published request-validation snippets.
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675310"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sig = twilio_signature(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params,
        );
        assert_eq!(sig, "GvWf1cFY/Q7PnoempGyD5oXAezc=");
        assert!(verify_twilio(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params,
            &sig
        ));
        assert!(!verify_twilio(
            "12346",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params,
            &sig
        ));
    }

    #[test]
    fn termii_signatures_are_hmac_sha512_of_the_body() {
        let sig = termii_signature("secret", b"{\"status\":\"Delivered\"}");
        assert_eq!(sig.len(), 128);
        assert!(verify_termii(
            "secret",
            b"{\"status\":\"Delivered\"}",
            &sig.to_uppercase()
        ));
        assert!(!verify_termii("secret", b"{\"status\":\"Failed\"}", &sig));
    }
}
