//! Validated value types: past the HTTP edge, these are never loose strings.

mod email;
mod mailbox;
mod phone;
mod scope;
mod sender_id;
mod sms_body;

pub use email::EmailAddress;
pub use mailbox::Mailbox;
pub(crate) use mailbox::domain_ok;
pub use phone::PhoneNumber;
pub use scope::{Scope, Scopes};
pub use sender_id::SenderId;
pub use sms_body::{SmsBody, SmsEncoding};
