//! The general ledger through the public API: a period trial balance over three days with
//! hand-computed opening and closing balances, an account's postings paged, and processor
//! settlements in the settlement export (Σ net of a payout's rows = the payout).
//!
//! The story (USD, no tax, business days set with `occurredAt`):
//!
//! | day | command | 1000 | 1100 | 2100 | 5100 |
//! |---|---|---|---|---|---|
//! | 03-01 | capture A1 30.00 | | +30.00 | −30.00 | |
//! | 03-01 | fee A1 1.00 | | −1.00 | | +1.00 |
//! | 03-02 | capture A2 50.00 | | +50.00 | −50.00 | |
//! | 03-02 | fee A2 1.50 | | −1.50 | | +1.50 |
//! | 03-02 | deposit refund A2 10.00 | | −10.00 | +10.00 | |
//! | 03-02 | payout PO1 67.50 | +67.50 | −67.50 | | |
//! | 03-03 | capture A3 20.00 | | +20.00 | −20.00 | |
//! | 03-03 | fee A3 0.80 | | −0.80 | | +0.80 |

use crate::support::TestServer;
use serde_json::{Value, json};

fn usd(amount: &str) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

async fn submit_at(server: &TestServer, key: &str, at: &str, command: Value) {
    let data = server
        .gql(
            "mutation($input: SubmitInput!) { submit(input: $input) { userErrors { message } } }",
            json!({ "input": { "idempotencyKey": key, "occurredAt": at, "json": command } }),
        )
        .await;
    assert_eq!(data["submit"]["userErrors"], json!([]), "{key}: {data:#}");
}

async fn story() -> TestServer {
    let server = TestServer::start_with_views().await;
    server.master_data().await;
    let day = |d: &str, h: u32| format!("2026-03-{d}T{h:02}:00:00Z");
    for (order, d, amount, fee) in [
        ("A1", "01", "30.00", "1.00"),
        ("A2", "02", "50.00", "1.50"),
        ("A3", "03", "20.00", "0.80"),
    ] {
        submit_at(
            &server,
            &format!("o-{order}"),
            &day(d, 9),
            json!({
            "type": "receive_order", "order": order, "channel": "web",
            "placed_at": day(d, 9), "currency": "USD",
            "lines": [{"sku": "SKU-A", "qty": 1, "unit_price": usd(amount)}],
            "shipping": usd("0.00"), "tax_rate": "0"}),
        )
        .await;
        submit_at(
            &server,
            &format!("c-{order}"),
            &day(d, 10),
            json!({
            "type": "capture_payment", "order": order, "payment": format!("pay-{order}"),
            "amount": usd(amount)}),
        )
        .await;
        submit_at(
            &server,
            &format!("f-{order}"),
            &day(d, 11),
            json!({
            "type": "record_processor_fee", "order": order,
            "fee": {"kind": "amount", "amount": usd(fee)}}),
        )
        .await;
        if order == "A2" {
            submit_at(
                &server,
                "rd-A2",
                &day(d, 12),
                json!({
                "type": "refund_deposit", "refund": "RF1", "order": "A2", "amount": usd("10.00")}),
            )
            .await;
            submit_at(
                &server,
                "po-1",
                &day(d, 18),
                json!({
                "type": "record_processor_payout", "payout": "PO1", "amount": usd("67.50")}),
            )
            .await;
        }
    }
    server
        .state
        .engine()
        .views()
        .wait_for(server.head(), std::time::Duration::from_secs(10))
        .await
        .unwrap();
    server
}

const TRIAL_BALANCE: &str = "query($from: Date, $to: Date) { trialBalance(from: $from, to: $to) {
  from to complete
  rows { number name currencyCode opening { amount } debits { amount } credits { amount } closing { amount } }
  totals { currencyCode opening { amount } debits { amount } credits { amount } net { amount } closing { amount } balanced } } }";

/// `[number, opening, debits, credits, closing]` per row.
fn rows(tb: &Value) -> Vec<[String; 5]> {
    tb["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let a = |f: &str| r[f]["amount"].as_str().unwrap().to_owned();
            [r["number"].to_string(), a("opening"), a("debits"), a("credits"), a("closing")]
        })
        .collect()
}

