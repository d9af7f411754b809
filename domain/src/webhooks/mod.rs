//! Customer webhooks: endpoints, the fan-out of every event to them, and their deliveries.

mod deliveries;
pub mod signing;
pub mod targets;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

pub(crate) use deliveries::fan_out_sql;
pub use deliveries::{
    Attempt, Claim, Claimed, Delivery, DeliveryOutcome, OutEvent, claim, come_back, get_delivery,
    list_deliveries, record_attempt, recover, retry, send_test,
};

use crate::{Config, Error, Errors, Page, Paged, Result};

/// Every event type a customer can subscribe to (API.md, "Customer webhooks").
pub const EVENT_TYPES: &[&str] = &[
    "email_queued",
    "email_processing",
    "email_sent",
    "email_delivered",
    "email_bounced",
    "email_complained",
    "email_failed",
    "email_canceled",
    "sms_queued",
    "sms_processing",
    "sms_sent",
    "sms_delivered",
    "sms_failed",
    "sms_canceled",
    "whatsapp_queued",
    "whatsapp_processing",
    "whatsapp_sent",
    "whatsapp_delivered",
    "whatsapp_read",
    "whatsapp_failed",
    "whatsapp_canceled",
    "email_opened",
    "email_clicked",
    "sms_opt_out",
    "webhook_test",
];

/// How long a rotated-out secret keeps signing beside the new one.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// A customer webhook endpoint.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = WebhookEndpoint)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// Its id.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d24")]
    pub id: Uuid,
    /// Where events are POSTed (https in production).
    #[schema(example = "https://hooks.acme.example/herald")]
    pub url: String,
    /// What it is for.
    #[schema(example = "order service")]
    pub description: Option<String>,
    /// The event types it receives; empty means all.
    #[schema(example = json!(["sms_delivered", "sms_failed"]))]
    pub event_types: Vec<String>,
    /// Whether events are delivered to it.
    #[schema(example = true)]
    pub enabled: bool,
    /// Why Herald disabled it (a 410 answer, or 5 days of failures).
    #[schema(example = json!(null))]
    pub disabled_reason: Option<String>,
    /// When it was created.
    #[schema(example = "2026-11-27T10:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[schema(example = "2026-11-27T10:00:00Z")]
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub organization_id: Uuid,
    #[serde(skip)]
    pub secret: String,
    #[serde(skip)]
    pub previous_secret: Option<String>,
    #[serde(skip)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, url, description, event_types, enabled, disabled_reason, created_at, updated_at, \
    organization_id, secret, previous_secret, previous_secret_expires_at";

