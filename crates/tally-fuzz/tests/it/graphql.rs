//! `POST /graphql` bodies against the real router: arbitrary bytes, damaged tour requests,
//! and the limits (depth, complexity, body size, nesting in variables, long strings).
//! The harness itself asserts no 5xx, a code on every error, and an unchanged head after
//! every request that could not have appended.

use crate::support::{apply, byte_mutation, config, json_mutation, mutate_bytes, nested_array};
use proptest::prelude::*;
use serde_json::{Value, json};
use tally_fuzz::graphql::graphql_input;
use tally_fuzz::samples;

fn body(query: &str) -> Vec<u8> {
    json!({ "query": query }).to_string().into_bytes()
}

#[test]
fn the_tour_answers_without_errors() {
    for body in samples::graphql_bodies() {
        // Keys of their own: the properties share this process's store and may have used
        // the samples' keys for other commands.
        let body = ["adj-1", "adj-2", "asn-2026-11-26-001", "rcv-var-1", "bad-1"]
            .iter()
            .fold(body, |body, key| body.replace(key, &format!("tour-{key}")));
        let outcome = graphql_input(body.as_bytes());
        assert_eq!(outcome.status, 200, "{body}");
        if body.contains("NOPE") {
            assert_eq!(outcome.codes, ["UNKNOWN_SKU"], "{body}");
        } else {
            assert!(outcome.codes.is_empty(), "{body}: {outcome:?}");
        }
    }
}

#[test]
fn limits_answer_with_codes_and_leave_the_head() {
    let deep_selection = format!("{{ head {}seq{} }}", "{ ".repeat(50), " }".repeat(50));
    let deep_braces = "{".repeat(200_000);
    let aliases: String = (0..20_000).map(|i| format!("a{i}: head {{ seq }} ")).collect();
    let long_key = "k".repeat(1 << 20);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("deep selection", body(&deep_selection)),
        ("deep braces", body(&deep_braces)),
        ("many aliases", body(&format!("{{ {aliases} }}"))),
        ("cyclic fragments", body("query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }")),
        ("huge int", body("{ events(first: 99999999999999999999) { edges { cursor } } }")),
        ("negative page", body("{ events(first: -1) { edges { cursor } } }")),
        ("long key", body(&format!(
            "mutation {{ submit(input: {{ idempotencyKey: \"{long_key}\", json: {{ type: \"adjust_inventory\", location: \"WH1\", sku: \"SKU-001\", delta: -1, reason: \"damage\" }} }}) {{ lastSeq userErrors {{ code }} }} }}"
        ))),
        ("deep variables", json!({
            "query": "mutation S($c: JSON!) { submit(input: { idempotencyKey: \"deep\", json: $c }) { lastSeq userErrors { code } } }",
            "variables": { "c": nested_array(100) },
        }).to_string().into_bytes()),
        ("deeper variables", format!(
            "{{\"query\": \"{{ head {{ seq }} }}\", \"variables\": {{\"v\": {}1{}}}}}",
            "[".repeat(10_000), "]".repeat(10_000)
        ).into_bytes()),
        ("over the body limit", body(&"#".repeat(5 << 20))),
        ("not json", b"{\"query\": ".to_vec()),
        ("empty batch", b"[]".to_vec()),
        ("batch over the limit", format!(
            "[{}]",
            vec![r#"{"query": "{ events(first: 500) { edges { cursor } } }"}"#; 17].join(",")
        ).into_bytes()),
    ];
    for (what, body) in cases {
        let outcome = graphql_input(&body);
        assert_eq!(outcome.head.0, outcome.head.1, "{what}: {outcome:?}");
        assert!(
            outcome.status == 413 || outcome.status == 400 || !outcome.codes.is_empty(),
            "{what} is refused: {outcome:?}"
        );
    }
}

proptest! {
    #![proptest_config(config(150))]

    #[test]
    fn arbitrary_bodies_never_fail_the_server(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = graphql_input(&bytes);
    }

    #[test]
    fn damaged_tour_queries_leave_the_head_unless_they_append(
        pick in any::<usize>(),
        mutations in proptest::collection::vec(byte_mutation(), 1..5),
    ) {
        let bodies = samples::graphql_bodies();
        let request: Value = serde_json::from_str(&bodies[pick % bodies.len()]).unwrap();
        let Some(query) = request.get("query").and_then(Value::as_str) else { return Ok(()) };
        let mut query = query.as_bytes().to_vec();
        for m in &mutations {
            mutate_bytes(&mut query, m);
        }
        let mut request = request.clone();
        request["query"] = Value::String(String::from_utf8_lossy(&query).into_owned());
        let _ = graphql_input(request.to_string().as_bytes());
    }

    #[test]
    fn damaged_request_json_leaves_the_head_unless_it_appends(
        pick in any::<usize>(),
        mutations in proptest::collection::vec(json_mutation(), 1..4),
    ) {
        let bodies = samples::graphql_bodies();
        let mut request: Value = serde_json::from_str(&bodies[pick % bodies.len()]).unwrap();
        for m in &mutations {
            apply(&mut request, m);
        }
        let _ = graphql_input(request.to_string().as_bytes());
    }
}