fn row(number: u16, opening: &str, debits: &str, credits: &str, closing: &str) -> [String; 5] {
    [number.to_string(), opening.into(), debits.into(), credits.into(), closing.into()]
}

#[tokio::test]
async fn a_period_trial_balance_has_hand_computed_opening_and_closing_balances() {
    let server = story().await;
    let tb = server.gql(TRIAL_BALANCE, json!({"from": "2026-03-02", "to": "2026-03-02"})).await;
    let tb = &tb["trialBalance"];
    assert_eq!((tb["from"].as_str(), tb["to"].as_str()), (Some("2026-03-02"), Some("2026-03-02")));
    assert_eq!(
        rows(tb),
        [
            row(1000, "0.00", "67.50", "0.00", "67.50"),
            // 30.00 − 1.00 before the day; + 50.00 − (1.50 + 10.00 + 67.50) on it.
            row(1100, "29.00", "50.00", "79.00", "0.00"),
            row(2100, "-30.00", "10.00", "50.00", "-70.00"),
            row(5100, "1.00", "1.50", "0.00", "2.50"),
        ]
    );
    assert_eq!(tb["rows"][1]["name"], "processor clearing");
    assert_eq!(
        tb["totals"],
        json!([{"currencyCode": "USD", "opening": {"amount": "0.00"}, "debits": {"amount": "129.00"},
                "credits": {"amount": "129.00"}, "net": {"amount": "0.00"},
                "closing": {"amount": "0.00"}, "balanced": true}])
    );
    assert_eq!(tb["complete"], true);

    // The third day opens where the second closed.
    let tb = server.gql(TRIAL_BALANCE, json!({"from": "2026-03-03", "to": "2026-03-03"})).await;
    assert_eq!(
        rows(&tb["trialBalance"]),
        [
            row(1000, "67.50", "0.00", "0.00", "67.50"),
            row(1100, "0.00", "20.00", "0.80", "19.20"),
            row(2100, "-70.00", "0.00", "20.00", "-90.00"),
            row(5100, "2.50", "0.80", "0.00", "3.30"),
        ]
    );
    // Before any posting there is nothing; the first day has no opening balance; without
    // bounds, the all-time sums.
    let tb = server.gql(TRIAL_BALANCE, json!({"to": "2026-02-28"})).await;
    assert_eq!(tb["trialBalance"]["rows"], json!([]));
    let tb = server.gql(TRIAL_BALANCE, json!({"from": "2026-03-01", "to": "2026-03-01"})).await;
    assert_eq!(
        rows(&tb["trialBalance"]),
        [
            row(1100, "0.00", "30.00", "1.00", "29.00"),
            row(2100, "0.00", "0.00", "30.00", "-30.00"),
            row(5100, "0.00", "1.00", "0.00", "1.00"),
        ]
    );
    let tb = server.gql(TRIAL_BALANCE, json!({})).await;
    assert_eq!(rows(&tb["trialBalance"])[1], row(1100, "0.00", "100.00", "80.80", "19.20"));
    // A later `from` than `to` is refused.
    let bad = server
        .gql_as(
            Some(&crate::support::token(tally_api::Role::Admin)),
            TRIAL_BALANCE,
            json!({"from": "2026-03-03", "to": "2026-03-02"}),
        )
        .await;
    assert_eq!(crate::support::first_code(&bad), "INVALID_INPUT");
    server.stop().await;
}

const POSTINGS: &str = "query($from: Date!, $to: Date!, $first: Int, $after: String, $last: Int, $before: String) {
  journalEntries(account: PROCESSOR_CLEARING, from: $from, to: $to, first: $first, after: $after, last: $last, before: $before) {
    nodes { entryId date number name currencyCode debit { amount } credit { amount } memo reference { kind entityId } seq index }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }";

