//! `importRecords`: an Amazon settlement imported through GraphQL, the same path and summary
//! as `tally import --format`: once, then again (nothing appended); a file that fails its
//! total check is refused whole; writers only.

use crate::support::{TestServer, first_code, token, u64_of};
use serde_json::{Value, json};
use tally_api::auth::Role;

const IMPORT: &str = "mutation($content: String!, $channel: String) { importRecords(format: AMAZON_SETTLEMENT_V2, channel: $channel, content: $content, waitForViews: true) { format records accepted duplicates rejected rejectedByCode { code count } events lastSeq refusals { index sourceId code message } refusalsTruncated } }";

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tally-intake/tests/fixtures")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn counts(summary: &Value) -> [u64; 5] {
    ["records", "accepted", "duplicates", "rejected", "events"].map(|f| u64_of(&summary[f]))
}

#[tokio::test]
async fn a_settlement_imports_once_through_graphql() {
    let server = TestServer::start_with_views().await;
    server
        .submit(
            "md-amz",
            json!({"type": "define_channel", "channel": "amazon-us", "priority": "standard", "kind": "marketplace", "currency": "USD", "facilitator_tax": true}),
        )
        .await;
    server
        .submit(
            "md-ts",
            json!({"type": "define_sku", "sku": "TS-BLU-M", "lot_tracked": false, "unit_cost": {"amount": "6.40", "currency": "USD"}, "abc": "B"}),
        )
        .await;
    let content = fixture("amazon-settlement-us.tsv");
    let vars = json!({"content": content, "channel": "amazon-us"});
    let first = server.gql(IMPORT, vars.clone()).await["importRecords"].clone();
    assert_eq!(first["format"], "AMAZON_SETTLEMENT_V2");
    // The mug is not a SKU here: its 7 lines are rejected with their source ids; the deposit
    // is recorded as the bank saw it (with a reconciliation exception); everything else
    // imports.
    let [records, accepted, duplicates, rejected, events] = counts(&first);
    assert_eq!((records, accepted, duplicates, rejected), (30, 23, 0, 7));
    assert!(events > 23);
    assert_eq!(u64_of(&first["lastSeq"]), server.head());
    let codes: Vec<(String, u64)> = first["rejectedByCode"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["code"].as_str().unwrap().to_owned(), u64_of(&c["count"])))
        .collect();
    assert_eq!(codes, [("UNKNOWN_SKU".to_owned(), 7)]);
    let refusal = &first["refusals"][0];
    assert_eq!(refusal["code"], "UNKNOWN_SKU");
    assert!(
        refusal["sourceId"].as_str().unwrap().contains("order 114-2223334-5556667"),
        "{refusal}"
    );

    let head = server.head();
    let again = server.gql(IMPORT, vars).await["importRecords"].clone();
    assert_eq!(counts(&again), [30, 0, 23, 7, 0]);
    assert_eq!(server.head(), head);

    // A total that is not the sum of the lines: refused whole, nothing appended.
    let bad =
        json!({"content": fixture("amazon-settlement-total-mismatch.tsv"), "channel": "amazon-us"});
    let answer = server.gql_as(Some(&token(Role::Admin)), IMPORT, bad).await;
    assert_eq!(first_code(&answer), "INVALID_INPUT", "{answer}");
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("13.03") && message.contains("13.02"), "{message}");
    assert_eq!(server.head(), head);

    // Readers may not import.
    let vars = json!({"content": fixture("amazon-settlement-jp.tsv"), "channel": "amazon-us"});
    let answer = server.gql_as(Some(&token(Role::Viewer)), IMPORT, vars).await;
    assert_eq!(first_code(&answer), "FORBIDDEN", "{answer}");
    server.stop().await;
}
