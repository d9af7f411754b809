use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    Error, Page, Paged, Result, Scope, Scopes,
    crypto::{random_token, sha256},
};

pub struct NewApiKey {
    pub name: String,
    pub scopes: Vec<String>,
}

/// An API key as lists show it: never the key itself.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    /// Its id.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d23")]
    pub id: Uuid,
    /// What it is for.
    #[schema(example = "backend")]
    pub name: String,
    /// What it may do.
    #[schema(example = json!(["send:sms", "read:sms"]))]
    pub scopes: Vec<String>,
    /// Its first 12 characters, to recognize it by.
    #[schema(example = "hk_7Qm2xT9a")]
    pub prefix: String,
    /// When it was created.
    #[schema(example = "2026-11-27T10:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When it was last presented.
    #[schema(example = "2026-11-27T11:00:00Z")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    #[schema(example = json!(null))]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The one response that shows the key itself.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    /// Its id.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d23")]
    pub id: Uuid,
    /// What it is for.
    #[schema(example = "backend")]
    pub name: String,
    /// What it may do.
    #[schema(example = json!(["send:sms", "read:sms"]))]
    pub scopes: Vec<String>,
    /// Its first 12 characters, to recognize it by.
    #[schema(example = "hk_7Qm2xT9a")]
    pub prefix: String,
    /// The key: shown here once, stored only as a hash.
    #[schema(example = "hk_7Qm2xT9aKd3LwP8sV1nR4yB6cE0fH5jG")]
    pub key: String,
    /// When it was created.
    #[schema(example = "2026-11-27T10:00:00Z")]
    pub created_at: DateTime<Utc>,
}

/// The key presented on a `/v1/public/*` request.
#[derive(Debug, Clone)]
pub struct ApiKeyPrincipal {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scopes: Scopes,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKeyPrincipal {
    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            Err(Error::InsufficientScope(format!(
                "this API key lacks the {scope} scope"
            )))
        }
    }
}

const KEY_PREFIX: &str = "hk_";
const PREFIX_LEN: usize = 12;

