//! Property: random batches over random streams, reopened at random points, always verify and
//! read back exactly what was acknowledged.

use crate::support::{event, open};
use proptest::prelude::*;
use std::collections::HashMap;
use tally_log::{AppendRequest, VerifyOptions};

#[derive(Debug, Clone)]
struct Step {
    /// (stream index, payload length) per event.
    events: Vec<(u8, usize)>,
    reopen_after: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (prop::collection::vec((0u8..4, 0usize..600), 1..12), prop::bool::weighted(0.2))
        .prop_map(|(events, reopen_after)| Step { events, reopen_after })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_batches_reopen_and_verify(steps in prop::collection::vec(step(), 1..10)) {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path());
        let mut model: Vec<(String, u64, Vec<u8>)> = Vec::new();
        let mut versions: HashMap<String, u64> = HashMap::new();
        let mut next_id = 1u128;
        for step in &steps {
            let events: Vec<_> = step.events.iter().map(|(s, len)| {
                let stream = format!("stream-{s}");
                let payload: Vec<u8> = (0..*len).map(|i| (i as u128 + next_id) as u8).collect();
                let e = event(next_id, &stream, &payload);
                next_id += 1;
                e
            }).collect();
            let appended = log.append_blocking(AppendRequest::new(events.clone())).unwrap();
            for (e, p) in events.iter().zip(&appended.positions) {
                let v = versions.entry(e.stream.clone()).or_default();
                *v += 1;
                prop_assert_eq!(p.stream_version, *v);
                prop_assert_eq!(p.seq, model.len() as u64 + 1);
                model.push((e.stream.clone(), *v, e.payload.clone()));
            }
            if step.reopen_after {
                log.close();
                drop(log);
                log = open(dir.path());
            }
        }
        let report = log.verify(VerifyOptions::full()).unwrap();
        prop_assert_eq!(report.last_seq, model.len() as u64);
        let stored: Vec<_> = log.read(..).map(|e| {
            let e = e.unwrap();
            (e.stream().to_owned(), e.stream_version(), e.payload().to_vec())
        }).collect();
        prop_assert_eq!(stored, model);
    }
}
