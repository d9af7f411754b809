//! What only one channel has, one folder each: its send body and rules, and its own resources. A
//! channel is a set of new files here (values, send body, receipt mapping) plus its provider enum in
//! `jobs/src/providers/<channel>/` and its migration; the pipeline in `messages` serves them all.

pub mod sms;
