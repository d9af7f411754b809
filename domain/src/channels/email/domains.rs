//! Sending domains: creating one generates an RSA-2048 DKIM key (the private key sealed at rest,
//! bound to its row) and the records to publish: the DKIM key (TXT), an SPF include (TXT) and a
//! return-path name (CNAME). Verifying looks each record up through the configured DNS server
//! (`DNS_RESOLVER`: UDP, and TCP when an answer is truncated) and records what it found.

use std::{net::SocketAddr, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use chrono::{DateTime, Utc};
use hickory_resolver::{
    Resolver,
    config::{ConnectionConfig, NameServerConfig, ResolverConfig},
    net::runtime::TokioRuntimeProvider,
    proto::rr::{RData, RecordType},
};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Config, Error, Page, Paged, Result};

/// The DKIM selector of keys made here.
pub const SELECTOR: &str = "herald";
const DNS_TIMEOUT: Duration = Duration::from_secs(5);
/// All of a verification's lookups together: they run at once, and a resolver that never answers
/// fails the records well inside the request's time-out instead of holding it past.
const VERIFY_DEADLINE: Duration = Duration::from_secs(10);

/// A DNS record to publish for a sending domain.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = DnsRecord)]
pub struct Record {
    /// TXT, CNAME or MX.
    #[serde(rename = "type")]
    #[schema(example = "TXT")]
    pub record_type: &'static str,
    /// Fully qualified.
    #[schema(example = "herald._domainkey.acme.example")]
    pub name: String,
    /// Exactly what to publish, unquoted.
    #[schema(example = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")]
    pub value: String,
    /// PENDING until verified, then VERIFIED or FAILED.
    #[schema(example = "VERIFIED")]
    pub status: String,
}

/// A sending domain and the records that verify it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    /// Its id.
    #[schema(example = "019ac3f2-7d1e-7c41-9a53-2f1e8b6c4d27")]
    pub id: Uuid,
    /// The domain name.
    #[schema(example = "acme.example")]
    pub name: String,
    /// PENDING, VERIFIED or FAILED.
    #[schema(example = "VERIFIED")]
    pub status: String,
    /// DKIM, SPF and the return path.
    pub records: Vec<Record>,
    /// When it was added.
    #[schema(example = "2026-11-27T10:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When it was verified.
    #[schema(example = "2026-11-27T10:05:00Z")]
    pub verified_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    name: String,
    dkim_selector: String,
    dkim_public_key: String,
    status: String,
    record_status: sqlx::types::Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
    verified_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, name, dkim_selector, dkim_public_key, status, record_status, created_at, verified_at";

/// The records of a domain, without their status: what to publish.
fn expected(config: &Config, name: &str, selector: &str, public_key: &str) -> Vec<Record> {
    let email = &config.email;
    let record = |record_type, name: String, value: String| Record {
        record_type,
        name,
        value,
        status: "PENDING".into(),
    };
    vec![
        record(
            "TXT",
            format!("{selector}._domainkey.{name}"),
            format!("v=DKIM1; k=rsa; p={public_key}"),
        ),
        record(
            "TXT",
            name.to_owned(),
            format!("v=spf1 include:{} ~all", email.spf_include),
        ),
        record(
            "CNAME",
            format!("bounces.{name}"),
            email.return_path_target.clone(),
        ),
    ]
}

/// The key each record's status is kept under.
fn status_key(i: usize) -> &'static str {
    ["dkim", "spf", "returnPath"][i]
}

fn domain_of(config: &Config, r: Row) -> Domain {
    let mut records = expected(config, &r.name, &r.dkim_selector, &r.dkim_public_key);
    for (i, rec) in records.iter_mut().enumerate() {
        if let Some(s) = r.record_status.0.get(status_key(i)).and_then(Value::as_str) {
            rec.status = s.to_owned();
        }
    }
    Domain {
        id: r.id,
        name: r.name,
        status: r.status,
        records,
        created_at: r.created_at,
        verified_at: r.verified_at,
    }
}

pub(crate) fn key_aad(id: Uuid) -> String {
    format!("email_domains:dkim_private_key:{id}")
}

/// An RSA-2048 key: its PKCS#1 PEM and its public key (SubjectPublicKeyInfo DER, base64).
fn new_key() -> anyhow::Result<(String, String)> {
    use rsa::{
        pkcs1::{EncodeRsaPrivateKey, LineEnding},
        pkcs8::EncodePublicKey,
    };
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)?;
    let pem = key.to_pkcs1_pem(LineEnding::LF)?.to_string();
    let public = key.to_public_key().to_public_key_der()?;
    Ok((pem, B64.encode(public.as_bytes())))
}

pub async fn create(
    pool: &PgPool,
    config: &Config,
    organization_id: Uuid,
    raw_name: Option<&str>,
) -> Result<Domain> {
    let name = raw_name
        .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
        .unwrap_or_default();
    if !crate::values::domain_ok(&name) {
        return Err(Error::validation(
            "name",
            "must be a domain name like mail.example.com",
        ));
    }
    let (pem, public) = tokio::task::spawn_blocking(new_key)
        .await
        .map_err(|e| anyhow::anyhow!("DKIM key: {e}"))??;
    let id = Uuid::now_v7();
    let row = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO email_domains (id, organization_id, name, dkim_selector, dkim_private_key, dkim_public_key)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (organization_id, name) DO NOTHING RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(organization_id)
    .bind(&name)
    .bind(SELECTOR)
    .bind(config.secrets.seal(pem.as_bytes(), &key_aad(id)))
    .bind(&public)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::conflict(format!("{name} is already a domain of this organization")))?;
    Ok(domain_of(config, row))
}

