//! Security of the `tally` binary: the store is owner-only, and no secret reaches its output.
//!
//! The CLI's trust model: it works on the data directory directly, so whoever can read the
//! directory can read the ledger key and whoever can write it can rewrite history (and
//! `verify` detects it against a saved checkpoint). Access control is the file system: `init`
//! makes the directory 0700 and `ledger.key` and `tokens.toml` 0600, and every command that
//! reads the key (or `serve`, the token file) refuses one that group or others may use.

use crate::served::{self, Served, WebSocket};
use serde_json::json;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

fn tally(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tally"));
    command
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("TALLY_DATA")
        .env_remove("RUST_LOG")
        .env_remove("TALLY_API_TOKENS")
        .env_remove("TALLY_API_TOKENS_FILE");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A request to send: path, headers, body (GET when empty).
type Ask = (String, Vec<(String, String)>, String);

const INIT_TOKEN_PREFIX: &str = "admin API token (shown once, stored hashed in tokens.toml): ";

#[test]
fn init_makes_the_store_owner_only_and_commands_refuse_open_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("new").join("store");
    let init = tally(&data, &["init"], &[]);
    assert!(init.status.success(), "{}", text(&init));
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("ledger.key")), 0o600, "the ledger key");
    assert_eq!(mode(&data.join("tokens.toml")), 0o600, "the token file");

    // A key file group or others may read is refused by every command that reads it.
    for open in [0o640, 0o604, 0o660] {
        chmod(&data.join("ledger.key"), open);
        for args in [&["verify"][..], &["checkpoint"], &["serve", "--listen", "127.0.0.1:0"]] {
            let out = tally(&data, args, &[]);
            assert_eq!(out.status.code(), Some(2), "{args:?} with a {open:o} key: {}", text(&out));
            assert!(text(&out).contains("readable by group or others"), "{}", text(&out));
        }
    }
    chmod(&data.join("ledger.key"), 0o600);
    assert!(tally(&data, &["verify"], &[]).status.success());

    // A token file others may write would let them give themselves any role.
    for open in [0o644, 0o620, 0o606] {
        chmod(&data.join("tokens.toml"), open);
        let out = tally(&data, &["serve", "--listen", "127.0.0.1:0"], &[]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains("chmod 600"), "{}", text(&out));
    }
    chmod(&data.join("tokens.toml"), 0o600);

    // Regression (issue 12, item 7a): the same rule for a file named by TALLY_API_TOKENS_FILE,
    // which used to be accepted at 0666.
    let elsewhere = data.parent().unwrap().join("api-tokens.toml");
    std::fs::copy(data.join("tokens.toml"), &elsewhere).unwrap();
    let env = [("TALLY_API_TOKENS_FILE", elsewhere.to_str().unwrap())];
    for open in [0o666, 0o644, 0o640, 0o602] {
        chmod(&elsewhere, open);
        let out = tally(&data, &["serve", "--listen", "127.0.0.1:0"], &env);
        assert_eq!(out.status.code(), Some(2), "{open:o}: {}", text(&out));
        assert!(text(&out).contains("api-tokens.toml' has mode"), "{}", text(&out));
        assert!(text(&out).contains("chmod 600"), "{}", text(&out));
    }
    chmod(&elsewhere, 0o600);
    let server = Served::start(&data, &env);
    let (status, output) = server.stop();
    assert!(status.success(), "{output}");
}

