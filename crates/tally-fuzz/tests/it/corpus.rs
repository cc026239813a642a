//! Replays every committed fuzz input (`fuzz/corpus/<target>/*` and the crash reproducers in
//! `fuzz/regressions/<target>/*`) through the harness of its target, so CI exercises them
//! without cargo-fuzz. `TALLY_FUZZ_WRITE_SEEDS=1` (with `--ignored`) writes the seed inputs.

use std::path::{Path, PathBuf};
use tally_fuzz::{command, frame, graphql, samples};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else { continue };
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
    }
    files.sort();
    files
}

fn replay(target: &str, run: impl Fn(&[u8])) -> usize {
    let files = inputs(target);
    for file in &files {
        let data = std::fs::read(file).unwrap();
        run(&data);
    }
    files.len()
}

#[test]
fn frame_decode_corpus() {
    let n = replay("frame_decode", |d| drop(frame::frame_decode(d)));
    assert!(n > 0, "the frame_decode corpus is committed");
}

#[test]
fn command_json_corpus() {
    let n = replay("command_json", |d| drop(command::command_json(d)));
    assert!(n > 0, "the command_json corpus is committed");
}

#[test]
fn graphql_input_corpus() {
    let n = replay("graphql_input", |d| drop(graphql::graphql_input(d)));
    assert!(n > 0, "the graphql_input corpus is committed");
}

/// Writes the seed corpora: real frames and bodies, the sample and scenario import lines,
/// the README tour requests. Run once before fuzzing; `cargo fuzz cmin` trims them after.
#[test]
#[ignore = "writes files: run with TALLY_FUZZ_WRITE_SEEDS=1 -- --ignored"]
fn write_seed_corpora() {
    if std::env::var_os("TALLY_FUZZ_WRITE_SEEDS").is_none() {
        return;
    }
    let write = |target: &str, name: String, data: &[u8]| {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    };
    for (i, stored) in crate::frame::real_frames().iter().enumerate() {
        write("frame_decode", format!("seed-frame-{i:03}"), stored);
        let event =
            tally_log::RecordedEvent::decode(fjall::Slice::from(stored.as_slice())).unwrap();
        let codec = tally_domain::codec::KNOWN_TYPES;
        let index = codec.iter().position(|t| *t == event.event_type()).unwrap()
            + codec.len() * usize::from(event.schema_version());
        let mut body = vec![u8::try_from(index).unwrap()];
        body.extend_from_slice(event.payload());
        write("frame_decode", format!("seed-body-{i:03}"), &body);
    }
    write("command_json", "seed-sample-file".into(), samples::COMMANDS.as_bytes());
    for (i, line) in samples::COMMANDS.lines().enumerate() {
        write("command_json", format!("seed-sample-{i:02}"), line.as_bytes());
    }
    for (i, line) in crate::command::scenario_lines().iter().enumerate() {
        write("command_json", format!("seed-scenario-{i:03}"), line.as_bytes());
    }
    for (i, body) in samples::graphql_bodies().iter().enumerate() {
        write("graphql_input", format!("seed-tour-{i:02}"), body.as_bytes());
    }
}
