//! Storage faults on the files of a stopped store: every file of `log/` and `views/` (journals,
//! tables, version files, `current` pointers, fjall's own meta keyspace, the lock) has bytes
//! flipped, is truncated or deleted; then the store is opened and verified through the real
//! `tally` binary. No case may panic, and no case may pass silently unless the store is proven
//! intact (every event, index and view byte equal to the original).
//!
//! `TALLY_FAULT_TABLE=1` prints the table of outcomes (the one in the report).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::cli::{code, tally};

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn panicked(o: &Output) -> bool {
    code(o) == 101 || text(o).contains("panicked")
}

fn ok(data: &Path, args: &[&str]) -> Output {
    let out = tally(data, args);
    assert_eq!(code(&out), 0, "tally {args:?}: {}", text(&out));
    out
}

const SETUP: &str = r#"{"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}
{"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["web"]}
{"type": "define_sku", "sku": "A", "lot_tracked": false, "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "B"}
{"key": "rcv-0", "command": {"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 100}, "source": "wms/WH1/asn-0", "actor": "wms", "occurred_at": "2026-03-01T09:00:00Z"}
"#;

/// Commands of the `round`-th import after the flush: receipts and orders.
fn round(round: u32) -> String {
    let mut lines = String::new();
    for i in 0..8 {
        let n = round * 100 + i;
        lines.push_str(&format!(
            "{{\"key\": \"rcv-{n}\", \"command\": {{\"type\": \"receive_inventory\", \"location\": \"WH1\", \"sku\": \"A\", \"qty\": {}}}, \"source\": \"wms/WH1/asn-{n}\", \"actor\": \"wms\", \"occurred_at\": \"2026-03-02T09:00:00Z\"}}\n",
            i + 1
        ));
        lines.push_str(&format!(
            "{{\"key\": \"ord-{n}\", \"command\": {{\"type\": \"receive_order\", \"order\": \"D{n}\", \"channel\": \"web\", \"placed_at\": \"2026-03-02T10:00:00Z\", \"currency\": \"USD\", \"lines\": [{{\"sku\": \"A\", \"qty\": 1, \"unit_price\": {{\"amount\": \"15.00\", \"currency\": \"USD\"}}}}], \"shipping\": {{\"amount\": \"0.00\", \"currency\": \"USD\"}}, \"tax_rate\": \"0\"}}, \"source\": \"shop/web/{n}\"}}\n"
        ));
    }
    lines
}

fn import(data: &Path, scratch: &Path, name: &str, commands: &str) {
    let file = scratch.join(name);
    std::fs::write(&file, commands).unwrap();
    ok(data, &["import", file.to_str().unwrap()]);
}

/// Writes every memtable of the fjall database in `dir` to a table file.
fn flush_all(dir: &Path) {
    let db = fjall::Database::builder(dir).open().unwrap();
    for name in db.list_keyspace_names() {
        let keyspace = db.keyspace(&name, fjall::KeyspaceCreateOptions::default).unwrap();
        keyspace.rotate_memtable_and_wait().unwrap();
    }
    db.persist(fjall::PersistMode::SyncAll).unwrap();
}

/// Every key and value of every keyspace of the fjall database in `dir`.
fn dump(dir: &Path) -> Result<Dump, fjall::Error> {
    let db = fjall::Database::builder(dir).open()?;
    let mut out = BTreeMap::new();
    for name in db.list_keyspace_names() {
        let keyspace = db.keyspace(&name, fjall::KeyspaceCreateOptions::default)?;
        let mut rows = Vec::new();
        for guard in keyspace.iter() {
            let (k, v) = guard.into_inner()?;
            rows.push((k.to_vec(), v.to_vec()));
        }
        out.insert(name.to_string(), rows);
    }
    Ok(out)
}

type Dump = BTreeMap<String, Vec<(Vec<u8>, Vec<u8>)>>;

/// Whether `now` is `original` without some stored checkpoint notes (and nothing else).
fn only_checkpoints_lost(original: &Dump, now: &Dump) -> bool {
    let strip = |d: &Dump| {
        let mut d = d.clone();
        if let Some(meta) = d.get_mut("meta") {
            meta.retain(|(k, _)| !k.starts_with(b"checkpoint/"));
        }
        d
    };
    original != now && strip(original) == strip(now)
}

/// Which keyspaces of two dumps differ, and how.
fn differ(a: &Dump, b: &Dump) -> String {
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let (x, y) = (a.get(name), b.get(name));
        if x != y {
            let first = match (x, y) {
                (Some(x), Some(y)) => x
                    .iter()
                    .zip(y)
                    .find(|(p, q)| p != q)
                    .map(|(p, _)| String::from_utf8_lossy(&p.0).into_owned())
                    .unwrap_or_default(),
                _ => String::new(),
            };
            out.push(format!(
                "{name} {} vs {} entries, first differing key {first:?}",
                x.map_or(0, Vec::len),
                y.map_or(0, Vec::len)
            ));
        }
    }
    out.join("; ")
}

/// A stopped store with events in both table files and the journal, views caught up, and a
/// checkpoint of the head saved outside the store.
struct Fixture {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    checkpoint: PathBuf,
    events: String,
    log: Dump,
    views: Dump,
    head: u64,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    ok(&data, &["init"]);
    import(&data, tmp.path(), "setup.ndjson", SETUP);
    import(&data, tmp.path(), "round1.ndjson", &round(1));
    // Move what is there into table files, so that the store has tables and version files
    // next to its journals; later imports stay in the journal.
    flush_all(&data.join("log"));
    flush_all(&data.join("views"));
    for r in 2..5 {
        import(&data, tmp.path(), &format!("round{r}.ndjson"), &round(r));
    }
    let checkpoint = tmp.path().join("checkpoint.txt");
    ok(&data, &["checkpoint", "--out", checkpoint.to_str().unwrap()]);
    let events = String::from_utf8(ok(&data, &["replay", "--print"]).stdout).unwrap();
    let head = events.lines().count() as u64;
    assert!(head > 60, "{head} events");
    let verified = ok(&data, &["verify", "--against", checkpoint.to_str().unwrap()]);
    assert!(text(&verified).contains(&format!("head {head} ")), "{}", text(&verified));
    if let Some(keep) = std::env::var_os("TALLY_FAULT_KEEP") {
        copy_dir(&data, Path::new(&keep));
    }
    let log = dump(&data.join("log")).unwrap();
    let views = dump(&data.join("views")).unwrap();
    Fixture { _tmp: tmp, data, checkpoint, events, log, views, head }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn files(root: &Path, under: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(under).unwrap().map(|e| e.unwrap()).collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        if entry.file_type().unwrap().is_dir() {
            files(root, &entry.path(), out);
        } else {
            out.push(entry.path().strip_prefix(root).unwrap().to_owned());
        }
    }
}

/// What kind of file a store path is, for the table.
fn kind(rel: &Path) -> String {
    let name = rel.file_name().unwrap().to_string_lossy().into_owned();
    let db = rel.iter().next().unwrap().to_string_lossy().into_owned();
    let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let what = if name.ends_with(".jnl") {
        "journal".to_owned()
    } else if name == "lock" || name == "version" {
        name.clone()
    } else if parts.len() >= 3 && parts[1] == "keyspaces" {
        let ks = if parts[2] == "0" { "fjall meta keyspace" } else { "keyspace" };
        let file = if parts.get(3).map(String::as_str) == Some("tables") {
            "table"
        } else if name == "current" {
            "current"
        } else {
            "version file"
        };
        format!("{ks} {file}")
    } else {
        name.clone()
    };
    format!("{db}/ {what}")
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Flip(Offset),
    /// One bit of one byte (the random sweep).
    Bit {
        at: u64,
        bit: u8,
    },
    Truncate(Offset),
    Delete,
}

#[derive(Debug, Clone, Copy)]
enum Offset {
    First,
    Middle,
    Last,
}

impl Offset {
    fn at(self, len: u64) -> u64 {
        match self {
            Self::First => 0,
            Self::Middle => len / 2,
            Self::Last => len.saturating_sub(1),
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Flip(o) => write!(f, "flip {o:?}"),
            Self::Bit { at, bit } => write!(f, "bit {bit} of byte {at}"),
            Self::Truncate(o) => write!(f, "truncate {o:?}"),
            Self::Delete => write!(f, "delete"),
        }
    }
}

const FAULTS: [Fault; 7] = [
    Fault::Flip(Offset::First),
    Fault::Flip(Offset::Middle),
    Fault::Flip(Offset::Last),
    Fault::Truncate(Offset::First),
    Fault::Truncate(Offset::Middle),
    Fault::Truncate(Offset::Last),
    Fault::Delete,
];

/// Applies `fault`; returns false when it changes nothing (flipping or truncating an empty
/// file).
fn apply(path: &Path, fault: Fault) -> bool {
    let len = std::fs::metadata(path).unwrap().len();
    match fault {
        Fault::Flip(_) | Fault::Truncate(_) | Fault::Bit { .. } if len == 0 => false,
        Fault::Bit { at, bit } => {
            let mut bytes = std::fs::read(path).unwrap();
            let at = usize::try_from(at % len).unwrap();
            bytes[at] ^= 1 << bit;
            std::fs::write(path, bytes).unwrap();
            true
        }
        Fault::Flip(offset) => {
            let mut bytes = std::fs::read(path).unwrap();
            let at = usize::try_from(offset.at(len)).unwrap();
            bytes[at] ^= 0x01;
            std::fs::write(path, bytes).unwrap();
            true
        }
        Fault::Truncate(offset) => {
            let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            file.set_len(offset.at(len)).unwrap();
            true
        }
        Fault::Delete => {
            std::fs::remove_file(path).unwrap();
            true
        }
    }
}

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// `tally verify` (or opening, which it starts with) failed with this exit code and line.
    Verify(i32, String),
    /// `tally verify` passed; `tally verify --against <checkpoint>` failed.
    Against(i32, String),
    /// Verify passed, but opening the engine (log and views) failed.
    Open(i32, String),
    /// Verify and opening passed; reading every entry fails (fjall's block checksum).
    Read(String),
    /// Everything passed and every event and view entry equals the original: the fault
    /// changed nothing that is read.
    Intact,
    /// Everything passed, every event is intact, but the stored note of the newest
    /// checkpoint is gone: fjall dropped the journal's last batch (the checkpoint's own) as a
    /// torn write. Indistinguishable from a crash before that batch was durable.
    LastBatchDropped(String),
    /// Everything passed but data differs: a silent loss. Never allowed.
    Silent(String),
    /// A panic inside the storage engine, caught by the binary and reported (exit 2).
    Contained(String),
    /// A panic. Never allowed.
    Panic(String),
    /// The fault had nothing to change (an empty file).
    NoOp,
}

/// A panic the binary caught and reported as an error (exit 2).
fn contained(o: &Output) -> Option<Outcome> {
    let all = text(o);
    let line = all.lines().find(|l| l.starts_with("tally: internal error"))?;
    Some(Outcome::Contained(line.chars().take(200).collect()))
}

fn first_line(o: &Output) -> String {
    let all = text(o);
    let line = all
        .lines()
        .find(|l| l.starts_with("FAILED") || l.starts_with("tally:"))
        .or_else(|| all.lines().next())
        .unwrap_or("")
        .to_owned();
    line.chars().take(160).collect()
}

fn run_case(fx: &Fixture, scratch: &Path, rel: &Path, fault: Fault) -> Outcome {
    let data = scratch.join("store");
    let _ = std::fs::remove_dir_all(&data);
    copy_dir(&fx.data, &data);
    if !apply(&data.join(rel), fault) {
        return Outcome::NoOp;
    }
    let verify = tally(&data, &["verify"]);
    if let Some(outcome) = contained(&verify) {
        return outcome;
    }
    if panicked(&verify) {
        return Outcome::Panic(first_line(&verify));
    }
    if code(&verify) != 0 {
        return Outcome::Verify(code(&verify), first_line(&verify));
    }
    let against = tally(&data, &["verify", "--against", fx.checkpoint.to_str().unwrap()]);
    if let Some(outcome) = contained(&against) {
        return outcome;
    }
    if panicked(&against) {
        return Outcome::Panic(first_line(&against));
    }
    if code(&against) != 0 {
        return Outcome::Against(code(&against), first_line(&against));
    }
    // Opening the engine opens the views too and catches them up.
    let empty = scratch.join("empty.ndjson");
    std::fs::write(&empty, "").unwrap();
    let open = tally(&data, &["import", empty.to_str().unwrap()]);
    if let Some(outcome) = contained(&open) {
        return outcome;
    }
    if panicked(&open) {
        return Outcome::Panic(first_line(&open));
    }
    if code(&open) != 0 {
        return Outcome::Open(code(&open), first_line(&open));
    }
    let events = tally(&data, &["replay", "--print"]);
    if code(&events) != 0 || String::from_utf8_lossy(&events.stdout) != fx.events {
        return Outcome::Silent(format!(
            "events differ: {} of {} lines",
            String::from_utf8_lossy(&events.stdout).lines().count(),
            fx.head
        ));
    }
    for (db, original) in [("log", &fx.log), ("views", &fx.views)] {
        match dump(&data.join(db)) {
            Ok(now) if now == *original => {}
            Ok(now) if db == "log" && only_checkpoints_lost(original, &now) => {
                return Outcome::LastBatchDropped(differ(original, &now));
            }
            Ok(now) => return Outcome::Silent(format!("{db}: {}", differ(original, &now))),
            Err(e) => return Outcome::Read(format!("reading every {db} entry: {e}")),
        }
    }
    Outcome::Intact
}

#[test]
fn every_fault_on_every_store_file_is_caught_or_proven_harmless() {
    let fx = fixture();
    let mut paths = Vec::new();
    files(&fx.data, &fx.data.join("log"), &mut paths);
    files(&fx.data, &fx.data.join("views"), &mut paths);
    let kinds: Vec<String> = paths.iter().map(|p| kind(p)).collect();
    for expected in ["log/ journal", "log/ keyspace table", "log/ keyspace version file"] {
        assert!(kinds.iter().any(|k| k == expected), "no {expected} in {paths:?}");
    }
    // One file of each kind per database, but every table of the log (each keyspace's
    // table is read differently: frames, indexes, Merkle nodes, meta).
    let mut seen = std::collections::BTreeSet::new();
    let chosen: Vec<PathBuf> = paths
        .into_iter()
        .filter(|p| {
            let k = kind(p);
            k == "log/ keyspace table" || k.ends_with("journal") || seen.insert(k)
        })
        .collect();
    let cases: Vec<(PathBuf, Fault)> =
        chosen.iter().flat_map(|p| FAULTS.iter().map(|f| (p.clone(), *f))).collect();
    let rows = run_all(&cases, |scratch, rel, fault| run_case(&fx, scratch, rel, fault));
    if std::env::var_os("TALLY_FAULT_TABLE").is_some() {
        println!("| file | kind | fault | outcome |\n|---|---|---|---|");
        for (rel, fault, outcome) in &rows {
            println!("| {} | {} | {fault} | {outcome:?} |", rel.display(), kind(rel));
        }
    }
    let bad: Vec<_> = rows
        .iter()
        .filter(|(_, _, o)| matches!(o, Outcome::Panic(_) | Outcome::Silent(_)))
        .collect();
    assert!(bad.is_empty(), "panics or silent losses: {bad:#?}");
    let count = |f: fn(&Outcome) -> bool| rows.iter().filter(|(_, _, o)| f(o)).count();
    let caught = count(|o| matches!(o, Outcome::Verify(..) | Outcome::Open(..)));
    let contained = count(|o| matches!(o, Outcome::Contained(..)));
    let against = count(|o| matches!(o, Outcome::Against(..)));
    let read = count(|o| matches!(o, Outcome::Read(..)));
    let intact = count(|o| matches!(o, Outcome::Intact | Outcome::NoOp));
    let dropped = count(|o| matches!(o, Outcome::LastBatchDropped(..)));
    println!(
        "{} cases: {caught} caught by verify or opening, {contained} as a caught panic, {against} only by verify --against, \
         {read} only when the damaged block is read, {dropped} last journal batch dropped, \
         {intact} intact",
        rows.len()
    );
    // Damage is a problem found (exit 1) with a sentence saying what, never a bare error.
    for (rel, fault, outcome) in &rows {
        if let Outcome::Verify(code, line) = outcome {
            assert_eq!(*code, 1, "{} {fault}: {line}", rel.display());
            assert!(line.starts_with("FAILED: "), "{} {fault}: {line}", rel.display());
        }
    }
    // The journal's damage that fjall takes for a torn tail is caught by the saved checkpoint.
    let journal = |fault: &str| {
        rows.iter()
            .find(|(p, f, _)| p == Path::new("log/0.jnl") && f.to_string() == fault)
            .map(|(_, _, o)| o.clone())
            .unwrap()
    };
    // Batches cut from the journal (fjall drops them without an error) are caught by the
    // high-water mark, not only by a saved checkpoint; so is a dropped last batch.
    for fault in ["truncate First", "truncate Middle", "truncate Last", "flip Last"] {
        let outcome = journal(fault);
        assert!(
            matches!(&outcome, Outcome::Verify(1, line) if line.contains("high-water mark")),
            "{fault}: {outcome:?}"
        );
    }
    assert_eq!((against, dropped), (0, 0), "caught only by a saved checkpoint, or dropped");
    assert!(matches!(journal("flip First"), Outcome::Verify(1, _)));
    assert!(matches!(journal("flip Middle"), Outcome::Verify(1, _)));
    assert!(matches!(journal("delete"), Outcome::Verify(..)));
}

/// Runs every case on two threads, each with its own scratch directory; rows in case order.
fn run_all(
    cases: &[(PathBuf, Fault)],
    case: impl Fn(&Path, &Path, Fault) -> Outcome + Sync,
) -> Vec<(PathBuf, Fault, Outcome)> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let scratch = tempfile::tempdir().unwrap();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((rel, fault)) = cases.get(i) else { break };
                    let outcome = case(scratch.path(), rel, *fault);
                    results.lock().unwrap().push((i, rel.clone(), *fault, outcome));
                }
            });
        }
    });
    let mut rows = results.into_inner().unwrap();
    rows.sort_by_key(|r| r.0);
    rows.into_iter().map(|(_, rel, fault, outcome)| (rel, fault, outcome)).collect()
}

