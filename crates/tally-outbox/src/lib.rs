//! `tally-outbox`: tells other systems what happened, by webhooks.
//!
//! Each endpoint (from `<data-dir>/webhooks.toml` or added through the admin API) receives the
//! log's events whose type matches its patterns (`order.*`), optionally only for some channels
//! or SKUs, and the coalesced `ats.changed` feed (available-to-sell per channel and SKU), as
//! signed POSTs following the Standard Webhooks specification (`signing.rs`).
//!
//! Delivery is at-least-once from a durable cursor per endpoint over the log (`store.rs`,
//! outside the log): one message in flight per endpoint, in seq order, the cursor moving only
//! after a 2xx; failures are retried with exponential backoff and jitter (`backoff.rs`), and a
//! message that exhausts its attempts or its age goes to the endpoint's dead letters, from
//! which an operator replays it. A message's `webhook-id` derives from the endpoint and the
//! event's seq (or, for `ats.changed`, from the stored cut), so a redelivery after a crash
//! carries the same id. Workers learn of new events from the log's durable head
//! (`Log::subscribe_head`), as GraphQL subscriptions do, and read them by seq.
//!
//! **Architecture Invariant:** the outbox never writes the log and never imports the API; it
//! reads the log and the views, and keeps its own state in `<data-dir>/outbox/`.

mod ats;
pub mod backoff;
pub mod config;
mod error;
pub mod filter;
mod http;
pub mod message;
mod outbox;
pub mod signing;
pub mod store;
mod worker;

pub use backoff::{Clock, SystemClock};
pub use config::{CaFile, Delivery, EndpointSpec, EndpointText, Origin, Start, WebhooksConfig};
pub use error::{Error, Result};
pub use message::{ATS_CHANGED, Message};
pub use outbox::{EndpointStatus, NewEndpoint, Outbox, Reloaded};
pub use signing::{Secret, VerifyError};
pub use store::{DeadLetter, EndpointState, Inflight};
