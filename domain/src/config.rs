//! Typed configuration, read once from the environment at start-up.
//!
//! Every setting is listed, with a comment, in `deploy/.env.example`. A missing or malformed setting
//! stops start-up with a message naming it. With no settings at all a development install still
//! starts: secrets are generated once and kept in a local file (never in production).

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    str::FromStr,
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use rand::RngCore;

use crate::crypto::SecretBox;

mod whatsapp;
pub use whatsapp::{WhatsappProviderConfig, WhatsappSettings, phone_number_id_ok};

#[derive(Debug, thiserror::Error)]
#[error("configuration: {name}: {message}")]
pub struct ConfigError {
    pub name: &'static str,
    pub message: String,
}

fn err(name: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The SMS provider and its credentials (`SMS_PROVIDER`).
#[derive(Clone, PartialEq, Eq)]
pub enum SmsProviderConfig {
    Sandbox,
    Twilio {
        api_base: String,
        account_sid: String,
        auth_token: String,
    },
    Termii {
        api_base: String,
        api_key: String,
        /// Signs Termii's delivery reports (`X-Termii-Signature`).
        webhook_secret: String,
    },
    /// A generic aggregator: `POST url` with a bearer token and `{to, from, body, reference}`.
    Http {
        url: String,
        token: String,
    },
}

impl SmsProviderConfig {
    /// The provider's name, as stored with each message it was handed.
    pub fn name(&self) -> &'static str {
        match self {
            SmsProviderConfig::Sandbox => "sandbox",
            SmsProviderConfig::Twilio { .. } => "twilio",
            SmsProviderConfig::Termii { .. } => "termii",
            SmsProviderConfig::Http { .. } => "http",
        }
    }
}

/// The email provider (`EMAIL_PROVIDER`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailProviderConfig {
    Sandbox,
    /// A relay at `SMTP_URL`, in lettre's URL form: `smtp://[user:pass@]host:port` (plain, or
    /// `?tls=required` for STARTTLS), `smtps://…` (implicit TLS).
    Smtp {
        url: String,
    },
}

impl EmailProviderConfig {
    /// The provider's name, as stored with each message it was handed.
    pub fn name(&self) -> &'static str {
        match self {
            EmailProviderConfig::Sandbox => "sandbox",
            EmailProviderConfig::Smtp { .. } => "smtp",
        }
    }
}

/// Email settings: the provider, the secret of the signed provider route, and what sending
/// domains publish.
#[derive(Clone)]
pub struct EmailSettings {
    pub provider: EmailProviderConfig,
    /// Signs `/v1/webhooks/email/provider` (off until set).
    pub provider_webhook_secret: Option<String>,
    /// What a sending domain's SPF record includes (`EMAIL_SPF_INCLUDE`).
    pub spf_include: String,
    /// Where a sending domain's return-path name points (`EMAIL_RETURN_PATH_TARGET`).
    pub return_path_target: String,
    /// The DNS server domains are verified against (`DNS_RESOLVER`, else /etc/resolv.conf's first).
    pub dns_resolver: Option<SocketAddr>,
    /// Time-out of one relay conversation (`EMAIL_PROVIDER_TIMEOUT`).
    pub provider_timeout: Duration,
}

/// SMS settings beyond the provider: inbound routes (each off until its secret is set) and polling.
#[derive(Clone)]
pub struct SmsSettings {
    pub provider: SmsProviderConfig,
    pub dlr_token: Option<String>,
    pub provider_webhook_secret: Option<String>,
    pub inbound_token: Option<String>,
    /// A message still SENT this long after the send is polled, where the provider can be asked.
    pub status_poll_after: Duration,
    /// After this long since the send, polling gives up and the message stays SENT with a note.
    pub status_poll_give_up: Duration,
    /// Time-out of one provider call.
    pub provider_timeout: Duration,
}

/// How long records are kept before the scheduler deletes them (in batches, never holding a lock
/// long), and whether one-time codes are redacted once their message is final.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    /// Finished queue jobs (`RETENTION_FINISHED_JOBS`, 10m).
    pub finished_jobs: Duration,
    /// Processed raw receipts (`RETENTION_RECEIPTS`, 30d).
    pub receipts: Duration,
    /// Finished webhook deliveries with their attempts (`RETENTION_WEBHOOK_DELIVERIES`, 30d).
    pub webhook_deliveries: Duration,
    /// What the sandbox providers received (`RETENTION_SANDBOX_CALLS`, 7d).
    pub sandbox_calls: Duration,
    /// Timeline events of messages created longer ago, and events of no message
    /// (`RETENTION_EVENTS`, 90d).
    pub events: Duration,
    /// The text of SMS sent with `flow: OTP` replaced once the message is final (`REDACT_OTP_BODIES`,
    /// true).
    pub redact_otp: bool,
}

