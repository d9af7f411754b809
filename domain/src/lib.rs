//! Herald's domain: configuration, value types, identity, the message pipeline's rules and store,
//! and the job payloads. It knows no HTTP.

pub mod config;
pub mod crypto;
pub mod db;
mod error;
pub mod idempotency;
pub mod identity;
pub mod messages;
mod pagination;
pub mod queue;
pub mod sender_ids;
pub mod sms;
mod values;

pub use config::Config;
pub use error::{Error, Errors, FieldError, Result};
pub use pagination::{Page, Paged};
pub use values::{EmailAddress, PhoneNumber, Scope, Scopes, SenderId, SmsBody, SmsEncoding};
