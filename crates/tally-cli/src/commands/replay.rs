//! `tally replay`: rebuild the projections from the log, print events, or check that the
//! live views equal a rebuild from the log.

use crate::Outcome;
use crate::store::DataDir;
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write as _;
use std::path::Path;
use tally_projections::diff::{Difference, show};

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

/// `tally replay --check`: brings the live views up to the head, rebuilds every view (or
/// `view`) from the log into a temporary store, and compares the two key by key, byte for
/// byte (checkpoints and quarantined events included). Exit 1 names each differing view and
/// its first differing key.
pub fn check(data: &Path, view: Option<&str>) -> anyhow::Result<Outcome> {
    let dir = DataDir::open(data)?;
    let log = dir.open_log()?;
    let result = check_views(&dir, &log, view);
    log.close();
    result
}

fn check_views(dir: &DataDir, log: &tally_log::Log, view: Option<&str>) -> anyhow::Result<Outcome> {
    let projections: Vec<_> = tally_projections::all()
        .into_iter()
        .filter(|p| view.is_none_or(|v| p.name() == v))
        .collect();
    if projections.is_empty() {
        anyhow::bail!("unknown view '{}'", view.unwrap_or_default());
    }
    let live = tally_projections::ViewStore::open(&dir.root.join("views"), projections.clone())
        .context("opening the views")?;
    live.catch_up(log, None).context("bringing the views up to the head")?;
    let head = log.head().seq;
    let fresh = tally_projections::ViewStore::replay_as_of(log, projections, head, &mut |_, _| {})
        .context("rebuilding the views from the log")?;
    let mut keys = 0usize;
    let mut differing = 0usize;
    for name in live.names() {
        let reader = live.reader(name)?;
        let applied = reader.applied();
        let ours = reader.scan(&[]).with_context(|| format!("reading view '{name}'"))?;
        let rebuilt = fresh.dump(name).with_context(|| format!("reading rebuilt '{name}'"))?;
        keys += ours.len().max(rebuilt.len());
        if applied != head {
            println!("FAILED: view '{name}' is at seq {applied}, not at the head {head}");
            differing += 1;
            continue;
        }
        let diff = Difference::of(&ours, &rebuilt);
        if let Some(first) = diff.first {
            differing += 1;
            println!(
                "FAILED: view '{name}' differs from a rebuild from the log at seq {head} ({} differing keys); first at key \"{}\": live {}, rebuilt {}",
                diff.count,
                first.key.escape_ascii(),
                show(first.live.as_deref()),
                show(first.rebuilt.as_deref()),
            );
        }
        // The history every asOf answer reads must hold the state at the seq it reflects.
        if let Some(twin) = live.history_twin(name, &reader)? {
            let history = twin.scan(&[]).with_context(|| format!("reading history of '{name}'"))?;
            let diff = Difference::of(&ours, &history);
            if let Some(first) = diff.first {
                differing += 1;
                println!(
                    "FAILED: the history of view '{name}' as of seq {head} differs from its state ({} differing keys); first at key \"{}\": state {}, history {}",
                    diff.count,
                    first.key.escape_ascii(),
                    show(first.live.as_deref()),
                    show(first.rebuilt.as_deref()),
                );
            }
        }
    }
    if differing > 0 {
        return Ok(Outcome::Problem);
    }
    println!(
        "ok: {} views equal a rebuild from the log at seq {head} ({keys} keys compared byte for byte), and their history as of it",
        live.names().len()
    );
    Ok(Outcome::Ok)
}

/// `tally replay --check` against a running server: a `REPLAY_CHECK` operation compares each
/// served view, at the seq it has applied, with a rebuild from the log.
pub fn check_online(remote: &crate::remote::Remote, view: Option<&str>) -> anyhow::Result<Outcome> {
    let op = remote.run_operation("REPLAY_CHECK", None, view)?;
    Ok(crate::remote::print_report(&op))
}

/// `tally replay [--view NAME]` against a running server: an online blue/green rebuild of
/// each view (`rebuildView`), one after the other, with progress.
pub fn online(
    remote: &crate::remote::Remote,
    view: Option<&str>,
    print: bool,
) -> anyhow::Result<Outcome> {
    if print {
        anyhow::bail!(
            "replay --print reads the store offline; on a running server read events with the \
             `events` query (or stop the server)"
        );
    }
    let names: Vec<String> = match view {
        Some(v) => vec![v.to_owned()],
        None => remote
            .graphql("{ views { views { name } } }", serde_json::Value::Null)?
            .pointer("/views/views")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v["name"].as_str().map(str::to_owned))
            .collect(),
    };
    for name in names {
        let (generation, seq) = remote.rebuild_view(&name)?;
        println!("rebuilt {name}: generation {generation} at seq {seq}");
    }
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
