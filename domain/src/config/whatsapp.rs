//! WhatsApp settings: the provider (`WHATSAPP_PROVIDER`), the platform's Cloud API line, Meta's
//! webhook secrets and the lines routed to organizations that do not store them.

use std::{collections::HashMap, time::Duration};

use uuid::Uuid;

use super::{ConfigError, Source, base_url, boolean, duration, err};

/// The WhatsApp provider (`WHATSAPP_PROVIDER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhatsappProviderConfig {
    Sandbox,
    /// Meta's WhatsApp Cloud API (Graph API).
    Cloud,
}

impl WhatsappProviderConfig {
    /// The provider's name, as stored with each message it was handed.
    pub fn name(self) -> &'static str {
        match self {
            WhatsappProviderConfig::Sandbox => "sandbox",
            WhatsappProviderConfig::Cloud => "cloud",
        }
    }
}

#[derive(Clone)]
pub struct WhatsappSettings {
    pub provider: WhatsappProviderConfig,
    /// With the cloud provider: whether sends are accepted and Meta's webhook routes answer.
    pub cloud_api_enabled: bool,
    /// The platform line: its phone number id and the token it sends with (also the token of an
    /// organization's own line stored without one).
    pub phone_number_id: Option<String>,
    pub access_token: Option<String>,
    /// Answers Meta's verification handshake (`GET /v1/webhooks/whatsapp`, off until set).
    pub verify_token: Option<String>,
    /// Signs Meta's callbacks (`X-Hub-Signature-256`; `POST /v1/webhooks/whatsapp`, off until set).
    pub app_secret: Option<String>,
    pub graph_api_base: String,
    pub graph_api_version: String,
    /// Lines not stored on an organization, routed to one (`WHATSAPP_LINE_MAP`).
    pub line_map: HashMap<String, Uuid>,
    /// Time-out of one Graph API call.
    pub provider_timeout: Duration,
}

impl WhatsappSettings {
    /// Whether WhatsApp sends are accepted at all: always with the sandbox, with the cloud provider
    /// only when `WHATSAPP_CLOUD_API_ENABLED` is on.
    pub fn enabled(&self) -> bool {
        self.provider == WhatsappProviderConfig::Sandbox || self.cloud_api_enabled
    }

    /// Whether the platform line can send: a phone number id and a token.
    pub fn platform_line_configured(&self) -> bool {
        self.phone_number_id.is_some() && self.access_token.is_some()
    }
}

/// Meta's ids are digits; a line id is checked so that it can only ever be a path segment.
pub fn phone_number_id_ok(raw: &str) -> bool {
    (1..=32).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit())
}

fn line_map(src: &dyn Source) -> Result<HashMap<String, Uuid>, ConfigError> {
    const NAME: &str = "WHATSAPP_LINE_MAP";
    let Some(raw) = src.get(NAME) else {
        return Ok(HashMap::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let bad = || {
                err(
                    NAME,
                    format!("expected phone_number_id:organizationId pairs, got {pair:?}"),
                )
            };
            let (line, org) = pair.split_once(':').ok_or_else(bad)?;
            let line = line.trim();
            if !phone_number_id_ok(line) {
                return Err(bad());
            }
            let org = Uuid::parse_str(org.trim()).map_err(|_| bad())?;
            Ok((line.to_owned(), org))
        })
        .collect()
}

pub(super) fn whatsapp_settings(src: &dyn Source) -> Result<WhatsappSettings, ConfigError> {
    let provider = match src.get("WHATSAPP_PROVIDER").as_deref().map(str::trim) {
        None | Some("sandbox") => WhatsappProviderConfig::Sandbox,
        Some("cloud") => WhatsappProviderConfig::Cloud,
        Some(other) => {
            return Err(err(
                "WHATSAPP_PROVIDER",
                format!("expected sandbox or cloud, got {other:?}"),
            ));
        }
    };
    let phone_number_id = src
        .get("WHATSAPP_PHONE_NUMBER_ID")
        .map(|v| v.trim().to_owned());
    if phone_number_id
        .as_deref()
        .is_some_and(|p| !phone_number_id_ok(p))
    {
        return Err(err(
            "WHATSAPP_PHONE_NUMBER_ID",
            "expected Meta's phone number id (digits)",
        ));
    }
    let version = src
        .get("WHATSAPP_GRAPH_API_VERSION")
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| "v21.0".into());
    let version_ok = version
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    if !version_ok {
        return Err(err(
            "WHATSAPP_GRAPH_API_VERSION",
            format!("expected a version like v21.0, got {version:?}"),
        ));
    }
    Ok(WhatsappSettings {
        provider,
        cloud_api_enabled: boolean(src, "WHATSAPP_CLOUD_API_ENABLED", false)?,
        phone_number_id,
        access_token: src
            .get("WHATSAPP_ACCESS_TOKEN")
            .map(|v| v.trim().to_owned()),
        verify_token: src.get("WHATSAPP_VERIFY_TOKEN"),
        app_secret: src.get("WHATSAPP_APP_SECRET"),
        graph_api_base: base_url(src, "WHATSAPP_GRAPH_API_BASE", "https://graph.facebook.com")?,
        graph_api_version: version,
        line_map: line_map(src)?,
        provider_timeout: duration(src, "WHATSAPP_PROVIDER_TIMEOUT", Duration::from_secs(15))?,
    })
}
