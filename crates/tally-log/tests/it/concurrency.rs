//! Racing appends with exact expected versions: one winner per version, no gaps.

use crate::support::{event, open};
use std::collections::BTreeSet;
use tally_log::{AppendRequest, Error, Expected, VerifyOptions};

#[test]
fn sixty_four_tasks_racing_on_one_stream_get_one_winner_per_version() {
    const TASKS: u128 = 64;
    const WINS_PER_TASK: u128 = 8;
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let conflicts = runtime.block_on(async {
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let mut conflicts = 0u64;
                for n in 0..WINS_PER_TASK {
                    let raw_id = 1 + task * 1000 + n;
                    loop {
                        let current = log.stream_version("contended").unwrap();
                        let expected = if current == 0 {
                            Expected::NoStream
                        } else {
                            Expected::Exact(current)
                        };
                        let payload = format!("{task}:{n}");
                        let request = AppendRequest::new(vec![event(
                            raw_id,
                            "contended",
                            payload.as_bytes(),
                        )])
                        .expect("contended", expected);
                        match log.append(request).await {
                            Ok(appended) => {
                                assert_eq!(appended.positions[0].stream_version, current + 1);
                                break;
                            }
                            Err(Error::VersionConflict { .. }) => conflicts += 1,
                            Err(e) => panic!("unexpected error: {e}"),
                        }
                    }
                }
                conflicts
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        total
    });
    let events: Vec<_> = log.read_stream("contended", 1).map(Result::unwrap).collect();
    let total = (TASKS * WINS_PER_TASK) as usize;
    assert_eq!(events.len(), total);
    let versions: Vec<u64> = events.iter().map(|e| e.stream_version()).collect();
    assert_eq!(versions, (1..=total as u64).collect::<Vec<_>>(), "versions gap-free and unique");
    let payloads: BTreeSet<Vec<u8>> = events.iter().map(|e| e.payload().to_vec()).collect();
    assert_eq!(payloads.len(), total, "every winning append is stored exactly once");
    assert_eq!(log.head().seq, total as u64);
    log.verify(VerifyOptions::full()).unwrap();
    // Losers were told, not silently dropped: every conflict was retried to a win.
    eprintln!("conflicts retried: {conflicts}");
}
