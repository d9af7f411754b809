//! WhatsApp lines: the platform's (from the settings) and an organization's own, stored on the
//! organization with its token sealed. A send goes out on the organization's line when it has one
//! (with its own token, else the platform's), otherwise on the platform's. Meta's callbacks name
//! the line they came in on; this module says which organization that is.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    Config, Error, PhoneNumber, Result,
    config::{WhatsappProviderConfig, phone_number_id_ok},
};

/// `GET /v1/account/whatsapp-cloud-line`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WhatsappCloudLine)]
#[serde(rename_all = "camelCase")]
pub struct CloudLine {
    /// The organization's own phone number id, or null when it sends from the platform line.
    #[schema(example = "106540352242922")]
    pub whatsapp_phone_number_id: Option<String>,
    /// True when the organization has no phone number id of its own.
    #[schema(example = false)]
    pub uses_platform_default: bool,
    /// Whether the platform line can send (its phone number id and token are set).
    #[schema(example = true)]
    pub platform_line_configured: bool,
}

/// `PATCH /v1/account/whatsapp-cloud-line`: absent fields stay, null clears.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = WhatsappCloudLineUpdate)]
#[serde(rename_all = "camelCase")]
pub struct LineUpdate {
    /// Meta's phone number id (digits); null clears it.
    #[serde(default, deserialize_with = "crate::values::present")]
    #[schema(value_type = Option<String>, required = false, example = "106540352242922")]
    pub whatsapp_phone_number_id: Option<Option<String>>,
    /// The line's access token, stored encrypted and never returned; null clears it (the
    /// platform's token is used then).
    #[serde(default, deserialize_with = "crate::values::present")]
    #[schema(value_type = Option<String>, required = false, example = "EAAGm0PX4ZCpsBAKZA7z9yQZDZD")]
    pub whatsapp_access_token: Option<Option<String>>,
}

/// The longest access token stored (Meta's are a few hundred characters).
pub const MAX_TOKEN_CHARS: usize = 4096;

pub(crate) fn token_aad(organization_id: Uuid) -> String {
    format!("organizations:whatsapp_access_token:{organization_id}")
}

/// The organization's own line and whether it stored a token.
async fn own_line(
    conn: &mut PgConnection,
    organization_id: Uuid,
) -> Result<(Option<String>, Option<String>)> {
    Ok(sqlx::query_as(
        "SELECT whatsapp_phone_number_id, whatsapp_access_token FROM organizations WHERE id = $1",
    )
    .bind(organization_id)
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or((None, None)))
}

fn shown(config: &Config, phone_number_id: Option<String>) -> CloudLine {
    CloudLine {
        uses_platform_default: phone_number_id.is_none(),
        whatsapp_phone_number_id: phone_number_id,
        platform_line_configured: config.whatsapp.platform_line_configured(),
    }
}

pub async fn get(pool: &PgPool, config: &Config, organization_id: Uuid) -> Result<CloudLine> {
    let mut conn = pool.acquire().await?;
    let (line, _) = own_line(&mut conn, organization_id).await?;
    Ok(shown(config, line))
}

pub async fn update(
    pool: &PgPool,
    config: &Config,
    organization_id: Uuid,
    update: LineUpdate,
) -> Result<CloudLine> {
    let mut errors = crate::Errors::default();
    if update.whatsapp_phone_number_id.is_none() && update.whatsapp_access_token.is_none() {
        errors.add(
            "body",
            "set whatsappPhoneNumberId or whatsappAccessToken (null clears one)",
        );
    }
    let line = update
        .whatsapp_phone_number_id
        .map(|v| v.map(|s| s.trim().to_owned()));
    if let Some(Some(id)) = &line
        && !phone_number_id_ok(id)
    {
        errors.add(
            "whatsappPhoneNumberId",
            "must be Meta's phone number id (1 to 32 digits)",
        );
    }
    let token = update
        .whatsapp_access_token
        .map(|v| v.map(|s| s.trim().to_owned()));
    if let Some(Some(t)) = &token
        && (t.is_empty()
            || t.chars().count() > MAX_TOKEN_CHARS
            || t.chars().any(|c| c.is_control() || c.is_whitespace()))
    {
        errors.add(
            "whatsappAccessToken",
            format!("must be 1 to {MAX_TOKEN_CHARS} characters without spaces"),
        );
    }
    errors.finish()?;
    let taken = || Error::Conflict {
        code: "WHATSAPP_PHONE_NUMBER_ID_IN_USE",
        message: "another organization holds this WhatsApp phone number id".into(),
    };
    if let Some(Some(id)) = &line {
        // The platform's line, and lines routed to another organization, are not for the taking.
        let mapped_elsewhere = config
            .whatsapp
            .line_map
            .get(id)
            .is_some_and(|o| *o != organization_id);
        if config.whatsapp.phone_number_id.as_deref() == Some(id.as_str()) || mapped_elsewhere {
            return Err(taken());
        }
    }
    let sealed = token.as_ref().map(|t| {
        t.as_ref().map(|t| {
            config
                .secrets
                .seal(t.as_bytes(), &token_aad(organization_id))
        })
    });
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "UPDATE organizations SET
             whatsapp_phone_number_id = CASE WHEN $2 THEN $3 ELSE whatsapp_phone_number_id END,
             whatsapp_access_token = CASE WHEN $4 THEN $5 ELSE whatsapp_access_token END
         WHERE id = $1
         RETURNING whatsapp_phone_number_id",
    )
    .bind(organization_id)
    .bind(line.is_some())
    .bind(line.flatten())
    .bind(sealed.is_some())
    .bind(sealed.flatten())
    .fetch_optional(pool)
    .await
    .map_err(
        |e| match e.as_database_error().and_then(|d| d.constraint()) {
            Some("organizations_whatsapp_line_idx") => taken(),
            _ => e.into(),
        },
    )?;
    let (line,) = row.ok_or(Error::NotFound)?;
    Ok(shown(config, line))
}