/// `/metrics` access: anonymous on loopback by default, `metrics_access` in tally.toml, and
/// `serve --metrics-access` over it (issue 12, item 7c; the non-loopback case is tested in
/// tally-api, where the peer address can be set).
#[test]
fn metrics_access_follows_tally_toml_and_the_serve_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let init = tally(&data, &["init"], &[]);
    assert!(init.status.success(), "{}", text(&init));
    let stdout = String::from_utf8_lossy(&init.stdout).into_owned();
    let admin = stdout.lines().find_map(|l| l.strip_prefix(INIT_TOKEN_PREFIX)).unwrap().to_owned();
    let config = std::fs::read_to_string(data.join("tally.toml")).unwrap();
    assert!(config.contains("metrics_access = \"loopback\""), "{config}");
    let bearer = format!("Bearer {admin}");
    let scrape = |address: &str, token: bool| {
        let headers: Vec<(&str, &str)> =
            if token { vec![("Authorization", bearer.as_str())] } else { vec![] };
        served::request(address, "GET", "/metrics", &headers, b"").unwrap().status
    };

    let server = Served::start(&data, &[]);
    assert_eq!(scrape(&server.address, false), 200, "anonymous from loopback by default");
    assert!(server.stop().0.success());

    std::fs::write(data.join("tally.toml"), config.replace("\"loopback\"", "\"token\"")).unwrap();
    let server = Served::start(&data, &[]);
    assert_eq!(scrape(&server.address, false), 401, "tally.toml asks for a token");
    assert_eq!(scrape(&server.address, true), 200);
    assert!(server.stop().0.success());

    let server = Served::start_with(&data, &["--metrics-access", "anonymous"], &[]);
    assert_eq!(scrape(&server.address, false), 200, "the flag overrides tally.toml");
    assert!(server.stop().0.success());

    let bad = tally(&data, &["serve", "--metrics-access", "everyone"], &[]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("expected loopback, token or anonymous"), "{}", text(&bad));
}

/// Standard base64 with padding, both ways (the key file's encoding).
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_decode(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = u32::try_from(B64.iter().position(|b| *b == c).unwrap()).unwrap();
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push(u8::try_from((bits >> n) & 0xff).unwrap());
        }
    }
    out
}

