//! Extractors: the JSON body, query strings and paths in the contract's error shape, and the two
//! kinds of caller: a session (control plane) and an API key (`/v1/public/*`).

use std::{marker::PhantomData, net::IpAddr};

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts},
};
use bytes::Bytes;
use domain::{
    Error, FieldError, Scope,
    identity::{ApiKeyPrincipal, Permission, Session},
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::{AppState, error::ApiError};

/// A JSON object body, parsed into `T`; the raw value is kept for idempotency hashing.
pub struct JsonBody<T> {
    pub value: T,
    pub raw: Value,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::InvalidJson("the body could not be read".into())
            }
        })?;
        parse_json(&bytes)
    }
}

/// Parses a JSON object body into `T` with the contract's errors (400 for what is not a JSON
/// object, 422 naming the field for what does not fit `T`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<JsonBody<T>, ApiError> {
    let raw: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::InvalidJson(format!("the body is not valid JSON: {e}")))?;
    if !raw.is_object() {
        return Err(ApiError::InvalidJson(
            "the body must be a JSON object".into(),
        ));
    }
    if let Some(field) = nul_in(&raw, "") {
        return Err(Error::validation(field, "must not contain NUL characters").into());
    }
    // From the parsed value by reference: a large body (an email's attachments) is not copied whole.
    let value = serde_path_to_error::deserialize(&raw).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        Error::Validation(vec![FieldError::new(field, e.into_inner().to_string())])
    })?;
    Ok(JsonBody { value, raw })
}

/// The path of the first key or string holding a NUL character: Postgres text cannot store one, so
/// a body carrying one anywhere is refused before a handler sees it.
fn nul_in(v: &Value, at: &str) -> Option<String> {
    let join = |k: &str| {
        if at.is_empty() {
            k.to_owned()
        } else {
            format!("{at}.{k}")
        }
    };
    match v {
        Value::String(s) if s.contains('\0') => Some(if at.is_empty() {
            "body".into()
        } else {
            at.into()
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_in(item, &format!("{at}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(k, item)| {
            if k.contains('\0') {
                Some(join(&k.replace('\0', "\\0")))
            } else {
                nul_in(item, &join(k))
            }
        }),
        _ => None,
    }
}

/// A query string, refused with 422 when it cannot be read.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(q)
            .map(Query)
            .map_err(|e| Error::validation("query", e.to_string()).into())
    }
}

/// A UUID path segment; one that is not a UUID names nothing, so it answers 404.
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::Domain(Error::NotFound))?;
        Uuid::parse_str(&raw)
            .map(IdPath)
            .map_err(|_| ApiError::Domain(Error::NotFound))
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::Unauthorized("missing bearer credentials".into()).into())
}

/// What a route requires of a session's role.
pub trait NeedsPermission: Send + Sync {
    const PERMISSION: Option<Permission>;
}

/// What a public route requires of an API key.
pub trait NeedsScope: Send + Sync {
    const SCOPE: Option<Scope>;
}

pub mod need {
    use super::*;

    pub struct Signed;
    impl NeedsPermission for Signed {
        const PERMISSION: Option<Permission> = None;
    }
    pub struct MembersRead;
    impl NeedsPermission for MembersRead {
        const PERMISSION: Option<Permission> = Some(Permission::MembersRead);
    }
    pub struct MembersWrite;
    impl NeedsPermission for MembersWrite {
        const PERMISSION: Option<Permission> = Some(Permission::MembersWrite);
    }
    pub struct MessagesRead;
    impl NeedsPermission for MessagesRead {
        const PERMISSION: Option<Permission> = Some(Permission::MessagesRead);
    }
    pub struct MessagesSend;
    impl NeedsPermission for MessagesSend {
        const PERMISSION: Option<Permission> = Some(Permission::MessagesSend);
    }

    pub struct AnyScope;
    impl NeedsScope for AnyScope {
        const SCOPE: Option<Scope> = None;
    }
    pub struct SendSms;
    impl NeedsScope for SendSms {
        const SCOPE: Option<Scope> = Some(Scope::SendSms);
    }
    pub struct ReadSms;
    impl NeedsScope for ReadSms {
        const SCOPE: Option<Scope> = Some(Scope::ReadSms);
    }
    pub struct SendEmail;
    impl NeedsScope for SendEmail {
        const SCOPE: Option<Scope> = Some(Scope::SendEmail);
    }
    pub struct ReadEmail;
    impl NeedsScope for ReadEmail {
        const SCOPE: Option<Scope> = Some(Scope::ReadEmail);
    }
    pub struct SendWhatsapp;
    impl NeedsScope for SendWhatsapp {
        const SCOPE: Option<Scope> = Some(Scope::SendWhatsapp);
    }
    pub struct ReadWhatsapp;
    impl NeedsScope for ReadWhatsapp {
        const SCOPE: Option<Scope> = Some(Scope::ReadWhatsapp);
    }
}