/// One case of the sweep: [`run_case`], and a flip in the log that verify catches must also
/// stop a writer.
fn sweep_case(fx: &Fixture, scratch: &Path, rel: &Path, fault: Fault) -> Outcome {
    let outcome = run_case(fx, scratch, rel, fault);
    if !(matches!(outcome, Outcome::Verify(..)) && rel.starts_with("log")) {
        return outcome;
    }
    let store = scratch.join("store");
    let empty = scratch.join("empty.ndjson");
    std::fs::write(&empty, "").unwrap();
    let open = tally(&store, &["import", empty.to_str().unwrap()]);
    if code(&open) != 0 {
        return outcome;
    }
    // Opening reads what recovery needs and every frame (the engine replays them), not every
    // index block: damage in an index or Merkle table must then fail any read of it (a bloom
    // filter block is read by point lookups, as verify's, not by a scan: verify's sentence
    // names the damage). A journal or the mark must be refused at open.
    let named = matches!(&outcome, Outcome::Verify(1, line) if line.contains("are damaged"));
    if kind(rel).ends_with("table") && (named || dump(&store.join("log")).is_err()) {
        Outcome::Read(format!("verify: {}", first_line(&open)))
    } else {
        Outcome::Silent(format!(
            "verify failed but the engine opened for writes: {}",
            first_line(&open)
        ))
    }
}

