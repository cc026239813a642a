//! Crash test: a child appends in a loop and prints each acknowledged seq; we SIGKILL it at
//! random moments, reopen, verify, and check every acknowledged seq is there with its hash.

use crate::support::short_recovery;
use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tally_log::{Log, VerifyOptions};

const ROUNDS: u32 = 20;
const TIME_BUDGET: Duration = Duration::from_secs(90);

/// A small deterministic generator for kill delays (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let child_bin = env!("CARGO_BIN_EXE_tally-log-crashloop");
    let mut rng = Rng(0x7a11_7e57_c0ff_ee01);
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < ROUNDS && started.elapsed() < TIME_BUDGET {
        rounds += 1;
        let per_append = 1 + (rng.next() % 4);
        let mut child = Command::new(child_bin)
            .arg(dir.path())
            .arg("4")
            .arg(per_append.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the first ack (the child is up and appending), then kill after a random
        // delay, so kills land at different points of the group-commit cycle.
        let first = rx.recv_timeout(Duration::from_secs(30)).expect("child acknowledged nothing");
        let delay = Duration::from_millis(rng.next() % 150);
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        for line in std::iter::once(first).chain(rx.try_iter()) {
            let mut parts = line.split(' ');
            if let (Some("ack"), Some(seq), Some(hash)) = (parts.next(), parts.next(), parts.next())
                && hash.len() == 64
                && let Ok(seq) = seq.parse::<u64>()
            {
                acked.insert(seq, hash.to_owned());
            }
        }

        let log = Log::open(dir.path(), short_recovery()).expect("reopen after SIGKILL");
        let report = log.verify(VerifyOptions::full()).unwrap();
        let max_acked = acked.keys().next_back().copied().unwrap_or(0);
        assert!(
            report.last_seq >= max_acked,
            "head {} < acknowledged {max_acked}",
            report.last_seq
        );
        for (seq, hash) in &acked {
            let event = log.get(*seq).unwrap().unwrap_or_else(|| panic!("acked seq {seq} lost"));
            assert_eq!(&event.hash().to_hex(), hash, "acked seq {seq} changed");
        }
        log.close();
    }
    assert!(rounds >= ROUNDS, "only {rounds} rounds in the time budget");
    assert!(acked.len() > rounds as usize, "too few acknowledgements to mean anything");
    eprintln!("crash rounds: {rounds}, acknowledged events checked: {}", acked.len());
}
