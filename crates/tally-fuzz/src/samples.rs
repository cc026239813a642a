//! Valid inputs the harnesses start from: the CLI tests' import lines and the README's
//! GraphQL tour. The fuzz corpora are seeded from these, and the proptests mutate them.

/// The sample import file of the CLI tests (`crates/tally-cli/tests/it/cli.rs`), plus the SKU
/// and stock the README's GraphQL tour asks about.
pub const COMMANDS: &str = r#"{"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}
{"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["web"]}
{"type": "define_sku", "sku": "A", "lot_tracked": false, "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "B"}
{"key": "rcv-1", "command": {"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 10}, "source": "wms/WH1/asn-1", "actor": "wms", "occurred_at": "2026-03-01T09:00:00Z"}
{"key": "ord-1", "command": {"type": "receive_order", "order": "D1", "channel": "web", "placed_at": "2026-03-01T10:00:00Z", "currency": "USD", "lines": [{"sku": "A", "qty": 2, "unit_price": {"amount": "15.00", "currency": "USD"}}], "shipping": {"amount": "0.00", "currency": "USD"}, "tax_rate": "0"}, "source": "shop/web/1001"}
{"type": "define_sku", "sku": "SKU-001", "lot_tracked": false, "unit_cost": {"amount": "2.50", "currency": "USD"}, "abc": "A"}
{"key": "rcv-2", "command": {"type": "receive_inventory", "location": "WH1", "sku": "SKU-001", "qty": 100}, "occurred_at": "2026-03-01T11:00:00Z"}
"#;

/// The README's GraphQL tour, one operation each.
pub const TOUR: &[&str] = &[
    "{ head { seq hash } latestCheckpoint { size root text } }",
    "{ views { views { name appliedSeq } } }",
    "{ events(first: 5, filter: { types: [ORDER_RECEIVED] }) { edges { cursor node { seq type stream hash } } pageInfo { hasNextPage hasPreviousPage endCursor } } }",
    "{ events(last: 5) { nodes { seq type recordedAt } totalCount } }",
    "{ inclusionProof(seq: 3) { size root path } }",
    "{ verify { ok framesChecked root failure { code message } } }",
    "{ atsByChannel(sku: \"SKU-001\") { network channels { channel ats } meta { seq checkpoint { size } } } }",
    "{ stock(location: \"WH1\", sku: \"SKU-001\") { total { available reserved picked packed quarantined returned inTransit shipped onHand } } }",
    "{ stockLevels(filter: { location: \"WH1\", state: QUARANTINED }, first: 20) { nodes { sku lot quarantinedByReason { reason units } } } }",
    "{ orders(filter: { status: [RECEIVED], channel: \"web\" }, sortKey: PLACED_AT, reverse: true, first: 10) { nodes { id orderId placedAt lines { sku ordered backordered } } } }",
    "{ node(id: \"gid://tally/Order/D1\") { id ... on Order { status openHold { reason dueAt } } } }",
    "{ atsByChannel(sku: \"SKU-001\", asOf: { seq: 5 }) { network meta { seq } } }",
    "{ exceptions(first: 20) { totalCount nodes { order overdueMs hold { reason dueAt } } } }",
    "{ trialBalance { rows { number account currencyCode net { amount currencyCode } } totals { currencyCode net { amount } balanced } } }",
    "{ settlementExport(channel: \"amazon\", fromDay: \"2026-11-01\", toDay: \"2026-11-30\") { totals { currencyCode gross { amount } fee { amount } tax { amount } net { amount } rowCount } rows(first: 100) { nodes { settlementId txnType amountType orderId net { amount currencyCode } } pageInfo { hasNextPage endCursor } } } }",
    "{ trialBalance(from: \"2026-03-01\", to: \"2026-03-31\") { rows { number name opening { amount } debits { amount } credits { amount } closing { amount } } totals { currencyCode balanced } } }",
    "{ journalEntries(account: PROCESSOR_CLEARING, from: \"2026-03-01\", to: \"2026-03-31\", first: 10) { nodes { entryId date debit { amount } credit { amount } memo seq } pageInfo { hasNextPage endCursor } } }",
    "{ settlementExport(processor: true, fromDay: \"2026-03-01\", toDay: \"2026-03-31\") { totals { net { amount } rowCount } rows(first: 50) { nodes { settlementId txnType amountType net { amount } } } } }",
    "{ auditTrail(entity: { kind: ORDER, id: \"D1\" }, first: 20) { edges { node { seq type hash actor source } } } }",
    "mutation { receiveInventory(envelope: { idempotencyKey: \"asn-2026-11-26-001\", source: \"wms/WH1/asn-1\" } input: { location: \"WH1\", sku: \"SKU-001\", qty: 24 } waitForViews: true) { firstSeq lastSeq deduplicated events { seq type stream } userErrors { field code message } } }",
    "mutation { submit(input: { idempotencyKey: \"adj-1\", command: { adjustInventory: { location: \"WH1\", sku: \"SKU-001\", delta: -1, reason: DAMAGE } } }) { lastSeq userErrors { code message } } }",
    "mutation { submit(input: { idempotencyKey: \"adj-2\", json: { type: \"adjust_inventory\", location: \"WH1\", sku: \"SKU-001\", delta: -1, reason: \"damage\" } }) { lastSeq userErrors { code message } } }",
];

/// Request bodies for the GraphQL harness: each tour operation as `{"query": …}`, one with
/// variables, one that is refused by the domain, and a batch.
#[must_use]
pub fn graphql_bodies() -> Vec<String> {
    let mut out: Vec<String> =
        TOUR.iter().map(|q| serde_json::json!({ "query": q }).to_string()).collect();
    out.push(
        serde_json::json!({
            "query": "mutation Submit($input: SubmitInput!) { submit(input: $input) { lastSeq deduplicated userErrors { code } } }",
            "variables": { "input": { "idempotencyKey": "rcv-var-1", "json": { "type": "receive_inventory", "location": "WH1", "sku": "SKU-001", "qty": 5 } } },
            "operationName": "Submit",
        })
        .to_string(),
    );
    out.push(
        serde_json::json!({
            "query": "mutation { submit(input: { idempotencyKey: \"bad-1\", json: { type: \"receive_inventory\", location: \"WH1\", sku: \"NOPE\", qty: 1 } }) { lastSeq userErrors { code } } }",
        })
        .to_string(),
    );
    out.push(
        serde_json::json!([
            { "query": "{ head { seq } }" },
            { "query": "query Q($first: Int) { events(first: $first) { edges { node { seq } } } }", "variables": { "first": 2 } },
        ])
        .to_string(),
    );
    out
}
