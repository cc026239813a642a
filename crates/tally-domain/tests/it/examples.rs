//! The examples that are part of every command's definition: one per command at least, all
//! accepted in order from an empty ledger, and each the same command after a JSON round trip
//! (the form `submit` and NDJSON import read).

use std::collections::BTreeSet;
use tally_domain::examples::{commands, time_of};
use tally_domain::ids::Actor;
use tally_domain::{Command, Context, State, execute};

#[test]
fn every_command_has_an_example() {
    let tags: BTreeSet<&str> = commands().iter().map(Command::kind).collect();
    let all: BTreeSet<&str> = Command::TAGS.iter().copied().collect();
    let missing: Vec<&&str> = all.difference(&tags).collect();
    assert!(missing.is_empty(), "commands without an example: {missing:?}");
    assert_eq!(Command::TAGS.len(), all.len(), "tags are unique");
}

#[test]
fn the_examples_are_accepted_in_order_from_an_empty_ledger() {
    let mut state = State::new();
    let actor = Actor::parse("examples").unwrap();
    let mut events = 0;
    for (i, command) in commands().iter().enumerate() {
        let ctx = Context { now: time_of(i), actor: actor.clone() };
        match execute(&mut state, command, &ctx) {
            Ok(appended) => events += appended.len(),
            Err(r) => panic!("example {i} ({}) was refused: {} {r}", command.kind(), r.code()),
        }
    }
    assert!(events >= commands().len(), "every example appended at least one event");
}

#[test]
fn every_example_survives_its_json_form() {
    for command in commands() {
        let json = serde_json::to_value(&command).unwrap();
        assert_eq!(json["type"], command.kind(), "the JSON tag is the command's kind");
        let back: Command = serde_json::from_value(json).unwrap();
        assert_eq!(back, command);
    }
}