fn base64_encode(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[usize::try_from((v >> (18 - 6 * i)) & 63).unwrap()]));
        }
        if pad {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every form in which a secret of the store could leak: the tokens and their hashes, the
/// key file's text, its base64 key, and the raw key bytes in hex and base64 (both alphabets).
fn secret_forms(data: &Path, tokens: &[&str]) -> Vec<String> {
    let mut forms = Vec::new();
    for token in tokens {
        forms.push((*token).to_owned());
        forms.push(blake3::hash(token.as_bytes()).to_hex().to_string());
        // A token's random part alone.
        forms.push(token.trim_start_matches("tly_").to_owned());
    }
    let file = std::fs::read_to_string(data.join("tokens.toml")).unwrap();
    for line in file.lines().filter_map(|l| l.strip_prefix("blake3 = ")) {
        forms.push(line.trim_matches('"').to_owned());
    }
    let key = std::fs::read_to_string(data.join("ledger.key")).unwrap();
    let key = key.trim_end();
    forms.push(key.to_owned());
    // `PRIVATE+KEY+<name>+<hex id>+<base64>`; the base64 may itself hold a '+'.
    let encoded = key.strip_prefix("PRIVATE+KEY+").unwrap().splitn(3, '+').nth(2).unwrap();
    forms.push(encoded.to_owned());
    let raw = base64_decode(encoded);
    assert_eq!(raw.len(), 33, "algorithm byte and the 32-byte ed25519 seed");
    let url: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for bytes in [&raw[..], &raw[1..]] {
        forms.push(hex(bytes));
        forms.push(hex(bytes).to_uppercase());
        forms.push(base64_encode(bytes, B64, true).trim_end_matches('=').to_owned());
        forms.push(base64_encode(bytes, url, false));
        // The Debug form of a byte array: `[12, 34, …]`, first few bytes.
        forms.push(format!("{:?}", &bytes[..8]).trim_end_matches(']').to_owned());
    }
    forms.retain(|f| f.len() >= 16);
    forms
}

fn assert_no_secret(what: &str, output: &str, forms: &[String]) {
    for form in forms {
        assert!(!output.contains(form.as_str()), "{what} shows a secret ({form}):\n{output}");
    }
}

#[test]
fn no_token_hash_or_key_byte_reaches_the_output_even_at_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let trace = [("RUST_LOG", "trace")];
    let init = tally(&data, &["init"], &trace);
    assert!(init.status.success(), "{}", text(&init));
    let stdout = String::from_utf8_lossy(&init.stdout).into_owned();
    let admin = stdout.lines().find_map(|l| l.strip_prefix(INIT_TOKEN_PREFIX)).unwrap().to_owned();
    // Shown exactly once, on stdout, by design; nowhere else.
    assert_eq!(stdout.matches(admin.as_str()).count(), 1, "{stdout}");
    let stderr = String::from_utf8_lossy(&init.stderr).into_owned();
    assert!(stderr.contains("TRACE") || stderr.contains("DEBUG"), "RUST_LOG=trace is honoured");

    // A second token, added to the file as an operator would.
    let second = "tly_second0123456789abcdef0123456789abcdef";
    let mut file = std::fs::read_to_string(data.join("tokens.toml")).unwrap();
    file.push_str(&format!(
        "[[tokens]]\nname = \"ops\"\nrole = \"operator\"\nblake3 = \"{}\"\n",
        blake3::hash(second.as_bytes()).to_hex()
    ));
    std::fs::write(data.join("tokens.toml"), file).unwrap();
    let forms = secret_forms(&data, &[&admin, second]);
    assert_no_secret("init's stderr", &stderr, &forms);
    let init_rest = stdout.replace(&format!("{INIT_TOKEN_PREFIX}{admin}"), "");
    assert_no_secret("init's stdout besides the token line", &init_rest, &forms);

    // Every other command, at trace.
    let commands = tmp.path().join("commands.ndjson");
    std::fs::write(
        &commands,
        "{\"type\": \"define_channel\", \"channel\": \"web\", \"priority\": \"standard\", \"kind\": \"direct\", \"currency\": \"USD\"}\n\
         {\"type\": \"define_location\", \"location\": \"WH1\", \"kind\": \"warehouse\", \"rank\": 1, \"channels\": [\"web\"]}\n\
         {\"type\": \"define_sku\", \"sku\": \"A\", \"lot_tracked\": false, \"unit_cost\": {\"amount\": \"4.00\", \"currency\": \"USD\"}, \"abc\": \"B\"}\n\
         {\"type\": \"receive_inventory\", \"location\": \"WH1\", \"sku\": \"NOPE\", \"qty\": 1}\n",
    )
    .unwrap();
    let bundle = tmp.path().join("bundle");
    let cp = tmp.path().join("cp.txt");
    let runs: Vec<Vec<&str>> = vec![
        vec!["import", commands.to_str().unwrap()],
        vec!["verify"],
        vec!["checkpoint", "--out", cp.to_str().unwrap()],
        vec!["verify", "--against", cp.to_str().unwrap()],
        vec!["export", "--bundle", bundle.to_str().unwrap()],
        vec!["verify-bundle", bundle.to_str().unwrap(), "--trusted", cp.to_str().unwrap()],
        vec!["proof", "--seq", "1"],
        vec!["replay", "--print"],
        vec!["replay"],
        vec!["init"],
    ];
    for args in &runs {
        let out = tally(&data, args, &trace);
        assert_no_secret(&format!("tally {args:?}"), &text(&out), &forms);
    }
    // Nor does the bundle hold the private key.
    for entry in std::fs::read_dir(&bundle).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert_no_secret(&path.display().to_string(), &String::from_utf8_lossy(&bytes), &forms);
        }
    }

    // The server, at trace (naming the chatty third-party crates too: they stay capped),
    // asked every which way.
    let server_trace = [(
        "RUST_LOG",
        "trace,tungstenite=trace,tokio_tungstenite=trace,async_graphql=trace,hyper=trace,axum=trace",
    )];
    let server = Served::start(&data, &server_trace);
    let address = server.address.clone();
    let mut answers = Vec::new();
    let query = r#"{"query": "{ whoami { name role } head { seq } }"}"#;
    let bearer = format!("Bearer {admin}");
    let asked: Vec<Ask> = vec![
        ("/graphql".into(), vec![("Authorization".into(), bearer.clone())], query.into()),
        ("/graphql".into(), vec![("Authorization".into(), format!("Bearer {second}"))], query.into()),
        ("/graphql".into(), vec![("Authorization".into(), format!("Bearer {second}x"))], query.into()),
        ("/graphql".into(), vec![("Authorization".into(), format!("Basic {admin}"))], query.into()),
        ("/graphql".into(), vec![("Authorization".into(), format!("Token {second}"))], query.into()),
        (format!("/graphql?token={admin}&access_token={second}"), vec![], query.into()),
        ("/graphql".into(), vec![("X-Api-Key".into(), admin.clone()), ("Cookie".into(), format!("token={second}"))], query.into()),
        ("/graphql".into(), vec![("Authorization".into(), bearer.clone())],
         r#"{"query": "mutation { submit(input: {idempotencyKey: \"m1\", json: {type: \"receive_inventory\", location: \"WH1\", sku: \"A\", qty: 3}}) { lastSeq } }"}"#.into()),
        ("/graphql".into(), vec![("Authorization".into(), format!("Bearer {second}"))],
         r#"{"query": "mutation { submit(input: {idempotencyKey: \"m2\", json: {type: \"receive_inventory\", location: \"WH1\", sku: \"NOPE\", qty: 3}}) { lastSeq } }"}"#.into()),
        ("/graphql".into(), vec![("Authorization".into(), bearer.clone())], r#"{"query": "{ head { nope "}"#.into()),
        ("/graphql".into(), vec![("Authorization".into(), bearer.clone())], "{not json".into()),
        ("/graphql".into(), vec![("Authorization".into(), bearer.clone())], r#"{"query": "{ verify { ok } checkpoints { size } latestCheckpoint { text } }"}"#.into()),
        (format!("/nope?token={admin}"), vec![("Authorization".into(), bearer.clone())], String::new()),
        ("/metrics".into(), vec![], String::new()),
        ("/readyz".into(), vec![], String::new()),
    ];
    for (path, headers, body) in &asked {
        let headers: Vec<(&str, &str)> =
            headers.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let method = if body.is_empty() { "GET" } else { "POST" };
        let answer = served::request(&address, method, path, &headers, body.as_bytes()).unwrap();
        answers.push((path.clone(), answer));
    }
    // Regression (issue 12, item 3): the token in a graphql-ws connection_init payload was
    // printed by the websocket layer's trace output ("Received message …").
    let mut ws_answers = Vec::new();
    for (token, key) in [(&admin, "authorization"), (&second.to_owned(), "Authorization")] {
        let mut ws = WebSocket::connect(&address);
        ws.send(&json!({"type": "connection_init", "payload": {key: format!("Bearer {token}")}}));
        assert_eq!(ws.receive().unwrap()["type"], "connection_ack");
        ws.send(&json!({"id": "1", "type": "subscribe", "payload": {"query": "{ whoami { name role } }"}}));
        let next = ws.receive().unwrap();
        assert_eq!(next["type"], "next", "{next}");
        ws_answers.push(next["payload"]["data"]["whoami"]["name"].clone());
        assert_eq!(ws.receive().unwrap()["type"], "complete");
    }
    assert_eq!(ws_answers, [json!("admin"), json!("ops")]);
    let mut refused = WebSocket::connect(&address);
    refused.send(&json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {second}x")}}));
    let closed = refused.receive();
    assert!(closed.is_none(), "an invalid token closes the connection: {closed:?}");

    let (status, output) = server.stop();
    assert!(status.success(), "{output}");
    assert!(output.contains("TRACE") && output.contains("request"), "the server logged at trace");
    assert_no_secret("tally serve at trace", &output, &forms);
    // Answers never echo a secret either (the query-string case included).
    for (path, answer) in &answers {
        let what = format!("the answer to {}", path.split('?').next().unwrap());
        assert_no_secret(&what, &answer.body, &forms);
    }
    let who = answers[0].1.json();
    assert_eq!(who["data"]["whoami"]["role"], "ADMIN", "{who}");
    assert_eq!(answers[1].1.json()["data"]["whoami"]["name"], "ops");
    for i in [2, 3, 4, 5, 6] {
        assert_eq!(answers[i].1.code().as_deref(), Some("UNAUTHENTICATED"), "{:?}", answers[i]);
    }
}
