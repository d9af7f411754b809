//! The WhatsApp channel: its send body and rules (`send`), lines (the platform's and each
//! organization's own), and how Meta's callbacks map onto the status machine (`receipts`). Opt-outs
//! are shared with SMS (`messages::opt_outs`).

pub mod lines;
pub mod receipts;
mod send;

pub use send::{TemplatePart, TextPart, Whatsapp, WhatsappSend};