pub async fn create_api_key(
    pool: &PgPool,
    organization_id: Uuid,
    input: NewApiKey,
) -> Result<CreatedApiKey> {
    let mut errors = crate::Errors::default();
    let name = input.name.trim().to_owned();
    if name.is_empty() {
        errors.add("name", "is required");
    } else if name.chars().count() > 100 {
        errors.add("name", "must be at most 100 characters");
    }
    let scopes = match Scopes::parse(&input.scopes) {
        Ok(s) => Some(s),
        Err(m) => {
            errors.add("scopes", m);
            None
        }
    };
    errors.finish()?;
    let scopes = scopes.expect("validated").to_strings();
    // 24 random bytes: 192 bits, so a plain SHA-256 of the key is a safe stored form.
    let key = format!("{KEY_PREFIX}{}", random_token::<24>());
    let prefix = key[..PREFIX_LEN].to_owned();
    let (id, created_at): (Uuid, DateTime<Utc>) = sqlx::query_as(
        "INSERT INTO api_keys (id, organization_id, name, scopes, prefix, key_hash)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(organization_id)
    .bind(&name)
    .bind(&scopes)
    .bind(&prefix)
    .bind(sha256(key.as_bytes()))
    .fetch_one(pool)
    .await?;
    Ok(CreatedApiKey {
        id,
        name,
        scopes,
        prefix,
        key,
        created_at,
    })
}

pub async fn list_api_keys(
    pool: &PgPool,
    organization_id: Uuid,
    page: Page,
) -> Result<Paged<ApiKey>> {
    crate::pagination::by_organization(
        pool,
        "api_keys",
        "id, name, scopes, prefix, created_at, last_used_at, revoked_at",
        "created_at DESC, id DESC",
        organization_id,
        page,
    )
    .await
}

/// Revokes a key; the next request with it is refused, in every process: this one evicts it from its
/// cache before answering, and the others hear of it through NOTIFY when the revocation commits.
pub async fn revoke_api_key(
    pool: &PgPool,
    cache: &KeyCache,
    organization_id: Uuid,
    id: Uuid,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    let found = sqlx::query(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
         WHERE id = $1 AND organization_id = $2",
    )
    .bind(id)
    .bind(organization_id)
    .execute(&mut *tx)
    .await?;
    if found.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(REVOCATIONS_CHANNEL)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    cache.evict(id);
    Ok(())
}

/// The channel on which every process hears of revoked keys.
pub const REVOCATIONS_CHANNEL: &str = "herald_api_key_revoked";

/// How long a cached key is trusted without hearing of it; bounds staleness should a revocation
/// notification ever be missed (the listener also empties the cache whenever it reconnects).
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(300);
/// Recording every use would be a write per request; a minute's precision is plenty.
const LAST_USED_PRECISION: std::time::Duration = std::time::Duration::from_secs(60);

struct Cached {
    principal: ApiKeyPrincipal,
    fetched: std::time::Instant,
    last_recorded: std::time::Instant,
}

/// API keys by the SHA-256 of the presented key, so that a request costs no database round trip.
/// Revocation reaches every process through Postgres NOTIFY (`watch_revocations`), so keys are
/// cached only while that listener is listening: a process that cannot hear revocations reads every
/// key from the database. Every eviction moves a generation counter on; a key read from the
/// database is cached only if no eviction happened since the read began, so a read that raced a
/// revocation is never cached. The lock (parking_lot) cannot be poisoned by a panic elsewhere.
#[derive(Default)]
pub struct KeyCache {
    inner: parking_lot::Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    entries: std::collections::HashMap<Vec<u8>, Cached>,
    generation: u64,
    listening: bool,
}

/// Keys cached at most; past it the cache starts again (each key is re-read once).
const CACHE_CAPACITY: usize = 100_000;

impl KeyCache {
    fn evict(&self, key_id: Uuid) {
        let mut inner = self.inner.lock();
        inner.generation += 1;
        inner.entries.retain(|_, c| c.principal.id != key_id);
    }

    fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.generation += 1;
        inner.entries.clear();
    }

    /// Empties the cache and says whether revocations are heard from now on: anything cached
    /// before may have been revoked unheard, and nothing is cached while they are not.
    fn set_listening(&self, listening: bool) {
        self.clear();
        self.inner.lock().listening = listening;
    }

    fn generation(&self) -> u64 {
        self.inner.lock().generation
    }

    /// Caches a key read when the generation was `read_at`, unless an eviction came since.
    fn insert_if_current(&self, hash: Vec<u8>, entry: Cached, read_at: u64) -> bool {
        let mut inner = self.inner.lock();
        if !inner.listening || inner.generation != read_at {
            return false;
        }
        if inner.entries.len() >= CACHE_CAPACITY {
            inner.entries.clear();
        }
        inner.entries.insert(hash, entry);
        true
    }
}