fn retention(src: &dyn Source) -> Result<Retention, ConfigError> {
    let days = |n: u64| Duration::from_secs(n * 86_400);
    Ok(Retention {
        finished_jobs: duration(src, "RETENTION_FINISHED_JOBS", Duration::from_secs(600))?,
        receipts: duration(src, "RETENTION_RECEIPTS", days(30))?,
        webhook_deliveries: duration(src, "RETENTION_WEBHOOK_DELIVERIES", days(30))?,
        sandbox_calls: duration(src, "RETENTION_SANDBOX_CALLS", days(7))?,
        events: duration(src, "RETENTION_EVENTS", days(90))?,
        redact_otp: boolean(src, "REDACT_OTP_BODIES", true)?,
    })
}

/// Customer webhook delivery.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// The wait before each retry; after the last, a delivery is FAILED.
    pub retry_schedule: Vec<Duration>,
    pub allow_private_targets: bool,
    /// Deliveries in flight at once per endpoint, per worker process.
    pub endpoint_concurrency: usize,
    /// Deliveries in flight at once, per worker process. A delivery waiting on its receiver holds
    /// no core and no database connection, so this is sized for I/O: hundreds.
    pub concurrency: usize,
    pub timeout: Duration,
    /// An endpoint whose every attempt has failed for this long is disabled.
    pub disable_after: Duration,
}

#[derive(Clone)]
pub struct Config {
    pub environment: Environment,
    pub database_url: String,
    pub database_pool_size: u32,
    pub bind_addr: SocketAddr,
    pub public_base_url: String,
    pub jwt_secret: Vec<u8>,
    pub session_ttl: Duration,
    pub secrets: SecretBox,
    pub platform_admin_email: Option<String>,
    pub platform_admin_password: Option<String>,
    pub signup_enabled: bool,
    pub log_format: LogFormat,
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    /// Jobs each queue runs at once in one process. They wait on providers and on commits, not on
    /// the cores, and the more are in flight the more share each batch's statements and commit.
    pub worker_concurrency: usize,
    pub sms: SmsSettings,
    pub email: EmailSettings,
    pub whatsapp: WhatsappSettings,
    pub webhooks: WebhookSettings,
    pub retention: Retention,
    /// How often workers heartbeat; a worker silent for three heartbeats is presumed dead.
    pub queue_heartbeat: Duration,
    /// How long a send job may hold a message in PROCESSING before the scheduler sends it again.
    pub send_lease: Duration,
    /// How long one send job may run (the provider call included) before it is stopped.
    pub send_timeout: Duration,
    /// How many times a message's lease may run out before it ends FAILED (`LEASE_EXHAUSTED`).
    pub send_lease_rescues: i32,
    /// Signups allowed per client address and hour; 0 turns the limit off.
    pub signups_per_hour_per_address: u32,
    /// Peers whose `X-Forwarded-For` is believed (address ranges).
    pub trusted_proxies: Vec<IpRange>,
    /// Where `/metrics` is served instead of the public listener, when set.
    pub metrics_bind_addr: Option<SocketAddr>,
    /// Where generated development secrets were kept, when they were (for the start-up warning).
    pub dev_secrets_file: Option<PathBuf>,
}

/// An address range (`10.0.0.0/8`, `::1`, `fd00::/8`) as `TRUSTED_PROXIES` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    pub network: IpAddr,
    pub prefix: u8,
}

impl IpRange {
    pub fn parse(raw: &str) -> Option<IpRange> {
        let (addr, prefix) = match raw.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (raw.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpRange {
            network: addr,
            prefix,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        fn bits(ip: IpAddr) -> (u128, u8) {
            match ip {
                IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
                IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                    Some(v4) => (u32::from(v4) as u128, 32),
                    None => (u128::from(v6), 128),
                },
            }
        }
        let ((net, width), (addr, addr_width)) = (bits(self.network), bits(ip));
        if width != addr_width {
            return false;
        }
        let shift = width - self.prefix;
        shift as u32 >= u128::BITS || (net >> shift) == (addr >> shift)
    }
}

/// The window of three heartbeats after which a silent worker's jobs are taken back.
pub const MISSED_HEARTBEATS: u32 = 3;

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets are left out on purpose: a Debug print must never leak them into a log.
        f.debug_struct("Config")
            .field("environment", &self.environment)
            .field("bind_addr", &self.bind_addr)
            .field("public_base_url", &self.public_base_url)
            .field("session_ttl", &self.session_ttl)
            .field("signup_enabled", &self.signup_enabled)
            .field("worker_concurrency", &self.worker_concurrency)
            .finish_non_exhaustive()
    }
}

