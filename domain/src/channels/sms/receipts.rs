//! How each provider's delivery states map onto the SMS status machine. None: no status (a `note`).

use crate::messages::Status;

/// Carrier DLR states (`/v1/webhooks/sms/dlr`).
pub fn dlr(state: &str) -> Option<Status> {
    match state.trim().to_ascii_uppercase().as_str() {
        "DELIVRD" | "DELIVERED" => Some(Status::Delivered),
        "UNDELIV" | "EXPIRED" | "REJECTD" | "DELETED" | "UNDELIVERABLE" | "FAILED" => {
            Some(Status::Failed)
        }
        "ACCEPTD" | "ENROUTE" => Some(Status::Sent),
        _ => None,
    }
}

/// The signed provider scheme (`/v1/webhooks/sms/provider`).
pub fn provider(state: &str) -> Option<Status> {
    match state {
        "SENT" => Some(Status::Sent),
        "DELIVERED" => Some(Status::Delivered),
        "FAILED" => Some(Status::Failed),
        _ => None,
    }
}

/// Twilio's `MessageStatus` (callbacks and status fetches).
pub fn twilio(state: &str) -> Option<Status> {
    match state.to_ascii_lowercase().as_str() {
        "delivered" | "read" => Some(Status::Delivered),
        "undelivered" | "failed" | "canceled" => Some(Status::Failed),
        "accepted" | "scheduled" | "queued" | "sending" | "sent" => Some(Status::Sent),
        _ => None,
    }
}

/// Termii's delivery report `status`.
pub fn termii(state: &str) -> Option<Status> {
    let s = state.trim().to_ascii_lowercase();
    if s == "delivered" {
        Some(Status::Delivered)
    } else if ["failed", "rejected", "expired", "dnd", "undelivered"]
        .iter()
        .any(|w| s.contains(w))
    {
        Some(Status::Failed)
    } else if s == "sent" || s == "message sent" || s == "accepted" {
        Some(Status::Sent)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dlr_states_map_as_the_contract_says() {
        assert_eq!(dlr("DELIVRD"), Some(Status::Delivered));
        for s in [
            "UNDELIV",
            "EXPIRED",
            "REJECTD",
            "DELETED",
            "UNDELIVERABLE",
            "FAILED",
        ] {
            assert_eq!(dlr(s), Some(Status::Failed), "{s}");
        }
        assert_eq!(dlr("ACCEPTD"), Some(Status::Sent));
        assert_eq!(dlr("ENROUTE"), Some(Status::Sent));
        assert_eq!(dlr("UNKNOWN"), None);
        assert_eq!(dlr("whatever"), None);
    }

    #[test]
    fn provider_states_map() {
        assert_eq!(twilio("undelivered"), Some(Status::Failed));
        assert_eq!(twilio("delivered"), Some(Status::Delivered));
        assert_eq!(twilio("sending"), Some(Status::Sent));
        assert_eq!(termii("DND Active on Phone Number"), Some(Status::Failed));
        assert_eq!(termii("Delivered"), Some(Status::Delivered));
        assert_eq!(termii("Message Sent"), Some(Status::Sent));
        assert_eq!(termii("Pending"), None);
    }
}
