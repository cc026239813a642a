//! Criterion benchmarks of `tally-log`: durable appends, verify, sequential read, and the
//! physical limits (fdatasync, chained blake3) measured in the same run.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::Duration;
use tally_benches::{
    IdSource, chained_blake3_rate, fdatasync_rate, fill, open_log, read_rate, run_producers,
    stored_event_bytes, verify_rate,
};

fn limits(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(".").expect("tempdir");
    let frame = stored_event_bytes();
    let mut group = c.benchmark_group("limits");
    group.throughput(Throughput::Elements(1));
    group.bench_function("fdatasync", |b| {
        b.iter_custom(|iters| {
            let rate = fdatasync_rate(dir.path(), frame + 64, Duration::from_millis(200))
                .expect("fdatasync probe");
            Duration::from_secs_f64(iters as f64 / rate)
        });
    });
    group.bench_function("chained_blake3", |b| {
        b.iter_custom(|iters| {
            let rate = chained_blake3_rate(frame - 32, iters.max(1));
            Duration::from_secs_f64(iters as f64 / rate)
        });
    });
    group.finish();
}

fn append(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
    let mut group = c.benchmark_group("append_durable");
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    for (producers, batch) in [(1, 1), (16, 1), (256, 1), (1, 100), (1, 1000)] {
        let dir = tempfile::tempdir_in(".").expect("tempdir");
        let log = open_log(dir.path()).expect("open");
        let ids = Arc::new(IdSource::default());
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("producers_{producers}_batch_{batch}"), |b| {
            b.iter_custom(|iters| run_producers(&runtime, &log, &ids, producers, batch, iters));
        });
        log.close();
    }
    group.finish();
}

fn scan(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
    let dir = tempfile::tempdir_in(".").expect("tempdir");
    let log = open_log(dir.path()).expect("open");
    const EVENTS: u64 = 200_000;
    fill(&runtime, &log, EVENTS);
    let mut group = c.benchmark_group("scan");
    group.sample_size(10).throughput(Throughput::Elements(EVENTS));
    group.bench_function("verify_chain", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let rate = verify_rate(&log).expect("verify");
                total += Duration::from_secs_f64(EVENTS as f64 / rate);
            }
            total
        });
    });
    group.bench_function("sequential_read", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let rate = read_rate(&log).expect("read");
                total += Duration::from_secs_f64(EVENTS as f64 / rate);
            }
            total
        });
    });
    group.finish();
    log.close();
}

criterion_group!(benches, limits, append, scan);
criterion_main!(benches);
