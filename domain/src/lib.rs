//! Herald's domain: configuration, value types, identity, the message pipeline's rules and store,
//! and the job payloads. It knows no HTTP.

pub mod channels;
pub mod commits;
pub mod config;
pub mod crypto;
pub mod db;
pub mod dead_jobs;
mod error;
pub mod events;
pub mod idempotency;
pub mod identity;
pub mod messages;
pub mod meters;
mod pagination;
pub mod queue;
pub mod sealed;
pub mod signatures;
#[cfg(test)]
mod test_vectors;
mod values;
pub mod wakes;
pub mod webhooks;

pub use channels::{email, sms, whatsapp};
pub use config::Config;
pub use error::{Error, Errors, FieldError, Result};
pub use pagination::{Page, Paged};
pub use values::{
    EmailAddress, LanguageCode, Mailbox, PhoneNumber, Scope, Scopes, SenderId, SmsBody,
    SmsEncoding, TemplateName, WhatsappText,
};
