//! `tally replay`: rebuild the projections from the log, print events, or check that the
//! live views equal a rebuild from the log.

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
        let applied = live.applied(name)?;
        let ours = live.dump(name).with_context(|| format!("reading view '{name}'"))?;
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
    }
    if differing > 0 {
        return Ok(Outcome::Problem);
    }
    println!(
        "ok: {} views equal a rebuild from the log at seq {head} ({keys} keys compared byte for byte)",
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

fn show(value: Option<&[u8]>) -> String {
    value.map_or_else(
        || "absent".to_owned(),
        |v| {
            let hex: String = v.iter().map(|b| format!("{b:02x}")).collect();
            format!("{} bytes {hex}", v.len())
        },
    )
}

/// One key whose value differs between the live view and the rebuild.
#[derive(Debug, PartialEq, Eq)]
struct Mismatch {
    key: Vec<u8>,
    live: Option<Vec<u8>>,
    rebuilt: Option<Vec<u8>>,
}

/// How two key-ordered dumps differ.
#[derive(Debug, PartialEq, Eq)]
struct Difference {
    first: Option<Mismatch>,
    count: usize,
}

impl Difference {
    /// Merges two dumps sorted by key (as `ViewStore::dump` returns them).
    fn of(live: &[(Vec<u8>, Vec<u8>)], rebuilt: &[(Vec<u8>, Vec<u8>)]) -> Self {
        let (mut a, mut b) = (live.iter().peekable(), rebuilt.iter().peekable());
        let mut diff = Self { first: None, count: 0 };
        let mut note = |key: &[u8], l: Option<&Vec<u8>>, r: Option<&Vec<u8>>| {
            diff.count += 1;
            if diff.first.is_none() {
                diff.first =
                    Some(Mismatch { key: key.to_vec(), live: l.cloned(), rebuilt: r.cloned() });
            }
        };
        loop {
            match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some((k, v)), None) => {
                    note(k, Some(v), None);
                    a.next();
                }
                (None, Some((k, v))) => {
                    note(k, None, Some(v));
                    b.next();
                }
                (Some((ka, va)), Some((kb, vb))) => match ka.cmp(kb) {
                    std::cmp::Ordering::Less => {
                        note(ka, Some(va), None);
                        a.next();
                    }
                    std::cmp::Ordering::Greater => {
                        note(kb, None, Some(vb));
                        b.next();
                    }
                    std::cmp::Ordering::Equal => {
                        if va != vb {
                            note(ka, Some(va), Some(vb));
                        }
                        a.next();
                        b.next();
                    }
                },
            }
        }
        diff
    }
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

#[cfg(test)]
mod tests {
    use super::{Difference, Mismatch};

    fn kv(pairs: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
    }

    #[test]
    fn equal_dumps_do_not_differ() {
        let a = kv(&[("a", "1"), ("b", "2")]);
        assert_eq!(Difference::of(&a, &a), Difference { first: None, count: 0 });
    }

    #[test]
    fn the_first_differing_key_is_named_whichever_side_has_it() {
        let live = kv(&[("a", "1"), ("b", "2"), ("d", "4")]);
        let rebuilt = kv(&[("a", "1"), ("b", "3"), ("c", "3")]);
        let diff = Difference::of(&live, &rebuilt);
        assert_eq!(diff.count, 3, "b changed, c missing live, d extra live");
        assert_eq!(
            diff.first,
            Some(Mismatch {
                key: b"b".to_vec(),
                live: Some(b"2".to_vec()),
                rebuilt: Some(b"3".to_vec())
            })
        );
        let diff = Difference::of(&kv(&[("a", "1")]), &kv(&[("a", "1"), ("z", "9")]));
        assert_eq!(
            diff.first,
            Some(Mismatch { key: b"z".to_vec(), live: None, rebuilt: Some(b"9".to_vec()) })
        );
    }
}
