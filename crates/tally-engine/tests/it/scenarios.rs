//! The domain's scenario files run through the engine: the log holds exactly the events the
//! pure domain decides, rejections append nothing, and a restart in the middle changes nothing.

use crate::support::projections;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use tally_domain::ids::Actor;
use tally_domain::time::Timestamp;
use tally_domain::{Command, Context, Event, State, decode, execute};
use tally_engine::{Engine, EngineConfig, Submission};

#[derive(Deserialize)]
struct File {
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    at: Option<Timestamp>,
    command: Option<Command>,
    rejects: Option<String>,
}

fn files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tally-domain/tests/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 6, "the domain's scenario files are where they should be");
    files
}

fn run(path: &Path, restart_at: Option<usize>) -> (Vec<Event>, Vec<Event>) {
    run_with(path, restart_at, EngineConfig::default())
}

fn run_with(
    path: &Path,
    restart_at: Option<usize>,
    config: EngineConfig,
) -> (Vec<Event>, Vec<Event>) {
    let file: File = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let open = |dir: &Path| Engine::open(dir, config.clone(), projections()).unwrap();
    let mut engine = open(dir.path());
    let mut state = State::new();
    let mut direct = Vec::new();
    let mut now = 0;
    for (i, step) in file.steps.iter().enumerate() {
        if restart_at == Some(i) {
            engine.close();
            drop(engine);
            engine = open(dir.path());
        }
        if let Some(at) = step.at {
            now = at.millis();
        }
        let Some(command) = &step.command else { continue };
        let ctx =
            Context { now: Timestamp::from_millis(now), actor: Actor::parse("test").unwrap() };
        let expected = execute(&mut state, command, &ctx);
        let mut submission = Submission::new(format!("step-{i}"), command.clone());
        submission.actor = "test".to_owned();
        submission.occurred_at_ms = Some(now);
        let head = engine.log().head().seq;
        let got = engine.submit_blocking(submission);
        match (expected, got, &step.rejects) {
            (Ok(events), Ok(accepted), None) => {
                assert_eq!(accepted.events.len(), events.len(), "step {i}");
                direct.extend(events);
            }
            (Err(r), Err(e), Some(code)) => {
                assert_eq!(r.code(), code);
                assert_eq!(e.code(), code);
                assert_eq!(engine.log().head().seq, head, "a rejection appends nothing");
            }
            (expected, got, rejects) => {
                panic!("step {i}: domain {expected:?}, engine {got:?}, file expects {rejects:?}")
            }
        }
    }
    let logged = engine
        .log()
        .read(..)
        .map(|e| {
            let e = e.unwrap();
            decode(e.event_type(), e.schema_version(), e.payload()).unwrap()
        })
        // The engine's marker of a command that decided nothing (an allocate of an order
        // already allocated): in the log, not among the domain's events.
        .filter(|e| !matches!(e, Event::CommandAccepted(_)))
        .collect();
    engine.close();
    (direct, logged)
}

#[test]
fn scenario_files_through_the_engine_log_what_the_domain_decides() {
    for path in files() {
        let (direct, logged) = run(&path, None);
        assert!(!logged.is_empty());
        assert_eq!(logged, direct, "{}", path.display());
    }
}

#[test]
fn a_restart_in_the_middle_of_a_scenario_changes_nothing() {
    for path in files() {
        let (direct, _) = run(&path, None);
        let (_, logged) = run(&path, Some(7));
        assert_eq!(logged, direct, "{}", path.display());
    }
}

/// With no closed order kept in the decision state (each group's are written out and every
/// read of one loads it back), the engine decides exactly what the domain decides holding
/// them all: returns, refunds, deposit refunds, payments applied to delivered orders,
/// amendments and re-sends of closed orders; and a restart rebuilds the same state.
#[test]
fn closed_orders_kept_outside_the_state_decide_the_same() {
    let config = EngineConfig { closed_orders_resident_max: 0, ..EngineConfig::default() };
    for path in files() {
        let (direct, logged) = run_with(&path, None, config.clone());
        assert_eq!(logged, direct, "{}", path.display());
        // Restarts early and late: the rebuild keeps none either, and loads what each
        // replayed event changes.
        for restart in [7, 25] {
            let (_, logged) = run_with(&path, Some(restart), config.clone());
            assert_eq!(logged, direct, "{} (restarted at step {restart})", path.display());
        }
    }
}

/// Every command of the scenario files encodes for its content id, and different commands get
/// different ids (a shared id would make retries of different commands look identical).
#[test]
fn command_ids_are_defined_and_distinct() {
    let mut ids = std::collections::BTreeMap::new();
    for path in files() {
        let file: File = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for command in file.steps.into_iter().filter_map(|s| s.command) {
            let id = tally_engine::command_id(&command).unwrap();
            if let Some(other) = ids.insert(id, command.clone()) {
                assert_eq!(other, command, "two different commands share an id");
            }
        }
    }
    assert!(ids.len() > 100);
}