/// `(date, debit, credit, memo)` of each posting of a page.
fn postings(page: &Value) -> Vec<(String, String, String, String)> {
    page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let s = |v: &Value| v.as_str().unwrap().to_owned();
            (s(&n["date"]), s(&n["debit"]["amount"]), s(&n["credit"]["amount"]), s(&n["memo"]))
        })
        .collect()
}

fn p(date: &str, debit: &str, credit: &str, memo: &str) -> (String, String, String, String) {
    (format!("2026-03-{date}"), debit.into(), credit.into(), memo.into())
}

#[tokio::test]
async fn journal_entries_of_one_account_page_by_date_then_log_order() {
    let server = story().await;
    let window = |extra: Value| {
        let mut v = json!({"from": "2026-03-01", "to": "2026-03-03"});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    let page1 = server.gql(POSTINGS, window(json!({"first": 3}))).await["journalEntries"].clone();
    assert_eq!(
        postings(&page1),
        [
            p("01", "30.00", "0.00", "payment captured"),
            p("01", "0.00", "1.00", "processor fee"),
            p("02", "50.00", "0.00", "payment captured"),
        ]
    );
    assert_eq!(page1["nodes"][0]["number"], 1100);
    assert_eq!(page1["nodes"][0]["reference"], json!({"kind": "ORDER", "entityId": "A1"}));
    assert_eq!(page1["pageInfo"]["hasNextPage"], true);
    assert_eq!(page1["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(page1["totalCount"], Value::Null);
    let after = page1["pageInfo"]["endCursor"].clone();
    let page2 =
        server.gql(POSTINGS, window(json!({"first": 3, "after": after}))).await["journalEntries"]
            .clone();
    assert_eq!(
        postings(&page2),
        [
            p("02", "0.00", "1.50", "processor fee"),
            p("02", "0.00", "10.00", "deposit refund"),
            p("02", "0.00", "67.50", "payout"),
        ]
    );
    assert_eq!(page2["pageInfo"]["hasPreviousPage"], true);
    let after = page2["pageInfo"]["endCursor"].clone();
    let page3 =
        server.gql(POSTINGS, window(json!({"first": 3, "after": after}))).await["journalEntries"]
            .clone();
    assert_eq!(
        postings(&page3),
        [p("03", "20.00", "0.00", "payment captured"), p("03", "0.00", "0.80", "processor fee")]
    );
    assert_eq!(page3["pageInfo"]["hasNextPage"], false);
    // Seqs grow within the list.
    let seqs: Vec<u64> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| p["nodes"].as_array().unwrap().clone())
        .map(|n| crate::support::u64_of(&n["seq"]))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // Backward from the end, then before page 2's start.
    let tail = server.gql(POSTINGS, window(json!({"last": 2}))).await["journalEntries"].clone();
    assert_eq!(postings(&tail), postings(&page3));
    assert_eq!(tail["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(tail["pageInfo"]["hasNextPage"], false);
    let before = page2["pageInfo"]["startCursor"].clone();
    let back =
        server.gql(POSTINGS, window(json!({"last": 2, "before": before}))).await["journalEntries"]
            .clone();
    assert_eq!(postings(&back), postings(&page1)[1..]);

    // One day only.
    let day2 = server
        .gql(POSTINGS, json!({"from": "2026-03-02", "to": "2026-03-02", "first": 10}))
        .await["journalEntries"]
        .clone();
    assert_eq!(postings(&day2).len(), 4);
    assert_eq!(day2["pageInfo"]["hasNextPage"], false);
    server.stop().await;
}

const EXPORT: &str = "query($from: Date!, $to: Date!) { settlementExport(processor: true, fromDay: $from, toDay: $to) {
  totals { currencyCode gross { amount } fee { amount } tax { amount } net { amount } rowCount }
  rows(first: 50) { nodes { settlementId channel periodStart periodEnd depositDate txnType amountType orderId gross { amount } fee { amount } net { amount } glAccount journalEntryId eventSeq } } } }";

#[tokio::test]
async fn processor_settlements_group_rows_by_payout_and_net_to_the_payout() {
    let server = story().await;
    let data = server.gql(EXPORT, json!({"from": "2026-03-01", "to": "2026-03-03"})).await;
    let export = &data["settlementExport"];
    let nodes = export["rows"]["nodes"].as_array().unwrap();
    let brief: Vec<(String, String, String, String, String, String)> = nodes
        .iter()
        .map(|n| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                s(&n["settlementId"]),
                s(&n["txnType"]),
                s(&n["amountType"]),
                s(&n["orderId"]),
                s(&n["net"]["amount"]),
                s(&n["channel"]),
            )
        })
        .collect();
    let b = |id: &str, txn: &str, at: &str, order: &str, net: &str, channel: &str| {
        (id.into(), txn.into(), at.into(), order.into(), net.into(), channel.into())
    };
    assert_eq!(
        brief,
        [
            b("PO1", "CHARGE", "PAYMENT", "A1", "30.00", "web"),
            b("PO1", "FEE", "PROCESSOR_FEE", "A1", "-1.00", "web"),
            b("PO1", "CHARGE", "PAYMENT", "A2", "50.00", "web"),
            b("PO1", "FEE", "PROCESSOR_FEE", "A2", "-1.50", "web"),
            b("PO1", "REFUND", "DEPOSIT_REFUND", "A2", "-10.00", "web"),
            b("PO1", "PAYOUT", "PAYOUT", "", "-67.50", ""),
            b("", "CHARGE", "PAYMENT", "A3", "20.00", "web"),
            b("", "FEE", "PROCESSOR_FEE", "A3", "-0.80", "web"),
        ]
    );
    // Σ net of PO1's money rows = the payout, and with the payout row the group is zero.
    let net_of = |id: &str, payout_row: bool| -> i64 {
        nodes
            .iter()
            .filter(|n| n["settlementId"] == id && (payout_row || n["txnType"] != "PAYOUT"))
            .map(|n| n["net"]["amount"].as_str().unwrap().replace('.', "").parse::<i64>().unwrap())
            .sum()
    };
    assert_eq!(net_of("PO1", false), 6750);
    assert_eq!(net_of("PO1", true), 0);
    // The open rows sum to what clearing still holds (the 19.20 of the trial balance).
    assert_eq!(net_of("", true), 1920);
    let po1 = &nodes[0];
    assert_eq!(
        (&po1["periodStart"], &po1["periodEnd"], &po1["depositDate"]),
        (&json!("2026-03-01"), &json!("2026-03-02"), &json!("2026-03-02"))
    );
    assert_eq!((&po1["gross"]["amount"], &po1["fee"]["amount"]), (&json!("30.00"), &json!("0.00")));
    assert_eq!(nodes[1]["fee"]["amount"], "-1.00");
    assert!(nodes.iter().all(|n| n["glAccount"] == 1100));
    assert!(nodes.iter().all(|n| n["journalEntryId"].as_str().is_some_and(|j| !j.is_empty())));
    assert_eq!(nodes[6]["depositDate"], Value::Null);
    assert_eq!(
        export["totals"],
        json!([{"currencyCode": "USD", "gross": {"amount": "90.00"}, "fee": {"amount": "-3.30"},
                "tax": {"amount": "0.00"}, "net": {"amount": "19.20"}, "rowCount": "8"}])
    );

    // Only the third day: PO1's period (03-01..03-02) is outside, the open rows are in.
    let day3 = server.gql(EXPORT, json!({"from": "2026-03-03", "to": "2026-03-03"})).await;
    let nodes = day3["settlementExport"]["rows"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 2);
    assert!(nodes.iter().all(|n| n["settlementId"] == ""));

    // Channel and processor together, or neither, is refused.
    let token = crate::support::token(tally_api::Role::Finance);
    for args in ["channel: \"web\", processor: true", "processor: false"] {
        let q = format!(
            "{{ settlementExport({args}, fromDay: \"2026-03-01\", toDay: \"2026-03-03\") {{ totals {{ rowCount }} }} }}"
        );
        let answer = server.gql_as(Some(&token), &q, json!({})).await;
        assert_eq!(crate::support::first_code(&answer), "INVALID_INPUT", "{args}");
    }
    server.stop().await;
}
