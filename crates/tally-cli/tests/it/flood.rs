//! A bounded flood of hostile requests against the real `tally serve` on loopback, while a
//! probe keeps asking `/healthz` and a normal ATS query.
//!
//! Every hostile request must get a definite refusal (an HTTP 413/400, or a GraphQL error
//! with a `code`), every probe must succeed with the right answer, nothing may be appended,
//! and the server's resident memory must stay bounded. Probe latency and the hostile request
//! rate are printed, not asserted (beyond a generous liveness bound).
//!
//! `TALLY_FLOOD_SECS` (default 3) sets how long the flood lasts; `TALLY_FLOOD_CLIENTS`
//! (default 4) how many hostile clients send at once.

use crate::served::{self, Served};
use serde_json::json;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ADMIN: &str = "tly_flood_admin_0123456789";
const VIEWER: &str = "tly_flood_viewer_0123456789";

/// No probe may take longer than this (liveness, not performance).
const PROBE_LIVENESS: Duration = Duration::from_secs(20);

/// Resident memory may grow by at most this much over the flood.
const RSS_GROWTH_MAX_KIB: u64 = 768 << 10;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One kind of hostile request: its body, its token, and the refusal it must get.
struct Hostile {
    name: &'static str,
    token: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    codes: &'static [&'static str],
}

fn query_body(query: &str, variables: &serde_json::Value) -> Vec<u8> {
    json!({ "query": query, "variables": variables }).to_string().into_bytes()
}

fn hostile_requests() -> Vec<Hostile> {
    let limit: &[&str] = &["LIMIT_EXCEEDED"];
    let invalid: &[&str] = &["INVALID_INPUT"];
    let none = json!({});
    let mut out = Vec::new();
    // Over the 4 MiB body limit.
    let padding = "x".repeat(5 << 20);
    out.push(Hostile {
        name: "oversized body",
        token: Some(ADMIN),
        body: query_body("{ head { seq } }", &json!({ "padding": padding })),
        status: 413,
        codes: &[],
    });
    // Nested past the parser's recursion limit.
    let n = 20_000;
    out.push(Hostile {
        name: "deep nesting (20 000)",
        token: Some(ADMIN),
        body: query_body(&format!("{{{}seq{}}}", "head{".repeat(n), "}".repeat(n)), &none),
        status: 200,
        codes: invalid,
    });
    // Parseable but deeper than the depth limit (12).
    out.push(Hostile {
        name: "too deep (20)",
        token: Some(ADMIN),
        body: query_body(
            &format!(
                "{{ __schema {{ types {{ fields {{ type {} name {} }} }} }} }}",
                "ofType { ".repeat(16),
                "} ".repeat(16)
            ),
            &none,
        ),
        status: 200,
        codes: limit,
    });
    // Fragments that double at each level: 2^40 fields once expanded, in 2 KB.
    let mut bomb = String::from("query { ...F40 }\nfragment F0 on Query { head { seq } }\n");
    for i in 1..=40 {
        bomb.push_str(&format!("fragment F{i} on Query {{ ...F{} ...F{} }}\n", i - 1, i - 1));
    }
    out.push(Hostile {
        name: "fragment bomb",
        token: Some(ADMIN),
        body: query_body(&bomb, &none),
        status: 200,
        codes: limit,
    });
    // Many aliases: 6000 × 3 fields, over the complexity limit, under the text limit.
    let aliases: String = (0..6000).map(|i| format!("a{i}: head {{ seq hash }} ")).collect();
    out.push(Hostile {
        name: "6000 aliases",
        token: Some(ADMIN),
        body: query_body(&format!("{{ {aliases} }}"), &none),
        status: 200,
        codes: limit,
    });
    // A query text over 256 KiB.
    let long: String = (0..20_000).map(|i| format!("b{i}: head {{ seq }} ")).collect();
    out.push(Hostile {
        name: "query text > 256 KiB",
        token: Some(ADMIN),
        body: query_body(&format!("{{ {long} }}"), &none),
        status: 200,
        codes: limit,
    });
    // Wide and complex: full pages of events, several times.
    let page = "events(first: 500) { edges { cursor node { seq stream streamVersion type schemaVersion id correlationId causationId occurredAt recordedAt source actor hash prevHash payload } } }";
    let wide: String = (0..4).map(|i| format!("p{i}: {page} ")).collect();
    out.push(Hostile {
        name: "wide pages",
        token: Some(ADMIN),
        body: query_body(&format!("{{ {wide} }}"), &none),
        status: 200,
        codes: limit,
    });
    // A huge variable list: 30 000 commands for submitMany (limit 1000).
    let inputs: Vec<_> = (0..30_000)
        .map(|i| json!({"idempotencyKey": format!("flood-{i}"), "json": {"type": "validate_order", "order": "NOPE"}}))
        .collect();
    out.push(Hostile {
        name: "30 000 variables",
        token: Some(ADMIN),
        body: query_body(
            "mutation($i: [SubmitInput!]!) { submitMany(inputs: $i) { lastSeq } }",
            &json!({ "i": inputs }),
        ),
        status: 200,
        codes: limit,
    });
    // A batch of 1000 operations (limit 16).
    let batch: Vec<_> = (0..1000).map(|_| json!({"query": "{ head { seq } }"})).collect();
    out.push(Hostile {
        name: "batch of 1000",
        token: Some(ADMIN),
        body: serde_json::to_vec(&batch).unwrap(),
        status: 400,
        codes: limit,
    });
    // JSON nested 100 000 deep.
    out.push(Hostile {
        name: "deep JSON",
        token: Some(ADMIN),
        body: "[".repeat(100_000).into_bytes(),
        status: 400,
        codes: invalid,
    });
    // No token, and a viewer asking for the log.
    out.push(Hostile {
        name: "anonymous",
        token: None,
        body: query_body(&format!("{{ {page} }}"), &none),
        status: 200,
        codes: &["UNAUTHENTICATED"],
    });
    out.push(Hostile {
        name: "forbidden",
        token: Some(VIEWER),
        body: query_body("{ verify { ok } }", &none),
        status: 200,
        codes: &["FORBIDDEN"],
    });
    out
}

