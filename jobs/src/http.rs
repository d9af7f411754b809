//! What every HTTP provider adapter shares: one client, and one way to classify failures.

use std::time::Duration;

use reqwest::{Response, StatusCode, header::RETRY_AFTER};
use serde_json::{Value, json};

use crate::ProviderError;

pub fn client(timeout: Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("HTTP client")
}

/// A call that did not complete: time-outs and connection failures are worth trying again.
pub fn unreachable(provider: &str, e: reqwest::Error) -> ProviderError {
    let (code, what) = if e.is_timeout() {
        ("PROVIDER_TIMEOUT", "timed out")
    } else {
        ("PROVIDER_UNREACHABLE", "could not be reached")
    };
    ProviderError::new(true, code, format!("{provider} {what}"))
}

/// Reads a provider's answer: a 2xx body as JSON, or the failure classified — 429 and 5xx are
/// transient (honouring `Retry-After`), other statuses permanent. `code_of` picks the provider's own
/// error code and message out of its error body.
pub async fn read(
    provider: &str,
    res: Response,
    code_of: impl Fn(&Value) -> Option<(String, String)>,
) -> Result<Value, ProviderError> {
    let status = res.status();
    let retry_after = res
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = read_capped(provider, res).await?;
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| json!({ "text": text.chars().take(1024).collect::<String>() }));
    if status.is_success() {
        return Ok(body);
    }
    let transient = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
    let (code, message) = code_of(&body).unwrap_or_else(|| {
        (
            format!("HTTP_{}", status.as_u16()),
            format!("{provider} answered {status}"),
        )
    });
    Err(ProviderError {
        transient,
        code,
        message,
        retry_after: if transient { retry_after } else { None },
        raw: Some(json!({ "status": status.as_u16(), "body": body })),
    })
}

/// The largest provider answer read; the rest is not read (an answer is a few hundred bytes).
const MAX_ANSWER_READ: usize = 64 * 1024;

async fn read_capped(provider: &str, mut res: Response) -> Result<String, ProviderError> {
    let mut bytes = Vec::new();
    while bytes.len() < MAX_ANSWER_READ {
        match res.chunk().await.map_err(|e| unreachable(provider, e))? {
            Some(chunk) => bytes.extend_from_slice(&chunk),
            None => break,
        }
    }
    bytes.truncate(MAX_ANSWER_READ);
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
