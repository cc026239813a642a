//! The projection queries over the DOMAIN.md scenarios: each scenario's commands go in
//! through `submit` with `waitForViews`, the views come out through the new queries.

use crate::support::{TestServer, u64_of};
use serde_json::{Value, json};
use std::path::Path;

/// The steps of a scenario file with a command: (business time, command).
fn scenario(name: &str) -> Vec<(Option<String>, Value)> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tally-domain/tests/scenarios").join(name);
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut now: Option<String> = None;
    let mut out = Vec::new();
    for step in file["steps"].as_array().unwrap() {
        if let Some(at) = step["at"].as_str() {
            now = Some(at.to_owned());
        }
        if step.get("command").is_some() {
            out.push((now.clone(), step["command"].clone()));
        }
    }
    out
}

/// Submits one scenario command as admin and waits for the views; rejections are part of
/// the scenarios, so an answer with errors is returned, not a failure.
async fn submit(server: &TestServer, key: &str, at: Option<&str>, command: &Value) -> Value {
    let query = "mutation($input: SubmitInput!) { submit(input: $input, waitForViews: true) { lastSeq viewsCaughtUp userErrors { code message } } }";
    let input = json!({ "idempotencyKey": key, "json": command, "occurredAt": at });
    let token = crate::support::token(tally_api::Role::Admin);
    let answer = server.gql_as(Some(&token), query, json!({ "input": input })).await;
    assert!(answer.get("errors").is_none(), "{answer:#}");
    if answer["data"]["submit"]["userErrors"] == json!([]) {
        assert_eq!(answer["data"]["submit"]["viewsCaughtUp"], json!(true), "{answer:#}");
    }
    answer
}

/// Runs every command of `name`; returns the head after each command.
async fn run(server: &TestServer, name: &str) -> Vec<u64> {
    let mut heads = Vec::new();
    for (i, (at, command)) in scenario(name).into_iter().enumerate() {
        submit(server, &format!("{name}-{i}"), at.as_deref(), &command).await;
        heads.push(server.head());
    }
    heads
}

