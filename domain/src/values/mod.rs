//! Validated value types: past the HTTP edge, these are never loose strings.

mod email;
mod mailbox;
mod phone;
mod scope;
mod sender_id;
mod sms_body;
mod whatsapp;

pub use email::EmailAddress;
pub use mailbox::Mailbox;
pub(crate) use mailbox::domain_ok;
pub use phone::PhoneNumber;
pub use scope::{Scope, Scopes};
pub use sender_id::SenderId;
pub use sms_body::{SmsBody, SmsEncoding};
pub use whatsapp::{LanguageCode, TemplateName, WhatsappText};

/// For a PATCH field where absent means unchanged and null means cleared: `#[serde(default,
/// deserialize_with = "crate::values::present")]` on an `Option<Option<String>>`.
pub(crate) fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    <Option<String> as serde::Deserialize>::deserialize(d).map(Some)
}
