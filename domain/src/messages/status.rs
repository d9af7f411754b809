//! The status machine of every channel, written once: an enum and its allowed transitions.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
    Whatsapp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Queued,
    Processing,
    Sent,
    Delivered,
    Read,
    Bounced,
    Complained,
    Failed,
    Canceled,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Queued,
        Status::Processing,
        Status::Sent,
        Status::Delivered,
        Status::Read,
        Status::Bounced,
        Status::Complained,
        Status::Failed,
        Status::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "QUEUED",
            Status::Processing => "PROCESSING",
            Status::Sent => "SENT",
            Status::Delivered => "DELIVERED",
            Status::Read => "READ",
            Status::Bounced => "BOUNCED",
            Status::Complained => "COMPLAINED",
            Status::Failed => "FAILED",
            Status::Canceled => "CANCELED",
        }
    }

    pub fn parse(raw: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
        }
    }

    pub fn parse(raw: &str) -> Option<Channel> {
        [Channel::Email, Channel::Sms, Channel::Whatsapp]
            .into_iter()
            .find(|c| c.as_str() == raw)
    }

    /// The statuses a message of this channel can have.
    pub fn statuses(self) -> Vec<Status> {
        Status::ALL
            .into_iter()
            .filter(|s| *s == Status::Queued || Status::ALL.iter().any(|f| self.allows(*f, *s)))
            .collect()
    }

    /// The allowed transitions. Anything else (an out-of-order receipt, a second cancel) is refused.
    pub fn allows(self, from: Status, to: Status) -> bool {
        use Status::*;
        let common = matches!(
            (from, to),
            (Queued, Processing)
                | (Queued, Canceled)
                | (Queued, Failed)
                | (Processing, Sent)
                | (Processing, Failed)
        );
        common
            || match self {
                Channel::Sms => matches!((from, to), (Sent, Delivered) | (Sent, Failed)),
                Channel::Email => matches!(
                    (from, to),
                    (Sent, Delivered) | (Sent, Bounced) | (Sent, Failed) | (Delivered, Complained)
                ),
                Channel::Whatsapp => matches!(
                    (from, to),
                    (Sent, Delivered)
                        | (Sent, Read)
                        | (Sent, Failed)
                        | (Delivered, Read)
                        | (Delivered, Failed)
                ),
            }
    }

    /// The statuses from which `to` may be reached.
    pub fn sources_of(self, to: Status) -> Vec<&'static str> {
        Status::ALL
            .into_iter()
            .filter(|from| self.allows(*from, to))
            .map(Status::as_str)
            .collect()
    }

    /// The customer-visible event type of a status change: `sms_delivered`, `email_bounced`, …
    pub fn event_type(self, status: Status) -> String {
        format!("{}_{}", self.as_str(), status.as_str().to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn sms_follows_queued_processing_sent_then_delivered_or_failed() {
        let c = Channel::Sms;
        for (f, t) in [
            (Queued, Processing),
            (Processing, Sent),
            (Sent, Delivered),
            (Sent, Failed),
            (Processing, Failed),
            (Queued, Canceled),
        ] {
            assert!(c.allows(f, t), "{f:?} -> {t:?}");
        }
        for (f, t) in [
            (Failed, Delivered),
            (Delivered, Failed),
            (Sent, Canceled),
            (Processing, Canceled),
            (Queued, Sent),
            (Sent, Read),
        ] {
            assert!(!c.allows(f, t), "{f:?} -> {t:?}");
        }
        assert_eq!(
            c.statuses(),
            vec![Queued, Processing, Sent, Delivered, Failed, Canceled]
        );
    }

    #[test]
    fn email_and_whatsapp_have_their_own_final_states() {
        assert!(Channel::Email.allows(Delivered, Complained));
        assert!(!Channel::Sms.allows(Delivered, Complained));
        assert!(Channel::Whatsapp.allows(Delivered, Read));
        assert_eq!(Channel::Sms.event_type(Delivered), "sms_delivered");
    }
}