#[tokio::test]
async fn section_8_ats_with_safety_stock_and_a_backorder_through_graphql() {
    let server = TestServer::start_with_views().await;
    let heads = run(&server, "ats_safety_stock_backorder.json").await;

    let query = r#"query($asOf: AsOf) {
        ats(sku: "A", channel: "web", asOf: $asOf) { ats meta { seq headSeq } }
        atsByChannel(sku: "A", asOf: $asOf) { network channels { channel ats } }
        stock(location: "WH1", sku: "A", asOf: $asOf) {
            total { available reserved onHand } lots { lot onHand }
        }
        backorders(asOf: $asOf) { totalCount }
    }"#;
    let now = server.gql(query, json!({})).await;
    assert_eq!(now["ats"]["ats"], "18", "{now:#}");
    assert_eq!(crate::support::u64_of(&now["ats"]["meta"]["seq"]), server.head());
    assert_eq!(now["stock"]["total"], json!({"available": "20", "reserved": "10", "onHand": "30"}));
    assert_eq!(now["stock"]["lots"], json!([{"lot": null, "onHand": "30"}]));
    assert_eq!(now["atsByChannel"]["network"], "18");
    assert_eq!(
        now["atsByChannel"]["channels"],
        json!([{"channel": "edi", "ats": "20"}, {"channel": "web", "ats": "18"}])
    );
    assert_eq!(now["backorders"]["totalCount"], "0");

    // After the first receipt and the safety stock (the sixth command): web ATS 8.
    let past = heads[5];
    let then = server.gql(query, json!({ "asOf": { "seq": past } })).await;
    assert_eq!(then["ats"]["ats"], "8", "{then:#}");
    assert_eq!(crate::support::u64_of(&then["ats"]["meta"]["seq"]), past);
    assert_eq!(crate::support::u64_of(&then["ats"]["meta"]["headSeq"]), server.head());
    assert_eq!(then["stock"]["total"], json!({"available": "10", "reserved": "0", "onHand": "10"}));
    assert_eq!(then["atsByChannel"]["channels"][0], json!({"channel": "edi", "ats": "10"}));

    // Before the last receipt D2 waited for stock.
    let waiting = heads[heads.len() - 2];
    let then = server.gql(query, json!({ "asOf": { "seq": waiting } })).await;
    assert_eq!(then["backorders"]["totalCount"], "1");
    assert_eq!(then["ats"]["ats"], "0");

    let orders = server
        .gql(
            r#"{ orders(filter: {status: [FULFILLING]}, first: 2) {
                edges { cursor node { orderId channel lines { allocated backordered } } }
                pageInfo { hasNextPage endCursor } } }"#,
            json!({}),
        )
        .await;
    let edges = orders["orders"]["edges"].as_array().unwrap();
    let ids: Vec<&str> = edges.iter().map(|e| e["node"]["orderId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["D1", "D2"]);
    assert_eq!(orders["orders"]["pageInfo"]["hasNextPage"], true);
    let after = orders["orders"]["pageInfo"]["endCursor"].clone();
    let rest = server
        .gql(
            "query($after: String) { orders(filter: {status: [FULFILLING]}, first: 2, after: $after) { edges { node { orderId } } pageInfo { hasNextPage hasPreviousPage } } }",
            json!({ "after": after }),
        )
        .await;
    assert_eq!(rest["orders"]["edges"], json!([{"node": {"orderId": "W1"}}]));
    assert_eq!(rest["orders"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(rest["orders"]["pageInfo"]["hasPreviousPage"], true);
    server.stop().await;
}

#[tokio::test]
async fn section_4_web_sale_to_payout_through_graphql() {
    let server = TestServer::start_with_views().await;
    run(&server, "web_sale_to_payout.json").await;

    // 1100's subledger explains its −0.01: the order holds 118.80 captured − 3.75 fee − 54.00
    // refunded = 61.05, payout po_1 took 61.05 and po_2 0.01. 2100 is empty: the deposit was
    // invoiced at shipment.
    let sub = server
        .gql(
            "{ clearing: accountSubledger(account: PROCESSOR_CLEARING, currencyCode: USD) { totalCount nodes { referenceType referenceId balance { amount } } }
               deposits: accountSubledger(account: CUSTOMER_DEPOSITS, currencyCode: USD) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        sub["clearing"]["nodes"],
        json!([
            {"referenceType": "order", "referenceId": "O-1001", "balance": {"amount": "61.05"}},
            {"referenceType": "payout", "referenceId": "po_1", "balance": {"amount": "-61.05"}},
            {"referenceType": "payout", "referenceId": "po_2", "balance": {"amount": "-0.01"}}
        ]),
        "{sub:#}"
    );
    assert_eq!(sub["deposits"]["totalCount"], "0");

    let tb = server
        .gql(
            "{ trialBalance { meta { seq } rows { account number currencyCode debits { amount currencyCode } credits { amount } net { amount currencyCode } } totals { currencyCode net { amount } balanced } } }",
            json!({}),
        )
        .await;
    let tb = &tb["trialBalance"];
    assert_eq!(crate::support::u64_of(&tb["meta"]["seq"]), server.head());
    assert_eq!(
        tb["totals"],
        json!([{"currencyCode": "USD", "net": {"amount": "0.00"}, "balanced": true}])
    );
    let net = |account: &str| {
        let rows = tb["rows"].as_array().unwrap();
        let row = rows.iter().find(|r| r["account"] == account).unwrap();
        assert_eq!(row["net"]["currencyCode"], "USD");
        row["net"]["amount"].as_str().unwrap().to_owned()
    };
    // The story ends with a 0.01 payout above clearing (recorded, with an exception).
    assert_eq!(net("PROCESSOR_CLEARING"), "-0.01");
    assert_eq!(net("SALES_TAX_PAYABLE"), "-4.80");
    assert_eq!(net("BANK"), "61.06");
    assert_eq!(net("COST_OF_GOODS_SOLD"), "20.00");
    for row in tb["rows"].as_array().unwrap() {
        let amount = row["debits"]["amount"].as_str().unwrap();
        assert_eq!(amount.split('.').nth(1).map(str::len), Some(2), "{row}");
    }

    // The order's trail, page by page, in seq order, with the log's hashes.
    let mut trail: Vec<(u64, String)> = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = server
            .gql(
                "query($after: String) { auditTrail(entity: {kind: ORDER, id: \"O-1001\"}, first: 3, after: $after) { edges { cursor node { seq hash type } } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
            )
            .await;
        let page = &page["auditTrail"];
        for edge in page["edges"].as_array().unwrap() {
            trail.push((
                crate::support::u64_of(&edge["node"]["seq"]),
                edge["node"]["hash"].as_str().unwrap().to_owned(),
            ));
        }
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert!(trail.len() >= 8, "{trail:?}");
    assert!(trail.windows(2).all(|w| w[0].0 < w[1].0), "not in seq order: {trail:?}");
    let events = server
        .gql(
            "{ events(first: 200) { edges { node { seq hash } } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(events["events"]["pageInfo"]["hasNextPage"], false);
    let log: std::collections::BTreeMap<u64, String> = events["events"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                crate::support::u64_of(&e["node"]["seq"]),
                e["node"]["hash"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (seq, hash) in &trail {
        assert_eq!(log.get(seq), Some(hash), "trail hash of seq {seq}");
    }

    let order = server
        .gql(
            "{ order(id: \"O-1001\") { order { status channel lines { sku ordered shipped } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        order["order"]["order"],
        json!({"status": "DELIVERED", "channel": "web", "lines": [{"sku": "A", "ordered": 2, "shipped": 2}]})
    );
    let stock = server
        .gql(
            "{ stockByLocation(location: \"WH1\") { nodes { sku available onHand shipped } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        stock["stockByLocation"]["nodes"],
        json!([{"sku": "A", "available": "9", "onHand": "9", "shipped": "2"}])
    );
    server.stop().await;
}

/// The §4 sale, in Norwegian kroner instead of US dollars: a currency outside the nine of
/// before goes from the channel through the order, capture, fee, refund and payout, and the
/// books come out with the same numbers in NOK.
#[tokio::test]
async fn a_sale_in_a_newly_supported_currency_goes_from_order_to_payout() {
    let server = TestServer::start_with_views().await;
    for (i, (at, command)) in scenario("web_sale_to_payout.json").into_iter().enumerate() {
        let text = command.to_string().replace("\"USD\"", "\"NOK\"");
        assert!(!text.contains("USD"), "{text}");
        let command: Value = serde_json::from_str(&text).unwrap();
        submit(&server, &format!("nok-{i}"), at.as_deref(), &command).await;
    }
    let tb = server
        .gql(
            "{ trialBalance { rows { account net { amount currencyCode } } totals { currencyCode net { amount } balanced } } }",
            json!({}),
        )
        .await;
    let tb = &tb["trialBalance"];
    assert_eq!(
        tb["totals"],
        json!([{"currencyCode": "NOK", "net": {"amount": "0.00"}, "balanced": true}])
    );
    let net = |account: &str| {
        let rows = tb["rows"].as_array().unwrap();
        let row = rows.iter().find(|r| r["account"] == account).unwrap();
        assert_eq!(row["net"]["currencyCode"], "NOK");
        row["net"]["amount"].as_str().unwrap().to_owned()
    };
    // As in the USD file: payouts 61.05 + 0.01 to the bank (the second one above the clearing
    // balance, recorded with an exception), 4.80 tax left payable (9.60 collected, 4.80
    // refunded), COGS 20.00 for the unit kept.
    assert_eq!(net("BANK"), "61.06");
    assert_eq!(net("PROCESSOR_CLEARING"), "-0.01");
    assert_eq!(net("SALES_TAX_PAYABLE"), "-4.80");
    assert_eq!(net("COST_OF_GOODS_SOLD"), "20.00");

    // A special code is not a currency: refused by the enum before any command is built.
    let token = crate::support::token(tally_api::Role::Admin);
    let answer = server
        .gql_as(
            Some(&token),
            "mutation { capturePayment(envelope: {idempotencyKey: \"xau\"}, input: {order: \"O-1001\", payment: \"P\", amount: {amount: \"1.00\", currencyCode: XAU}}) { lastSeq } }",
            json!({}),
        )
        .await;
    let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("XAU"), "{answer:#}");
    server.stop().await;
}

#[tokio::test]
async fn view_queries_reject_bad_windows_and_entities() {
    let server = TestServer::start_with_views().await;
    let bad = [
        "{ fillRate(groupBy: CHANNEL, fromDay: \"2026-03-02\", toDay: \"2026-03-01\") { groups { group } } }",
        "{ auditTrail(entity: {kind: STOCK, sku: \"A\"}) { edges { cursor } } }",
        "{ orders(filter: {status: [SHIPPED]}, after: \"bm9wZQ\") { edges { cursor } } }",
    ];
    let token = crate::support::token(tally_api::Role::Admin);
    for query in bad {
        let answer = server.gql_as(Some(&token), query, json!({})).await;
        assert_eq!(crate::support::first_code(&answer), "INVALID_INPUT", "{query}: {answer:#}");
    }
    server.stop().await;
}

#[tokio::test]
async fn ats_changed_carries_the_ats_once_the_views_applied_the_event() {
    use futures_util::StreamExt as _;
    use tally_api::auth::{Auth, Caller};
    let server = TestServer::start_with_views().await;
    server.master_data().await;
    server
        .submit(
            "safety",
            json!({"type": "set_safety_stock", "location": "WH1", "sku": "SKU-A", "qty": 2}),
        )
        .await;
    let schema = tally_api::schema::build(&server.state);
    let viewer = Auth::Caller(Caller { name: "dash".to_owned(), role: tally_api::Role::Viewer });
    let query = format!(
        "subscription {{ atsChanged(sku: \"SKU-A\", afterSeq: {}) {{ seq type ats {{ network channels {{ channel ats }} meta {{ seq }} }} }} }}",
        server.head()
    );
    let mut stream = schema.execute_stream(async_graphql::Request::new(query).data(viewer));
    let receipt = server
        .submit(
            "rcv",
            json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 10}),
        )
        .await;
    let item = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap();
    assert!(item.errors.is_empty(), "{:?}", item.errors);
    let data = item.data.into_json().unwrap();
    let change = &data["atsChanged"];
    assert_eq!(change["type"], "INVENTORY_RECEIVED");
    let seq = crate::support::u64_of(&change["seq"]);
    assert_eq!(seq, crate::support::u64_of(&receipt["events"][0]["seq"]));
    assert!(crate::support::u64_of(&change["ats"]["meta"]["seq"]) >= seq);
    assert_eq!(change["ats"]["network"], "8");
    assert_eq!(
        change["ats"]["channels"],
        json!([{"channel": "edi", "ats": "10"}, {"channel": "web", "ats": "8"}])
    );
    server.stop().await;
}

#[tokio::test]
async fn lot_trace_and_lot_buckets_after_a_recall() {
    let server = TestServer::start_with_views().await;
    run(&server, "fefo_recall.json").await;
    let data = server
        .gql(
            r#"{
                a: lotTrace(sku: "SYRINGE", lot: "LOT-A") {
                    trace { expiry recalledSeq receipts { location qty } locations { location quarantined onHand } orders { nodes { order } } }
                }
                b: lotTrace(sku: "SYRINGE", lot: "LOT-B") {
                    meta { seq }
                    trace { recalledAt receipts { qty } shipments(first: 10) { nodes { order qty location } totalCount pageInfo { hasNextPage } } orders(first: 1) { nodes { order units } } }
                }
                none: lotTrace(sku: "SYRINGE", lot: "NOPE") { trace { lot } }
                stock(location: "DC1", sku: "SYRINGE") { lots { lot available reserved quarantined shipped } }
                trail: auditTrail(entity: {kind: LOT, sku: "SYRINGE", lot: "LOT-B"}) { edges { node { type } } }
            }"#,
            json!({}),
        )
        .await;
    let a = &data["a"]["trace"];
    assert_eq!(a["expiry"], "2026-07-01");
    assert!(a["recalledSeq"].is_string(), "{a:#}");
    assert_eq!(
        a["receipts"],
        json!([{"location": "DC1", "qty": 100}, {"location": "DC2", "qty": 40}])
    );
    assert_eq!(
        a["locations"][0],
        json!({"location": "DC1", "quarantined": "100", "onHand": "100"})
    );
    assert_eq!(a["orders"]["nodes"], json!([]));
    let b = &data["b"]["trace"];
    assert_eq!(b["recalledAt"], Value::Null);
    assert_eq!(b["receipts"], json!([{"qty": 50}]));
    assert_eq!(b["shipments"]["nodes"], json!([{"order": "H-1", "qty": 50, "location": "DC1"}]));
    assert_eq!(b["shipments"]["totalCount"], "1");
    assert_eq!(b["shipments"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(b["orders"]["nodes"], json!([{"order": "H-1", "units": "50"}]));
    assert_eq!(data["none"]["trace"], Value::Null);
    let lots = data["stock"]["lots"].as_array().unwrap();
    let lot_b = lots.iter().find(|l| l["lot"] == "LOT-B").unwrap();
    assert_eq!(
        lot_b,
        &json!({"lot": "LOT-B", "available": "0", "reserved": "0", "quarantined": "0", "shipped": "50"})
    );
    let types: Vec<&str> = data["trail"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.first(), Some(&"INVENTORY_RECEIVED"), "{types:?}");
    assert!(types.contains(&"ORDER_SHIPPED"), "{types:?}");
    server.stop().await;
}

#[tokio::test]
async fn exceptions_fill_rate_and_kpis_over_a_day_of_operations() {
    let server = TestServer::start_with_views().await;
    let heads = run(&server, "operations_day.json").await;
    // The hold (due 11:00) is the 15th command; judged at noon it is an hour overdue.
    let held = heads[14];
    let at_noon = "query($asOf: AsOf) { exceptions(now: \"2026-03-01T12:00:00Z\", asOf: $asOf) { totalCount nodes { order overdueMs hold { reason dueAt releasedAt } } } }";
    let then = server.gql(at_noon, json!({ "asOf": { "seq": held } })).await;
    assert_eq!(
        then["exceptions"]["nodes"],
        json!([{"order": "O1", "overdueMs": "3600000", "hold": {"reason": "PAYMENT", "dueAt": "2026-03-01T11:00:00.000Z", "releasedAt": null}}])
    );
    let now = server.gql(at_noon, json!({})).await;
    assert_eq!(now["exceptions"]["totalCount"], "0");

    let window = json!({ "from": "2026-03-01", "to": "2026-03-01" });
    let data = server
        .gql(
            r#"query($from: Date!, $to: Date!) {
                fillRate(groupBy: CHANNEL, fromDay: $from, toDay: $to) {
                    groups { group firstTime { order { numerator denominator bps } } final { order { numerator denominator bps } } }
                    total { group final { order { numerator denominator percentage } } }
                }
                byLocation: fillRate(groupBy: LOCATION, fromDay: $from, toDay: $to) {
                    total { final { order { numerator denominator } } }
                }
                releaseTimes(channel: "web", fromDay: $from, toDay: $to) { orders rows { channel day orders } }
                recordAccuracy(location: "WH1", fromDay: $from, toDay: $to) { accuracy { denominator } rows { location day } }
                empty: fillRate(groupBy: LOCATION, fromDay: "2025-01-01", toDay: "2025-01-31") { groups { group } }
            }"#,
            window,
        )
        .await;
    // O2 was cancelled by the customer before release: out of the denominator. O1 waited
    // for stock and was cut short by a stockout: unfilled on both bases.
    let web = &data["fillRate"]["groups"][0];
    assert_eq!(web["group"], "web");
    assert_eq!(web["firstTime"]["order"], json!({"numerator": "0", "denominator": "1", "bps": 0}));
    assert_eq!(web["final"]["order"], json!({"numerator": "0", "denominator": "1", "bps": 0}));
    // The all-channel total beside the groups; the same whatever the grouping.
    let total = &data["fillRate"]["total"];
    assert_eq!(total["group"], "all");
    assert_eq!(
        total["final"]["order"],
        json!({"numerator": "0", "denominator": "1", "percentage": "0.00"})
    );
    assert_eq!(
        data["byLocation"]["total"]["final"]["order"],
        json!({"numerator": "0", "denominator": "1"})
    );
    assert_eq!(data["releaseTimes"]["orders"], "1");
    assert_eq!(
        data["releaseTimes"]["rows"],
        json!([{"channel": "web", "day": "2026-03-01", "orders": "1"}])
    );
    assert_eq!(data["recordAccuracy"]["accuracy"]["denominator"], "1");
    assert_eq!(data["recordAccuracy"]["rows"], json!([{"location": "WH1", "day": "2026-03-01"}]));
    assert_eq!(data["empty"]["groups"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn return_cycles_and_as_of_a_time_before_the_first_event() {
    let server = TestServer::start_with_views().await;
    run(&server, "returns_dispositions.json").await;
    let data = server
        .gql(
            r#"{
                returnCycleTimes(fromDay: "2026-03-01", toDay: "2026-03-31") { rows { operationsReturns } operationsMean }
                before: stock(location: "WH1", sku: "SHOE", asOf: {time: "2000-01-01T00:00:00Z"}) { meta { seq } total { onHand } }
                trialBalance { totals { currencyCode net { amount currencyCode } balanced } }
            }"#,
            json!({}),
        )
        .await;
    let rows = data["returnCycleTimes"]["rows"].as_array().unwrap();
    let operations: u64 =
        rows.iter().map(|r| crate::support::u64_of(&r["operationsReturns"])).sum();
    assert_eq!(operations, 1);
    assert_eq!(
        data["returnCycleTimes"]["operationsMean"], "PT0S",
        "received and inspected at 09:00"
    );
    assert_eq!(data["before"], json!({"meta": {"seq": "0"}, "total": {"onHand": "0"}}));
    assert_eq!(
        data["trialBalance"]["totals"],
        json!([{"currencyCode": "GBP", "net": {"amount": "0.00", "currencyCode": "GBP"}, "balanced": true}])
    );
    server.stop().await;
}

#[tokio::test]
async fn a_reorder_point_flags_stock_rows_until_it_is_cleared() {
    let server = TestServer::start_with_views().await;
    server.master_data().await;
    let step = |key: &'static str, command: Value| {
        let server = &server;
        async move {
            let answer = submit(server, key, Some("2026-03-02T10:00:00Z"), &command).await;
            assert_eq!(answer["data"]["submit"]["userErrors"], json!([]), "{key}: {answer:#}");
        }
    };
    let q = "{ stock(location: \"WH1\", sku: \"SKU-A\") {
                 total { available inTransit reorderPoint { point reorderQty } belowReorderPoint }
                 lots { belowReorderPoint } }
               stockBySku(sku: \"SKU-A\") { nodes { location reorderPoint { point } belowReorderPoint } }
               stockByLocation(location: \"WH1\") { nodes { sku belowReorderPoint } }
               below: stockLevels(filter: {belowReorderPoint: true}) { nodes { location sku lot belowReorderPoint } }
               above: stockLevels(filter: {belowReorderPoint: false}) { totalCount } }";
    // The row of each of the four shapes, and how many buckets each filter selects.
    let flags = || {
        let server = &server;
        async move {
            let data = server.gql(q, json!({})).await;
            let total = data["stock"]["total"].clone();
            let by_sku = data["stockBySku"]["nodes"][0]["belowReorderPoint"].clone();
            let by_location = data["stockByLocation"]["nodes"][0]["belowReorderPoint"].clone();
            let lots = data["stock"]["lots"].clone();
            assert!(
                lots.as_array()
                    .unwrap()
                    .iter()
                    .all(|l| l["belowReorderPoint"] == total["belowReorderPoint"])
            );
            assert_eq!(
                (&by_sku, &by_location),
                (&total["belowReorderPoint"], &total["belowReorderPoint"])
            );
            let below = data["below"]["nodes"].as_array().unwrap().len();
            (
                total,
                data["stockBySku"]["nodes"][0]["reorderPoint"].clone(),
                below,
                u64_of(&data["above"]["totalCount"]),
            )
        }
    };

    step(
        "rcv-1",
        json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 8}),
    )
    .await;
    let (total, by_sku, below, above) = flags().await;
    assert_eq!(total["reorderPoint"], Value::Null, "no point yet: {total:#}");
    assert_eq!(
        (total["belowReorderPoint"].as_bool(), by_sku, below, above),
        (Some(false), Value::Null, 0, 1)
    );

    // Point 10 with 8 available: below.
    step("rop", json!({"type": "set_reorder_point", "location": "WH1", "sku": "SKU-A", "point": 10, "reorder_qty": 24})).await;
    let (total, by_sku, below, above) = flags().await;
    assert_eq!(total["reorderPoint"], json!({"point": "10", "reorderQty": "24"}));
    assert_eq!(
        (total["belowReorderPoint"].as_bool(), by_sku, below, above),
        (Some(true), json!({"point": "10"}), 1, 0)
    );

    // 5 more received: 13 > 10.
    step(
        "rcv-2",
        json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 5}),
    )
    .await;
    let (total, _, below, above) = flags().await;
    assert_eq!(
        (total["available"].clone(), total["belowReorderPoint"].as_bool()),
        (json!("13"), Some(false))
    );
    assert_eq!((below, above), (0, 1));

    // An order of 3 shipped: 10 left, at the point: below.
    let order = json!({"type": "receive_order", "order": "W1", "channel": "web",
        "placed_at": "2026-03-02T09:00:00Z", "currency": "USD",
        "lines": [{"sku": "SKU-A", "qty": 3, "unit_price": {"amount": "10.00", "currency": "USD"}}],
        "shipping": {"amount": "0.00", "currency": "USD"}, "tax_rate": "0"});
    step("w1", order).await;
    for (key, kind) in [
        ("v1", "validate_order"),
        ("a1", "allocate_order"),
        ("p1", "pick_order"),
        ("k1", "pack_order"),
    ] {
        step(key, json!({"type": kind, "order": "W1"})).await;
    }
    step("s1", json!({"type": "ship_order", "order": "W1", "carrier": "UPS", "tracking": "1Z1"}))
        .await;
    let data = server
        .gql("{ stock(location: \"WH1\", sku: \"SKU-A\") { total { shipped } } }", json!({}))
        .await;
    assert_eq!(data["stock"]["total"]["shipped"], "3");
    let (total, _, below, above) = flags().await;
    assert_eq!(
        (total["available"].clone(), total["belowReorderPoint"].as_bool()),
        (json!("10"), Some(true))
    );
    assert_eq!((below, above), (1, 0));

    // Cleared (point 0): no point, never below.
    step("clear", json!({"type": "set_reorder_point", "location": "WH1", "sku": "SKU-A", "point": 0, "reorder_qty": 0})).await;
    let (total, by_sku, below, above) = flags().await;
    assert_eq!(
        (total["reorderPoint"].clone(), total["belowReorderPoint"].as_bool()),
        (Value::Null, Some(false))
    );
    assert_eq!((by_sku, below, above), (Value::Null, 0, 1));
    server.stop().await;
}

