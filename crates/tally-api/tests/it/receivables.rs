//! Receivables through the API (#14): a B2B order on net 30 shipped to 1300, a partial payment
//! and an overpayment through the typed mutation, AR aging on several dates equal to the 1300
//! balance, a credit hold, the facilitator-tax pair netting to zero, and a credit note.

use crate::support::{TestServer, token, u64_of};
use serde_json::{Value, json};
use tally_api::Role;

fn usd(amount: &str) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

/// Submits as admin at business time `at`, waiting for the views; returns the payload.
async fn submit(server: &TestServer, key: &str, at: &str, command: Value) -> Value {
    let query = "mutation($input: SubmitInput!) { submit(input: $input, waitForViews: true) { lastSeq viewsCaughtUp events { type } userErrors { code message } } }";
    let input = json!({ "idempotencyKey": key, "json": command, "occurredAt": at });
    let answer = server.gql_as(Some(&token(Role::Admin)), query, json!({ "input": input })).await;
    assert!(answer.get("errors").is_none(), "{answer:#}");
    answer["data"]["submit"].clone()
}

async fn accepted(server: &TestServer, key: &str, at: &str, command: Value) -> Vec<String> {
    let payload = submit(server, key, at, command).await;
    assert_eq!(payload["userErrors"], json!([]), "{key}: {payload:#}");
    payload["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

const AGING: &str = "query($day: Date) { receivablesAging(asOfDay: $day) {
  asOfDay
  debtors { customerId name currencyCode termsDays creditLimit { amount } unappliedCredit { amount } openInvoices
    buckets { current { amount } days1To30 { amount } days31To60 { amount } days61To90 { amount } over90 { amount } total { amount } } }
  totals { currencyCode buckets { current { amount } days1To30 { amount } days31To60 { amount } days61To90 { amount } over90 { amount } total { amount } } } } }";

const BALANCES: &str = "{ trialBalance { rows { number net { amount } } } }";

async fn balance(server: &TestServer, number: u64) -> String {
    let data = server.gql(BALANCES, json!({})).await;
    data["trialBalance"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["number"].as_u64() == Some(number))
        .map_or_else(|| "0.00".to_owned(), |r| r["net"]["amount"].as_str().unwrap().to_owned())
}

