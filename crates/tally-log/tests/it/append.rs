//! Appends: positions, conditions, idempotency (also across restarts), limits and reads.

use crate::support::{event, fill, id, open};
use tally_log::{AppendRequest, Config, Error, Expected, Limits, Log, VerifyOptions};

#[test]
fn appends_assign_gap_free_seqs_and_stream_versions() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let first = log
        .append_blocking(AppendRequest::new(vec![
            event(1, "order-1", b"a"),
            event(2, "sku-9", b"b"),
            event(3, "order-1", b"c"),
        ]))
        .unwrap();
    let seqs: Vec<_> = first.positions.iter().map(|p| (p.seq, p.stream_version)).collect();
    assert_eq!(seqs, vec![(1, 1), (2, 1), (3, 2)]);
    assert!(!first.deduplicated);
    let second = log.append_blocking(AppendRequest::new(vec![event(4, "sku-9", b"d")])).unwrap();
    assert_eq!((second.first_seq(), second.positions[0].stream_version), (4, 2));
    assert_eq!(log.head().seq, 4);

    let all: Vec<_> = log.read(..).map(Result::unwrap).collect();
    assert_eq!(all.iter().map(|e| e.seq()).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert_eq!(all[2].payload(), b"c");
    assert_eq!(all[2].stream(), "order-1");
    assert_eq!(all[1].prev_hash(), all[0].hash());
    assert!(all.windows(2).all(|w| w[0].recorded_at_ms() <= w[1].recorded_at_ms()));

    let stream: Vec<_> = log.read_stream("order-1", 1).map(Result::unwrap).collect();
    assert_eq!(stream.iter().map(|e| e.seq()).collect::<Vec<_>>(), vec![1, 3]);
    let tail: Vec<_> = log.read_stream("order-1", 2).map(Result::unwrap).collect();
    assert_eq!(tail.len(), 1);
    assert_eq!(log.get_by_event_id(id(4)).unwrap().unwrap().seq(), 4);
    assert!(log.get_by_event_id(id(99)).unwrap().is_none());
    assert_eq!(log.get(3).unwrap().unwrap().event_id(), id(3));
    assert!(log.get(5).unwrap().is_none());
    assert_eq!(log.stream_version("sku-9").unwrap(), 2);
    assert_eq!(log.stream_version("nothing").unwrap(), 0);
    let range: Vec<_> = log.read(2..=3).map(|e| e.unwrap().seq()).collect();
    assert_eq!(range, vec![2, 3]);
}

#[test]
fn expectations_gate_the_whole_append() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append_blocking(
        AppendRequest::new(vec![event(1, "a", b"1")]).expect("a", Expected::NoStream),
    )
    .unwrap();
    // A second NoStream on "a" fails, and the event for "b" in the same append is not written.
    let err = log
        .append_blocking(
            AppendRequest::new(vec![event(2, "b", b"2"), event(3, "a", b"3")])
                .expect("a", Expected::NoStream),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::VersionConflict { stream, current: 1, .. } if stream == "a"),
        "{err}"
    );
    assert_eq!(log.head().seq, 1);
    assert_eq!(log.stream_version("b").unwrap(), 0);
    assert!(log.get_by_event_id(id(2)).unwrap().is_none());

    let err = log
        .append_blocking(
            AppendRequest::new(vec![event(4, "a", b"4")]).expect("a", Expected::Exact(7)),
        )
        .unwrap_err();
    assert!(matches!(err, Error::VersionConflict { current: 1, .. }));
    let ok = log
        .append_blocking(
            AppendRequest::new(vec![event(5, "a", b"5"), event(6, "b", b"6")])
                .expect("a", Expected::Exact(1))
                .expect("b", Expected::NoStream),
        )
        .unwrap();
    assert_eq!(ok.last_seq(), 3);
    log.verify(VerifyOptions::full()).unwrap();
}