/// DOMAIN §5: record accuracy with a per-class tolerance the operator sets through the API
/// (`setCountTolerance`, master data in the log). Each count is judged with the tolerance in
/// force when it was taken: the change does not rewrite the count before it.
#[tokio::test]
async fn record_accuracy_follows_the_count_tolerance_in_force_at_each_count() {
    let server = TestServer::start_with_views().await;
    server.master_data().await; // SKU-A is class A
    let count = |counted: i64| json!({"type": "cycle_count", "location": "WH1", "sku": "SKU-A", "counted": counted});
    let at = Some("2026-03-01T12:00:00Z");
    let receive =
        json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 100});
    submit(&server, "r", at, &receive).await;
    // Exact (the default): 100 → 98 is off by 2, outside.
    submit(&server, "c1", at, &count(98)).await;
    let before = server.head();

    // Class A from now on: 2 units or 10 % of the expected on-hand, set by a typed mutation.
    let set = server
        .gql(
            r#"mutation { setCountTolerance(
                envelope: {idempotencyKey: "tol-a", occurredAt: "2026-03-01T12:00:00Z"},
                input: {class: A, units: 2, fraction: "0.10"}, waitForViews: true) {
                events { type stream } userErrors { code } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        set["setCountTolerance"],
        json!({"events": [{"type": "INVENTORY_COUNT_TOLERANCE_SET", "stream": "count_tolerance:A"}], "userErrors": []})
    );
    // 98 → 95: 3 units, 3.06 % of 98: within. 95 → 80: 15 units, 15.8 %: outside.
    submit(&server, "c2", at, &count(95)).await;
    submit(&server, "c3", at, &count(80)).await;

    let query = r#"query($asOf: AsOf) {
        recordAccuracy(location: "WH1", fromDay: "2026-03-01", toDay: "2026-03-01", asOf: $asOf) {
            accuracy { numerator denominator percentage }
            rows { location day accuracy { numerator denominator } }
            tolerances { class units fraction }
        } }"#;
    let now = server.gql(query, json!({})).await;
    let accuracy = &now["recordAccuracy"];
    // c1 outside (exact then), c2 within, c3 outside: 1 of 3.
    assert_eq!(
        accuracy["accuracy"],
        json!({"numerator": "1", "denominator": "3", "percentage": "33.33"})
    );
    assert_eq!(
        accuracy["rows"],
        json!([{"location": "WH1", "day": "2026-03-01", "accuracy": {"numerator": "1", "denominator": "3"}}])
    );
    assert_eq!(
        accuracy["tolerances"],
        json!([
            {"class": "A", "units": 2, "fraction": "0.1"},
            {"class": "B", "units": 0, "fraction": "0"},
            {"class": "C", "units": 0, "fraction": "0"},
        ])
    );
    // As of before the change: exact, and c1 outside — the same judgement c1 keeps now.
    let then = server.gql(query, json!({"asOf": {"seq": before}})).await;
    assert_eq!(
        then["recordAccuracy"]["accuracy"],
        json!({"numerator": "0", "denominator": "1", "percentage": "0.00"})
    );
    assert_eq!(
        then["recordAccuracy"]["tolerances"][0],
        json!({"class": "A", "units": 0, "fraction": "0"})
    );
    server.stop().await;
}