async fn setup(server: &TestServer) {
    let at = "2026-03-01T08:00:00Z";
    for (i, command) in [
        json!({"type": "define_channel", "channel": "b2b", "priority": "contract", "kind": "wholesale", "currency": "USD"}),
        json!({"type": "define_channel", "channel": "amzf", "priority": "standard", "kind": "marketplace", "currency": "USD", "facilitator_tax": true}),
        json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["b2b", "amzf"]}),
        json!({"type": "define_sku", "sku": "A", "lot_tracked": false, "unit_cost": usd("20.00"), "abc": "A"}),
        json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 50}),
    ]
    .into_iter()
    .enumerate()
    {
        accepted(server, &format!("setup-{i}"), at, command).await;
    }
    // The typed mutation.
    let data = server
        .gql(
            "mutation { defineCustomer(envelope: {idempotencyKey: \"cust-acme\", occurredAt: \"2026-01-01T08:00:00Z\"}, waitForViews: true, input: {customer: \"ACME\", name: \"Acme Clinics\", currencyCode: USD, termsDays: 30, creditLimit: {amount: \"500.00\", currencyCode: USD}}) { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["defineCustomer"]["userErrors"], json!([]), "{data:#}");
}

/// Receives and ships `qty` × A at `price` (8 % tax) for ACME on `day`.
async fn ship_b2b(server: &TestServer, id: &str, qty: u32, price: &str, day: &str) -> Vec<String> {
    let at = format!("{day}T09:00:00Z");
    let received = accepted(
        server,
        &format!("{id}-receive"),
        &at,
        json!({"type": "receive_order", "order": id, "channel": "b2b", "customer": "ACME",
            "placed_at": at, "currency": "USD",
            "lines": [{"sku": "A", "qty": qty, "unit_price": usd(price)}],
            "shipping": usd("0.00"), "tax_rate": "0.08"}),
    )
    .await;
    if received.iter().any(|t| t == "ORDER_HELD") {
        return received;
    }
    for step in ["validate_order", "allocate_order", "pick_order", "pack_order", "ship_order"] {
        accepted(server, &format!("{id}-{step}"), &at, json!({"type": step, "order": id})).await;
    }
    received
}

fn amounts(buckets: &Value) -> [String; 6] {
    ["current", "days1To30", "days31To60", "days61To90", "over90", "total"]
        .map(|b| buckets[b]["amount"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn b2b_invoices_age_partial_and_over_payments_apply_and_the_credit_limit_holds() {
    let server = TestServer::start_with_views().await;
    setup(&server).await;
    // B1 shipped 2026-01-01: 2 × 100.00 + 8 % = 216.00, due 2026-01-31.
    ship_b2b(&server, "B1", 2, "100.00", "2026-01-01").await;
    // B2 shipped 2026-03-01: 1 × 50.00 + 8 % = 54.00, due 2026-03-31.
    ship_b2b(&server, "B2", 1, "50.00", "2026-03-01").await;
    assert_eq!(balance(&server, 1300).await, "270.00");
    assert_eq!(balance(&server, 2100).await, "0.00");

    // 2026-03-15: B1 is 43 days past due (31–60), B2 current.
    let data = server.gql(AGING, json!({"day": "2026-03-15"})).await;
    let aging = &data["receivablesAging"];
    assert_eq!(aging["asOfDay"], "2026-03-15");
    let acme = &aging["debtors"][0];
    assert_eq!(
        (&acme["customerId"], &acme["name"], &acme["termsDays"]),
        (&json!("ACME"), &json!("Acme Clinics"), &json!(30))
    );
    assert_eq!(u64_of(&acme["openInvoices"]), 2);
    assert_eq!(
        amounts(&acme["buckets"]),
        ["54.00", "0.00", "216.00", "0.00", "0.00", "270.00"].map(String::from)
    );
    assert_eq!(amounts(&aging["totals"][0]["buckets"])[5], balance(&server, 1300).await);
    // 2026-05-10: B1 99 days (> 90), B2 40 days (31–60).
    let data = server.gql(AGING, json!({"day": "2026-05-10"})).await;
    assert_eq!(
        amounts(&data["receivablesAging"]["debtors"][0]["buckets"]),
        ["0.00", "0.00", "54.00", "0.00", "216.00", "270.00"].map(String::from)
    );
    // 2026-02-01: B1 1 day past due; B2 not issued yet as of the view, but the view holds today's
    // open invoices aged to that date: B2 is current.
    let data = server.gql(AGING, json!({"day": "2026-02-01"})).await;
    assert_eq!(
        amounts(&data["receivablesAging"]["debtors"][0]["buckets"]),
        ["54.00", "216.00", "0.00", "0.00", "0.00", "270.00"].map(String::from)
    );

    // Credit limit 500.00: 270.00 open + B3 (3 × 100.00 + 8 % = 324.00) = 594.00 > 500.00.
    let events = ship_b2b(&server, "B3", 3, "100.00", "2026-03-16").await;
    assert_eq!(events, ["ORDER_RECEIVED", "ORDER_HELD"]);

    // A partial payment of 100.00 to B1 (typed mutation): B1 116.00 open; 170.00 + 324.00 =
    // 494.00 ≤ 500.00, so B3 is released in the same decision.
    let data = server
        .gql(
            "mutation { recordCustomerPayment(envelope: {idempotencyKey: \"ach-1\", occurredAt: \"2026-03-16T10:00:00Z\"}, waitForViews: true, input: {payment: \"ach-1\", customer: \"ACME\", amount: {amount: \"100.00\", currencyCode: USD}, applications: [{invoice: \"B1-inv-1\", amount: {amount: \"100.00\", currencyCode: USD}}]}) { events { type } userErrors { code } } }",
            json!({}),
        )
        .await;
    let payload = &data["recordCustomerPayment"];
    assert_eq!(payload["userErrors"], json!([]), "{data:#}");
    let types: Vec<&str> =
        payload["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["FINANCE_CUSTOMER_PAYMENT_RECORDED", "JOURNAL_ENTRY_POSTED", "ORDER_HOLD_RELEASED"]
    );

    // An overpayment: 200.00 for the 116.00 still open on B1 leaves 84.00 of credit.
    accepted(
        &server,
        "ach-2",
        "2026-03-17T10:00:00Z",
        json!({"type": "record_customer_payment", "payment": "ach-2", "customer": "ACME",
            "amount": usd("200.00"), "applications": [{"invoice": "B1-inv-1", "amount": usd("116.00")}]}),
    )
    .await;
    // Applying more than is open is refused with a typed code.
    let refused = submit(
        &server,
        "ach-3",
        "2026-03-17T10:00:00Z",
        json!({"type": "record_customer_payment", "payment": "ach-3", "customer": "ACME",
            "amount": usd("60.00"), "applications": [{"invoice": "B2-inv-1", "amount": usd("54.01")}]}),
    )
    .await;
    assert_eq!(refused["userErrors"][0]["code"], "EXCEEDS_OPEN_AMOUNT", "{refused:#}");

    assert_eq!(balance(&server, 1300).await, "54.00");
    assert_eq!(balance(&server, 2100).await, "-84.00");
    assert_eq!(balance(&server, 1000).await, "300.00");
    let data = server.gql(AGING, json!({"day": "2026-03-17"})).await;
    let acme = &data["receivablesAging"]["debtors"][0];
    assert_eq!(acme["unappliedCredit"]["amount"], "84.00");
    assert_eq!(amounts(&acme["buckets"])[5], "54.00");
    let invoices = server
        .gql("{ openInvoices(customer: \"ACME\", asOfDay: \"2026-04-02\") { nodes { invoiceId orderId dueOn daysPastDue open { amount } } } }", json!({}))
        .await;
    assert_eq!(
        invoices["openInvoices"]["nodes"],
        json!([{"invoiceId": "B2-inv-1", "orderId": "B2", "dueOn": "2026-03-31", "daysPastDue": 2, "open": {"amount": "54.00"}}])
    );

    // A refund of B2's unit before it is paid is a credit note against 1300: 54.00 → 0.
    accepted(
        &server,
        "cn-1",
        "2026-03-18T10:00:00Z",
        json!({"type": "issue_refund", "refund": "CN-1", "order": "B2", "lines": [{"line": 0, "qty": 1}]}),
    )
    .await;
    assert_eq!(balance(&server, 1300).await, "0.00");
    assert_eq!(balance(&server, 1100).await, "0.00");

    // The viewer role may not read receivables.
    let answer =
        server.gql_as(Some(&token(Role::Viewer)), AGING, json!({"day": "2026-03-17"})).await;
    assert_eq!(crate::support::first_code(&answer), "FORBIDDEN", "{answer:#}");
    server.stop().await;
}

#[tokio::test]
async fn a_facilitator_tax_order_never_credits_2200_and_its_settlement_clears_1150() {
    let server = TestServer::start_with_views().await;
    setup(&server).await;
    let at = "2026-03-02T09:00:00Z";
    accepted(
        &server,
        "m1",
        at,
        json!({"type": "receive_order", "order": "M1", "channel": "amzf", "placed_at": at,
            "currency": "USD", "lines": [{"sku": "A", "qty": 2, "unit_price": usd("50.00")}],
            "shipping": usd("0.00"), "tax_rate": "0.08"}),
    )
    .await;
    for step in ["validate_order", "allocate_order", "pick_order", "pack_order", "ship_order"] {
        accepted(&server, &format!("m1-{step}"), at, json!({"type": step, "order": "M1"})).await;
    }
    assert_eq!(balance(&server, 1150).await, "100.00");
    assert_eq!(balance(&server, 2200).await, "0.00");
    accepted(
        &server,
        "s1",
        at,
        json!({"type": "open_settlement", "settlement": "S1", "channel": "amzf", "currency": "USD",
            "period_start": "2026-03-01", "period_end": "2026-03-07"}),
    )
    .await;
    for (i, (kind, amount)) in [
        ("principal", "100.00"),
        ("facilitator_tax", "8.00"),
        ("facilitator_tax", "-8.00"),
        ("commission", "-15.00"),
    ]
    .into_iter()
    .enumerate()
    {
        accepted(
            &server,
            &format!("s1-{i}"),
            at,
            json!({"type": "record_settlement_line", "settlement": "S1", "kind": kind,
                "amount": usd(amount), "order": "M1", "description": kind}),
        )
        .await;
    }
    accepted(
        &server,
        "s1-payout",
        at,
        json!({"type": "settle_payout", "settlement": "S1", "amount": usd("85.00"), "deposit_date": "2026-03-09"}),
    )
    .await;
    for (account, expected) in
        [(1150, "0.00"), (2200, "0.00"), (2100, "0.00"), (1000, "85.00"), (5200, "15.00")]
    {
        assert_eq!(balance(&server, account).await, expected, "account {account}");
    }
    server.stop().await;
}
