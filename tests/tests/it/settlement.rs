//! Finance: the DOMAIN.md §4 marketplace settlement submitted through GraphQL; the
//! `settlementExport` totals equal the `settlement(id)` totals, to the cent, and both answers
//! are tied to a signed checkpoint (which the auditor reads: `meta.checkpoint` is audit data,
//! refused to the finance role).

use serde_json::json;
use tally_api::Role;
use tally_e2e_tests::{Server, minor};

const SETTLEMENT: &str = "S-2026-03A";

#[tokio::test]
async fn settlement_export_totals_equal_the_settlement_query() {
    let server = Server::start(10).await.unwrap();
    let rejected = server.run_scenario("marketplace_settlement.json").await.unwrap();
    assert_eq!(rejected, 2, "the scenario's two refused payouts");
    // Checkpoints were cut every 10 events; cut one at the head too.
    let cut =
        server.data(Role::Admin, "mutation { cutCheckpoint { size } }", json!({})).await.unwrap();
    assert_eq!(cut["cutCheckpoint"]["size"], server.head());

    let refused = server
        .graphql(
            Role::Finance,
            "{ settlementExport(channel: \"amz\", fromDay: \"2026-03-01\", toDay: \"2026-03-31\") { meta { seq checkpoint { size } } } }",
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN", "{refused}");
    assert_eq!(refused["errors"][0]["path"][2], "checkpoint", "{refused}");
    assert_eq!(refused["data"]["settlementExport"]["meta"]["seq"], server.head(), "{refused}");

    let one = server
        .data(
            Role::Auditor,
            "query($id: String!) { settlement(id: $id) {
                meta { seq checkpoint { size } }
                settlement { currency totals { gross { amount currency } fees { amount } tax { amount } refunds { amount } reserve { amount } net { amount } lineCount } payout { amount { amount } depositDate } }
                lines { net }
            } }",
            json!({ "id": SETTLEMENT }),
        )
        .await
        .unwrap();
    let one = &one["settlement"];
    assert_eq!(one["meta"]["seq"], server.head());
    assert_eq!(one["meta"]["checkpoint"]["size"], server.head(), "tied to the head checkpoint");
    let settlement = &one["settlement"];
    assert_eq!(settlement["currency"], "USD");
    let totals = &settlement["totals"];
    assert_eq!(totals["gross"]["currency"], "USD");

    let export = server
        .data(
            Role::Auditor,
            "{ settlementExport(channel: \"amz\", fromDay: \"2026-03-01\", toDay: \"2026-03-31\") {
                meta { seq checkpoint { size } }
                rows { settlementId currency txnType amountType gross fee tax net depositDate eventSeq }
                totals { currency gross fee tax net rowCount }
            } }",
            json!({}),
        )
        .await
        .unwrap();
    let export = &export["settlementExport"];
    assert!(
        export["meta"]["checkpoint"]["size"].as_u64().unwrap()
            <= export["meta"]["seq"].as_u64().unwrap()
    );
    let rows = export["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["settlementId"] == SETTLEMENT && r["currency"] == "USD"));
    assert!(rows.iter().all(|r| r["depositDate"] == "2026-03-16"));

    // The export's own sums, recomputed from its rows, equal its totals row…
    let sum = |column: &str| -> i64 {
        rows.iter().map(|r| minor(r[column].as_str().unwrap(), 2).unwrap()).sum()
    };
    let export_totals = &export["totals"][0];
    assert_eq!(export["totals"].as_array().unwrap().len(), 1);
    for column in ["gross", "fee", "tax", "net"] {
        assert_eq!(
            sum(column),
            minor(export_totals[column].as_str().unwrap(), 2).unwrap(),
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
    assert_eq!(export_totals["net"], "77.30");
    assert_eq!(settlement["payout"]["amount"]["amount"], "77.30");
    assert_eq!(totals["reserve"]["amount"], "-10.00");
    let line_sum: i64 = one["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| minor(l["net"].as_str().unwrap(), 2).unwrap())
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
