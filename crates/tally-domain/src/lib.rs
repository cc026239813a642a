//! Tally's pure domain: commands are decided against in-memory state into events, events evolve
//! that state, and every financial event posts a balanced journal entry.
//!
//! Architecture invariant: no I/O, no clock, no randomness, no async. Time, actor and business
//! ids arrive in the command and its [`Context`]; ids the domain mints derive from state
//! counters, so the same commands in the same order always give the same events.

pub mod allocation;
pub mod codec;
pub mod command;
pub mod decide;
pub mod event;
pub mod evolve;
pub mod ids;
pub mod inventory;
pub mod journal;
pub mod master;
pub mod money;
pub mod order;
pub mod quantity;
pub mod rejection;
pub mod returns;
pub mod settlement;
pub mod state;
pub mod time;

pub use codec::{DecodeError, decode, encode};
pub use command::{Command, Context};
pub use decide::decide;
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
        evolve(state, event);
    }
    Ok(events)
}
