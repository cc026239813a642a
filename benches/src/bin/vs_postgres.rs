//! `vs_postgres`: the same durable-append workload against Tally's log and against PostgreSQL,
//! side by side, for 1, 16 and 256 producers. Run it through `benches/vs-postgres.sh`, which
//! installs and starts PostgreSQL on loopback; see `benches/RESULTS.md`.
//!
//! The workload: each producer owns one stream and appends one event at a time, waiting for the
//! acknowledgement before the next (an integration posting facts one by one). Every event is the
//! same ~330-byte version-1 frame Tally stores, carrying a blake3 chain hash. An event counts only
//! once it is acknowledged, and it is acknowledged only after fdatasync:
//! - Tally: `Log::append` with `Expected::Exact(version - 1)`; the log's group commit fdatasyncs
//!   before answering.
//! - PostgreSQL (`fsync = on`, `synchronous_commit = on`, `wal_sync_method = fdatasync`): one
//!   transaction per event into `events(seq, stream, version, event_id, event_type, frame, hash)`
//!   with `UNIQUE (stream, version)`. Two chain shapes:
//!   - `global chain` — the guarantee Tally gives: one total order, each event's hash chains to
//!     the previous event of the whole log. The client reads the head row `FOR UPDATE`, computes
//!     `blake3_keyed(prev ‖ frame)` itself, inserts the event and moves the head, then commits.
//!   - `per-stream chain` — a weaker guarantee, shown for scale: each hash chains only to the
//!     previous event of its own stream, so producers never wait for one another's locks and
//!     PostgreSQL's WAL flushes can serve many commits at once. `seq` comes from a sequence.
//!
//! Each case runs for a fixed time after a warm-up; the disk's fdatasync rate is measured in the
//! same directory right before each group of cases. After the PostgreSQL runs, the global chain
//! is re-verified from the table (every row's hash recomputed from the stored frame and the
//! previous row's hash), so the figure is for a chain that holds.
//!
//! Usage: `vs_postgres --pg "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
//! [--dir DIR] [--seconds 10] [--producers 1,16,256]`

use anyhow::{Context as _, bail};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tally_benches::{fdatasync_rate, stored_event_bytes};
use tally_log::{AppendRequest, Config, Digest, EventId, Expected, GENESIS, Log, NewEvent};

/// Producers of different runs on one store write different streams: stream = run × this + producer.
const STREAMS_PER_RUN: u64 = 1_000_000;

/// The benchmark event of the `n`-th append of `stream` (the same for both stores). The event
/// id holds the stream in its high bits and `n` in its low bits, so it is unique.
fn new_event(stream: u64, n: u64) -> NewEvent {
    let id = (u128::from(stream + 1) << 64) | u128::from(n + 1);
    let mut e = tally_benches::event(id, stream);
    e.correlation_id = None;
    e
}