/// The response to a create or a rotation: the endpoint and its (new) secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookEndpointWithSecret)]
#[serde(rename_all = "camelCase")]
pub struct WithSecret {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// The signing secret: `whsec_` and base64 of 24 random bytes.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// An endpoint to create (`url` required) or change (absent fields stay as they are).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = WebhookEndpointInput)]
#[serde(rename_all = "camelCase")]
pub struct EndpointInput {
    /// Where events are POSTed: https in production, never a private address. Required to create.
    #[schema(value_type = String, required = false, example = "https://hooks.acme.example/herald")]
    pub url: Option<String>,
    /// What it is for; null clears it.
    #[serde(default, deserialize_with = "crate::values::present")]
    #[schema(value_type = Option<String>, required = false, example = "order service")]
    pub description: Option<Option<String>>,
    /// The event types it receives; empty or absent means all.
    #[schema(value_type = Vec<String>, required = false, example = json!(["sms_delivered", "sms_failed"]))]
    pub event_types: Option<Vec<String>>,
    /// Whether events are delivered to it (default true).
    #[schema(value_type = bool, required = false, example = true)]
    pub enabled: Option<bool>,
}

impl Endpoint {
    /// The secrets that sign now: the current one, and the previous one during its overlap.
    pub fn live_secrets(&self, config: &Config) -> Result<Vec<String>> {
        let open = |sealed: &str| -> Result<String> {
            let raw = config
                .secrets
                .open(sealed, &secret_aad(self.id))
                .map_err(|e| anyhow::anyhow!("webhook secret: {e}"))?;
            String::from_utf8(raw).map_err(|e| anyhow::anyhow!("webhook secret: {e}").into())
        };
        let mut secrets = vec![open(&self.secret)?];
        if let (Some(prev), Some(until)) = (&self.previous_secret, self.previous_secret_expires_at)
            && until > Utc::now()
        {
            secrets.push(open(prev)?);
        }
        Ok(secrets)
    }
}

/// The associated data that binds an endpoint's signing secrets to its row (both the current and the
/// previous secret: rotation moves one into the other).
pub(crate) fn secret_aad(id: Uuid) -> String {
    format!("webhook_endpoints:secret:{id}")
}

/// Endpoints one organization may have.
pub const MAX_ENDPOINTS: i64 = 20;
/// The longest endpoint URL accepted.
pub const MAX_URL_CHARS: usize = 2048;

async fn validate_url(config: &Config, errors: &mut Errors, raw: &str) -> Option<String> {
    if raw.len() > MAX_URL_CHARS {
        errors.add("url", format!("must be at most {MAX_URL_CHARS} characters"));
        return None;
    }
    let production = config.environment == crate::config::Environment::Production;
    let url = match targets::parse(raw, production) {
        Ok(u) => u,
        Err(m) => {
            errors.add("url", m);
            return None;
        }
    };
    if !config.webhooks.allow_private_targets
        && let Err(m) = targets::check_resolves_public(&url).await
    {
        errors.add("url", m);
        return None;
    }
    Some(url.to_string())
}

/// Known event types only, each once (so the list is bounded by the number of event types).
fn validate_event_types(errors: &mut Errors, types: &[String]) {
    if types.len() > EVENT_TYPES.len() {
        errors.add(
            "eventTypes",
            format!("must list at most {} event types", EVENT_TYPES.len()),
        );
        return;
    }
    for (i, t) in types.iter().enumerate() {
        if !EVENT_TYPES.contains(&t.as_str()) {
            let shown: String = t.chars().take(64).collect();
            errors.add("eventTypes", format!("unknown event type {shown:?}"));
        } else if types[..i].contains(t) {
            errors.add("eventTypes", format!("lists {t:?} twice"));
        }
    }
}

fn validate_description(errors: &mut Errors, d: &Option<String>) {
    if d.as_deref().is_some_and(|d| d.chars().count() > 500) {
        errors.add("description", "must be at most 500 characters");
    }
}

pub async fn create(
    pool: &PgPool,
    config: &Config,
    organization_id: Uuid,
    input: EndpointInput,
) -> Result<WithSecret> {
    let mut errors = Errors::default();
    let url = match input.url.as_deref() {
        Some(raw) => validate_url(config, &mut errors, raw).await,
        None => {
            errors.add("url", "is required");
            None
        }
    };
    let event_types = input.event_types.unwrap_or_default();
    validate_event_types(&mut errors, &event_types);
    let description = input.description.flatten();
    validate_description(&mut errors, &description);
    errors.finish()?;
    let secret = signing::new_secret();
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    // The organization's row serializes concurrent creations, so the limit holds under a race.
    sqlx::query("SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE")
        .bind(organization_id)
        .execute(&mut *tx)
        .await?;
    let existing: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints WHERE organization_id = $1")
            .bind(organization_id)
            .fetch_one(&mut *tx)
            .await?;
    if existing >= MAX_ENDPOINTS {
        return Err(Error::Rule {
            code: "LIMIT_EXCEEDED",
            message: format!(
                "an organization may have at most {MAX_ENDPOINTS} webhook endpoints; delete one first"
            ),
            field: None,
        });
    }
    let endpoint = sqlx::query_as::<_, Endpoint>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO webhook_endpoints (id, organization_id, url, description, event_types, enabled, secret)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(organization_id)
    .bind(url)
    .bind(description)
    .bind(&event_types)
    .bind(input.enabled.unwrap_or(true))
    .bind(config.secrets.seal(secret.as_bytes(), &secret_aad(id)))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(WithSecret { endpoint, secret })
}

pub async fn get(pool: &PgPool, organization_id: Uuid, id: Uuid) -> Result<Endpoint> {
    sqlx::query_as::<_, Endpoint>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1 AND organization_id = $2"
    )))
    .bind(id)
    .bind(organization_id)
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound)
}