/// The settings source: the process environment in production, a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name)
            .cloned()
            .filter(|v| !v.trim().is_empty())
    }
}

fn parsed<T: FromStr>(
    src: &dyn Source,
    name: &'static str,
    default: T,
    expected: &str,
) -> Result<T, ConfigError> {
    match src.get(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| err(name, format!("expected {expected}, got {raw:?}"))),
    }
}

fn boolean(src: &dyn Source, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match src.get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "true" | "1" | "yes") => Ok(true),
        Some(v) if matches!(v.as_str(), "false" | "0" | "no") => Ok(false),
        Some(v) => Err(err(name, format!("expected true or false, got {v:?}"))),
    }
}

/// Parses `90`, `90s`, `15m`, `24h`, `7d` and `250ms`.
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let secs = match unit {
        "ms" => return Some(Duration::from_millis(n)),
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

fn duration(
    src: &dyn Source,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match src.get(name) {
        None => Ok(default),
        Some(raw) => parse_duration(&raw)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                err(
                    name,
                    format!("expected a duration like 30s, 15m or 24h, got {raw:?}"),
                )
            }),
    }
}

fn positive<T: FromStr + PartialOrd + Default>(
    src: &dyn Source,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    let v = parsed(src, name, default, "a positive whole number")?;
    if v <= T::default() {
        return Err(err(name, "expected a positive whole number"));
    }
    Ok(v)
}

/// Development secrets kept between starts so that sessions and encrypted values survive a restart.
#[derive(serde::Serialize, serde::Deserialize)]
struct DevSecrets {
    jwt_secret: String,
    secrets_encryption_key: String,
}

fn load_or_create_dev_secrets(path: &PathBuf) -> Result<DevSecrets, ConfigError> {
    const NAME: &str = "HERALD_DEV_SECRETS_FILE";
    if let Ok(text) = std::fs::read_to_string(path) {
        return serde_json::from_str(&text).map_err(|e| {
            err(
                NAME,
                format!("{} is not a secrets file: {e}", path.display()),
            )
        });
    }
    let mut jwt = [0u8; 48];
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut jwt);
    rand::rng().fill_bytes(&mut key);
    let secrets = DevSecrets {
        jwt_secret: B64.encode(jwt),
        secrets_encryption_key: B64.encode(key),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| err(NAME, format!("cannot create {}: {e}", dir.display())))?;
    }
    let text = serde_json::to_string_pretty(&secrets).expect("secrets serialize");
    write_private(path, &text)
        .map_err(|e| err(NAME, format!("cannot write {}: {e}", path.display())))?;
    Ok(secrets)
}

