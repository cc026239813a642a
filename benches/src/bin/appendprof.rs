//! `appendprof`: one append workload, for profiling (`perf record`).
//!
//! Usage: `appendprof <PRODUCERS> <BATCH> <EVENTS>`

use std::sync::Arc;
use tally_benches::{IdSource, open_log, run_producers};

fn main() -> anyhow::Result<()> {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (producers, batch, total) = match args[..] {
        [p, b, t] => (p as usize, b as usize, t),
        _ => anyhow::bail!("usage: appendprof <PRODUCERS> <BATCH> <EVENTS>"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
    let root = tempfile::Builder::new().prefix("appendprof").tempdir_in(".")?;
    let log = open_log(root.path())?;
    let ids = Arc::new(IdSource::default());
    let elapsed = run_producers(&runtime, &log, &ids, producers, batch, total);
    println!("{:.0} events/s", total as f64 / elapsed.as_secs_f64());
    log.close();
    Ok(())
}
