//! What only one channel has, one folder each: its send body and rules, and its own resources. A
//! channel is a set of new files here (values, send body, receipt mapping) plus its provider enum in
//! `jobs/src/providers/<channel>/` and its migration; the pipeline in `messages` serves them all.

pub mod email;
pub mod sms;
pub mod whatsapp;

use serde_json::Value;
use sqlx::PgConnection;

use crate::{
    Result,
    messages::{Channel, Message},
};

/// What a channel does after one of its messages changed status, in the change's transaction
/// (email: a hard bounce or a complaint suppresses the address). `detail` is what the change
/// carries from the provider, where it names a recipient.
pub async fn after_status_change(
    conn: &mut PgConnection,
    message: &Message,
    detail: Option<&Value>,
) -> Result<()> {
    match message.channel {
        Channel::Email => email::suppressions::after_status_change(conn, message, detail).await,
        Channel::Sms | Channel::Whatsapp => Ok(()),
    }
}
