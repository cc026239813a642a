//! Runs the built `tally` binary against temp stores.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the real `tally` with `--data data` (panics report without a backtrace).
pub(crate) fn tally(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("TALLY_DATA")
        .env_remove("TALLY_TOKEN")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

const COMMANDS: &str = r#"{"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}
{"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["web"]}
{"type": "define_sku", "sku": "A", "lot_tracked": false, "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "B"}
{"key": "rcv-1", "command": {"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 10}, "source": "wms/WH1/asn-1", "actor": "wms", "occurred_at": "2026-03-01T09:00:00Z"}
{"key": "ord-1", "command": {"type": "receive_order", "order": "D1", "channel": "web", "placed_at": "2026-03-01T10:00:00Z", "currency": "USD", "lines": [{"sku": "A", "qty": 2, "unit_price": {"amount": "15.00", "currency": "USD"}}], "shipping": {"amount": "0.00", "currency": "USD"}, "tax_rate": "0"}, "source": "shop/web/1001"}
"#;

fn init_store(dir: &Path) {
    let out = tally(dir, &["init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// A new store holding the events of [`COMMANDS`].
fn init_and_import(data: &Path, scratch: &Path) {
    init_store(data);
    let file = scratch.join("commands.ndjson");
    std::fs::write(&file, COMMANDS).unwrap();
    let out = tally(data, &["import", file.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

fn head_seq(dir: &Path) -> u64 {
    let out = tally(dir, &["verify"]);
    let text = stdout(&out);
    let at = text.find("head ").unwrap() + 5;
    text[at..].split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn init_creates_a_private_key_and_refuses_to_run_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    init_store(&data);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(data.join("ledger.key")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let again = tally(&data, &["init"]);
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("already holds a store"), "{}", stderr(&again));
    // A command on a directory without a store is an error, not a crash.
    let missing = tally(&tmp.path().join("nothing"), &["verify"]);
    assert_eq!(code(&missing), 2);
    assert!(stderr(&missing).contains("tally init"), "{}", stderr(&missing));
}

#[test]
fn import_twice_appends_once_and_reports_rejected_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    init_store(&data);
    let file = tmp.path().join("commands.ndjson");
    std::fs::write(&file, COMMANDS).unwrap();
    let first = tally(&data, &["import", file.to_str().unwrap()]);
    assert_eq!(code(&first), 0, "{}{}", stdout(&first), stderr(&first));
    assert!(stdout(&first).contains("5 accepted"), "{}", stdout(&first));
    let head = head_seq(&data);
    assert!(head >= 5);

    let second = tally(&data, &["import", file.to_str().unwrap()]);
    assert_eq!(code(&second), 0, "{}", stderr(&second));
    assert!(stdout(&second).contains("0 accepted"), "{}", stdout(&second));
    assert!(stdout(&second).contains("5 already present"), "{}", stdout(&second));
    assert_eq!(head_seq(&data), head, "a re-run appends nothing");

    let bad = tmp.path().join("bad.ndjson");
    std::fs::write(
        &bad,
        "{\"type\": \"receive_inventory\", \"location\": \"WH1\", \"sku\": \"NOPE\", \"qty\": 1}\nnot json\n{\"type\": \"receive_inventory\", \"location\": \"WH1\", \"sku\": \"A\", \"qty\": -1}\n",
    )
    .unwrap();
    let out = tally(&data, &["import", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "rejections exit 1");
    let err = stderr(&out);
    assert!(err.contains("line 1: UNKNOWN_SKU"), "{err}");
    assert!(err.contains("line 2: INVALID_INPUT"), "{err}");
    assert!(err.contains("line 3: INVALID_QUANTITY"), "{err}");
    assert_eq!(head_seq(&data), head, "rejected lines append nothing");
}

#[test]
fn verify_passes_then_fails_on_a_tampered_store_naming_the_seq() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    init_and_import(&data, tmp.path());
    let ok = tally(&data, &["verify"]);
    assert_eq!(code(&ok), 0, "{}", stdout(&ok));
    assert!(stdout(&ok).starts_with("ok:"));

    // Save a checkpoint, then flip one byte of event 2 directly in the store.
    let cp_file = tmp.path().join("cp.txt");
    assert_eq!(code(&tally(&data, &["checkpoint", "--out", cp_file.to_str().unwrap()])), 0);
    assert_eq!(code(&tally(&data, &["verify", "--against", cp_file.to_str().unwrap()])), 0);
    {
        let db = fjall::Database::builder(data.join("log")).open().unwrap();
        let frames = db.keyspace("frames", fjall::KeyspaceCreateOptions::default).unwrap();
        let mut value = frames.get(2u64.to_be_bytes()).unwrap().unwrap().to_vec();
        let last = value.len() - 40;
        value[last] ^= 0x20;
        frames.insert(2u64.to_be_bytes(), value).unwrap();
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    let bad = tally(&data, &["verify"]);
    assert_eq!(code(&bad), 1, "{}{}", stdout(&bad), stderr(&bad));
    assert!(stdout(&bad).contains("seq 2"), "{}", stdout(&bad));
}

/// `replay --check` passes on a healthy store, fails naming the view and key after one stored
/// view value is damaged, and passes again once the view is rebuilt from the log.
#[test]
fn replay_check_finds_a_damaged_view_and_a_rebuild_repairs_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    init_and_import(&data, tmp.path());
    let ok = tally(&data, &["replay", "--check"]);
    assert_eq!(code(&ok), 0, "{}{}", stdout(&ok), stderr(&ok));
    assert!(
        stdout(&ok)
            .starts_with(&format!("ok: {} views equal a rebuild", tally_projections::all().len())),
        "{}",
        stdout(&ok)
    );
    assert!(stdout(&ok).contains("and their history as of it"), "{}", stdout(&ok));

    // Flip one byte of the first stock bucket of the inventory view, directly in the store.
    {
        let db = fjall::Database::builder(data.join("views")).open().unwrap();
        let view = db.keyspace("v.inventory.0", fjall::KeyspaceCreateOptions::default).unwrap();
        let (key, value) = view.prefix(b"stock").next().unwrap().into_inner().unwrap();
        let mut damaged = value.to_vec();
        damaged[0] ^= 0x01;
        view.insert(key, damaged).unwrap();
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    let bad = tally(&data, &["replay", "--check"]);
    assert_eq!(code(&bad), 1, "{}{}", stdout(&bad), stderr(&bad));
    let text = stdout(&bad);
    assert!(text.contains("FAILED: view 'inventory' differs"), "{text}");
    assert!(text.contains("(1 differing keys); first at key \"stock\\x00WH1\\x00A"), "{text}");
    // The view's history (what asOf answers read) no longer matches its damaged state either.
    assert!(text.contains("FAILED: the history of view 'inventory' as of seq"), "{text}");
    assert_eq!(text.lines().count(), 2, "only the damaged view: {text}");

    let rebuilt = tally(&data, &["replay", "--view", "inventory"]);
    assert_eq!(code(&rebuilt), 0, "{}", stderr(&rebuilt));
    let again = tally(&data, &["replay", "--check", "--view", "inventory"]);
    assert_eq!(code(&again), 0, "{}{}", stdout(&again), stderr(&again));
    assert!(stdout(&again).starts_with("ok: 1 views"), "{}", stdout(&again));

    // Damage only the history (the newest version of the first stock key of generation 1):
    // the state still equals a rebuild, the history check names the view.
    {
        let db = fjall::Database::builder(data.join("views")).open().unwrap();
        let history = db.keyspace("h.inventory.1", fjall::KeyspaceCreateOptions::default).unwrap();
        let (key, value) = history.prefix(b"stock").next().unwrap().into_inner().unwrap();
        let mut damaged = value.to_vec();
        let last = damaged.len() - 1;
        damaged[last] ^= 0x01;
        history.insert(key, damaged).unwrap();
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    let bad = tally(&data, &["replay", "--check", "--view", "inventory"]);
    assert_eq!(code(&bad), 1, "{}{}", stdout(&bad), stderr(&bad));
    let text = stdout(&bad);
    assert!(!text.contains("FAILED: view 'inventory' differs"), "{text}");
    assert!(text.contains("FAILED: the history of view 'inventory' as of seq"), "{text}");
    assert_eq!(code(&tally(&data, &["replay", "--check", "--view", "nope"])), 2);
}

#[test]
fn bundles_and_proofs_verify_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    init_and_import(&data, tmp.path());
    let saved = tmp.path().join("saved.txt");
    assert_eq!(code(&tally(&data, &["checkpoint", "--out", saved.to_str().unwrap()])), 0);
    let more = tmp.path().join("more.ndjson");
    std::fs::write(
        &more,
        "{\"type\": \"receive_inventory\", \"location\": \"WH1\", \"sku\": \"A\", \"qty\": 3}\n",
    )
    .unwrap();
    assert_eq!(code(&tally(&data, &["import", more.to_str().unwrap()])), 0);

    let bundle = tmp.path().join("bundle");
    let out = tally(&data, &["export", "--bundle", bundle.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // verify-bundle needs no store: run it with a data dir that does not exist.
    let nowhere = tmp.path().join("no-store");
    let ok = tally(
        &nowhere,
        &["verify-bundle", bundle.to_str().unwrap(), "--trusted", saved.to_str().unwrap()],
    );
    assert_eq!(code(&ok), 0, "{}{}", stdout(&ok), stderr(&ok));
    assert!(stdout(&ok).contains("extends the trusted checkpoint"), "{}", stdout(&ok));

    // Edit one event line of the bundle: verification fails, exit 1.
    let events = bundle.join("events.ndjson");
    let text = std::fs::read_to_string(&events).unwrap();
    let tampered = text.replacen("\"seq\":3", "\"seq\":4", 1);
    assert_ne!(tampered, text);
    std::fs::write(&events, tampered).unwrap();
    let bad = tally(
        &nowhere,
        &["verify-bundle", bundle.to_str().unwrap(), "--trusted", saved.to_str().unwrap()],
    );
    assert_eq!(code(&bad), 1, "{}{}", stdout(&bad), stderr(&bad));
    assert!(stdout(&bad).starts_with("FAILED"), "{}", stdout(&bad));

    // An inclusion proof printed by the CLI verifies with the library's pure verifier.
    let proof = tally(&data, &["proof", "--seq", "3"]);
    assert_eq!(code(&proof), 0, "{}", stderr(&proof));
    let json: serde_json::Value = serde_json::from_slice(&proof.stdout).unwrap();
    let p: tally_log::tally_proof::merkle::InclusionProof =
        serde_json::from_value(json["proof"].clone()).unwrap();
    let hash: tally_log::Digest = serde_json::from_value(json["event_hash"].clone()).unwrap();
    let root: tally_log::Digest = serde_json::from_value(json["root"].clone()).unwrap();
    tally_log::tally_proof::merkle::verify_inclusion(&p, &hash, 2, p.size, &root).unwrap();
    // Bad arguments are errors (exit 2), not panics.
    assert_eq!(code(&tally(&data, &["proof", "--seq", "999"])), 2);
}

/// Regression (issue 12, item 2): each of these forged bundles used to verify (exit 0).
#[test]
fn forged_bundles_fail_and_an_honest_export_verifies() {
    use tally_log::tally_proof::bundle::dir::event_line;
    use tally_log::tally_proof::hash::chain_hash;

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    init_and_import(&data, tmp.path());
    let saved = tmp.path().join("saved.txt");
    assert_eq!(code(&tally(&data, &["checkpoint", "--out", saved.to_str().unwrap()])), 0);
    let more = tmp.path().join("more.ndjson");
    std::fs::write(
        &more,
        "{\"type\": \"receive_inventory\", \"location\": \"WH1\", \"sku\": \"A\", \"qty\": 3}\n",
    )
    .unwrap();
    assert_eq!(code(&tally(&data, &["import", more.to_str().unwrap()])), 0);
    let head = head_seq(&data);

    // The export cuts a checkpoint of the head itself: no `tally checkpoint` before it.
    let honest = tmp.path().join("honest");
    let out = tally(&data, &["export", "--bundle", honest.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("the newest, size {head}, signs the last event")));
    // The auditor's copy of the public key (init prints it; here, the honest bundle's).
    let key = tmp.path().join("ledger.pub");
    std::fs::copy(honest.join("key.pub"), &key).unwrap();
    let key = key.to_str().unwrap();
    let nowhere = tmp.path().join("no-store");
    let verify = |bundle: &Path, extra: &[&str]| {
        let mut args = vec!["verify-bundle", bundle.to_str().unwrap(), "--key", key];
        args.extend_from_slice(extra);
        tally(&nowhere, &args)
    };
    let trusted = ["--trusted", saved.to_str().unwrap()];
    let ok = verify(&honest, &trusted);
    assert_eq!(code(&ok), 0, "{}{}", stdout(&ok), stderr(&ok));
    assert!(!stdout(&ok).contains("unsigned"), "{}", stdout(&ok));

    // Without --key or --trusted there is no anchor: an error, not a pass.
    let unanchored = tally(&nowhere, &["verify-bundle", honest.to_str().unwrap()]);
    assert_eq!(code(&unanchored), 2, "{}", stdout(&unanchored));
    assert!(stderr(&unanchored).contains("give --key"), "{}", stderr(&unanchored));

    let forge = |name: &str, edit: &dyn Fn(&Path)| {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        for file in ["events.ndjson", "checkpoints.txt", "key.pub"] {
            std::fs::copy(honest.join(file), dir.join(file)).unwrap();
        }
        edit(&dir);
        dir
    };
    let notes = std::fs::read_to_string(honest.join("checkpoints.txt")).unwrap();
    let size_zero: String =
        notes.split_inclusive("\u{c}\n").filter(|note| note.lines().nth(1) == Some("0")).collect();
    assert!(!size_zero.is_empty(), "init cut a checkpoint of size 0: {notes}");

    let emptied = forge("emptied", &|dir| std::fs::write(dir.join("checkpoints.txt"), "").unwrap());
    let zero_only =
        forge("zero", &|dir| std::fs::write(dir.join("checkpoints.txt"), &size_zero).unwrap());
    for bundle in [&emptied, &zero_only] {
        for extra in [&[][..], &trusted, &["--allow-unsigned-tail"]] {
            let bad = verify(bundle, extra);
            assert_eq!(code(&bad), 1, "{extra:?}: {}{}", stdout(&bad), stderr(&bad));
            assert!(
                stdout(&bad)
                    .starts_with("FAILED: no checkpoint signed by the key covers any event"),
                "{}",
                stdout(&bad)
            );
        }
    }

    // One event appended with a correct chain hash: the keys are public, anyone can.
    let extended = forge("extended", &|dir| {
        let path = dir.join("events.ndjson");
        let text = std::fs::read_to_string(&path).unwrap();
        let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        let prev: tally_log::Digest = serde_json::from_value(last["hash"].clone()).unwrap();
        let frame = b"a forged event".to_vec();
        let hash = chain_hash(&prev, &frame);
        std::fs::write(&path, format!("{text}{}\n", event_line(head + 1, &hash, &frame))).unwrap();
    });
    let bad = verify(&extended, &trusted);
    assert_eq!(code(&bad), 1, "{}{}", stdout(&bad), stderr(&bad));
    assert!(
        stdout(&bad).contains(&format!(
            "1 events (seq {0} to {0}) are beyond the newest signed checkpoint (size {head})",
            head + 1
        )),
        "{}",
        stdout(&bad)
    );
    let allowed = verify(&extended, &["--allow-unsigned-tail", trusted[0], trusted[1]]);
    assert_eq!(code(&allowed), 0, "{}{}", stdout(&allowed), stderr(&allowed));
    assert!(
        stdout(&allowed)
            .contains(&format!("warning: 1 events (seq {0} to {0}) are unsigned", head + 1)),
        "{}",
        stdout(&allowed)
    );

    // Strict formats: an unknown field in an event line, a key file of two keys.
    let annotated = forge("annotated", &|dir| {
        let path = dir.join("events.ndjson");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("{\"seq\":1,", "{\"seq\":1,\"note\":\"x\",", 1))
            .unwrap();
    });
    let bad = verify(&annotated, &[]);
    assert_eq!(code(&bad), 1, "{}{}", stdout(&bad), stderr(&bad));
    assert!(
        stdout(&bad).contains("events.ndjson line 1: unknown field `note`"),
        "{}",
        stdout(&bad)
    );
    let two = tmp.path().join("two.pub");
    let one = std::fs::read_to_string(key).unwrap();
    std::fs::write(&two, format!("{one}{one}")).unwrap();
    let bad = tally(
        &nowhere,
        &["verify-bundle", honest.to_str().unwrap(), "--key", two.to_str().unwrap()],
    );
    assert_eq!(code(&bad), 2, "{}{}", stdout(&bad), stderr(&bad));
    assert!(stderr(&bad).contains("expected exactly one public key"), "{}", stderr(&bad));
}

#[test]
fn demo_builds_a_verifiable_store_and_a_rerun_appends_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let first = tally(&data, &["demo", "--no-serve"]);
    assert_eq!(code(&first), 0, "{}{}", stdout(&first), stderr(&first));
    assert!(stdout(&first).contains(" 0 rejected"), "{}", stdout(&first));
    let head = head_seq(&data);
    assert!(head > 10_000, "a realistic dataset: {head} events");
    let again = tally(&data, &["demo", "--no-serve"]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert!(stdout(&again).contains("(0 new"), "{}", stdout(&again));
    assert_eq!(head_seq(&data), head);
    // The demo's marketplace settlements export with every amount as a decimal string with
    // exactly the currency's two minor digits.
    let csv = tally(
        &data,
        &[
            "export",
            "settlement",
            "--channel",
            "amazon",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
        ],
    );
    assert_eq!(code(&csv), 0, "{}", stderr(&csv));
    let text = stdout(&csv);
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("settlement_id,channel,period_start"));
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() > 100, "{} rows", rows.len());
    for row in &rows {
        let net = row.split(',').nth(15).unwrap();
        let (_, cents) = net.rsplit_once('.').unwrap();
        assert_eq!(cents.len(), 2, "{row}");
    }
    readme_tour_runs_against(&data);
}

/// Every operation of the README's GraphQL tour, in order, answers without errors on the
/// demo store (seed 7, the default): the README's promise, checked.
fn readme_tour_runs_against(data: &Path) {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let start = readme.find("```graphql").unwrap() + "```graphql".len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let mut operations = Vec::new();
    let (mut depth, mut current) = (0i32, String::new());
    for line in block.lines() {
        if depth == 0 && line.trim_start().starts_with('#') {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        if depth == 0 && !current.trim().is_empty() {
            operations.push(std::mem::take(&mut current));
        }
    }
    assert!(operations.len() >= 10, "{} operations", operations.len());
    let (child, address) = spawn_serve(data, &[("TALLY_API_TOKENS", "tour:admin:tly_tour")]);
    // The views catch up with the log after start; the tour reads them once they have.
    let meta = r#"{"query": "{ views { meta { seq headSeq } } }"}"#;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let response = http(&address, "POST", "/graphql", Some("tly_tour"), meta);
        let caught_up = response.split_once("\"seq\":").and_then(|(_, rest)| {
            let (seq, rest) = rest.split_once(',')?;
            let head = rest.split_once("\"headSeq\":")?.1.split_once('}')?.0;
            Some(seq == head)
        });
        if caught_up == Some(true) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the views did not catch up: {response}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let mut failures = Vec::new();
    for operation in &operations {
        let body = serde_json::json!({ "query": operation }).to_string();
        let response = http(&address, "POST", "/graphql", Some("tly_tour"), &body);
        if !response.contains("\"data\"") || response.contains("\"errors\"") {
            failures.push(format!("{operation}\n=> {response}"));
        }
    }
    the_demo_s_rules_decided_its_shop_orders(&address);
    stop(child);
    assert!(failures.is_empty(), "README tour failures:\n{}", failures.join("\n\n"));
}

/// Issue #15: the demo seeds `workflow.toml` for its Shopify store and the rules, not the
/// generator, decide the store's orders: each held by the rule its content matches, the paid
/// ones allocated, the one paid later released by `rule:auto-release`.
fn the_demo_s_rules_decided_its_shop_orders(address: &str) {
    let ask = |query: &str| -> serde_json::Value {
        let body = serde_json::json!({ "query": query }).to_string();
        let response = http(address, "POST", "/graphql", Some("tly_tour"), &body);
        let json = &response[response.find('{').unwrap()..=response.rfind('}').unwrap()];
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        assert!(value.get("errors").is_none(), "{value}");
        value["data"].clone()
    };
    let held = ask(
        r#"{ ordersInStage(stage: HELD, channel: "shop", first: 10) { orders { orderId holds { reason rule releasedAt } } } }"#,
    );
    let mut held: Vec<(String, String, String)> = held["ordersInStage"]["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let hold = o["holds"].as_array().unwrap().iter().find(|h| h["releasedAt"].is_null());
            let hold = hold.expect("a held order has an open hold");
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            (text(&o["orderId"]), text(&hold["reason"]), text(&hold["rule"]))
        })
        .collect();
    held.sort();
    let expected = [
        ("SHOP-1002", "PAYMENT", "unpaid"),
        ("SHOP-1004", "ADDRESS", "validate"),
        ("SHOP-1005", "MANUAL", "big-order"),
        ("SHOP-1006", "FRAUD", "risky"),
    ]
    .map(|(o, r, rule)| (o.to_owned(), r.to_owned(), rule.to_owned()));
    assert_eq!(held, expected);
    let allocated = ask(
        r#"{ ordersInStage(stage: ALLOCATED, channel: "shop", first: 10) { orders { orderId } } }"#,
    );
    let mut allocated: Vec<&str> = allocated["ordersInStage"]["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["orderId"].as_str().unwrap())
        .collect();
    allocated.sort_unstable();
    assert_eq!(allocated, ["SHOP-1001", "SHOP-1003"]);
    let trail = ask(
        r#"{ auditTrail(entity: { kind: ORDER, id: "SHOP-1003" }, first: 20) { edges { node { type actor } } } }"#,
    );
    let steps: Vec<(String, String)> = trail["auditTrail"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |k: &str| e["node"][k].as_str().unwrap_or_default().to_owned();
            (text("type"), text("actor"))
        })
        .collect();
    let find = |t: &str, actor: &str| steps.iter().any(|(ty, a)| ty == t && a == actor);
    assert!(find("ORDER_VALIDATED", "rule:validate"), "{steps:?}");
    assert!(find("ORDER_HELD", "rule:unpaid"), "{steps:?}");
    assert!(find("ORDER_HOLD_RELEASED", "rule:auto-release"), "{steps:?}");
    assert!(find("ORDER_LINE_ALLOCATED", "rule:auto-release"), "{steps:?}");
}

/// Sends one HTTP/1.1 request and returns the response text.
fn http(address: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// Starts `tally serve` on a free loopback port; returns the process and its address.
fn spawn_serve(data: &Path, env: &[(&str, &str)]) -> (std::process::Child, String) {
    use std::io::BufRead as _;
    let mut command = Command::new(env!("CARGO_BIN_EXE_tally"));
    command.arg("--data").arg(data).args(["serve", "--listen", "127.0.0.1:0"]);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let address = lines
        .find_map(|l| {
            l.unwrap()
                .strip_prefix("GraphQL:  http://")
                .map(|r| r.split('/').next().unwrap().to_owned())
        })
        .unwrap();
    // Keep draining its stdout so the pipe stays open while it runs.
    std::thread::spawn(move || lines.for_each(drop));
    (child, address)
}

/// Stops a served process with SIGTERM and returns its exit status.
fn stop(mut child: std::process::Child) -> std::process::ExitStatus {
    assert!(
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success()
    );
    child.wait().unwrap()
}

/// `tally init`, returning the admin API token it prints once.
fn init_with_token(data: &Path) -> String {
    let init = tally(data, &["init"]);
    assert_eq!(code(&init), 0, "{}", stderr(&init));
    stdout(&init)
        .lines()
        .find_map(|l| {
            l.strip_prefix("admin API token (shown once, stored hashed in tokens.toml): ")
        })
        .unwrap()
        .to_owned()
}

#[test]
fn serve_answers_graphql_with_the_init_token_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let token = init_with_token(&data);
    let (child, address) = spawn_serve(&data, &[]);
    assert!(http(&address, "GET", "/healthz", None, "").contains("200 OK"));
    let query = r#"{"query":"{ head { seq } whoami { role } }"}"#;
    let answer = http(&address, "POST", "/graphql", Some(&token), query);
    assert!(answer.contains("\"role\""), "{answer}");
    assert!(!answer.contains("\"errors\""), "{answer}");
    let refused = http(&address, "POST", "/graphql", Some("tly_wrong"), query);
    assert!(refused.contains("UNAUTHENTICATED"), "{refused}");
    // SIGTERM: a graceful stop, exit 0, and the store verifies afterwards.
    assert_eq!(stop(child).code(), Some(0));
    assert_eq!(code(&tally(&data, &["verify"])), 0);
}

/// Sums one decimal column ("77.30", "-1.20") in minor units.
fn cents(text: &str) -> i64 {
    let negative = text.starts_with('-');
    let (units, minor) = text.trim_start_matches('-').split_once('.').unwrap();
    let value = units.parse::<i64>().unwrap() * 100 + minor.parse::<i64>().unwrap();
    if negative { -value } else { value }
}

/// The settlement CSV `tally export` writes adds up to what GraphQL says about the same
/// settlement, and its net equals the payout.
#[test]
fn exported_settlement_totals_equal_the_graphql_settlement() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let token = init_with_token(&data);
    // The domain's marketplace scenario as an import file (refused steps left out).
    let scenario = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tally-domain/tests/scenarios/marketplace_settlement.json");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(scenario).unwrap()).unwrap();
    let mut at = serde_json::Value::Null;
    let mut ndjson = String::new();
    for step in file["steps"].as_array().unwrap() {
        if let Some(t) = step.get("at") {
            at = t.clone();
        }
        if step.get("command").is_some() && step.get("rejects").is_none() {
            let line = serde_json::json!({"command": step["command"], "occurred_at": at});
            ndjson.push_str(&format!("{line}\n"));
        }
    }
    let commands = tmp.path().join("marketplace.ndjson");
    std::fs::write(&commands, ndjson).unwrap();
    let imported = tally(&data, &["import", commands.to_str().unwrap()]);
    assert_eq!(code(&imported), 0, "{}{}", stdout(&imported), stderr(&imported));

    let csv = tally(
        &data,
        &["export", "settlement", "--channel", "amz", "--from", "2026-03-01", "--to", "2026-03-31"],
    );
    assert_eq!(code(&csv), 0, "{}", stderr(&csv));
    let text = stdout(&csv);
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (gross_at, fee_at, tax_at, net_at) =
        (column("gross"), column("fee"), column("tax"), column("net"));
    let mut sums = [0i64; 4];
    let mut rows = 0;
    for row in text.lines().skip(1) {
        let cells: Vec<&str> = row.split(',').collect();
        for (sum, at) in sums.iter_mut().zip([gross_at, fee_at, tax_at, net_at]) {
            *sum += cents(cells[at]);
        }
        rows += 1;
    }
    assert!(rows >= 8, "{text}");
    assert_eq!(sums[3], 7730, "net of the export equals the payout 77.30");

    // An over-long channel is an error (exit 2), not a panic in the store.
    let long = "c".repeat(70_000);
    let refused = tally(
        &data,
        &["export", "settlement", "--channel", &long, "--from", "2026-03-01", "--to", "2026-03-31"],
    );
    assert_eq!(code(&refused), 2, "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--channel"), "{}", stderr(&refused));
    assert!(!stderr(&refused).contains("panicked"), "{}", stderr(&refused));

    let (child, address) = spawn_serve(&data, &[]);
    let query = r#"{"query":"{ settlementExport(channel: \"amz\", fromDay: \"2026-03-01\", toDay: \"2026-03-31\") { totals { gross { amount } fee { amount } tax { amount } net { amount } rowCount } } settlement(id: \"S-2026-03A\") { settlement { totals { net { amount } } payout { amount { amount } } } } }"}"#;
    let response = http(&address, "POST", "/graphql", Some(&token), query);
    stop(child);
    let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let body = body.trim_start_matches(|c: char| c.is_ascii_hexdigit() || c.is_whitespace());
    let json: serde_json::Value = serde_json::Deserializer::from_str(body)
        .into_iter::<serde_json::Value>()
        .next()
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}: {response}"));
    let totals = &json["data"]["settlementExport"]["totals"][0];
    let graphql = [
        cents(totals["gross"]["amount"].as_str().unwrap()),
        cents(totals["fee"]["amount"].as_str().unwrap()),
        cents(totals["tax"]["amount"].as_str().unwrap()),
        cents(totals["net"]["amount"].as_str().unwrap()),
    ];
    assert_eq!(graphql, sums, "CSV totals equal GraphQL totals: {json}");
    assert_eq!(totals["rowCount"].as_str().and_then(|n| n.parse::<u64>().ok()), Some(rows));
    let settlement = &json["data"]["settlement"]["settlement"];
    assert_eq!(cents(settlement["totals"]["net"]["amount"].as_str().unwrap()), sums[3]);
    assert!(settlement["payout"].to_string().contains("77.30"), "{settlement}");
}

#[test]
fn import_refuses_non_utf8_and_over_long_lines_and_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    init_store(&data);
    let mut file = b"\xff\xfe{}\n".to_vec();
    file.extend_from_slice(format!("{{\"type\": \"{}\"}}\n", "x".repeat(1 << 20)).as_bytes());
    file.extend_from_slice(COMMANDS.lines().next().unwrap().as_bytes());
    let path = tmp.path().join("hostile.ndjson");
    std::fs::write(&path, file).unwrap();
    let out = tally(&data, &["import", path.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("line 1: INVALID_INPUT: line is not utf-8"), "{err}");
    assert!(err.contains("line 2: INVALID_INPUT: line of 1048588 bytes is over 1048576"), "{err}");
    assert!(stdout(&out).contains("1 accepted"), "{}", stdout(&out));
}

/// Issue #12 item 5: key-less lines were keyed by their content, so two identical lines of
/// one file (two receipts of 5 units) were one command; a byte order mark made line 1 invalid;
/// a member given twice was taken with its last value.
#[test]
fn identical_key_less_lines_are_two_commands_and_a_rerun_appends_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    init_store(&data);
    let receipt = r#"{"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 5}"#;
    let master: Vec<&str> = COMMANDS.lines().take(3).collect();
    let text = format!("\u{feff}{}\n{receipt}\n\n{receipt}\n", master.join("\n"));
    let file = tmp.path().join("receipts.ndjson");
    std::fs::write(&file, text).unwrap();
    let first = tally(&data, &["import", file.to_str().unwrap()]);
    assert_eq!(code(&first), 0, "{}{}", stdout(&first), stderr(&first));
    // Each receipt is an inventory event and its journal entry.
    assert!(stdout(&first).contains("5 accepted (7 events)"), "{}", stdout(&first));
    let head = head_seq(&data);

    let again = tally(&data, &["import", file.to_str().unwrap()]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert!(
        stdout(&again).contains("0 accepted (0 events), 5 already present"),
        "{}",
        stdout(&again)
    );
    assert_eq!(head_seq(&data), head, "a re-run appends nothing");

    let twice = tmp.path().join("twice.ndjson");
    std::fs::write(
        &twice,
        "{\"type\": \"receive_inventory\", \"location\": \"WH1\", \"sku\": \"A\", \"qty\": 5, \"qty\": 500}\n",
    )
    .unwrap();
    let out = tally(&data, &["import", twice.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("line 1: INVALID_INPUT: duplicate member 'qty'"),
        "{}",
        stderr(&out)
    );
    assert_eq!(head_seq(&data), head, "a refused line appends nothing");

    // For files that grow: --require-keys refuses key-less lines.
    let keyed = tmp.path().join("keyed.ndjson");
    std::fs::write(&keyed, format!("{{\"key\": \"rcv-9\", \"command\": {receipt}}}\n{receipt}\n"))
        .unwrap();
    let out = tally(&data, &["import", "--require-keys", keyed.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("line 2: INVALID_INPUT: the line has no \"key\""),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("1 accepted (2 events)"), "{}", stdout(&out));
}

/// A small ledger by hand: capture 40.00 and a fee of 1.20 on 03-01; a manual bank fee of
/// 1.50 and the payout of 38.80 on 03-02.
const LEDGER_COMMANDS: &str = r#"{"command": {"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}, "occurred_at": "2026-03-01T08:00:00Z"}
{"command": {"type": "define_sku", "sku": "A", "lot_tracked": false, "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "B"}, "occurred_at": "2026-03-01T08:00:00Z"}
{"command": {"type": "receive_order", "order": "O1", "channel": "web", "placed_at": "2026-03-01T10:00:00Z", "currency": "USD", "lines": [{"sku": "A", "qty": 1, "unit_price": {"amount": "40.00", "currency": "USD"}}], "shipping": {"amount": "0.00", "currency": "USD"}, "tax_rate": "0"}, "occurred_at": "2026-03-01T10:00:00Z"}
{"command": {"type": "capture_payment", "order": "O1", "payment": "ch_1", "amount": {"amount": "40.00", "currency": "USD"}}, "occurred_at": "2026-03-01T10:05:00Z"}
{"command": {"type": "record_processor_fee", "order": "O1", "fee": {"kind": "amount", "amount": {"amount": "1.20", "currency": "USD"}}}, "occurred_at": "2026-03-01T11:00:00Z"}
{"command": {"type": "post_journal_entry", "memo": "bank fee", "postings": [{"account": "payment_fees", "amount": {"amount": "1.50", "currency": "USD"}}, {"account": "bank", "amount": {"amount": "-1.50", "currency": "USD"}}]}, "occurred_at": "2026-03-02T09:00:00Z"}
{"command": {"type": "record_processor_payout", "payout": "PO1", "amount": {"amount": "38.80", "currency": "USD"}}, "occurred_at": "2026-03-02T10:00:00Z"}
"#;

/// `tally export journal` writes one row per posting with the hand-computed amounts, debits
/// equal credits per currency, and a shorter period keeps only its days; `export settlement
/// --processor` nets the payout's rows to the payout.
#[test]
fn journal_export_rows_are_the_hand_computed_postings() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    init_store(&data);
    let file = tmp.path().join("ledger.ndjson");
    std::fs::write(&file, LEDGER_COMMANDS).unwrap();
    let out = tally(&data, &["import", file.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));

    let csv_file = tmp.path().join("journal.csv");
    let out = tally(
        &data,
        &[
            "export",
            "journal",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-02",
            "--format",
            "csv",
            "--out",
            csv_file.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(&csv_file).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "date,entry_id,account,account_name,debit,credit,currency,memo,reference_type,reference_id,event_seq"
    );
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_owned).collect()).collect();
    // Without the entry id and seq (checked below): date, account, name, debit, credit,
    // currency, memo, reference type and id.
    let brief: Vec<String> = rows
        .iter()
        .map(|r| {
            [&r[0], &r[2], &r[3], &r[4], &r[5], &r[6], &r[7], &r[8], &r[9]]
                .map(String::as_str)
                .join("|")
        })
        .collect();
    assert_eq!(
        brief,
        [
            "2026-03-01|1100|processor clearing|40.00||USD|payment captured|order|O1",
            "2026-03-01|2100|customer deposits||40.00|USD|payment captured|order|O1",
            "2026-03-01|5100|payment fees|1.20||USD|processor fee|order|O1",
            "2026-03-01|1100|processor clearing||1.20|USD|processor fee|order|O1",
            "2026-03-02|5100|payment fees|1.50||USD|bank fee|manual|",
            "2026-03-02|1000|bank||1.50|USD|bank fee|manual|",
            "2026-03-02|1000|bank|38.80||USD|payout|payout|PO1",
            "2026-03-02|1100|processor clearing||38.80|USD|payout|payout|PO1",
        ]
    );
    // Two postings per entry, one id and one seq each, seqs growing.
    for pair in rows.chunks(2) {
        assert_eq!((&pair[0][1], &pair[0][10]), (&pair[1][1], &pair[1][10]));
        assert!(pair[0][1].starts_with("je-"), "{pair:?}");
    }
    let seqs: Vec<u64> = rows.iter().step_by(2).map(|r| r[10].parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let sum = |col: usize| {
        rows.iter().filter(|r| !r[col].is_empty()).map(|r| cents(&r[col])).sum::<i64>()
    };
    assert_eq!((sum(4), sum(5)), (8150, 8150), "Σ debit = Σ credit = 81.50");

    // One day, as JSON.
    let out = tally(
        &data,
        &["export", "journal", "--from", "2026-03-02", "--to", "2026-03-02", "--format", "json"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let objects = json.as_array().unwrap();
    assert_eq!(objects.len(), 4);
    assert_eq!(objects[2]["account"], "1000");
    assert_eq!(objects[2]["debit"], "38.80");
    assert_eq!(objects[2]["credit"], "");
    assert_eq!(objects[2]["reference_id"], "PO1");

    // A period that ends before it starts is an error.
    let out = tally(&data, &["export", "journal", "--from", "2026-03-02", "--to", "2026-03-01"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));

    // The processor's settlement: the payout's rows net to 38.80; its own row closes it.
    let out = tally(
        &data,
        &["export", "settlement", "--processor", "--from", "2026-03-01", "--to", "2026-03-02"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let brief: Vec<String> = rows
        .iter()
        .map(|r| {
            [
                r[at("settlement_id")],
                r[at("txn_type")],
                r[at("net")],
                r[at("gl_account")],
                r[at("deposit_date")],
            ]
            .join("|")
        })
        .collect();
    assert_eq!(
        brief,
        [
            "PO1|charge|40.00|1100|2026-03-02",
            "PO1|fee|-1.20|1100|2026-03-02",
            "PO1|payout|-38.80|1100|2026-03-02",
        ]
    );
    let out = tally(&data, &["export", "settlement", "--from", "2026-03-01", "--to", "2026-03-02"]);
    assert_eq!(code(&out), 2, "give --channel or --processor: {}", stderr(&out));
}

/// One HTTP request read from a loopback listener (headers lower-cased, body), answered 204.
fn receive_one(listener: &std::net::TcpListener) -> (String, String) {
    use std::io::{BufRead as _, Read as _, Write as _};
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        // Header names are case-insensitive; values (the signature) are not.
        let (name, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
        let line = format!("{}:{value}", name.to_ascii_lowercase());
        if let Some(v) = line.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let mut stream = stream;
    stream
        .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .unwrap();
    (head, String::from_utf8(body).unwrap())
}

#[test]
fn serve_refuses_a_bad_webhooks_file_and_delivers_with_a_good_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let token = init_with_token(&data);
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    std::fs::write(
        data.join("webhooks.toml"),
        format!("[[endpoint]]\nname = \"erp\"\nurl = \"http://127.0.0.1:9/\"\ntypes = [\"ordr.*\"]\nsecret = \"{secret}\"\n"),
    )
    .unwrap();
    let refused = tally(&data, &["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(code(&refused), 2);
    assert!(
        stderr(&refused).contains("type pattern 'ordr.*' matches no event type"),
        "{}",
        stderr(&refused)
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    std::fs::write(
        data.join("webhooks.toml"),
        format!("[[endpoint]]\nname = \"erp\"\nurl = \"{url}\"\ntypes = [\"channel.*\"]\nsecret = \"{secret}\"\n"),
    )
    .unwrap();
    let (child, address) = spawn_serve(&data, &[]);
    let define = r#"{"query":"mutation { submit(input: {idempotencyKey: \"c1\", json: {type: \"define_channel\", channel: \"web\", priority: \"standard\", kind: \"direct\", currency: \"USD\"}}) { lastSeq } }"}"#;
    let answer = http(&address, "POST", "/graphql", Some(&token), define);
    assert!(answer.contains("lastSeq"), "{answer}");
    let (head, body) = receive_one(&listener);
    assert!(head.contains("webhook-id: msg_"), "{head}");
    let header = |name: &str| {
        head.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned()).unwrap()
    };
    let parsed = tally_outbox::Secret::parse(secret).unwrap();
    let now_s = i64::try_from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
    )
    .unwrap();
    parsed
        .verify(
            &header("webhook-id:"),
            &header("webhook-timestamp:"),
            body.as_bytes(),
            &header("webhook-signature:"),
            now_s,
        )
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["type"], "channel.defined");
    assert_eq!(json["data"]["body"]["id"], "web");
    assert_eq!(json["data"]["seq"], 1);
    let status = stop(child);
    assert!(status.success(), "{status:?}");
    assert!(data.join("outbox").is_dir());
}

fn intake_fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tally-intake/tests/fixtures")
        .join(name)
}

fn json_of(o: &Output) -> serde_json::Value {
    serde_json::from_str(stdout(o).trim()).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn import_formats_summarise_append_once_and_refuse_invalid_files_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    init_store(&data);
    let master = tmp.path().join("master.ndjson");
    std::fs::write(
        &master,
        r#"{"type": "define_channel", "channel": "amazon-us", "priority": "standard", "kind": "marketplace", "currency": "USD", "facilitator_tax": true}
{"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}
{"type": "define_location", "location": "3PL-RENO", "kind": "warehouse", "rank": 1, "channels": ["web"]}
{"type": "define_sku", "sku": "TS-BLU-M", "lot_tracked": false, "unit_cost": {"amount": "6.40", "currency": "USD"}, "abc": "B"}
{"type": "define_sku", "sku": "MUG-WHT-11", "lot_tracked": false, "unit_cost": {"amount": "3.10", "currency": "USD"}, "abc": "C"}
{"type": "define_sku", "sku": "MASK-N95", "lot_tracked": false, "unit_cost": {"amount": "11.80", "currency": "USD"}, "abc": "A"}
{"key": "rcv-mask", "command": {"type": "receive_inventory", "location": "3PL-RENO", "sku": "MASK-N95", "qty": 950}}
"#,
    )
    .unwrap();
    let out = tally(&data, &["import", "--json", master.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json_of(&out)["accepted"], 7);

    let settlement = intake_fixture("amazon-settlement-us.tsv");
    let args = ["import", "--format", "amazon-settlement-v2", "--channel", "amazon-us", "--json"];
    let mut with_file: Vec<&str> = args.to_vec();
    with_file.push(settlement.to_str().unwrap());
    let first = tally(&data, &with_file);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let summary = json_of(&first);
    assert_eq!(summary["format"], "amazon-settlement-v2");
    assert_eq!((summary["records"].as_u64(), summary["accepted"].as_u64()), (Some(30), Some(30)));
    assert!(summary["events"].as_u64().unwrap() > 30);
    let head = head_seq(&data);
    let again = tally(&data, &with_file);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    let summary = json_of(&again);
    assert_eq!((summary["duplicates"].as_u64(), summary["events"].as_u64()), (Some(30), Some(0)));
    assert_eq!(head_seq(&data), head);

    // The export rows carry sku and quantity.
    let csv = tally(
        &data,
        &[
            "export",
            "settlement",
            "--channel",
            "amazon-us",
            "--from",
            "2026-02-01",
            "--to",
            "2026-03-31",
        ],
    );
    assert_eq!(code(&csv), 0, "{}", stderr(&csv));
    let text = stdout(&csv);
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let row = text.lines().find(|l| l.contains(",39.98,")).unwrap();
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!((cells[at("sku")], cells[at("quantity")]), ("TS-BLU-M", "2"), "{row}");
    assert_eq!(text.lines().count(), 29, "a header and 28 money lines");

    // A total that is not Σ amounts: exit 2, both numbers named, nothing appended.
    let bad = intake_fixture("amazon-settlement-total-mismatch.tsv");
    let mut with_bad: Vec<&str> = args[..5].to_vec();
    with_bad.push(bad.to_str().unwrap());
    let refused = tally(&data, &with_bad);
    assert_eq!(code(&refused), 2, "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("13.03") && stderr(&refused).contains("13.02"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(head_seq(&data), head);
    let unknown = tally(&data, &["import", "--format", "csv", settlement.to_str().unwrap()]);
    assert_eq!(code(&unknown), 2);
    assert!(stderr(&unknown).contains("amazon-settlement-v2"), "{}", stderr(&unknown));

    // A snapshot counted an hour ago: one row of an unknown SKU is rejected (exit 1) with its
    // source id; the matching row is recorded.
    let as_of =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
            - 3600;
    let snapshot = tmp.path().join("snapshot.csv");
    std::fs::write(
        &snapshot,
        format!("sku,lot,expiry,quantity,as_of\nMASK-N95,,,950,{as_of_text}\nSYR-10ML-LL,LOT-88,2028-01-31,300,{as_of_text}\n",
            as_of_text = tally_domain::time::Timestamp::from_millis(i64::try_from(as_of).unwrap() * 1000).to_rfc3339()),
    )
    .unwrap();
    let out = tally(
        &data,
        &[
            "import",
            "--format",
            "stock-snapshot-csv",
            "--location",
            "3PL-RENO",
            snapshot.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("record 2 (line 3 sku SYR-10ML-LL lot LOT-88): UNKNOWN_SKU"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("2 records: 1 accepted, 0 duplicates, 1 rejected (UNKNOWN_SKU 1)"),
        "{}",
        stdout(&out)
    );
}