#[cfg(unix)]
fn write_private(path: &PathBuf, text: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &PathBuf, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let environment = match src.get("HERALD_ENV").as_deref().map(str::trim) {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(err(
                    "HERALD_ENV",
                    format!("expected development or production, got {other:?}"),
                ));
            }
        };
        let bind_addr: SocketAddr = parsed(
            src,
            "BIND_ADDR",
            "127.0.0.1:8080".parse().expect("valid default"),
            "host:port",
        )?;
        let public_base_url = src
            .get("PUBLIC_BASE_URL")
            .unwrap_or_else(|| format!("http://{bind_addr}"))
            .trim_end_matches('/')
            .to_owned();
        if !(public_base_url.starts_with("http://") || public_base_url.starts_with("https://")) {
            return Err(err(
                "PUBLIC_BASE_URL",
                "expected an http:// or https:// URL",
            ));
        }

        let (jwt_raw, key_raw, dev_secrets_file) =
            match (src.get("JWT_SECRET"), src.get("SECRETS_ENCRYPTION_KEY")) {
                (Some(j), Some(k)) => (j, k, None),
                (j, _) if environment == Environment::Production => {
                    let missing = if j.is_none() {
                        "JWT_SECRET"
                    } else {
                        "SECRETS_ENCRYPTION_KEY"
                    };
                    return Err(err(missing, "is required when HERALD_ENV=production"));
                }
                (j, k) => {
                    let path = PathBuf::from(
                        src.get("HERALD_DEV_SECRETS_FILE")
                            .unwrap_or_else(|| ".herald/dev-secrets.json".into()),
                    );
                    let dev = load_or_create_dev_secrets(&path)?;
                    (
                        j.unwrap_or(dev.jwt_secret),
                        k.unwrap_or(dev.secrets_encryption_key),
                        Some(path),
                    )
                }
            };
        if jwt_raw.len() < 32 {
            return Err(err("JWT_SECRET", "must be at least 32 characters"));
        }
        let key_id = src
            .get("SECRETS_ENCRYPTION_KEY_ID")
            .unwrap_or_else(|| "k1".into());
        let mut secrets =
            SecretBox::new(&key_id, &key_raw).map_err(|m| err("SECRETS_ENCRYPTION_KEY", m))?;
        if let Some(old) = src.get("SECRETS_PREVIOUS_KEYS") {
            for pair in old.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (id, key) = pair
                    .split_once(':')
                    .ok_or_else(|| err("SECRETS_PREVIOUS_KEYS", "expected id:base64key,…"))?;
                secrets = secrets
                    .with_previous_key(id, key)
                    .map_err(|m| err("SECRETS_PREVIOUS_KEYS", m))?;
            }
        }

        let platform_admin_email = src.get("PLATFORM_ADMIN_EMAIL").map(|e| e.trim().to_owned());
        let platform_admin_password = src.get("PLATFORM_ADMIN_PASSWORD");
        if platform_admin_email.is_some() && platform_admin_password.is_none() {
            return Err(err(
                "PLATFORM_ADMIN_PASSWORD",
                "is required when PLATFORM_ADMIN_EMAIL is set",
            ));
        }
        if let Some(p) = &platform_admin_password
            && p.chars().count() < 10
        {
            return Err(err(
                "PLATFORM_ADMIN_PASSWORD",
                "must be at least 10 characters",
            ));
        }

        let log_format = match src.get("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(err(
                    "LOG_FORMAT",
                    format!("expected text or json, got {other:?}"),
                ));
            }
        };
        let sms = sms_settings(src)?;
        let email = email_settings(src, &public_base_url)?;
        if environment == Environment::Development && !bind_addr.ip().is_loopback() {
            return Err(err(
                "BIND_ADDR",
                format!(
                    "{bind_addr} is not a loopback address: HERALD_ENV=development (the default) runs on \
                     generated secrets and serves only this machine; set HERALD_ENV=production with real \
                     secrets to listen on other interfaces"
                ),
            ));
        }
        let trusted_proxies = match src.get("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    IpRange::parse(p).ok_or_else(|| {
                        err(
                            "TRUSTED_PROXIES",
                            format!("expected addresses or ranges like 10.0.0.0/8, got {p:?}"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let metrics_bind_addr = match src.get("METRICS_BIND_ADDR") {
            None => None,
            Some(raw) => Some(raw.trim().parse().map_err(|_| {
                err(
                    "METRICS_BIND_ADDR",
                    format!("expected host:port, got {raw:?}"),
                )
            })?),
        };
        let config = Config {
            environment,
            database_url: src
                .get("DATABASE_URL")
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/herald".into()),
            database_pool_size: positive(src, "DATABASE_POOL_SIZE", 10u32)?,
            bind_addr,
            public_base_url,
            jwt_secret: jwt_raw.into_bytes(),
            session_ttl: duration(src, "SESSION_TTL", Duration::from_secs(24 * 3600))?,
            secrets,
            platform_admin_email,
            platform_admin_password,
            signup_enabled: boolean(src, "SIGNUP_ENABLED", true)?,
            log_format,
            rate_limit_per_second: positive(src, "RATE_LIMIT_PER_SECOND", 50u32)?,
            rate_limit_burst: positive(src, "RATE_LIMIT_BURST", 100u32)?,
            worker_concurrency: positive(src, "WORKER_CONCURRENCY", 128usize)?,
            sms,
            email,
            whatsapp: whatsapp::whatsapp_settings(src)?,
            webhooks: webhook_settings(src)?,
            retention: retention(src)?,
            queue_heartbeat: duration(src, "QUEUE_HEARTBEAT", Duration::from_secs(10))?,
            send_lease: duration(src, "SEND_LEASE", Duration::from_secs(60))?,
            send_timeout: duration(src, "SEND_TIMEOUT", Duration::from_secs(24))?,
            send_lease_rescues: positive(src, "SEND_LEASE_RESCUES", 3i32)?,
            signups_per_hour_per_address: parsed(
                src,
                "SIGNUPS_PER_HOUR_PER_ADDRESS",
                10u32,
                "a whole number (0 turns the limit off)",
            )?,
            trusted_proxies,
            metrics_bind_addr,
            dev_secrets_file,
        };
        config.check_timing()?;
        Ok(config)
    }

    /// The time-out of every job but the send (receipts, polls, inbound texts, webhook deliveries):
    /// below the three-heartbeat window, so a live worker never has a running job taken from it.
    pub fn job_timeout(&self) -> Duration {
        (self.queue_heartbeat * MISSED_HEARTBEATS).mul_f64(0.8)
    }

    /// Settings that depend on each other, checked together at start-up.
    fn check_timing(&self) -> Result<(), ConfigError> {
        let window = self.queue_heartbeat * MISSED_HEARTBEATS;
        let show = |d: Duration| format!("{}ms", d.as_millis());
        if self.send_timeout >= window {
            return Err(err(
                "SEND_TIMEOUT",
                format!(
                    "must be below three QUEUE_HEARTBEATs ({}), or a live worker's send would be taken from it; got {}",
                    show(window),
                    show(self.send_timeout)
                ),
            ));
        }
        if self.sms.provider_timeout >= self.send_timeout {
            return Err(err(
                "SMS_PROVIDER_TIMEOUT",
                format!(
                    "must be below SEND_TIMEOUT ({}), so a provider call ends before its job does; got {}",
                    show(self.send_timeout),
                    show(self.sms.provider_timeout)
                ),
            ));
        }
        if self.email.provider_timeout >= self.send_timeout {
            return Err(err(
                "EMAIL_PROVIDER_TIMEOUT",
                format!(
                    "must be below SEND_TIMEOUT ({}), so a relay conversation ends before its job does; got {}",
                    show(self.send_timeout),
                    show(self.email.provider_timeout)
                ),
            ));
        }
        if self.whatsapp.provider_timeout >= self.send_timeout {
            return Err(err(
                "WHATSAPP_PROVIDER_TIMEOUT",
                format!(
                    "must be below SEND_TIMEOUT ({}), so a Graph API call ends before its job does; got {}",
                    show(self.send_timeout),
                    show(self.whatsapp.provider_timeout)
                ),
            ));
        }
        if self.send_lease < self.send_timeout + Duration::from_secs(5) {
            return Err(err(
                "SEND_LEASE",
                format!(
                    "must be at least SEND_TIMEOUT + 5s ({}), or a running send would be rescued and sent twice; got {}",
                    show(self.send_timeout + Duration::from_secs(5)),
                    show(self.send_lease)
                ),
            ));
        }
        if self.webhooks.timeout >= self.job_timeout() {
            return Err(err(
                "WEBHOOK_TIMEOUT",
                format!(
                    "must be below the delivery job's time-out ({}, from QUEUE_HEARTBEAT); got {}",
                    show(self.job_timeout()),
                    show(self.webhooks.timeout)
                ),
            ));
        }
        Ok(())
    }
}

fn required(src: &dyn Source, name: &'static str, provider: &str) -> Result<String, ConfigError> {
    src.get(name)
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| err(name, format!("is required when SMS_PROVIDER={provider}")))
}

