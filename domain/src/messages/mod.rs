//! The message pipeline every channel shares: one model, one status machine mechanism, one
//! receipt path. Channels add only their validation and their providers.

mod accept;
pub mod answers;
mod list;
pub mod opt_outs;
mod pipeline;
pub mod receipts;
mod status;
mod store;

pub use accept::{Accepted, ChannelSend, MAX_BATCH, MAX_SCHEDULE_DAYS, accept, parse_common};
pub use list::{ListParams, MAX_QUERY_CHARS, list};
pub use pipeline::{claim_for_send, record_outcome, record_retry};
pub use status::{Channel, Status};
pub(crate) use store::load_for_receipt;
pub use store::{
    Change, ListFilter, Message, MessageError, NewMessage, TimelineEntry, Transition, add_entry,
    cancel, get, get_any, insert_queued, list_query, load_for_claim, record_engagement, timeline,
    transition,
};
