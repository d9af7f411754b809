//! The SMS channel: its send body and rules (`send`), sender IDs, handset opt-outs, and how each
//! provider's delivery states map onto the status machine (`receipts`).

pub mod opt_outs;
pub mod receipts;
mod send;
pub mod sender_ids;

pub use send::{Sms, SmsSend, parse_flow};