/// A small xorshift, so the sweep is seeded and reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Bytes of `path` up to its last non-zero one (fjall preallocates journals with zeros).
fn used_bytes(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i as u64 + 1)
}

/// Single random bit flips over every file of the log and the views (journals, tables,
/// version files, `current` pointers, the high-water mark): each flip is either harmless (the
/// store reads exactly as before) or caught, and a flip in the log that `verify` catches is
/// also refused by opening. `TALLY_FLIP_SWEEP=N` sets the number of flips (default 40, the
/// full run uses 2,000), `TALLY_FLIP_SEED` the seed; the summary line gives the figures.
#[test]
fn a_seeded_sweep_of_bit_flips_never_loses_data_silently() {
    let flips: u64 =
        std::env::var("TALLY_FLIP_SWEEP").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    let seed: u64 =
        std::env::var("TALLY_FLIP_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x7a11);
    let fx = fixture();
    let mut paths = Vec::new();
    files(&fx.data, &fx.data.join("log"), &mut paths);
    files(&fx.data, &fx.data.join("views"), &mut paths);
    // Flips land in the bytes a file holds: a journal's preallocated zeros are skipped but
    // for a margin past its end.
    let targets: Vec<(PathBuf, u64)> = paths
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "lock"))
        .map(|p| {
            let full = fx.data.join(&p);
            let len = std::fs::metadata(&full).unwrap().len();
            let span =
                if kind(&p).ends_with("journal") { (used_bytes(&full) + 64).min(len) } else { len };
            (p, span)
        })
        .filter(|(_, span)| *span > 0)
        .collect();
    assert!(targets.iter().any(|(p, _)| kind(p) == "log/ journal"), "{targets:?}");
    let mut rng = Rng(seed | 1);
    let cases: Vec<(PathBuf, Fault)> = (0..flips)
        .map(|_| {
            // Every other flip lands in a journal, where fjall's recovery can cut batches.
            let pool: Vec<&(PathBuf, u64)> = if rng.next().is_multiple_of(2) {
                targets.iter().filter(|(p, _)| kind(p).ends_with("journal")).collect()
            } else {
                targets.iter().collect()
            };
            let (path, span) = pool[usize::try_from(rng.next() % pool.len() as u64).unwrap()];
            let at = rng.next() % span;
            let bit = u8::try_from(rng.next() % 8).unwrap();
            (path.clone(), Fault::Bit { at, bit })
        })
        .collect();
    let rows = run_all(&cases, |scratch, rel, fault| sweep_case(&fx, scratch, rel, fault));
    let bad: Vec<_> = rows
        .iter()
        .filter(|(_, _, o)| {
            matches!(o, Outcome::Panic(_) | Outcome::Silent(_) | Outcome::LastBatchDropped(_))
        })
        .collect();
    assert!(bad.is_empty(), "seed {seed}: panics or silent losses: {bad:#?}");
    let mut by_kind: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    for (rel, _, outcome) in &rows {
        let slot = match outcome {
            Outcome::Verify(..) | Outcome::Open(..) | Outcome::Contained(..) => 0,
            Outcome::Read(..) => 2,
            Outcome::Against(..) => 1,
            _ => 3,
        };
        by_kind.entry(kind(rel)).or_default()[slot] += 1;
    }
    println!("bit-flip sweep, seed {seed}, {flips} flips:");
    for (kind, [caught, against, read, intact]) in &by_kind {
        println!(
            "  {kind}: {caught} caught (verify exit 1; opening the log refuses), {against} only by verify --against, \
             {read} by verify and by any read of the block (open reads none), {intact} harmless \
             (store reads the same)"
        );
    }
    // The damage only a saved checkpoint catches is a dropped batch: the mark catches those.
    assert!(by_kind.values().all(|v| v[1] == 0), "{by_kind:?}");
}