/// The integration failure rate through the API: per source and command type over a window
/// of UTC days, with rejections per code, and marked as counted outside the audited log.
#[tokio::test]
async fn submission_stats_count_rejections_outside_the_audited_log() {
    let server = TestServer::start().await;
    server.master_data().await;
    let receive = |key: &str, sku: &str| {
        format!(
            "mutation {{ receiveInventory(envelope: {{idempotencyKey: \"{key}\", source: \"wms/WH1\"}}, input: {{location: \"WH1\", sku: \"{sku}\", qty: 1}}) {{ userErrors {{ code }} }} }}"
        )
    };
    let head = server.head();
    let refused = server.gql(&receive("r1", "NOPE"), json!({})).await;
    assert_eq!(refused["receiveInventory"]["userErrors"][0]["code"], "UNKNOWN_SKU");
    assert_eq!(server.head(), head, "a rejected command appends nothing to the log");
    server.gql(&receive("r2", "SKU-A"), json!({})).await;
    server.gql(&receive("r3", "SKU-A"), json!({})).await;
    server.gql(&receive("r4", "SKU-A"), json!({})).await;

    let query = r#"query($since: Date) { submissionStats(sinceDay: $since) {
        sinceDay toDay retentionDays audited
        rows { source commandType submitted rejected failureRate rejectionsByCode { code count } }
        rejectionsByCode { code count } } }"#;
    let all = server.gql(query, json!({})).await;
    let stats = &all["submissionStats"];
    assert_eq!(stats["audited"], false);
    assert_eq!(stats["retentionDays"], 90);
    assert_eq!(stats["sinceDay"], stats["toDay"], "every submission was decided today");
    let wms: Vec<&Value> =
        stats["rows"].as_array().unwrap().iter().filter(|r| r["source"] == "wms/WH1").collect();
    // 4 receipts from the WMS, 1 refused: 1/4 = 0.25.
    assert_eq!(
        wms,
        [&json!({"source": "wms/WH1", "commandType": "receive_inventory", "submitted": "4",
            "rejected": "1", "failureRate": "0.25",
            "rejectionsByCode": [{"code": "UNKNOWN_SKU", "count": "1"}]})]
    );
    assert_eq!(stats["rejectionsByCode"], json!([{"code": "UNKNOWN_SKU", "count": "1"}]));
    // The window: from today the same rows; from tomorrow none.
    let today = server.gql(query, json!({"since": stats["toDay"]})).await;
    assert_eq!(today["submissionStats"]["rows"], stats["rows"]);
    let tomorrow =
        tally_domain::time::Date::parse(stats["toDay"].as_str().unwrap()).unwrap().days() + 1;
    let later = server
        .gql(query, json!({"since": tally_domain::time::Date::from_days(tomorrow).to_string()}))
        .await;
    assert_eq!(later["submissionStats"]["rows"], json!([]));
    server.stop().await;
}

