//! Finance: the DOMAIN.md §4 marketplace settlement submitted through GraphQL; the
//! `settlementExport` totals equal the `settlement(id)` totals, to the cent, and both answers
//! are tied to a signed checkpoint (which the auditor reads: `meta.checkpoint` is audit data,
//! refused to the finance role).

use serde_json::json;
use tally_api::Role;
use tally_e2e_tests::{Server, minor, u64_of};

const SETTLEMENT: &str = "S-2026-03A";

#[tokio::test]
async fn settlement_export_totals_equal_the_settlement_query() {
    let server = Server::start(10).await.unwrap();
    let rejected = server.run_scenario("marketplace_settlement.json").await.unwrap();
    assert_eq!(rejected, 2, "the scenario's two refused payouts");
    // Checkpoints were cut every 10 events; cut one at the head too.
    let cut =
        server.data(Role::Admin, "mutation { cutCheckpoint { size } }", json!({})).await.unwrap();
    assert_eq!(u64_of(&cut["cutCheckpoint"]["size"]), Some(server.head()));

    let refused = server
        .graphql(
            Role::Finance,
            "{ settlementExport(channel: \"amz\", fromDay: \"2026-03-01\", toDay: \"2026-03-31\") { rows { meta { seq checkpoint { size } } } } }",
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN", "{refused}");
    assert_eq!(refused["errors"][0]["path"][3], "checkpoint", "{refused}");
    assert_eq!(refused["errors"][0]["path"][0], "settlementExport", "{refused}");

    let one = server
        .data(
            Role::Auditor,
            "query($id: String!) { settlement(id: $id) {
                meta { seq checkpoint { size } }
                settlement { currencyCode totals { gross { amount currencyCode } fees { amount } tax { amount } refunds { amount } reserve { amount } net { amount } lineCount } payout { amount { amount } depositDate } }
            }
            settlementLines(id: $id, first: 100) { nodes { net { amount } } } }",
            json!({ "id": SETTLEMENT }),
        )
        .await
        .unwrap();
    let lines = one["settlementLines"]["nodes"].clone();
    let one = &one["settlement"];
    assert_eq!(u64_of(&one["meta"]["seq"]), Some(server.head()));
    assert_eq!(
        u64_of(&one["meta"]["checkpoint"]["size"]),
        Some(server.head()),
        "tied to the head checkpoint"
    );
    let settlement = &one["settlement"];
    assert_eq!(settlement["currencyCode"], "USD");
    let totals = &settlement["totals"];
    assert_eq!(totals["gross"]["currencyCode"], "USD");

    let export = server
        .data(
            Role::Auditor,
            "{ settlementExport(channel: \"amz\", fromDay: \"2026-03-01\", toDay: \"2026-03-31\") {
                rows(first: 100) { meta { seq checkpoint { size } } nodes { settlementId currencyCode txnType amountType gross { amount } fee { amount } tax { amount } net { amount } depositDate eventSeq } }
                totals { currencyCode gross { amount } fee { amount } tax { amount } net { amount } rowCount }
            } }",
            json!({}),
        )
        .await
        .unwrap();
    let export = &export["settlementExport"];
    let meta = &export["rows"]["meta"];
    assert!(u64_of(&meta["checkpoint"]["size"]).unwrap() <= u64_of(&meta["seq"]).unwrap());
    let rows = export["rows"]["nodes"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["settlementId"] == SETTLEMENT && r["currencyCode"] == "USD"));
    assert!(rows.iter().all(|r| r["depositDate"] == "2026-03-16"));

    // The export's own sums, recomputed from its rows, equal its totals row…
    let sum = |column: &str| -> i64 {
        rows.iter().map(|r| minor(r[column]["amount"].as_str().unwrap(), 2).unwrap()).sum()
    };
    let export_totals = &export["totals"][0];
    assert_eq!(export["totals"].as_array().unwrap().len(), 1);
    for column in ["gross", "fee", "tax", "net"] {
        assert_eq!(
            sum(column),
            minor(export_totals[column]["amount"].as_str().unwrap(), 2).unwrap(),
            "{column}"
        );
    }
    assert_eq!(export_totals["rowCount"], totals["lineCount"]);

    // …and the settlement query's totals, column by column.
    let amount = |field: &str| minor(totals[field]["amount"].as_str().unwrap(), 2).unwrap();
    assert_eq!(sum("gross"), amount("gross") + amount("refunds"));
    assert_eq!(sum("fee"), amount("fees"));
    assert_eq!(sum("tax"), amount("tax"));
    assert_eq!(sum("net"), amount("net"));
    // Σ net = payout = 77.30, the invariant finance reconciles on.
    assert_eq!(export_totals["net"]["amount"], "77.30");
    assert_eq!(settlement["payout"]["amount"]["amount"], "77.30");
    assert_eq!(totals["reserve"]["amount"], "-10.00");
    let line_sum: i64 = lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| minor(l["net"]["amount"].as_str().unwrap(), 2).unwrap())
        .sum();
    assert_eq!(line_sum, amount("net"));

    // A viewer sees neither.
    let refused = server
        .graphql(
            Role::Viewer,
            "{ settlement(id: \"S-2026-03A\") { settlement { id } } }",
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
    server.stop().await.unwrap();
}

#[test]
fn minor_units_need_exactly_the_minor_digits() {
    assert_eq!(minor("-3.75", 2).unwrap(), -375);
    assert_eq!(minor("77.30", 2).unwrap(), 7730);
    assert!(minor("77.3", 2).is_err());
}
