//! Purchasing through the public API: a purchase order received, invoiced with a price
//! variance and paid, read back through `goodsReceivedNotInvoiced`, `payables`,
//! `inventoryValuation` and `trialBalance` (hand-computed numbers).

use crate::support::{TestServer, token};
use serde_json::{Value, json};
use tally_api::Role;

async fn submit_waiting(server: &TestServer, key: &str, command: Value) -> Value {
    let query = "mutation($input: SubmitInput!) { submit(input: $input, waitForViews: true) { viewsCaughtUp userErrors { code message } events { type } } }";
    let data =
        server.gql(query, json!({ "input": { "idempotencyKey": key, "json": command } })).await;
    let payload = data["submit"].clone();
    assert_eq!(payload["userErrors"], json!([]), "refused: {payload:#}");
    assert_eq!(payload["viewsCaughtUp"], json!(true));
    payload
}

fn usd(amount: &str) -> Value {
    json!({ "amount": amount, "currency": "USD" })
}

const VIEWS: &str = r#"{
    goodsReceivedNotInvoiced {
        totals { currencyCode amount { amount } }
        lines { nodes { purchaseOrder line supplier sku ordered received invoiced openQty openValue { amount } } }
    }
    payables {
        totals { currencyCode amount { amount } }
        suppliers { nodes { supplier name invoiced { amount } paid { amount } unappliedCredit { amount } balance { amount }
            openInvoices { invoice purchaseOrder total { amount } paid { amount } open { amount } due } } }
    }
    inventoryValuation {
        totals { currencyCode amount { amount } }
        skus { nodes { sku units value { amount } averageCost { amount } } }
    }
    trialBalance { rows { number net { amount } } }
}"#;

fn balance(data: &Value, number: u64) -> String {
    data["trialBalance"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["number"] == json!(number))
        .map_or_else(|| "0.00".to_owned(), |r| r["net"]["amount"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_purchase_order_received_invoiced_and_paid_clears_grni_and_ap() {
    let server = TestServer::start_with_views().await;
    server.master_data().await;
    submit_waiting(
        &server,
        "sup",
        json!({"type": "define_supplier", "supplier": "ACME", "name": "Acme",
        "currency": "USD", "payment_terms_days": 30, "price_tolerance": "0.05"}),
    )
    .await;
    submit_waiting(
        &server,
        "po",
        json!({"type": "create_purchase_order", "purchase_order": "PO-1", "supplier": "ACME",
        "lines": [{"sku": "SKU-A", "qty": 10, "unit_cost": usd("20.00")},
                  {"sku": "SKU-A", "qty": 10, "unit_cost": usd("26.00")}]}),
    )
    .await;
    for (key, line) in [("r0", 0), ("r1", 1)] {
        let p = submit_waiting(
            &server,
            key,
            json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A",
            "qty": 10, "purchase_order": "PO-1", "po_line": line}),
        )
        .await;
        let types: Vec<&str> =
            p["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            ["INVENTORY_RECEIVED", "PURCHASE_ORDER_RECEIVED", "JOURNAL_ENTRY_POSTED"]
        );
    }
    // Received 10 @ 20.00 + 10 @ 26.00: GRNI 460.00 on two lines, valuation 20 units, avg 23.00.
    let data = server.gql(&format!("query {VIEWS}"), json!({})).await;
    let grni = &data["goodsReceivedNotInvoiced"];
    assert_eq!(grni["totals"], json!([{"currencyCode": "USD", "amount": {"amount": "460.00"}}]));
    assert_eq!(
        grni["lines"]["nodes"],
        json!([
            {"purchaseOrder": "PO-1", "line": 0, "supplier": "ACME", "sku": "SKU-A", "ordered": "10", "received": "10", "invoiced": "0", "openQty": "10", "openValue": {"amount": "200.00"}},
            {"purchaseOrder": "PO-1", "line": 1, "supplier": "ACME", "sku": "SKU-A", "ordered": "10", "received": "10", "invoiced": "0", "openQty": "10", "openValue": {"amount": "260.00"}}
        ])
    );
    assert_eq!(balance(&data, 2050), "-460.00");
    assert_eq!(
        data["inventoryValuation"]["skus"]["nodes"],
        json!([{"sku": "SKU-A", "units": "20", "value": {"amount": "460.00"}, "averageCost": {"amount": "23.00"}}])
    );
    assert_eq!(balance(&data, 1200), "460.00");

    // Line 1 billed at 26.50 (within 5 %): 2050 −260.00, 5600 +5.00, 2000 −265.00.
    submit_waiting(&server, "inv", json!({"type": "record_supplier_invoice", "invoice": "INV-1", "supplier": "ACME",
        "purchase_order": "PO-1", "lines": [{"po_line": 1, "qty": 10, "unit_price": usd("26.50")}]})).await;
    let data = server.gql(&format!("query {VIEWS}"), json!({})).await;
    assert_eq!(data["goodsReceivedNotInvoiced"]["totals"][0]["amount"]["amount"], "200.00");
    assert_eq!(balance(&data, 2050), "-200.00");
    assert_eq!(balance(&data, 5600), "5.00");
    assert_eq!(balance(&data, 2000), "-265.00");
    let supplier = &data["payables"]["suppliers"]["nodes"][0];
    assert_eq!(supplier["balance"]["amount"], "265.00");
    assert_eq!(supplier["openInvoices"][0]["invoice"], "INV-1");
    assert_eq!(supplier["openInvoices"][0]["open"]["amount"], "265.00");
    assert!(supplier["openInvoices"][0]["due"].is_string());
    assert_eq!(data["payables"]["totals"][0]["amount"]["amount"], "265.00");

    // An invoice beyond tolerance raises an exception and posts nothing.
    let p = submit_waiting(&server, "inv-bad", json!({"type": "record_supplier_invoice", "invoice": "INV-2", "supplier": "ACME",
        "purchase_order": "PO-1", "lines": [{"po_line": 0, "qty": 10, "unit_price": usd("22.00")}]})).await;
    assert_eq!(p["events"], json!([{"type": "EXCEPTION_RAISED"}]));

    // Pay 300.00: 265.00 applied, 35.00 unapplied credit; 2000 = +35.00.
    submit_waiting(
        &server,
        "pay",
        json!({"type": "record_supplier_payment", "payment": "PAY-1", "supplier": "ACME",
        "amount": usd("300.00"), "applications": [{"invoice": "INV-1", "amount": usd("265.00")}]}),
    )
    .await;
    let data = server.gql(&format!("query {VIEWS}"), json!({})).await;
    let supplier = &data["payables"]["suppliers"]["nodes"][0];
    assert_eq!(supplier["paid"]["amount"], "300.00");
    assert_eq!(supplier["unappliedCredit"]["amount"], "35.00");
    assert_eq!(supplier["balance"]["amount"], "-35.00");
    assert_eq!(supplier["openInvoices"], json!([]));
    assert_eq!(balance(&data, 2000), "35.00");

    // A viewer may not read finance views.
    let answer = server
        .gql_as(Some(&token(Role::Viewer)), "{ payables { totals { currencyCode } } }", json!({}))
        .await;
    assert_eq!(crate::support::first_code(&answer), "FORBIDDEN");
    server.stop().await;
}
