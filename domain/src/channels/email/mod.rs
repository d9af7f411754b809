//! The email channel: its send body and rules (`send`), suppressions, and how provider events map
//! onto the status machine (`receipts`).

pub mod domains;
pub mod receipts;
mod send;
pub mod stats;
pub mod suppressions;
pub mod tracking;

pub use send::{Email, EmailSend};