pub async fn list(pool: &PgPool, organization_id: Uuid, page: Page) -> Result<Paged<Endpoint>> {
    crate::pagination::by_organization(
        pool,
        "webhook_endpoints",
        COLUMNS,
        "created_at DESC, id DESC",
        organization_id,
        page,
    )
    .await
}

/// Changes an endpoint. The new URL is checked first (a DNS lookup: no lock is held meanwhile), then
/// the row is locked, merged with what the request leaves out, and written, so two concurrent
/// updates never interleave their read and write.
pub async fn update(
    pool: &PgPool,
    config: &Config,
    organization_id: Uuid,
    id: Uuid,
    input: EndpointInput,
) -> Result<Endpoint> {
    get(pool, organization_id, id).await?;
    let mut errors = Errors::default();
    let url = match input.url.as_deref() {
        Some(raw) => validate_url(config, &mut errors, raw).await,
        None => None,
    };
    if let Some(types) = &input.event_types {
        validate_event_types(&mut errors, types);
    }
    if let Some(description) = &input.description {
        validate_description(&mut errors, description);
    }
    errors.finish()?;
    let mut tx = pool.begin().await?;
    let current = sqlx::query_as::<_, Endpoint>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1 AND organization_id = $2 FOR UPDATE"
    )))
    .bind(id)
    .bind(organization_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    let enabled = input.enabled.unwrap_or(current.enabled);
    let updated = sqlx::query_as::<_, Endpoint>(sqlx::AssertSqlSafe(format!(
        "UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, enabled = $6,
             disabled_reason = CASE WHEN $6 THEN NULL ELSE disabled_reason END,
             failing_since = CASE WHEN $6 AND NOT enabled THEN NULL ELSE failing_since END,
             updated_at = now()
         WHERE id = $1 AND organization_id = $2 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(organization_id)
    .bind(url.unwrap_or(current.url))
    .bind(input.description.unwrap_or(current.description))
    .bind(input.event_types.unwrap_or(current.event_types))
    .bind(enabled)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(updated)
}

pub async fn delete(pool: &PgPool, organization_id: Uuid, id: Uuid) -> Result<()> {
    crate::pagination::delete_owned(pool, "webhook_endpoints", "id", id, organization_id).await
}

pub async fn secret(
    pool: &PgPool,
    config: &Config,
    organization_id: Uuid,
    id: Uuid,
) -> Result<String> {
    let endpoint = get(pool, organization_id, id).await?;
    Ok(endpoint.live_secrets(config)?.remove(0))
}

/// A new secret; the old one keeps signing beside it for 24 hours.
pub async fn rotate(
    pool: &PgPool,
    config: &Config,
    organization_id: Uuid,
    id: Uuid,
) -> Result<WithSecret> {
    let secret = signing::new_secret();
    let endpoint = sqlx::query_as::<_, Endpoint>(sqlx::AssertSqlSafe(format!(
        "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = $3,
             secret = $4, updated_at = now()
         WHERE id = $1 AND organization_id = $2 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(organization_id)
    .bind(Utc::now() + ROTATION_OVERLAP)
    .bind(config.secrets.seal(secret.as_bytes(), &secret_aad(id)))
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound)?;
    Ok(WithSecret { endpoint, secret })
}