/// Finds the live key a request presented, by the SHA-256 of the whole key (a hash lookup: its
/// timing reveals nothing about the key), from the cache when it is there.
pub async fn authenticate_api_key(
    pool: &PgPool,
    cache: &KeyCache,
    presented: &str,
) -> Result<ApiKeyPrincipal> {
    let unauthorized = || Error::Unauthorized("invalid or revoked API key".into());
    if !presented.starts_with(KEY_PREFIX) || presented.len() > 128 {
        return Err(unauthorized());
    }
    let hash = sha256(presented.as_bytes());
    let now = std::time::Instant::now();
    let record_use = {
        let mut inner = cache.inner.lock();
        match inner.entries.get_mut(&hash) {
            Some(c) if now.duration_since(c.fetched) < CACHE_TTL => {
                let due = now.duration_since(c.last_recorded) >= LAST_USED_PRECISION;
                if due {
                    c.last_recorded = now;
                }
                Some((c.principal.clone(), due))
            }
            _ => None,
        }
    };
    if let Some((principal, due)) = record_use {
        if due {
            record_last_used(pool, principal.id).await?;
        }
        return Ok(principal);
    }
    let generation = cache.generation();
    type Row = (
        Uuid,
        Uuid,
        String,
        String,
        Vec<String>,
        Option<DateTime<Utc>>,
    );
    let row = sqlx::query_as::<_, Row>(
        "SELECT id, organization_id, name, prefix, scopes, last_used_at FROM api_keys
         WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(&hash)
    .fetch_optional(pool)
    .await?
    .ok_or_else(unauthorized)?;
    let principal = ApiKeyPrincipal {
        id: row.0,
        organization_id: row.1,
        name: row.2,
        prefix: row.3,
        scopes: Scopes::from_stored(&row.4),
        last_used_at: row.5,
    };
    if principal
        .last_used_at
        .is_none_or(|t| Utc::now() - t > chrono::Duration::seconds(60))
    {
        record_last_used(pool, principal.id).await?;
    }
    let entry = Cached {
        principal: principal.clone(),
        fetched: now,
        last_recorded: now,
    };
    cache.insert_if_current(hash, entry, generation);
    Ok(principal)
}

async fn record_last_used(pool: &PgPool, id: Uuid) -> Result<()> {
    sqlx::query("UPDATE api_keys SET last_used_at = now() WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Listens for revoked keys and evicts them from this process's cache, reconnecting whenever the
/// connection drops (the cache is emptied and unused meanwhile, since notifications may be missed).
/// Returns once the first attempt to listen is over, so that a server started after it caches keys
/// from its first request; the task it returns listens until the pool closes.
pub async fn watch_revocations(
    pool: PgPool,
    cache: std::sync::Arc<KeyCache>,
) -> tokio::task::JoinHandle<()> {
    let first = listen_for_revocations(&pool, &cache).await;
    tokio::spawn(async move {
        let mut listener = first;
        loop {
            match listener.take() {
                Some(mut heard) => {
                    while let Ok(Some(n)) = heard.try_recv().await {
                        match n.payload().parse::<Uuid>() {
                            Ok(id) => cache.evict(id),
                            Err(_) => cache.clear(),
                        }
                    }
                    cache.set_listening(false);
                }
                None => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
            }
            if pool.is_closed() {
                return;
            }
            listener = listen_for_revocations(&pool, &cache).await;
        }
    })
}

async fn listen_for_revocations(
    pool: &PgPool,
    cache: &KeyCache,
) -> Option<sqlx::postgres::PgListener> {
    let listened = async {
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(REVOCATIONS_CHANNEL).await?;
        Ok::<_, sqlx::Error>(listener)
    };
    match listened.await {
        Ok(listener) => {
            cache.set_listening(true);
            Some(listener)
        }
        Err(e) => {
            if !pool.is_closed() {
                tracing::warn!(error = %e, "cannot listen for API key revocations; retrying");
            }
            None
        }
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    fn principal(id: Uuid) -> ApiKeyPrincipal {
        ApiKeyPrincipal {
            id,
            organization_id: Uuid::now_v7(),
            name: "k".into(),
            prefix: "hk_x".into(),
            scopes: Scopes::from_stored(&[]),
            last_used_at: None,
        }
    }

    fn entry(id: Uuid) -> Cached {
        let now = std::time::Instant::now();
        Cached {
            principal: principal(id),
            fetched: now,
            last_recorded: now,
        }
    }

    #[test]
    fn a_key_read_before_its_revocation_is_not_cached_after_the_eviction() {
        let cache = KeyCache::default();
        cache.set_listening(true);
        let id = Uuid::now_v7();
        // A request reads the key (generation noted) …
        let read_at = cache.generation();
        // … the revocation's notification evicts it before the request caches what it read …
        cache.evict(id);
        // … so what it read is not cached.
        assert!(!cache.insert_if_current(b"h".to_vec(), entry(id), read_at));
        assert!(cache.inner.lock().entries.is_empty());
        let now = cache.generation();
        assert!(cache.insert_if_current(b"h".to_vec(), entry(id), now));
    }

    #[test]
    fn nothing_is_cached_while_revocations_are_not_heard() {
        let cache = KeyCache::default();
        let id = Uuid::now_v7();
        assert!(!cache.insert_if_current(b"h".to_vec(), entry(id), cache.generation()));
        cache.set_listening(true);
        assert!(cache.insert_if_current(b"h".to_vec(), entry(id), cache.generation()));
        cache.set_listening(false);
        assert!(cache.inner.lock().entries.is_empty());
        assert!(!cache.insert_if_current(b"h".to_vec(), entry(id), cache.generation()));
    }
}
