//! The auditor's commands against a running server: `verify`, `verify --against`, `export
//! --bundle` (then an offline `verify-bundle`), `replay --check` and an online `replay --view`
//! all succeed while a client appends commands, and no append fails; offline mode without a
//! server; and a clear refusal when the address file is stale.

use crate::cli::{code, tally};
use crate::served::{Served, graphql};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

const SEED: &str = r#"{"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}
{"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["web"]}
{"type": "define_sku", "sku": "A", "lot_tracked": false, "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "B"}
{"key": "rcv-0", "command": {"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 10}, "source": "wms/WH1/asn-0", "actor": "wms", "occurred_at": "2026-03-01T09:00:00Z"}
"#;

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// `tally` with the token in `TALLY_TOKEN` (as an auditor would run it).
fn tally_with(data: &Path, token: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("TALLY_DATA")
        .env("TALLY_TOKEN", token)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// A store with the seed imported; the admin token.
fn seeded(data: &Path, scratch: &Path) -> String {
    let init = tally(data, &["init"]);
    assert_eq!(code(&init), 0, "{}", text(&init));
    let token = String::from_utf8_lossy(&init.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("admin API token (shown once, stored hashed in tokens.toml): ")
        })
        .unwrap()
        .to_owned();
    let file = scratch.join("seed.ndjson");
    std::fs::write(&file, SEED).unwrap();
    let out = tally(data, &["import", file.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    token
}

#[test]
fn auditor_commands_succeed_against_a_running_server_while_commands_are_appended() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let token = seeded(&data, tmp.path());
    let served = Served::start(&data, &[]);
    let address_file = data.join("server.json");
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&address_file).unwrap()).unwrap();
    assert_eq!(recorded["url"], format!("http://{}", served.address));
    assert_eq!(recorded["pid"], served.pid());
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&address_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A checkpoint saved before the appends start (through the server: the store is locked).
    let saved = tmp.path().join("saved.checkpoint");
    let out = tally_with(&data, &token, &["checkpoint", "--out", saved.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", text(&out));

    // A client appends receipts, one command per request, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let (accepted, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let appender = {
        let (stop, accepted, failed) = (stop.clone(), accepted.clone(), failed.clone());
        let (address, token) = (served.address.clone(), token.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let answer = graphql(
                    &address,
                    Some(&token),
                    "mutation Receive($key: String!) { submit(input: {idempotencyKey: $key, \
                     json: {type: \"receive_inventory\", location: \"WH1\", sku: \"A\", qty: 1}}) \
                     { lastSeq userErrors { code } } }",
                    serde_json::json!({ "key": format!("append-{n}") }),
                );
                let json = answer.json();
                let ok = answer.status == 200
                    && json.get("errors").is_none()
                    && json["data"]["submit"]["userErrors"].as_array().is_some_and(Vec::is_empty)
                    && json["data"]["submit"]["lastSeq"].is_string();
                if ok { &accepted } else { &failed }.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let wait_for_appends = |at_least: u64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while accepted.load(Ordering::Relaxed) < at_least && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    wait_for_appends(5);

    let verify = tally_with(&data, &token, &["verify"]);
    assert_eq!(code(&verify), 0, "{}", text(&verify));
    let verify_text = text(&verify);
    assert!(verify_text.contains("events verified (chain, merkle tree, indexes)"), "{verify_text}");
    assert!(verify_text.contains("views: "), "{verify_text}");

    let against = tally_with(&data, &token, &["verify", "--against", saved.to_str().unwrap()]);
    assert_eq!(code(&against), 0, "{}", text(&against));
    assert!(
        text(&against).contains("the log contains what checkpoint of size"),
        "{}",
        text(&against)
    );

    let bundle = tmp.path().join("bundle");
    let export = tally_with(&data, &token, &["export", "--bundle", bundle.to_str().unwrap()]);
    assert_eq!(code(&export), 0, "{}", text(&export));
    assert!(text(&export).starts_with(&format!("bundle written to {}: ", bundle.display())));
    // Offline, with nothing but the bundle and the checkpoint saved earlier.
    let offline = tally(
        tmp.path(),
        &["verify-bundle", bundle.to_str().unwrap(), "--trusted", saved.to_str().unwrap()],
    );
    assert_eq!(code(&offline), 0, "{}", text(&offline));
    assert!(text(&offline).contains("the bundle's log extends the trusted checkpoint"));

    wait_for_appends(accepted.load(Ordering::Relaxed) + 5);
    let check = tally_with(&data, &token, &["replay", "--check"]);
    assert_eq!(code(&check), 0, "{}", text(&check));
    assert!(text(&check).contains("views equal a rebuild from the log"), "{}", text(&check));

    let rebuild = tally_with(&data, &token, &["replay", "--view", "inventory"]);
    assert_eq!(code(&rebuild), 0, "{}", text(&rebuild));
    assert!(text(&rebuild).starts_with("rebuilt inventory: generation "), "{}", text(&rebuild));

    let proof = tally_with(&data, &token, &["proof", "--seq", "1"]);
    assert_eq!(code(&proof), 0, "{}", text(&proof));
    let proof: serde_json::Value = serde_json::from_slice(&proof.stdout).unwrap();
    assert_eq!(proof["kind"], "inclusion");
    assert_eq!(proof["proof"]["index"], 0);

    // The exports read the views of the served store; a past window, so that the appends
    // going on do not change them, and the offline run after the stop must match byte for byte.
    let journal_args = ["export", "journal", "--from", "2026-03-01", "--to", "2026-03-02"];
    let settlement_args = [
        "export",
        "settlement",
        "--channel",
        "web",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--format",
        "json",
    ];
    let journal_served = tally_with(&data, &token, &journal_args);
    assert_eq!(code(&journal_served), 0, "{}", text(&journal_served));
    let journal = String::from_utf8_lossy(&journal_served.stdout).into_owned();
    assert!(journal.starts_with("date,entry_id,account"), "{journal}");
    assert!(journal.lines().count() >= 3, "the seed receipt's entry has two postings: {journal}");
    let settlement_served = tally_with(&data, &token, &settlement_args);
    assert_eq!(code(&settlement_served), 0, "{}", text(&settlement_served));

    stop.store(true, Ordering::Relaxed);
    appender.join().unwrap();
    let (accepted, failed) = (accepted.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert!(accepted > 10, "only {accepted} appends were accepted");
    assert_eq!(failed, 0, "{failed} appends failed while the operations ran");

    let (status, output) = served.stop();
    assert!(status.success(), "{output}");
    assert!(!address_file.exists(), "the address file is removed at a clean shutdown");
    // Everything appended is in the log, which verifies offline again.
    let offline = tally(&data, &["verify"]);
    assert_eq!(code(&offline), 0, "{}", text(&offline));
    assert_eq!(tally(&data, &journal_args).stdout, journal_served.stdout);
    assert_eq!(tally(&data, &settlement_args).stdout, settlement_served.stdout);
    let events = tally(&data, &["replay", "--print"]);
    let receipts = String::from_utf8_lossy(&events.stdout)
        .lines()
        .filter(|l| l.contains("\"type\":\"inventory.received\""))
        .count() as u64;
    assert_eq!(receipts, accepted + 1, "the seed's receipt and every accepted one");
}

#[test]
fn without_a_server_the_commands_open_the_store_offline_and_need_no_token() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    seeded(&data, tmp.path());
    assert!(!data.join("server.json").exists());
    for args in [&["verify"][..], &["replay", "--check"], &["checkpoint"], &["proof", "--seq", "1"]]
    {
        let out = tally(&data, args);
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out));
    }
    let bundle = tmp.path().join("bundle");
    let out = tally(&data, &["export", "--bundle", bundle.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let key = tmp.path().join("key.pub");
    std::fs::copy(bundle.join("key.pub"), &key).unwrap();
    let out = tally(
        tmp.path(),
        &["verify-bundle", bundle.to_str().unwrap(), "--key", key.to_str().unwrap()],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
}

/// Holds the store's lock as a running server would (fjall locks `log/lock` with an
/// exclusive file lock).
fn lock_store(data: &Path) -> std::fs::File {
    let file = std::fs::OpenOptions::new().write(true).open(data.join("log").join("lock")).unwrap();
    file.lock().unwrap();
    file
}

#[test]
fn a_locked_store_with_a_stale_or_missing_address_file_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let token = seeded(&data, tmp.path());
    let _lock = lock_store(&data);

    // No address file: the store is in use, and the message says what to do.
    let out = tally_with(&data, &token, &["verify"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("records no server address"), "{}", text(&out));
    assert!(text(&out).contains("--server"), "{}", text(&out));

    // The recorded server's process is gone.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let write = |pid: u32, url: &str| {
        let body =
            serde_json::json!({"url": url, "pid": pid, "started_at": "2026-12-07T10:00:00Z"});
        std::fs::write(data.join("server.json"), body.to_string()).unwrap();
    };
    write(dead_pid, "http://127.0.0.1:9");
    let out = tally_with(&data, &token, &["replay", "--check"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("the address file is stale"), "{}", text(&out));
    assert!(text(&out).contains("--server"), "{}", text(&out));

    // A live process that is not the one holding the store (the lock is this test's).
    let mut other = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    write(other.id(), "http://127.0.0.1:9");
    let out = tally_with(&data, &token, &["verify"]);
    other.kill().unwrap();
    other.wait().unwrap();
    assert_eq!(code(&out), 2, "{}", text(&out));
    let expected =
        format!("is locked by process {}, not by the server recorded", std::process::id());
    assert!(text(&out).contains(&expected), "{}", text(&out));
    assert!(text(&out).contains("the address file is stale"), "{}", text(&out));

    // A live process, but nothing listens at the address (a port just released).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    write(std::process::id(), &format!("http://127.0.0.1:{port}"));
    let out =
        tally_with(&data, &token, &["export", "--bundle", tmp.path().join("b").to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("which does not answer"), "{}", text(&out));
    assert!(!tmp.path().join("b").exists(), "nothing is written");

    // No token: which role is needed.
    let out = tally(&data, &["verify"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("needs an API token of role admin or auditor"), "{}", text(&out));
    assert!(!text(&out).contains(&token));
}