/// The version-1 frame Tally would store for `e` at (`seq`, `version`) after `prev`
/// (layout: `crates/tally-log/src/frame.rs`).
fn encode_frame(
    e: &NewEvent,
    seq: u64,
    version: u64,
    recorded_at_ms: i64,
    prev: &Digest,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(
        123 + e.stream.len()
            + e.event_type.len()
            + e.source.len()
            + e.actor.len()
            + e.payload.len(),
    );
    f.push(1u8);
    f.extend_from_slice(&seq.to_le_bytes());
    f.extend_from_slice(&version.to_le_bytes());
    f.extend_from_slice(&e.event_id.get().to_le_bytes());
    f.extend_from_slice(&e.correlation_id.map_or(0, EventId::get).to_le_bytes());
    f.extend_from_slice(&e.causation_id.map_or(0, EventId::get).to_le_bytes());
    f.extend_from_slice(&e.occurred_at_ms.to_le_bytes());
    f.extend_from_slice(&recorded_at_ms.to_le_bytes());
    f.extend_from_slice(&e.schema_version.to_le_bytes());
    f.extend_from_slice(prev.as_bytes());
    for text in [&e.stream, &e.event_type, &e.source, &e.actor] {
        f.push(u8::try_from(text.len()).unwrap_or(u8::MAX));
    }
    f.extend_from_slice(&u32::try_from(e.payload.len()).unwrap_or(u32::MAX).to_le_bytes());
    for text in [&e.stream, &e.event_type, &e.source, &e.actor] {
        f.extend_from_slice(text.as_bytes());
    }
    f.extend_from_slice(&e.payload);
    f
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Acknowledged events of one case, and how long it ran.
struct Run {
    events: u64,
    elapsed: Duration,
}

impl Run {
    fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// Tally: `producers` tasks each append one event at a time to a stream of their own (new in
/// run number `run`) for `seconds`.
fn run_tally(
    runtime: &tokio::runtime::Runtime,
    log: &Log,
    producers: usize,
    seconds: f64,
    run: u64,
) -> anyhow::Result<Run> {
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    runtime.block_on(async {
        let mut tasks = Vec::with_capacity(producers);
        for p in 0..producers {
            let (log, acked, stop, failed) =
                (log.clone(), Arc::clone(&acked), Arc::clone(&stop), Arc::clone(&failed));
            tasks.push(tokio::spawn(async move {
                let stream = run * STREAMS_PER_RUN + p as u64;
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let e = new_event(stream, n);
                    let expected = if n == 0 { Expected::NoStream } else { Expected::Exact(n) };
                    let stream = e.stream.clone();
                    match log.append(AppendRequest::new(vec![e]).expect(stream, expected)).await {
                        Ok(_) => {
                            acked.fetch_add(1, Ordering::Relaxed);
                            n += 1;
                        }
                        Err(err) => {
                            eprintln!("tally append failed: {err}");
                            failed.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                }
                n
            }));
        }
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
    });
    if failed.load(Ordering::Relaxed) {
        bail!("a Tally append failed");
    }
    Ok(Run { events: acked.load(Ordering::Relaxed), elapsed: start.elapsed() })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Chain {
    Global,
    PerStream,
}

const SCHEMA: &str = "
DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS head; DROP SEQUENCE IF EXISTS event_seq;
CREATE TABLE events (
    seq        bigint PRIMARY KEY,
    stream     text   NOT NULL,
    version    bigint NOT NULL,
    event_id   bytea  NOT NULL UNIQUE,
    event_type text   NOT NULL,
    frame      bytea  NOT NULL,
    hash       bytea  NOT NULL,
    UNIQUE (stream, version)
);
CREATE TABLE head (id int PRIMARY KEY, seq bigint NOT NULL, hash bytea NOT NULL);
CREATE SEQUENCE event_seq;
";

fn pg_connect(url: &str) -> anyhow::Result<postgres::Client> {
    postgres::Client::connect(url, postgres::NoTls).with_context(|| format!("connect to {url}"))
}

fn pg_reset(url: &str) -> anyhow::Result<()> {
    let mut c = pg_connect(url)?;
    c.batch_execute(SCHEMA)?;
    c.execute("INSERT INTO head VALUES (1, 0, $1)", &[&GENESIS.as_bytes().as_slice()])?;
    Ok(())
}

/// One PostgreSQL producer: appends until `stop`, one transaction per event.
fn pg_producer(
    mut c: postgres::Client,
    p: usize,
    chain: Chain,
    stop: &AtomicBool,
    acked: &AtomicU64,
) -> anyhow::Result<()> {
    let insert = c.prepare(
        "INSERT INTO events (seq, stream, version, event_id, event_type, frame, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )?;
    let lock_head = c.prepare("SELECT seq, hash FROM head WHERE id = 1 FOR UPDATE")?;
    let move_head = c.prepare("UPDATE head SET seq = $1, hash = $2 WHERE id = 1")?;
    let next_seq = c.prepare("SELECT nextval('event_seq')")?;
    let mut n = 0u64;
    let mut stream_prev = GENESIS;
    while !stop.load(Ordering::Relaxed) {
        let e = new_event(p as u64, n);
        let version = n + 1;
        let mut tx = c.transaction()?;
        let (seq, prev) = match chain {
            Chain::Global => {
                let row = tx.query_one(&lock_head, &[])?;
                let seq: i64 = row.get(0);
                let hash: &[u8] = row.get(1);
                let prev =
                    Digest::from_bytes(hash.try_into().context("head hash is not 32 bytes")?);
                (seq + 1, prev)
            }
            Chain::PerStream => {
                let seq: i64 = tx.query_one(&next_seq, &[])?.get(0);
                (seq, stream_prev)
            }
        };
        let seq_u = u64::try_from(seq).context("negative seq")?;
        let frame = encode_frame(&e, seq_u, version, now_ms(), &prev);
        let hash = tally_log::chain_hash(&prev, &frame);
        let id = e.event_id.get().to_be_bytes();
        tx.execute(
            &insert,
            &[
                &seq,
                &e.stream,
                &i64::try_from(version)?,
                &id.as_slice(),
                &e.event_type,
                &frame,
                &hash.as_bytes().as_slice(),
            ],
        )?;
        if chain == Chain::Global {
            tx.execute(&move_head, &[&seq, &hash.as_bytes().as_slice()])?;
        }
        tx.commit()?;
        acked.fetch_add(1, Ordering::Relaxed);
        stream_prev = hash;
        n += 1;
    }
    Ok(())
}

fn run_pg(url: &str, producers: usize, chain: Chain, seconds: f64) -> anyhow::Result<Run> {
    pg_reset(url)?;
    let clients = (0..producers).map(|_| pg_connect(url)).collect::<anyhow::Result<Vec<_>>>()?;
    let acked = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let results: Vec<anyhow::Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(p, c)| {
                let (stop, acked) = (&stop, &acked);
                s.spawn(move || pg_producer(c, p, chain, stop, acked))
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("producer panicked"))))
            .collect()
    });
    let elapsed = start.elapsed();
    for r in results {
        r?;
    }
    Ok(Run { events: acked.load(Ordering::Relaxed), elapsed })
}

/// Re-verifies the global chain stored in PostgreSQL; returns the number of rows checked.
fn pg_verify_global(url: &str) -> anyhow::Result<u64> {
    let mut c = pg_connect(url)?;
    let mut prev = GENESIS;
    let mut expected_seq = 1i64;
    for row in c.query("SELECT seq, frame, hash FROM events ORDER BY seq", &[])? {
        let seq: i64 = row.get(0);
        let frame: &[u8] = row.get(1);
        let hash: &[u8] = row.get(2);
        if seq != expected_seq {
            bail!("postgres: seq {seq} where {expected_seq} was expected");
        }
        let computed = tally_log::chain_hash(&prev, frame);
        if computed.as_bytes().as_slice() != hash || frame.get(83..115) != Some(prev.as_bytes()) {
            bail!("postgres: chain broken at seq {seq}");
        }
        prev = computed;
        expected_seq += 1;
    }
    Ok(u64::try_from(expected_seq - 1)?)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value =
        |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let Some(url) = value("--pg") else {
        bail!(
            "usage: vs_postgres --pg <libpq connection string> [--dir DIR] [--seconds S] [--producers 1,16,256]"
        );
    };
    let seconds: f64 = value("--seconds").map_or(Ok(10.0), |s| s.parse()).context("--seconds")?;
    let producer_counts: Vec<usize> = value("--producers")
        .unwrap_or_else(|| "1,16,256".to_owned())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("--producers")?;
    let base = value("--dir").map_or_else(|| std::path::PathBuf::from("."), Into::into);
    let root = tempfile::Builder::new().prefix("vs-postgres").tempdir_in(&base)?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let bytes = stored_event_bytes();

    {
        let mut c = pg_connect(&url)?;
        for setting in
            ["server_version", "fsync", "synchronous_commit", "wal_sync_method", "full_page_writes"]
        {
            let row = c.query_one(&format!("SHOW {setting}"), &[])?;
            let v: String = row.get(0);
            println!("postgres {setting} = {v}");
        }
    }
    println!(
        "event: {bytes} stored bytes (version-1 frame + hash); one event per append; acknowledged after fdatasync"
    );
    println!(
        "each case: {seconds} s after a warm-up; disk = fdatasync/s of a {} B append in the same directory, measured right before the case",
        bytes + 64
    );
    println!();
    println!("| producers | store | events/s | disk fdatasync/s | ratio to disk |");
    println!("|---:|---|---:|---:|---:|");
    let probe = || fdatasync_rate(root.path(), bytes + 64, Duration::from_secs(2));
    for &producers in &producer_counts {
        let dir = root.path().join(format!("tally-{producers}"));
        let log = Log::open(&dir, Config::default())?;
        run_tally(&runtime, &log, producers, 1.0, 0)?;
        let disk = probe()?;
        let run = run_tally(&runtime, &log, producers, seconds, 1)?;
        println!(
            "| {producers} | Tally (global chain, group commit) | {:.0} | {disk:.0} | {:.2}× |",
            run.rate(),
            run.rate() / disk
        );
        log.close();
        std::fs::remove_dir_all(&dir)?;

        for (chain, label) in [
            (Chain::Global, "PostgreSQL (global chain)"),
            (Chain::PerStream, "PostgreSQL (per-stream chain, weaker)"),
        ] {
            run_pg(&url, producers, chain, 1.0)?;
            let disk = probe()?;
            let run = run_pg(&url, producers, chain, seconds)?;
            if chain == Chain::Global {
                let rows = pg_verify_global(&url)?;
                if rows != run.events {
                    bail!("postgres holds {rows} events, {} were acknowledged", run.events);
                }
            }
            println!(
                "| {producers} | {label} | {:.0} | {disk:.0} | {:.2}× |",
                run.rate(),
                run.rate() / disk
            );
        }
    }
    Ok(())
}
