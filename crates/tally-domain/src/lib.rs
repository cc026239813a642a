//! Tally's pure domain: commands are decided against in-memory state into events, events evolve
//! that state, and every financial event posts a balanced journal entry.
//!
//! Architecture invariant: no I/O, no clock, no randomness, no async. Time, actor and business
//! ids arrive in the command and its [`Context`]; ids the domain mints derive from state
//! counters, so the same commands in the same order always give the same events.
//!
//! API boundary: [`decide()`]`(&State, &Command, &Context) -> Result<Vec<Event>, Rejection>`,
//! [`evolve()`]`(&mut State, &Event, business time)`, and the body codec [`encode`] / [`decode`] keyed by
//! [`Event::event_type`] and [`Event::schema_version`]. Only this crate knows payload layouts;
//! the log stores the bytes.
//!
//! # Policies decided here (beyond DOMAIN.md)
//! - **Streams** ([`stream`], naming version 2): `order:{id}`,
//!   `inventory:{location}:{sku}[:{lot}]`, `return:{id}`, `settlement:{id}`, `payout:{id}`,
//!   `lot:{sku}:{lot}`, `location:`/`channel:`/`sku:{id}` for master data, `journal` for manual
//!   entries and `commands` for `command.accepted` markers; each id is written with `%` as
//!   `%25` and `:` as `%3A`, so distinct entities never share a stream. A journal entry lives
//!   on the stream of what it is about.
//! - **Ids the domain mints**: journal entries `je-{n}` (n = entries so far + 1), invoices
//!   `{order}-inv-{n}`.
//! - **ATS**: a `contract` channel's ATS is Σ available (it may take safety stock); a
//!   `standard` channel's is Σ max(0, available − safety stock). ATS does not look at lot expiry.
//! - **Allocation**: one `allocate_order` per order (status validated → fulfilling); what stays
//!   unallocated is a backorder, filled by any decision that makes units available (receipt,
//!   transfer receipt, positive adjustment or count, quarantine release, restock, cancellation,
//!   lowered safety stock, recall reallocation), `contract` first then oldest `placed_at`, then
//!   arrival. Held orders keep and receive reservations; a hold blocks allocate, pick, pack and
//!   ship. FEFO takes lots by expiry (lots without expiry last); a lot is allocatable while
//!   `today ≤ expiry − shelf_life_margin_days` and not recalled.
//! - **Fulfilment**: pick, pack and ship move every unit of the order (optionally only at one
//!   location) one stage; a split line ships as several shipments, each invoiced.
//! - **Revenue at shipment**: each shipment issues an invoice (deposits → revenue, shipping with
//!   the first invoice, tax half-even per line and on shipping) and a COGS entry at the SKU's
//!   standard unit cost. Marketplace orders invoice the same way; their settlement's principal,
//!   shipping and tax lines clear customer deposits.
//! - **Inventory value**: receipts post Dr 1200 / Cr 2000 goods-received-not-invoiced (an account
//!   added to the chart) at the receipt's cost; adjustments, counts and scrap post against 5500 at
//!   standard cost; returned units restocked *or quarantined* go back Dr 1200 / Cr 5000, scrapped
//!   ones stay in COGS.
//! - **Settlement lines**: every line posts Dr 1150 its signed amount and the opposite on its
//!   kind's counter account; payout must equal Σ net of the lines and the facilitator-tax lines
//!   must net to zero.
//! - **Recall**: reserved units of the lot are released and reallocated from other lots; picked
//!   and packed units stay with their order and shipping them is refused; cancelling such an order
//!   returns them to quarantine.
//! - **Cancellation**: before anything ships it cancels the order (`order.cancelled`, closed to a
//!   digest); after a partial shipment it cancels the unshipped remainder
//!   (`order.remainder_cancelled`) and the order becomes shipped, then deliverable. Unshipped
//!   units go back to available (recalled lots to quarantine) and fill other backorders.
//! - **Cycle count**: counts on_hand of one bucket; the variance adjusts `available` and is
//!   refused if it would take units that orders hold.
//! - **Closing**: delivered orders shrink to their digest plus the lines returns and refunds need;
//!   cancelled orders to their digest. Closed returns and paid-out settlements are dropped.
//! - **Refunds** of shipped units debit 4500 and their tax 2200, crediting processor clearing; the
//!   processing fee is never returned. Customer money captured but not invoiced stays in 2100
//!   deposits per order and is paid back with `refund_deposit` (Dr 2100 / Cr 1100), also after a
//!   cancellation. Refund ids are not checked for reuse (that would grow state with history).

pub mod allocation;
pub mod closed;
pub mod codec;
pub mod command;
pub mod customer;
pub mod decide;
pub mod event;
pub mod event_type;
pub mod evolve;
pub mod examples;
pub mod exceptions;
#[cfg(feature = "graphql")]
pub mod graphql;
pub mod ids;
pub mod inventory;
pub mod journal;
pub mod limits;
pub mod master;
pub mod money;
pub mod movements;
pub mod order;
pub mod pricing;
pub mod purchasing;
pub mod quantity;
pub mod rejection;
pub mod returns;
pub mod settlement;
pub mod state;
pub mod stream;
pub mod time;
pub mod timers;
pub mod valuation;
pub mod workflow;

pub use codec::{DecodeError, decode, encode};
pub use command::{Command, Context};
pub use decide::{decide, decide_or_load};
pub use event::Event;
pub use evolve::evolve;
pub use rejection::Rejection;
pub use state::State;

/// Decides `command` and, when accepted, applies its events to `state`. Convenience for tests
/// and single-writer engines.
pub fn execute(
    state: &mut State,
    command: &Command,
    ctx: &Context,
) -> Result<Vec<Event>, Rejection> {
    let events = decide(state, command, ctx)?;
    for event in &events {
        evolve(state, event, ctx.now);
    }
    Ok(events)
}