#[test]
fn idempotent_retries_survive_a_restart_and_conflicts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let request = AppendRequest::new(vec![event(10, "s", b"x"), event(11, "t", b"y")]);
    let original = {
        let log = open(dir.path());
        fill(&log, 3, 2);
        let appended = log.append_blocking(request.clone()).unwrap();
        // A retry in the same life answers with the original positions.
        let again = log.append_blocking(request.clone()).unwrap();
        assert!(again.deduplicated);
        assert_eq!(again.positions, appended.positions);
        log.close();
        appended
    };
    let log = open(dir.path());
    let head = log.head();
    let retry = log.append_blocking(request.clone()).unwrap();
    assert!(retry.deduplicated);
    assert_eq!(retry.positions, original.positions);
    assert_eq!(log.head(), head, "a retry appends nothing");

    let mut changed = request.clone();
    changed.events[1].payload = b"different".to_vec();
    let err = log.append_blocking(changed).unwrap_err();
    assert!(matches!(&err, Error::IdempotencyConflict { event_id, .. } if *event_id == id(11)));

    // A stored id mixed with a new one is a conflict too: appends are all-or-nothing.
    let mixed = AppendRequest::new(vec![event(10, "s", b"x"), event(12, "s", b"z")]);
    assert!(matches!(log.append_blocking(mixed), Err(Error::IdempotencyConflict { .. })));
    assert_eq!(log.head(), head);
}

#[test]
fn duplicates_inside_one_group_are_deduplicated_not_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let answers = runtime.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                log.append(AppendRequest::new(vec![event(77, "dup", b"same")])).await.unwrap()
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert!(answers.iter().all(|a| a.positions == answers[0].positions));
    assert_eq!(answers.iter().filter(|a| !a.deduplicated).count(), 1);
    assert_eq!(log.head().seq, 1);
}

#[test]
fn limits_and_malformed_appends_are_refused_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        limits: Limits { event_bytes_max: 64, append_events_max: 3, ..Limits::default() },
        ..Config::default()
    };
    let log = Log::open(dir.path(), config).unwrap();
    let big = AppendRequest::new(vec![event(1, "s", &[0; 65])]);
    assert!(matches!(
        log.append_blocking(big),
        Err(Error::LimitExceeded { value: 65, max: 64, .. })
    ));
    let many = AppendRequest::new((1..=4).map(|i| event(i, "s", b"")).collect());
    assert!(matches!(log.append_blocking(many), Err(Error::LimitExceeded { max: 3, .. })));
    let long_stream = "x".repeat(201);
    assert!(matches!(
        log.append_blocking(AppendRequest::new(vec![event(1, &long_stream, b"")])),
        Err(Error::LimitExceeded { what: "stream id", .. })
    ));
    assert!(matches!(
        log.append_blocking(AppendRequest::new(vec![event(1, "", b"")])),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        log.append_blocking(AppendRequest::new(vec![event(1, "a\nb", b"")])),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(log.append_blocking(AppendRequest::new(vec![])), Err(Error::Invalid(_))));
    let twice = AppendRequest::new(vec![event(1, "s", b""), event(1, "s", b"")]);
    assert!(matches!(log.append_blocking(twice), Err(Error::Invalid(_))));
    assert_eq!(log.head().seq, 0);
    assert!(log.read(..).next().is_none());
}

#[test]
fn closed_log_refuses_appends_and_reopens_with_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    fill(&log, 5, 1);
    let head = log.head();
    log.close();
    assert!(matches!(
        log.append_blocking(AppendRequest::new(vec![event(9, "s", b"")])),
        Err(Error::Closed)
    ));
    drop(log);
    let log = open(dir.path());
    assert_eq!(log.head(), head);
    let next = log.append_blocking(AppendRequest::new(vec![event(9, "s", b"")])).unwrap();
    assert_eq!(next.first_seq(), 6);
    assert_eq!(log.get(6).unwrap().unwrap().prev_hash(), head.hash);
}