/// A signed-in user with the permission `P`; membership and role are read fresh on every request.
pub struct Auth<P> {
    pub session: Session,
    _p: PhantomData<P>,
}

impl<P: NeedsPermission> FromRequestParts<AppState> for Auth<P> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        if token.starts_with("hk_") {
            return Err(Error::Unauthorized(
                "API keys are accepted only on /v1/public/* routes".into(),
            )
            .into());
        }
        let session = state.sessions.authenticate(&state.pool, token).await?;
        tracing::Span::current().record(
            "organization_id",
            tracing::field::display(session.user.organization_id),
        );
        if let Some(p) = P::PERMISSION
            && !session.user.role.can(p)
        {
            return Err(
                Error::Forbidden(format!("your role lacks the {} permission", p.as_str())).into(),
            );
        }
        Ok(Auth {
            session,
            _p: PhantomData,
        })
    }
}

/// An API key with the scope `S` (authenticated and rate-limited by the public routes' middleware).
pub struct Key<S> {
    pub key: ApiKeyPrincipal,
    _s: PhantomData<S>,
}

impl<S: NeedsScope> FromRequestParts<AppState> for Key<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let key = parts
            .extensions
            .get::<ApiKeyPrincipal>()
            .cloned()
            .ok_or_else(|| Error::Unauthorized("missing API key".into()))?;
        if let Some(scope) = S::SCOPE {
            key.require(scope)?;
        }
        Ok(Key {
            key,
            _s: PhantomData,
        })
    }
}

/// Either kind of caller, for handlers that serve both a session route and its public mirror.
pub trait Caller {
    /// What the public routes' middleware already took from the caller's rate-limit bucket.
    const PREPAID: u32;
    fn organization_id(&self) -> Uuid;
    /// The bucket the caller's sends are counted in: its API key, or its user.
    fn rate_key(&self) -> Uuid;
}

impl<P> Caller for Auth<P> {
    const PREPAID: u32 = 0;
    fn organization_id(&self) -> Uuid {
        self.session.user.organization_id
    }
    fn rate_key(&self) -> Uuid {
        self.session.user.id
    }
}

impl<S> Caller for Key<S> {
    const PREPAID: u32 = 1;
    fn organization_id(&self) -> Uuid {
        self.key.organization_id
    }
    fn rate_key(&self) -> Uuid {
        self.key.id
    }
}

pub(crate) fn api_key_token(parts: &Parts) -> Result<&str, ApiError> {
    let token = bearer(parts)?;
    if !token.starts_with("hk_") {
        return Err(Error::Unauthorized(
            "session tokens are not accepted on /v1/public/* routes; use an API key".into(),
        )
        .into());
    }
    Ok(token)
}

/// The client a request comes from, as a rate-limit subject: the peer address, or the address a
/// trusted proxy (`TRUSTED_PROXIES`) names in `X-Forwarded-For` (the right-most that is not itself
/// a trusted proxy). IPv6 clients are counted per /64, the block one subscriber usually holds.
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| anyhow::anyhow!("no peer address on the request"))
            .map_err(Error::Internal)?;
        let trusted = |ip: IpAddr| state.config.trusted_proxies.iter().any(|r| r.contains(ip));
        let mut client = peer;
        if trusted(peer) {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .collect::<Vec<_>>();
            for hop in forwarded.iter().rev() {
                match hop.parse::<IpAddr>() {
                    Ok(ip) if trusted(ip) => client = ip,
                    Ok(ip) => {
                        client = ip;
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
        Ok(ClientAddr(subject_of(client)))
    }
}

fn subject_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::subject_of;

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a = subject_of("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = subject_of("2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_ne!(a, subject_of("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(subject_of("::ffff:10.1.2.3".parse().unwrap()), "10.1.2.3");
        assert_eq!(subject_of("192.0.2.7".parse().unwrap()), "192.0.2.7");
    }
}
