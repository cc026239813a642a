//! `tally replay`: rebuild the projections from the log, or print events.

use crate::Outcome;
use crate::store::DataDir;
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write as _;
use std::path::Path;

pub fn run(
    data: &Path,
    view: Option<&str>,
    print: bool,
    from: u64,
    to: Option<u64>,
) -> anyhow::Result<Outcome> {
    let dir = DataDir::open(data)?;
    if print {
        let log = dir.open_log()?;
        let result = print_events(&log, from, to);
        log.close();
        result?;
        return Ok(Outcome::Ok);
    }
    let engine = dir.open_engine()?;
    let names: Vec<String> = match view {
        Some(v) => vec![v.to_owned()],
        None => engine.views().names().into_iter().map(str::to_owned).collect(),
    };
    for name in names {
        let bar = ProgressBar::new(engine.log().head().seq);
        bar.set_style(
            ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} events {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(name.clone());
        let report = engine
            .views()
            .rebuild(&name, engine.log(), &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .with_context(|| format!("rebuilding '{name}'"))?;
        bar.finish_and_clear();
        println!("rebuilt {name}: generation {} at seq {}", report.generation, report.applied_seq);
    }
    engine.close();
    Ok(Outcome::Ok)
}

fn print_events(log: &tally_log::Log, from: u64, to: Option<u64>) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for event in log.read(from..=to.unwrap_or(u64::MAX)) {
        let event = event?;
        let body =
            tally_domain::decode(event.event_type(), event.schema_version(), event.payload())
                .map(|e| serde_json::to_value(e).unwrap_or_default())
                .unwrap_or_else(|e| serde_json::json!({"undecodable": e.to_string()}));
        let line = serde_json::json!({
            "seq": event.seq(),
            "stream": event.stream(),
            "stream_version": event.stream_version(),
            "type": event.event_type(),
            "schema_version": event.schema_version(),
            "event_id": event.event_id().to_string(),
            "occurred_at_ms": event.occurred_at_ms(),
            "recorded_at_ms": event.recorded_at_ms(),
            "source": event.source(),
            "actor": event.actor(),
            "hash": event.hash(),
            "event": body,
        });
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}