/// Issue #16: a view rebuilt online (blue/green) while commands keep arriving: no append
/// fails, the served view answers throughout, and the rebuilt generation is byte-for-byte the
/// view a full replay builds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_rebuilt_online_while_commands_arrive_equals_a_fresh_replay() {
    let server = TestServer::start_with_views().await;
    server.master_data().await;
    for i in 0..40 {
        server
            .submit(
                &format!("rcv-{i}"),
                json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 1 + i % 3}),
            )
            .await;
    }
    let started = server
        .gql("mutation { rebuildView(name: \"inventory\") { view started } }", json!({}))
        .await;
    assert_eq!(started["rebuildView"], json!({"view": "inventory", "started": true}));
    // Appends go on while it builds; each one is accepted.
    for i in 0..20 {
        server
            .submit(
                &format!("adj-{i}"),
                json!({"type": "adjust_inventory", "location": "WH1", "sku": "SKU-A", "delta": -1, "reason": "damage"}),
            )
            .await;
    }
    let status = "{ views { views { name appliedSeq rebuild { running doneEvents totalEvents generation error } } } }";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let rebuild = loop {
        let answer = server.gql(status, json!({})).await;
        let views = answer["views"]["views"].as_array().unwrap().clone();
        let inventory = views.iter().find(|v| v["name"] == "inventory").unwrap().clone();
        // Only the view asked for is rebuilt.
        assert!(views.iter().filter(|v| v["name"] != "inventory").all(|v| v["rebuild"].is_null()));
        if inventory["rebuild"]["running"] == false {
            break inventory["rebuild"].clone();
        }
        assert!(std::time::Instant::now() < deadline, "the rebuild did not finish: {inventory}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(rebuild["error"].is_null(), "{rebuild}");
    assert_eq!(crate::support::u64_of(&rebuild["generation"]), 1, "{rebuild}");
    assert!(crate::support::u64_of(&rebuild["doneEvents"]) > 0, "{rebuild}");
    // A second rebuild may start once this one ended; an unknown view is NOT_FOUND.
    let unknown = server
        .gql_as(
            Some(&crate::support::token(tally_api::Role::Admin)),
            "mutation { rebuildView(name: \"nope\") { started } }",
            json!({}),
        )
        .await;
    assert_eq!(crate::support::first_code(&unknown), "NOT_FOUND", "{unknown}");
    // The rebuilt generation equals a fresh replay of the whole log, byte for byte.
    let head = server.head();
    let engine = server.state.engine().clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while engine.views().applied("inventory").unwrap() < head {
        assert!(std::time::Instant::now() < deadline, "the view did not catch up");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let fresh = tally_projections::ViewStore::replay_as_of(
        engine.log(),
        tally_projections::all(),
        head,
        &mut |_, _| {},
    )
    .unwrap();
    assert!(engine.views().dump("inventory").unwrap() == fresh.dump("inventory").unwrap());
    // The served answer reflects every adjustment.
    let stock = server
        .gql("{ stock(location: \"WH1\", sku: \"SKU-A\") { total { onHand } } }", json!({}))
        .await;
    let received: i64 = (0..40).map(|i| 1 + i % 3).sum();
    assert_eq!(stock["stock"]["total"]["onHand"], json!((received - 20).to_string()), "{stock}");
    server.stop().await;
}

/// Business time beside log time: a receipt recorded late (after a later one) counts at the
/// time it occurred in `occurredAt` answers, and only from when it was recorded in `seq` /
/// `recordedAt` answers; both axes together give "as the business was then, as known then".
#[tokio::test]
async fn a_late_fact_counts_at_its_occurred_time_and_from_its_recorded_time() {
    let server = TestServer::start_with_views().await;
    server.master_data().await;
    let receive = |key: &'static str, at: &'static str, qty: u32| {
        let server = &server;
        async move {
            let command =
                json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": qty});
            let answer = submit(server, key, Some(at), &command).await;
            assert_eq!(answer["data"]["submit"]["userErrors"], json!([]), "{key}: {answer:#}");
            server.head()
        }
    };
    let first = receive("rcv-1", "2026-03-01T10:00:00Z", 10).await;
    let second = receive("rcv-2", "2026-03-02T10:00:00Z", 5).await;
    let head = server.gql("{ head { recordedAt } }", json!({})).await;
    let second_recorded = head["head"]["recordedAt"].as_str().unwrap().to_owned();
    // Recorded at least a millisecond after the second receipt.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let late = receive("rcv-late", "2026-03-01T12:00:00Z", 7).await;
    assert!(first < second && second < late);

    let q = "query($asOf: AsOf) { stock(location: \"WH1\", sku: \"SKU-A\", asOf: $asOf) {
                 meta { seq occurredAt } total { onHand } } }";
    let on_hand = |as_of: Value| {
        let server = &server;
        async move {
            let data = server.gql(q, json!({ "asOf": as_of })).await;
            let stock = &data["stock"];
            assert!(stock.is_object(), "{data:#}");
            (
                stock["total"]["onHand"].as_str().unwrap().to_owned(),
                u64_of(&stock["meta"]["seq"]),
                stock["meta"]["occurredAt"].clone(),
            )
        }
    };
    // Now: everything.
    assert_eq!(on_hand(Value::Null).await.0, "22");
    // Log time: what the ledger knew after the second receipt (the late one not yet).
    assert_eq!(on_hand(json!({"seq": second})).await, ("15".into(), second, Value::Null));
    assert_eq!(on_hand(json!({"recordedAt": second_recorded})).await.0, "15");
    assert_eq!(on_hand(json!({"time": second_recorded})).await.0, "15", "the former name");
    // Business time, as known now: the end of 1 March holds the first and the late receipt.
    let (qty, seq, occurred) = on_hand(json!({"occurredAt": "2026-03-01T23:59:59Z"})).await;
    assert_eq!((qty.as_str(), seq), ("17", late));
    assert_eq!(occurred, json!("2026-03-01T23:59:59.000Z"));
    assert_eq!(on_hand(json!({"occurredAt": "2026-03-01T11:00:00Z"})).await.0, "10");
    assert_eq!(on_hand(json!({"occurredAt": "2026-03-01T09:00:00Z"})).await.0, "0");
    // Both axes: 1 March as known after the second receipt (before the late one arrived).
    let known_then = json!({"occurredAt": "2026-03-01T23:59:59Z", "seq": second});
    assert_eq!(on_hand(known_then).await, ("10".into(), second, json!("2026-03-01T23:59:59.000Z")));
    let known_then = json!({"occurredAt": "2026-03-01T23:59:59Z", "recordedAt": second_recorded});
    assert_eq!(on_hand(known_then).await.0, "10");

    // Two log times, or no time at all: INVALID_INPUT, nothing else answered.
    for bad in [json!({"seq": first, "recordedAt": second_recorded}), json!({})] {
        let token = crate::support::token(tally_api::Role::Admin);
        let answer = server.gql_as(Some(&token), q, json!({ "asOf": bad })).await;
        assert_eq!(crate::support::first_code(&answer), "INVALID_INPUT", "{answer:#}");
    }
    server.stop().await;
}
