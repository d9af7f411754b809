//! Providers behind one seam: an enum per channel (its sandbox and its real providers), each with a
//! name, a send and, where the provider can be asked, a status poll. The send and poll jobs pick
//! the provider by the message's channel; a channel without one here is not configured.

pub mod email;
mod sandbox;
pub mod sms;
pub mod whatsapp;

use domain::{
    Config,
    messages::{Channel, Message},
};
use sqlx::PgPool;

pub use email::EmailProvider;
pub use sms::{Polled, SmsProvider};
pub use whatsapp::WhatsappProvider;

use crate::{ProviderAccepted, ProviderError};

/// How a provider is polled for messages still SENT.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    pub after: std::time::Duration,
    pub give_up: std::time::Duration,
}

/// Every channel's provider in this process.
pub struct Providers {
    pub sms: SmsProvider,
    pub email: EmailProvider,
    pub whatsapp: WhatsappProvider,
    /// The channels that can send: WhatsApp only while it is enabled.
    channels: Vec<Channel>,
}

/// The provider of one channel.
pub enum Provider<'a> {
    Sms(&'a SmsProvider),
    Email(&'a EmailProvider),
    Whatsapp(&'a WhatsappProvider),
}

impl Providers {
    pub fn from_config(config: &Config, pool: PgPool) -> Self {
        let mut channels = vec![Channel::Sms, Channel::Email];
        if config.whatsapp.enabled() {
            channels.push(Channel::Whatsapp);
        }
        Providers {
            email: EmailProvider::from_config(config, pool.clone()),
            whatsapp: WhatsappProvider::from_config(config, pool.clone()),
            sms: SmsProvider::from_config(config, pool),
            channels,
        }
    }

    /// The channels that have a provider able to send; a message of any other channel fails with
    /// `CHANNEL_NOT_CONFIGURED` instead of being claimed.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    pub fn for_channel(&self, channel: Channel) -> Option<Provider<'_>> {
        if !self.channels.contains(&channel) {
            return None;
        }
        Some(match channel {
            Channel::Sms => Provider::Sms(&self.sms),
            Channel::Email => Provider::Email(&self.email),
            Channel::Whatsapp => Provider::Whatsapp(&self.whatsapp),
        })
    }
}

impl Provider<'_> {
    /// The provider's name, as stored with each message it was handed (receipts match on it).
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Sms(p) => p.name(),
            Provider::Email(p) => p.name(),
            Provider::Whatsapp(p) => p.name(),
        }
    }

    pub async fn send(&self, message: &Message) -> Result<ProviderAccepted, ProviderError> {
        match self {
            Provider::Sms(p) => p.send(message).await,
            Provider::Email(p) => p.send(message).await,
            Provider::Whatsapp(p) => p.send(message).await,
        }
    }

    /// When the provider can be asked where a message stands: how long after the send to ask
    /// first, and how long after it to give up.
    pub fn polling(&self, config: &Config) -> Option<Polling> {
        match self {
            Provider::Sms(p) => p.can_poll().then_some(Polling {
                after: config.sms.status_poll_after,
                give_up: config.sms.status_poll_give_up,
            }),
            Provider::Email(_) | Provider::Whatsapp(_) => None,
        }
    }

    pub async fn poll(&self, provider_message_id: &str) -> Option<Result<Polled, ProviderError>> {
        match self {
            Provider::Sms(p) => p.poll(provider_message_id).await,
            Provider::Email(_) | Provider::Whatsapp(_) => None,
        }
    }
}