/// Why the organization cannot send WhatsApp now, if it cannot (CHANNEL_DISABLED), given its own
/// line and whether that line has a token of its own.
pub fn cannot_send(config: &Config, own_line: Option<&str>, own_token: bool) -> Option<String> {
    let w = &config.whatsapp;
    if w.provider == WhatsappProviderConfig::Sandbox {
        return None;
    }
    if !w.cloud_api_enabled {
        return Some(
            "WhatsApp is disabled on this platform (WHATSAPP_CLOUD_API_ENABLED is off)".into(),
        );
    }
    let why = match own_line {
        Some(_) if !own_token && w.access_token.is_none() => {
            Some("the organization's WhatsApp line has no access token, and the platform has none")
        }
        Some(_) => None,
        None if !w.platform_line_configured() => Some(
            "no WhatsApp line: set the organization's own (PATCH /v1/account/whatsapp-cloud-line) or the platform's",
        ),
        None => None,
    };
    why.map(str::to_owned)
}

/// The line a send goes out on and the token it is sent with.
pub struct SendingLine {
    pub phone_number_id: String,
    pub access_token: String,
}

/// The organization's line with its token (its own, else the platform's), else the platform line;
/// None when neither can send.
pub async fn sending_line(
    pool: &PgPool,
    config: &Config,
    organization_id: Uuid,
) -> Result<Option<SendingLine>> {
    let mut conn = pool.acquire().await?;
    let (line, sealed) = own_line(&mut conn, organization_id).await?;
    let w = &config.whatsapp;
    let own_token = sealed
        .map(|s| {
            let raw = config
                .secrets
                .open(&s, &token_aad(organization_id))
                .map_err(|e| {
                    anyhow::anyhow!("organization {organization_id}: WhatsApp token: {e}")
                })?;
            String::from_utf8(raw)
                .map_err(|e| anyhow::anyhow!("organization {organization_id}: WhatsApp token: {e}"))
        })
        .transpose()?;
    let (phone_number_id, access_token) = match line {
        Some(line) => (Some(line), own_token.or_else(|| w.access_token.clone())),
        None => (w.phone_number_id.clone(), w.access_token.clone()),
    };
    Ok(phone_number_id
        .zip(access_token)
        .map(|(phone_number_id, access_token)| SendingLine {
            phone_number_id,
            access_token,
        }))
}

/// The organization a line belongs to: the one that stores it, else `WHATSAPP_LINE_MAP`'s. None for
/// the platform line and unknown lines, where each message decides.
pub async fn owner_of(
    conn: &mut PgConnection,
    config: &Config,
    phone_number_id: &str,
) -> Result<Option<Uuid>> {
    let stored: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM organizations WHERE whatsapp_phone_number_id = $1")
            .bind(phone_number_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(stored.or_else(|| config.whatsapp.line_map.get(phone_number_id).copied()))
}

/// The organization a user's message on a line is for: the line's owner, else the organization that
/// most recently sent WhatsApp to that user on that line (the sandbox records no line: its messages
/// count as the platform line's).
pub async fn route_inbound(
    conn: &mut PgConnection,
    config: &Config,
    from: &PhoneNumber,
    phone_number_id: &str,
) -> Result<Option<Uuid>> {
    if let Some(org) = owner_of(conn, config, phone_number_id).await? {
        return Ok(Some(org));
    }
    let platform = config.whatsapp.phone_number_id.as_deref() == Some(phone_number_id);
    Ok(sqlx::query_scalar(
        "SELECT organization_id FROM messages
         WHERE channel = 'whatsapp' AND recipient = $1 AND (sender = $2 OR ($3 AND sender IS NULL))
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(from.as_str())
    .bind(phone_number_id)
    .bind(platform)
    .fetch_optional(&mut *conn)
    .await?)
}
