//! How email provider events (`/v1/webhooks/email/provider`, the sandbox's) map onto the email
//! status machine. None: no status (a soft bounce or a delay, kept as a note).

use crate::messages::Status;

pub fn provider_event(event: &str) -> Option<Status> {
    match event {
        "delivered" => Some(Status::Delivered),
        "bounced" => Some(Status::Bounced),
        "complained" => Some(Status::Complained),
        _ => None,
    }
}