fn import_sample(data: &std::path::Path, scratch: &std::path::Path) {
    let tally = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tally"))
            .arg("--data")
            .arg(data)
            .args(args)
            .env_remove("TALLY_DATA")
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    assert!(tally(&["init"]).status.success());
    let file = scratch.join("commands.ndjson");
    std::fs::write(
        &file,
        "{\"type\": \"define_channel\", \"channel\": \"web\", \"priority\": \"standard\", \"kind\": \"direct\", \"currency\": \"USD\"}\n\
         {\"type\": \"define_location\", \"location\": \"WH1\", \"kind\": \"warehouse\", \"rank\": 1, \"channels\": [\"web\"]}\n\
         {\"type\": \"define_sku\", \"sku\": \"A\", \"lot_tracked\": false, \"unit_cost\": {\"amount\": \"4.00\", \"currency\": \"USD\"}, \"abc\": \"B\"}\n\
         {\"type\": \"receive_inventory\", \"location\": \"WH1\", \"sku\": \"A\", \"qty\": 10}\n\
         {\"type\": \"set_safety_stock\", \"location\": \"WH1\", \"sku\": \"A\", \"qty\": 3}\n",
    )
    .unwrap();
    let out = tally(&["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

#[test]
fn hostile_requests_are_refused_while_the_server_stays_responsive() {
    let seconds = env_number("TALLY_FLOOD_SECS", 3);
    let clients = usize::try_from(env_number("TALLY_FLOOD_CLIENTS", 4)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    import_sample(&data, tmp.path());
    let tokens = format!("admin:admin:{ADMIN},viewer:viewer:{VIEWER}");
    let server = Served::start(&data, &[("TALLY_API_TOKENS", &tokens)]);
    let address = server.address.clone();
    let head_query = "{ head { seq } }";
    let head_before = served::graphql(&address, Some(ADMIN), head_query, json!({})).json();
    let rss_before = server.rss_kib();

    let hostile = Arc::new(hostile_requests());
    let flood_started = Instant::now();
    let deadline = flood_started + Duration::from_secs(seconds);
    let senders: Vec<_> = (0..clients)
        .map(|c| {
            let (hostile, address) = (hostile.clone(), address.clone());
            std::thread::spawn(move || {
                let mut sent = vec![(0u64, Duration::ZERO); hostile.len()];
                let mut i = c;
                // Until the deadline, and at least once through every kind.
                while Instant::now() < deadline || i < c + hostile.len() {
                    let k = i % hostile.len();
                    let h = &hostile[k];
                    let auth = h.token.map(|t| format!("Bearer {t}"));
                    let headers: Vec<(&str, &str)> =
                        auth.as_deref().map(|a| vec![("Authorization", a)]).unwrap_or_default();
                    let started = Instant::now();
                    let answer = served::request(&address, "POST", "/graphql", &headers, &h.body)
                        .unwrap_or_else(|e| panic!("{}: no answer: {e}", h.name));
                    assert_eq!(
                        answer.status,
                        h.status,
                        "{}: {}",
                        h.name,
                        &answer.body[..answer.body.len().min(300)]
                    );
                    if !h.codes.is_empty() {
                        let code = answer.code();
                        assert!(
                            code.as_deref().is_some_and(|c| h.codes.contains(&c)),
                            "{}: code {code:?}: {}",
                            h.name,
                            &answer.body[..answer.body.len().min(300)]
                        );
                        let data = &answer.json()["data"];
                        assert!(data.is_null() || data.get("submitMany").is_none(), "{}", h.name);
                    }
                    sent[k].0 += 1;
                    sent[k].1 += started.elapsed();
                    i += 1;
                }
                sent
            })
        })
        .collect();

    // The probe: /healthz and a normal ATS query, in turn, until the flood ends.
    let mut latencies = Vec::new();
    let mut rss_max = rss_before;
    let mut n = 0u64;
    while !senders.iter().all(std::thread::JoinHandle::is_finished) || latencies.is_empty() {
        let started = Instant::now();
        if n.is_multiple_of(2) {
            let answer = served::request(&address, "GET", "/healthz", &[], b"").unwrap();
            assert_eq!((answer.status, answer.body.as_str()), (200, "ok\n"), "healthz");
        } else {
            let answer = served::graphql(
                &address,
                Some(VIEWER),
                "{ ats(sku: \"A\", channel: \"web\") { ats } }",
                json!({}),
            );
            assert_eq!(answer.status, 200);
            assert_eq!(answer.json()["data"]["ats"]["ats"], "7", "{}", answer.body);
        }
        let took = started.elapsed();
        assert!(took < PROBE_LIVENESS, "a probe took {took:?}");
        latencies.push(took);
        rss_max = rss_max.max(server.rss_kib());
        n += 1;
    }
    let mut sent = vec![(0u64, Duration::ZERO); hostile.len()];
    for sender in senders {
        for (total, one) in sent.iter_mut().zip(sender.join().unwrap()) {
            total.0 += one.0;
            total.1 += one.1;
        }
    }
    rss_max = rss_max.max(server.rss_kib());
    let head_after = served::graphql(&address, Some(ADMIN), head_query, json!({})).json();
    assert_eq!(head_before, head_after, "hostile requests appended nothing");
    let (status, _) = server.stop();
    assert!(status.success());

    latencies.sort();
    let total: u64 = sent.iter().map(|s| s.0).sum();
    let elapsed = flood_started.elapsed().as_secs_f64();
    eprintln!(
        "flood: {elapsed:.1} s, {clients} hostile clients: {total} hostile requests ({:.1}/s), all refused",
        total as f64 / elapsed
    );
    for (h, (count, took)) in hostile.iter().zip(&sent) {
        let mean = took.checked_div(u32::try_from(*count).unwrap_or(u32::MAX)).unwrap_or_default();
        eprintln!("  {:<24} {count:>6} × {:>8} bytes, {mean:>12.1?} each", h.name, h.body.len());
    }
    eprintln!(
        "  probe: {} requests, p50 {:?}, p99 {:?}, max {:?}; RSS {} MiB before, {} MiB at most",
        latencies.len(),
        percentile(&latencies, 50),
        percentile(&latencies, 99),
        latencies.last().unwrap(),
        rss_before >> 10,
        rss_max >> 10
    );
    assert!(sent.iter().all(|c| c.0 >= u64::try_from(clients).unwrap()), "{sent:?}");
    assert!(
        rss_max <= rss_before + RSS_GROWTH_MAX_KIB,
        "memory grew from {rss_before} KiB to {rss_max} KiB"
    );
}
