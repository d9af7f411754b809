//! The SMS channel: its send body and rules (`send`), sender IDs, how handsets' texts are routed
//! (`inbound`; opt-outs themselves are shared with WhatsApp in `messages::opt_outs`), and how each
//! provider's delivery states map onto the status machine (`receipts`).

mod inbound;
pub mod receipts;
mod send;
pub mod sender_ids;

pub use inbound::route_inbound;
pub use send::{Sms, SmsSend, parse_flow};
