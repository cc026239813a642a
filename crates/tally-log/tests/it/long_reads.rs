//! Long reads take a fresh snapshot per chunk of 4 096 entries (an open snapshot pins every
//! memtable it can see): they must stitch the chunks exactly, and see the head they started
//! from while the writer goes on.

use crate::support::{event, open};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tally_log::{AppendRequest, Log, VerifyOptions};

/// Appends `count` events, ids from `first_id`, in appends of up to 1 000: even ids to the
/// stream "big", odd ids over 7 small streams.
fn fill_batched(log: &Log, first_id: u64, count: u64) {
    let mut id = first_id;
    while id < first_id + count {
        let end = (id + 1_000).min(first_id + count);
        let events = (id..end)
            .map(|i| {
                let stream = if i % 2 == 0 { "big".to_owned() } else { format!("small-{}", i % 7) };
                event(u128::from(i), &stream, format!("payload {i}").as_bytes())
            })
            .collect();
        log.append_blocking(AppendRequest::new(events)).unwrap();
        id = end;
    }
}

#[test]
fn reads_stitch_their_chunks_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    fill_batched(&log, 1, 10_000);
    assert_eq!(log.head().seq, 10_000);

    let seqs: Vec<u64> = log.read(..).map(|e| e.unwrap().seq()).collect();
    assert_eq!(seqs, (1..=10_000).collect::<Vec<_>>(), "every frame once, in order");
    // Ranges that start and end on either side of chunk boundaries (4 096, 8 192).
    for (from, to) in [(4_090, 8_200), (4_096, 4_097), (4_097, 8_192), (1, 4_096), (8_193, 20_000)]
    {
        let seqs: Vec<u64> = log.read(from..=to).map(|e| e.unwrap().seq()).collect();
        assert_eq!(seqs, (from..=to.min(10_000)).collect::<Vec<_>>(), "{from}..={to}");
    }

    // One stream of 5 000 versions, read across its chunk boundary from the start and from
    // just past it.
    let versions: Vec<u64> =
        log.read_stream("big", 1).map(|e| e.unwrap().stream_version()).collect();
    assert_eq!(versions, (1..=5_000).collect::<Vec<_>>());
    let tail: Vec<(u64, u64)> = log
        .read_stream("big", 4_097)
        .map(|e| e.map(|e| (e.stream_version(), e.seq())).unwrap())
        .collect();
    assert_eq!(tail.len(), 904);
    assert_eq!(tail.first().map(|t| t.0), Some(4_097));
    assert!(tail.iter().all(|(v, seq)| *seq == 2 * v), "stream 'big' holds the even seqs");

    // Verify scans frames, both indexes and the Merkle nodes in chunks.
    let report = log.verify(VerifyOptions::full()).unwrap();
    assert_eq!(report.frames_checked, 10_000);
    assert_eq!(report.last_seq, 10_000);
}

#[test]
fn a_verify_and_a_read_of_a_live_log_see_the_head_they_started_from() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    fill_batched(&log, 1, 9_000);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (log, stop) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut next = 1_000_000;
            while !stop.load(Ordering::Relaxed) {
                fill_batched(&log, next, 100);
                next += 100;
            }
        })
    };
    for _ in 0..3 {
        let head = log.head().seq;
        let report = log.verify(VerifyOptions::full()).unwrap();
        // Its own head: at least the one seen before it started, every frame up to it.
        assert!(report.last_seq >= head);
        assert_eq!(report.frames_checked, report.last_seq);
        let start = log.head().seq;
        let seqs: Vec<u64> = log.read(..=start).map(|e| e.unwrap().seq()).collect();
        assert_eq!(seqs, (1..=start).collect::<Vec<_>>(), "a read ends at the head of its call");
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let report = log.verify(VerifyOptions::full()).unwrap();
    assert_eq!(report.last_seq, log.head().seq);
    assert!(report.last_seq > 9_000, "the writer appended meanwhile");
}