fn base_url(src: &dyn Source, name: &'static str, default: &str) -> Result<String, ConfigError> {
    let url = src.get(name).unwrap_or_else(|| default.to_owned());
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(err(name, "expected an http:// or https:// URL"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The first `nameserver` of /etc/resolv.conf, on port 53.
fn system_resolver() -> Option<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .find_map(|ip| ip.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
}

fn email_settings(src: &dyn Source, public_base_url: &str) -> Result<EmailSettings, ConfigError> {
    let host = url::Url::parse(public_base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".into());
    let dns_resolver = match src.get("DNS_RESOLVER") {
        Some(raw) => Some(
            raw.trim()
                .parse()
                .map_err(|_| err("DNS_RESOLVER", format!("expected ip:port, got {raw:?}")))?,
        ),
        None => system_resolver(),
    };
    let provider = match src.get("EMAIL_PROVIDER").as_deref().map(str::trim) {
        None | Some("sandbox") => EmailProviderConfig::Sandbox,
        Some("smtp") => {
            let url = src
                .get("SMTP_URL")
                .map(|u| u.trim().to_owned())
                .ok_or_else(|| err("SMTP_URL", "is required when EMAIL_PROVIDER=smtp"))?;
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(err(
                    "SMTP_URL",
                    "expected smtp://[user:pass@]host:port[?tls=required] or smtps://…",
                ));
            }
            EmailProviderConfig::Smtp { url }
        }
        Some(other) => {
            return Err(err(
                "EMAIL_PROVIDER",
                format!("expected sandbox or smtp, got {other:?}"),
            ));
        }
    };
    Ok(EmailSettings {
        provider,
        provider_webhook_secret: src.get("EMAIL_PROVIDER_WEBHOOK_SECRET"),
        spf_include: src
            .get("EMAIL_SPF_INCLUDE")
            .unwrap_or_else(|| format!("_spf.{host}")),
        return_path_target: src.get("EMAIL_RETURN_PATH_TARGET").unwrap_or(host),
        dns_resolver,
        provider_timeout: duration(src, "EMAIL_PROVIDER_TIMEOUT", Duration::from_secs(15))?,
    })
}

fn webhook_settings(src: &dyn Source) -> Result<WebhookSettings, ConfigError> {
    const NAME: &str = "WEBHOOK_RETRY_SCHEDULE";
    let raw = src
        .get(NAME)
        .unwrap_or_else(|| "5s,5m,30m,2h,5h,10h,10h".into());
    let retry_schedule = raw
        .split(',')
        .map(|p| {
            parse_duration(p).ok_or_else(|| {
                err(
                    NAME,
                    format!("expected durations like 5s,5m,2h, got {raw:?}"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(WebhookSettings {
        retry_schedule,
        allow_private_targets: boolean(src, "WEBHOOK_ALLOW_PRIVATE_TARGETS", false)?,
        endpoint_concurrency: positive(src, "WEBHOOK_ENDPOINT_CONCURRENCY", 20usize)?,
        concurrency: positive(src, "WEBHOOK_CONCURRENCY", 256usize)?,
        timeout: duration(src, "WEBHOOK_TIMEOUT", Duration::from_secs(15))?,
        disable_after: duration(
            src,
            "WEBHOOK_DISABLE_AFTER",
            Duration::from_secs(5 * 86_400),
        )?,
    })
}

fn sms_settings(src: &dyn Source) -> Result<SmsSettings, ConfigError> {
    let provider = match src.get("SMS_PROVIDER").as_deref().map(str::trim) {
        None | Some("sandbox") => SmsProviderConfig::Sandbox,
        Some("twilio") => SmsProviderConfig::Twilio {
            api_base: base_url(src, "TWILIO_API_BASE", "https://api.twilio.com")?,
            account_sid: required(src, "TWILIO_ACCOUNT_SID", "twilio")?,
            auth_token: required(src, "TWILIO_AUTH_TOKEN", "twilio")?,
        },
        Some("termii") => {
            let api_key = required(src, "TERMII_API_KEY", "termii")?;
            SmsProviderConfig::Termii {
                api_base: base_url(src, "TERMII_API_BASE", "https://api.ng.termii.com")?,
                webhook_secret: src
                    .get("TERMII_WEBHOOK_SECRET")
                    .unwrap_or_else(|| api_key.clone()),
                api_key,
            }
        }
        Some("http") => SmsProviderConfig::Http {
            url: base_url(src, "SMS_HTTP_URL", "").map_err(|_| {
                err(
                    "SMS_HTTP_URL",
                    "is required when SMS_PROVIDER=http (an http:// or https:// URL)",
                )
            })?,
            token: required(src, "SMS_HTTP_TOKEN", "http")?,
        },
        Some(other) => {
            return Err(err(
                "SMS_PROVIDER",
                format!("expected sandbox, twilio, termii or http, got {other:?}"),
            ));
        }
    };
    Ok(SmsSettings {
        provider,
        dlr_token: src.get("SMS_DLR_TOKEN"),
        provider_webhook_secret: src.get("SMS_PROVIDER_WEBHOOK_SECRET"),
        inbound_token: src.get("SMS_INBOUND_TOKEN"),
        status_poll_after: duration(src, "SMS_STATUS_POLL_AFTER", Duration::from_secs(600))?,
        status_poll_give_up: duration(
            src,
            "SMS_STATUS_POLL_GIVE_UP",
            Duration::from_secs(48 * 3600),
        )?,
        provider_timeout: duration(src, "SMS_PROVIDER_TIMEOUT", Duration::from_secs(15))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        m.entry("JWT_SECRET".into())
            .or_insert_with(|| "x".repeat(40));
        m.entry("SECRETS_ENCRYPTION_KEY".into())
            .or_insert_with(|| B64.encode([7u8; 32]));
        m
    }

    #[test]
    fn defaults_apply_when_settings_are_absent() {
        let c = Config::from_source(&src(&[])).unwrap();
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "postgres://postgres@127.0.0.1:5432/herald");
        assert_eq!(c.session_ttl, Duration::from_secs(86_400));
        assert!(c.signup_enabled);
        assert_eq!(c.public_base_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn a_malformed_setting_is_named_in_the_error() {
        for (name, value) in [
            ("RATE_LIMIT_PER_SECOND", "fast"),
            ("BIND_ADDR", "nowhere"),
            ("SESSION_TTL", "forever"),
            ("SIGNUP_ENABLED", "maybe"),
            ("LOG_FORMAT", "xml"),
            ("WORKER_CONCURRENCY", "0"),
            ("SECRETS_ENCRYPTION_KEY", "c2hvcnQ="),
            ("HERALD_ENV", "staging"),
            ("SMS_PROVIDER", "carrier-pigeon"),
            ("QUEUE_HEARTBEAT", "soon"),
            ("WEBHOOK_RETRY_SCHEDULE", "5s,later"),
        ] {
            let e = Config::from_source(&src(&[(name, value)])).err().unwrap();
            assert_eq!(e.name, name, "{value}");
            assert!(e.to_string().contains(name));
        }
    }

    #[test]
    fn a_real_provider_needs_its_credentials() {
        let e = Config::from_source(&src(&[("SMS_PROVIDER", "twilio")]))
            .err()
            .unwrap();
        assert_eq!(e.name, "TWILIO_ACCOUNT_SID");
        let e = Config::from_source(&src(&[("SMS_PROVIDER", "http")]))
            .err()
            .unwrap();
        assert_eq!(e.name, "SMS_HTTP_URL");
        let c = Config::from_source(&src(&[
            ("SMS_PROVIDER", "termii"),
            ("TERMII_API_KEY", "key"),
            ("TERMII_API_BASE", "http://127.0.0.1:9/"),
        ]))
        .unwrap();
        assert!(matches!(
            c.sms.provider,
            SmsProviderConfig::Termii { ref api_base, ref webhook_secret, .. }
                if api_base == "http://127.0.0.1:9" && webhook_secret == "key"
        ));
    }

    #[test]
    fn production_requires_real_secrets() {
        let mut m = HashMap::new();
        m.insert("HERALD_ENV".to_string(), "production".to_string());
        let e = Config::from_source(&m).err().unwrap();
        assert_eq!(e.name, "JWT_SECRET");
    }

    #[test]
    fn development_secrets_are_generated_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("herald-cfg-{}", uuid::Uuid::now_v7()));
        let file = dir.join("secrets.json");
        let mut m = HashMap::new();
        m.insert(
            "HERALD_DEV_SECRETS_FILE".to_string(),
            file.display().to_string(),
        );
        let a = Config::from_source(&m).unwrap();
        let b = Config::from_source(&m).unwrap();
        assert_eq!(a.jwt_secret, b.jwt_secret);
        assert_eq!(a.dev_secrets_file.as_deref(), Some(file.as_path()));
        let sealed = a.secrets.seal(b"hello", "r");
        assert_eq!(b.secrets.open(&sealed, "r").unwrap(), b"hello");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn settings_that_depend_on_each_other_are_checked_together() {
        for (pairs, name) in [
            (vec![("SEND_TIMEOUT", "30s")], "SEND_TIMEOUT"),
            (
                vec![("SEND_TIMEOUT", "10s"), ("SMS_PROVIDER_TIMEOUT", "10s")],
                "SMS_PROVIDER_TIMEOUT",
            ),
            (
                vec![
                    ("SEND_TIMEOUT", "10s"),
                    ("SMS_PROVIDER_TIMEOUT", "5s"),
                    ("EMAIL_PROVIDER_TIMEOUT", "5s"),
                    ("WHATSAPP_PROVIDER_TIMEOUT", "10s"),
                ],
                "WHATSAPP_PROVIDER_TIMEOUT",
            ),
            (vec![("SEND_LEASE", "28s")], "SEND_LEASE"),
            (vec![("WEBHOOK_TIMEOUT", "24s")], "WEBHOOK_TIMEOUT"),
            (vec![("QUEUE_HEARTBEAT", "1s")], "SEND_TIMEOUT"),
        ] {
            let e = Config::from_source(&src(&pairs)).err().unwrap();
            assert_eq!(e.name, name, "{pairs:?}");
        }
        let c = Config::from_source(&src(&[
            ("QUEUE_HEARTBEAT", "1s"),
            ("SEND_TIMEOUT", "2s"),
            ("SMS_PROVIDER_TIMEOUT", "1s"),
            ("EMAIL_PROVIDER_TIMEOUT", "1s"),
            ("WHATSAPP_PROVIDER_TIMEOUT", "1s"),
            ("SEND_LEASE", "7s"),
            ("WEBHOOK_TIMEOUT", "2s"),
        ]))
        .unwrap();
        assert_eq!(c.send_lease_rescues, 3);
        assert_eq!(c.job_timeout(), Duration::from_millis(2400));
    }

    #[test]
    fn whatsapp_defaults_to_the_sandbox_and_reads_its_line_map() {
        let c = Config::from_source(&src(&[])).unwrap();
        assert_eq!(c.whatsapp.provider, WhatsappProviderConfig::Sandbox);
        assert!(c.whatsapp.enabled());
        assert_eq!(c.whatsapp.graph_api_base, "https://graph.facebook.com");
        let org = "0192b1f0-0000-7000-8000-000000000001";
        let c = Config::from_source(&src(&[
            ("WHATSAPP_PROVIDER", "cloud"),
            ("WHATSAPP_LINE_MAP", &format!(" 1065:{org}, 2077:{org} ")),
        ]))
        .unwrap();
        assert!(
            !c.whatsapp.enabled(),
            "the cloud provider is off by default"
        );
        assert_eq!(c.whatsapp.line_map.len(), 2);
        assert_eq!(c.whatsapp.line_map["2077"].to_string(), org);
        for (pairs, name) in [
            (vec![("WHATSAPP_PROVIDER", "meta")], "WHATSAPP_PROVIDER"),
            (vec![("WHATSAPP_LINE_MAP", "1065")], "WHATSAPP_LINE_MAP"),
            (vec![("WHATSAPP_LINE_MAP", "abc:x")], "WHATSAPP_LINE_MAP"),
            (
                vec![("WHATSAPP_PHONE_NUMBER_ID", "../1")],
                "WHATSAPP_PHONE_NUMBER_ID",
            ),
            (
                vec![("WHATSAPP_GRAPH_API_VERSION", "21")],
                "WHATSAPP_GRAPH_API_VERSION",
            ),
            (
                vec![("WHATSAPP_GRAPH_API_BASE", "graph.facebook.com")],
                "WHATSAPP_GRAPH_API_BASE",
            ),
        ] {
            let e = Config::from_source(&src(&pairs)).err().unwrap();
            assert_eq!(e.name, name, "{pairs:?}");
        }
    }

    #[test]
    fn development_listens_on_loopback_only() {
        let e = Config::from_source(&src(&[("BIND_ADDR", "0.0.0.0:8080")]))
            .err()
            .unwrap();
        assert_eq!(e.name, "BIND_ADDR");
        assert!(Config::from_source(&src(&[("BIND_ADDR", "[::1]:8080")])).is_ok());
        let mut prod = src(&[("BIND_ADDR", "0.0.0.0:8080"), ("HERALD_ENV", "production")]);
        prod.insert("HERALD_ENV".into(), "production".into());
        assert!(Config::from_source(&prod).is_ok());
    }

    #[test]
    fn trusted_proxies_are_address_ranges() {
        let c = Config::from_source(&src(&[("TRUSTED_PROXIES", "10.0.0.0/8, ::1")])).unwrap();
        let r = &c.trusted_proxies;
        assert!(r[0].contains("10.2.3.4".parse().unwrap()));
        assert!(!r[0].contains("11.2.3.4".parse().unwrap()));
        assert!(r[1].contains("::1".parse().unwrap()));
        assert!(
            IpRange::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        let e = Config::from_source(&src(&[("TRUSTED_PROXIES", "10.0.0.0/33")]))
            .err()
            .unwrap();
        assert_eq!(e.name, "TRUSTED_PROXIES");
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1y"), None);
        assert_eq!(parse_duration("h"), None);
    }
}
