//! HTTP integration tests: each test starts the real application on a random port against a fresh
//! database copied from a migrated template, and talks to it as a client would.

mod helpers;

mod api_keys;
mod contract;
mod email;
mod errors;
mod hardening;
mod identity;
mod processes;
mod providers;
mod queue;
mod receipts;
mod retention;
mod security;
mod sender_ids;
mod sms;
mod webhooks;
mod whatsapp;
