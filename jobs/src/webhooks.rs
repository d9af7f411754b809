//! Delivering customer webhooks: Standard Webhooks signing, a 15 s time-out, no redirects, response
//! bodies read up to a cap, and no private targets unless allowed (checked when connecting, so a DNS
//! answer that changed since the endpoint was created cannot reach inside).

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

use parking_lot::Mutex;

use apalis::prelude::{BoxDynError, Data};
use domain::{
    Config,
    queue::DeliverWebhook,
    webhooks::{self, Attempt, Claim, Claimed, DeliveryOutcome, signing, targets},
};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::info;

use crate::JobContext;

const EXCERPT_BYTES: usize = 1024;
const PERMIT_WAIT: Duration = Duration::from_millis(500);
/// Endpoints whose concurrency is tracked at once before idle ones are forgotten.
const MAX_TRACKED_ENDPOINTS: usize = 1024;

/// Resolves names to public addresses only.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((name.as_str(), 0)).await {
                Ok(found) => found.collect(),
                Err(_) => Vec::new(),
            };
            let public: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| targets::is_public(a.ip()))
                .collect();
            if public.is_empty() {
                return Err(targets::NOT_PUBLIC.into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

pub struct WebhookSender {
    client: reqwest::Client,
    allow_private: bool,
    per_endpoint: usize,
    limits: Mutex<HashMap<uuid::Uuid, Arc<Semaphore>>>,
}

impl WebhookSender {
    pub fn new(config: &Config) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let settings = &config.webhooks;
        // No proxy from the environment: a proxy would resolve the target itself, past the
        // private-address check.
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Herald-Webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(settings.endpoint_concurrency);
        if !settings.allow_private_targets {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        WebhookSender {
            client: builder.build().expect("webhook HTTP client"),
            allow_private: settings.allow_private_targets,
            per_endpoint: settings.endpoint_concurrency,
            limits: Mutex::new(HashMap::new()),
        }
    }

    /// A slot of the endpoint's concurrency limit, waiting for one at most `PERMIT_WAIT`: a busy
    /// endpoint's surplus jobs give their worker slots back soon, so other tenants are not held up.
    async fn permit(&self, endpoint: uuid::Uuid) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut limits = self.limits.lock();
            if limits.len() >= MAX_TRACKED_ENDPOINTS && !limits.contains_key(&endpoint) {
                // Idle endpoints' semaphores hold nothing worth keeping: drop them.
                let full = self.per_endpoint;
                limits.retain(|_, s| s.available_permits() < full);
            }
            limits
                .entry(endpoint)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_endpoint)))
                .clone()
        };
        tokio::time::timeout(PERMIT_WAIT, semaphore.acquire_owned())
            .await
            .ok()?
            .ok()
    }

    async fn send(&self, config: &Config, claimed: &Claimed) -> Attempt {
        let started = Instant::now();
        let failed = |error: String| Attempt {
            response_status: None,
            duration: started.elapsed(),
            body_excerpt: None,
            error: Some(error),
            retry_after: None,
        };
        let endpoint = &claimed.endpoint;
        if !endpoint.enabled && claimed.event_type != "webhook_test" {
            return failed("the endpoint is disabled".into());
        }
        let literal_ip = reqwest::Url::parse(&endpoint.url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| h.trim_matches(|c| c == '[' || c == ']').to_owned())
            })
            .and_then(|h| h.parse::<IpAddr>().ok());
        if !self.allow_private && literal_ip.is_some_and(|ip| !targets::is_public(ip)) {
            return failed(targets::NOT_PUBLIC.into());
        }
        let secrets = match endpoint.live_secrets(config) {
            Ok(s) => s,
            Err(e) => return failed(format!("the signing secret could not be read: {e}")),
        };
        let id = claimed.event_id.to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let signature = signing::header(&refs, &id, timestamp, &claimed.payload);
        let sent = self
            .client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(claimed.payload.clone())
            .send()
            .await;
        let mut res = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return failed("timed out".into()),
            Err(e) => {
                return failed(format!(
                    "could not connect: {}",
                    std::error::Error::source(&e)
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| e.to_string())
                ));
            }
        };
        let status = res.status();
        let retry_after = matches!(status.as_u16(), 429 | 503)
            .then(|| {
                res.headers()
                    .get("retry-after")?
                    .to_str()
                    .ok()?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .flatten()
            .map(|s| Duration::from_secs(s.min(86_400)));
        let mut body = Vec::new();
        while body.len() < EXCERPT_BYTES {
            match res.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                _ => break,
            }
        }
        body.truncate(EXCERPT_BYTES);
        let excerpt = String::from_utf8_lossy(&body).into_owned();
        Attempt {
            response_status: Some(status.as_u16()),
            duration: started.elapsed(),
            body_excerpt: (!excerpt.is_empty()).then_some(excerpt),
            error: (!status.is_success()).then(|| format!("the endpoint answered {status}")),
            retry_after,
        }
    }
}

pub async fn deliver_webhook(
    job: DeliverWebhook,
    ctx: Data<JobContext>,
) -> Result<(), BoxDynError> {
    let settings = &ctx.config.webhooks;
    let lease = settings.timeout + Duration::from_secs(10);
    let claimed = match webhooks::claim(&ctx.commits, job.delivery_id, lease).await? {
        Claim::Claimed(c) => c,
        Claim::NotYet(at) => {
            webhooks::come_back(&ctx.pool, job.delivery_id, at, false).await?;
            return Ok(());
        }
        Claim::Done => return Ok(()),
    };
    let Some(permit) = ctx.webhooks.permit(claimed.endpoint.id).await else {
        let soon = chrono::Utc::now() + chrono::Duration::seconds(1);
        webhooks::come_back(&ctx.pool, claimed.id, soon, true).await?;
        return Ok(());
    };
    let attempt = ctx.webhooks.send(&ctx.config, &claimed).await;
    drop(permit);
    let outcome =
        webhooks::record_attempt(&ctx.commits, &claimed, &attempt, &settings.retry_schedule)
            .await?;
    let label = match outcome {
        DeliveryOutcome::Succeeded => "succeeded",
        DeliveryOutcome::RetryAt(_) => "retry",
        DeliveryOutcome::Failed => "failed",
        DeliveryOutcome::EndpointGone => "gone",
    };
    domain::meters::webhook_attempt(label, attempt.duration);
    info!(delivery_id = %claimed.id, endpoint_id = %claimed.endpoint.id, status = ?attempt.response_status, ?outcome, "webhook attempt");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let settings: HashMap<String, String> = [
            (
                "JWT_SECRET",
                "test-jwt-secret-that-is-long-enough-0123456789",
            ),
            (
                "SECRETS_ENCRYPTION_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Config::from_source(&settings).unwrap()
    }

    #[tokio::test]
    async fn the_permit_map_forgets_idle_endpoints() {
        let sender = WebhookSender::new(&config());
        let busy = uuid::Uuid::now_v7();
        let held = sender.permit(busy).await.unwrap();
        for _ in 0..3 * MAX_TRACKED_ENDPOINTS {
            let p = sender.permit(uuid::Uuid::now_v7()).await.unwrap();
            drop(p);
        }
        let limits = sender.limits.lock();
        assert!(limits.len() <= MAX_TRACKED_ENDPOINTS, "{}", limits.len());
        assert!(
            limits.contains_key(&busy),
            "an endpoint in use keeps its count"
        );
        drop(limits);
        drop(held);
    }
}
