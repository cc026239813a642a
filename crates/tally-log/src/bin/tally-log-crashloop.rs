//! Crash-test child: appends to a log in a loop from several threads and prints one line per
//! acknowledged event, `ack <seq> <hash hex>`, flushed before the next append. The crash test
//! kills it with SIGKILL at random moments and checks that every printed seq survived.
//!
//! Usage: `tally-log-crashloop <DIR> <THREADS> <EVENTS_PER_APPEND>`

use std::io::Write as _;
use std::process::ExitCode;
use tally_log::{AppendRequest, Config, EventId, Log, NewEvent};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(threads), Some(per_append)) = (
        args.get(1),
        args.get(2).and_then(|s| s.parse::<u32>().ok()),
        args.get(3).and_then(|s| s.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: tally-log-crashloop <DIR> <THREADS> <EVENTS_PER_APPEND>");
        return ExitCode::from(2);
    };
    let log = match Log::open(dir, Config::default()) {
        Ok(log) => log,
        Err(e) => {
            eprintln!("open failed: {e}");
            return ExitCode::from(1);
        }
    };
    // Ids must not repeat across runs of the child: start above everything stored.
    let base = u128::from(log.head().seq) << 32;
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut n: u128 = 0;
                loop {
                    let events = (0..per_append)
                        .map(|k| {
                            n += 1;
                            let raw = base + (u128::from(t) << 24) + n * 8 + k as u128 + 1;
                            NewEvent {
                                event_id: EventId::new(raw).unwrap_or(EventId::MAX),
                                stream: format!("crash-{t}"),
                                event_type: "crash.tick".to_owned(),
                                schema_version: 1,
                                occurred_at_ms: 0,
                                source: "crashloop".to_owned(),
                                correlation_id: None,
                                causation_id: None,
                                actor: "test".to_owned(),
                                payload: vec![t as u8; 200],
                            }
                        })
                        .collect();
                    match log.append_blocking(AppendRequest::new(events)) {
                        Ok(appended) => {
                            let mut out = std::io::stdout().lock();
                            for p in &appended.positions {
                                let Ok(Some(e)) = log.get(p.seq) else {
                                    eprintln!("acknowledged seq {} is not readable", p.seq);
                                    std::process::exit(1);
                                };
                                let _ = writeln!(out, "ack {} {}", p.seq, e.hash());
                            }
                            let _ = out.flush();
                        }
                        Err(e) => {
                            eprintln!("append failed: {e}");
                            std::process::exit(1);
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    ExitCode::SUCCESS
}
