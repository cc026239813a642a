//! NDJSON import lines, exactly as `tally import` reads and parses them, decided against a
//! small in-memory state by the pure domain.

use crate::frame::check_roundtrip;
use crate::samples;
use std::sync::OnceLock;
use tally_domain::ids::Actor;
use tally_domain::time::Timestamp;
use tally_domain::{Context, State, decide, evolve};
use tally_engine::Submission;
use tally_engine::import::{ImportFile, ImportLines, parse_import_line};

/// Business time of lines without `occurred_at` (2026-03-02T00:00:00Z).
pub const DEFAULT_NOW_MS: i64 = 1_772_409_600_000;

/// What [`command_json`] made of its input, line by line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// Non-blank lines read.
    pub lines: usize,
    /// Lines refused before the domain (length, UTF-8, JSON, shape, actor), with their codes.
    pub invalid: Vec<&'static str>,
    /// Lines the domain accepted.
    pub accepted: usize,
    /// Lines the domain refused, with their rejection codes.
    pub rejected: Vec<&'static str>,
    /// Events the accepted lines produced.
    pub events: usize,
}

/// The state every input starts from: the sample import file, decided in order.
pub fn base_state() -> &'static State {
    static BASE: OnceLock<State> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut state = State::default();
        let mut outcome = CommandOutcome::default();
        let file = ImportFile::of_bytes(samples::COMMANDS.as_bytes());
        for (number, line) in (1..).zip(samples::COMMANDS.lines()) {
            let submission =
                parse_import_line(line, &file, number).expect("the sample lines parse");
            decide_one(&mut state, &submission, &mut outcome);
        }
        assert!(outcome.rejected.is_empty(), "the sample lines are accepted: {outcome:?}");
        state
    })
}

/// Reads `data` as an import file with `tally import`'s line reader and parser; decides every
/// line that parses against a copy of [`base_state`], applying accepted events so later lines
/// see earlier ones. Panics only when an invariant breaks: a refused line changed the state,
/// an error has no code, or an event does not survive the codec.
#[must_use]
pub fn command_json(data: &[u8]) -> CommandOutcome {
    let mut state = base_state().clone();
    let mut outcome = CommandOutcome::default();
    let file = ImportFile::of_bytes(data);
    for item in ImportLines::new(data) {
        // Reading from a byte slice cannot fail.
        let Ok((number, line)) = item else { break };
        let parsed = match line {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => parse_import_line(&line, &file, number),
            Err(e) => Err(e),
        };
        outcome.lines += 1;
        match parsed {
            Ok(submission) => decide_one(&mut state, &submission, &mut outcome),
            Err(e) => {
                assert!(!e.to_string().is_empty());
                outcome.invalid.push(e.code());
            }
        }
    }
    // The generic GraphQL `submit` takes the command as one JSON value, newlines and all.
    if data.contains(&b'\n') {
        let _ = serde_json::from_slice::<tally_domain::Command>(data);
    }
    outcome
}

/// Decides one submission the way the engine's writer does (actor, business time, decide,
/// then evolve the accepted events).
fn decide_one(state: &mut State, submission: &Submission, outcome: &mut CommandOutcome) {
    let Ok(actor) = Actor::parse(submission.actor.clone()) else {
        outcome.invalid.push("INVALID_INPUT");
        return;
    };
    let now = Timestamp::from_millis(submission.occurred_at_ms.unwrap_or(DEFAULT_NOW_MS));
    let ctx = Context { now, actor };
    match decide(state, &submission.command, &ctx) {
        Ok(events) => {
            outcome.accepted += 1;
            outcome.events += events.len();
            for event in &events {
                check_roundtrip(event);
                evolve(state, event, now);
            }
        }
        Err(rejection) => {
            let code = rejection.code();
            assert!(!code.is_empty() && !rejection.to_string().is_empty());
            outcome.rejected.push(code);
        }
    }
}