async fn row(pool: &PgPool, organization_id: Uuid, id: Uuid) -> Result<Row> {
    sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM email_domains WHERE id = $1 AND organization_id = $2"
    )))
    .bind(id)
    .bind(organization_id)
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound)
}

pub async fn get(
    pool: &PgPool,
    config: &Config,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Domain> {
    Ok(domain_of(config, row(pool, organization_id, id).await?))
}

pub async fn list(
    pool: &PgPool,
    config: &Config,
    organization_id: Uuid,
    page: Page,
) -> Result<Paged<Domain>> {
    let rows: Paged<Row> = crate::pagination::by_organization(
        pool,
        "email_domains",
        COLUMNS,
        "created_at DESC, id DESC",
        organization_id,
        page,
    )
    .await?;
    Ok(Paged {
        data: rows
            .data
            .into_iter()
            .map(|r| domain_of(config, r))
            .collect(),
        page: rows.page,
        page_size: rows.page_size,
        total: rows.total,
    })
}

pub async fn delete(pool: &PgPool, organization_id: Uuid, id: Uuid) -> Result<()> {
    crate::pagination::delete_owned(pool, "email_domains", "id", id, organization_id).await
}

/// The DKIM selector and private key (PKCS#1 PEM) of an organization's VERIFIED domain, to sign
/// with; None when the domain is not one.
pub async fn signing_key(
    pool: &PgPool,
    config: &Config,
    organization_id: Uuid,
    name: &str,
) -> Result<Option<(String, String)>> {
    let found: Option<(Uuid, String, String)> = sqlx::query_as(
        "SELECT id, dkim_selector, dkim_private_key FROM email_domains
         WHERE organization_id = $1 AND name = $2 AND status = 'VERIFIED'",
    )
    .bind(organization_id)
    .bind(name.to_ascii_lowercase())
    .fetch_optional(pool)
    .await?;
    let Some((id, selector, sealed)) = found else {
        return Ok(None);
    };
    let pem = config
        .secrets
        .open(&sealed, &key_aad(id))
        .map_err(|e| anyhow::anyhow!("DKIM key of {name}: {e}"))?;
    let pem = String::from_utf8(pem).map_err(|e| anyhow::anyhow!("DKIM key of {name}: {e}"))?;
    Ok(Some((selector, pem)))
}

fn resolver(addr: SocketAddr) -> Result<Resolver<TokioRuntimeProvider>> {
    let connection = |mut c: ConnectionConfig| {
        c.port = addr.port();
        c
    };
    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
    server.connections = vec![
        connection(ConnectionConfig::udp()),
        connection(ConnectionConfig::tcp()),
    ];
    let mut builder = Resolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![server]),
        TokioRuntimeProvider::default(),
    );
    builder.options_mut().timeout = DNS_TIMEOUT;
    builder.options_mut().attempts = 1;
    builder.options_mut().cache_size = 0;
    Ok(builder
        .build()
        .map_err(|e| anyhow::anyhow!("DNS resolver: {e}"))?)
}

/// What the DNS holds for `name` and `record_type`: each TXT record's strings joined, or each
/// CNAME's target without its final dot.
async fn lookup(
    resolver: &Resolver<TokioRuntimeProvider>,
    name: &str,
    record_type: RecordType,
) -> Vec<String> {
    let Ok(found) = resolver.lookup(format!("{name}."), record_type).await else {
        return Vec::new();
    };
    found
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(txt) => Some(
                txt.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<String>(),
            ),
            RData::CNAME(c) => Some(c.0.to_ascii().trim_end_matches('.').to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Looks every record up and stores what was found: each record VERIFIED or FAILED, and the
/// domain VERIFIED when all are.
pub async fn verify(
    pool: &PgPool,
    config: &Config,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Domain> {
    let r = row(pool, organization_id, id).await?;
    let addr = config.email.dns_resolver.ok_or_else(|| Error::Rule {
        code: "VALIDATION_ERROR",
        message: "no DNS resolver is configured (DNS_RESOLVER)".into(),
        field: None,
    })?;
    let resolver = resolver(addr)?;
    let records = expected(config, &r.name, &r.dkim_selector, &r.dkim_public_key);
    let lookups = records.iter().map(|rec| {
        let record_type = match rec.record_type {
            "CNAME" => RecordType::CNAME,
            _ => RecordType::TXT,
        };
        lookup(&resolver, &rec.name, record_type)
    });
    let found_all = tokio::time::timeout(VERIFY_DEADLINE, futures::future::join_all(lookups))
        .await
        .unwrap_or_else(|_| vec![Vec::new(); records.len()]);
    let mut statuses = Map::new();
    for (i, (rec, found)) in records.iter().zip(found_all).enumerate() {
        let ok = match i {
            // SPF: one v=spf1 record that includes ours (it may include others too).
            1 => found.iter().any(|v| {
                v.starts_with("v=spf1")
                    && v.split_whitespace()
                        .any(|t| t == format!("include:{}", config.email.spf_include))
            }),
            _ => found
                .iter()
                .any(|v| squeeze(v).eq_ignore_ascii_case(&squeeze(&rec.value))),
        };
        statuses.insert(
            status_key(i).into(),
            json!(if ok { "VERIFIED" } else { "FAILED" }),
        );
    }
    let all = statuses.values().all(|s| s == "VERIFIED");
    let row = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "UPDATE email_domains SET record_status = $3, status = $4,
             verified_at = CASE WHEN $4 = 'VERIFIED' THEN coalesce(verified_at, now()) ELSE verified_at END
         WHERE id = $1 AND organization_id = $2 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(organization_id)
    .bind(Value::Object(statuses))
    .bind(if all { "VERIFIED" } else { "FAILED" })
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound)?;
    Ok(domain_of(config, row))
}
