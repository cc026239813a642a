//! The read side's shapes: Relay paging both ways, the page size limit, filters, global ids,
//! and 64-bit values as exact strings.

use crate::support::{TestServer, first_code, token, u64_of};
use serde_json::{Value, json};
use tally_api::Role;

fn order(id: &str, channel: &str, placed_at: &str, qty: u64) -> Value {
    json!({"type": "receive_order", "order": id, "channel": channel, "placed_at": placed_at,
           "currency": "USD",
           "lines": [{"sku": "SKU-A", "qty": qty, "unit_price": {"amount": "10.00", "currency": "USD"}}],
           "shipping": {"amount": "0.00", "currency": "USD"}, "tax_rate": "0"})
}

/// Master data, 5 units of SKU-A, and three orders: W1 (web, received), W2 (edi, validated),
/// W3 (web, 10 units: allocated 5, backordered 5).
async fn world() -> TestServer {
    let server = TestServer::start_with_views().await;
    server.master_data().await;
    let rcv = json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 5});
    server.submit("rcv", rcv).await;
    server.submit("w1", order("W1", "web", "2026-03-01T10:00:00Z", 1)).await;
    server.submit("w2", order("W2", "edi", "2026-03-02T10:00:00Z", 1)).await;
    server.submit("w3", order("W3", "web", "2026-03-03T10:00:00Z", 10)).await;
    server.submit("v2", json!({"type": "validate_order", "order": "W2"})).await;
    server.submit("v3", json!({"type": "validate_order", "order": "W3"})).await;
    server.submit("a3", json!({"type": "allocate_order", "order": "W3"})).await;
    let head = server.head();
    let timeout = std::time::Duration::from_secs(10);
    server.state.engine().wait_for_views(head, timeout).await.unwrap();
    server
}

fn seqs(connection: &Value) -> Vec<u64> {
    connection["nodes"].as_array().unwrap().iter().map(|n| u64_of(&n["seq"])).collect()
}

fn page_flags(connection: &Value) -> (bool, bool) {
    let info = &connection["pageInfo"];
    (info["hasPreviousPage"].as_bool().unwrap(), info["hasNextPage"].as_bool().unwrap())
}

fn ids(connection: &Value) -> Vec<String> {
    let nodes = connection["nodes"].as_array().unwrap();
    nodes.iter().map(|n| n["orderId"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn events_page_forward_and_backward_with_exact_page_info_and_a_limit() {
    let server = world().await;
    let head = server.head();
    let q = "query($first: Int, $after: String, $last: Int, $before: String) {
        events(first: $first, after: $after, last: $last, before: $before) {
            nodes { seq } totalCount
            pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } }";
    let first = server.gql(q, json!({"first": 2})).await["events"].clone();
    assert_eq!(seqs(&first), [1, 2]);
    assert_eq!(page_flags(&first), (false, true));
    assert_eq!(u64_of(&first["totalCount"]), head);
    let after = first["pageInfo"]["endCursor"].clone();
    let second = server.gql(q, json!({"first": 2, "after": after})).await["events"].clone();
    assert_eq!(seqs(&second), [3, 4]);
    assert_eq!(page_flags(&second), (true, true));
    let last = server.gql(q, json!({"last": 2})).await["events"].clone();
    assert_eq!(seqs(&last), [head - 1, head]);
    assert_eq!(page_flags(&last), (true, false));
    let before = last["pageInfo"]["startCursor"].clone();
    let earlier = server.gql(q, json!({"last": 3, "before": before})).await["events"].clone();
    assert_eq!(seqs(&earlier), [head - 4, head - 3, head - 2]);
    assert_eq!(page_flags(&earlier), (true, true));
    let back = second["pageInfo"]["startCursor"].clone();
    let back = server.gql(q, json!({"last": 5, "before": back})).await["events"].clone();
    assert_eq!(seqs(&back), [1, 2], "a short page at the start");
    assert_eq!(page_flags(&back), (false, true));

    let admin = token(Role::Admin);
    let over = server.gql_as(Some(&admin), q, json!({"first": 501})).await;
    assert_eq!(first_code(&over), "LIMIT_EXCEEDED", "{over:#}");
    let over = server.gql_as(Some(&admin), q, json!({"last": 501})).await;
    assert_eq!(first_code(&over), "LIMIT_EXCEEDED", "{over:#}");
    let both = server.gql_as(Some(&admin), q, json!({"first": 1, "last": 1})).await;
    assert_eq!(first_code(&both), "INVALID_INPUT", "{both:#}");
    // `last` reads backward from `before`: an `after` with it is refused, not ignored.
    let cursor = server.gql("{ events(first: 1) { pageInfo { endCursor } } }", json!({})).await;
    let mixed = json!({"last": 1, "after": cursor["events"]["pageInfo"]["endCursor"]});
    let mixed = server.gql_as(Some(&admin), q, mixed).await;
    assert_eq!(first_code(&mixed), "INVALID_INPUT", "{mixed:#}");
    let other = server.gql("{ orders(first: 1) { pageInfo { endCursor } } }", json!({})).await;
    let foreign = json!({"first": 1, "after": other["orders"]["pageInfo"]["endCursor"]});
    let foreign = server.gql_as(Some(&admin), q, foreign).await;
    assert_eq!(first_code(&foreign), "INVALID_INPUT", "a cursor of another list: {foreign:#}");
    server.stop().await;
}

#[tokio::test]
async fn each_filter_narrows_its_list() {
    let server = world().await;
    let events = |filter: Value| {
        let server = &server;
        async move {
            let q = "query($f: EventFilter) { events(filter: $f, first: 100) { nodes { seq type stream } totalCount } }";
            server.gql(q, json!({"f": filter})).await["events"].clone()
        }
    };
    let received = events(json!({"types": ["ORDER_RECEIVED"]})).await;
    let nodes = received["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    assert!(nodes.iter().all(|n| n["type"] == "ORDER_RECEIVED"));
    assert_eq!(received["totalCount"], Value::Null, "not counted without reading");
    let w1 = events(json!({"stream": "order:W1"})).await;
    assert!(w1["nodes"].as_array().unwrap().iter().all(|n| n["stream"] == "order:W1"));
    assert_eq!(w1["nodes"].as_array().unwrap().len(), 1);
    let range = events(json!({"fromSeq": "2", "toSeq": "3"})).await;
    assert_eq!(seqs(&range), [2, 3]);
    assert_eq!(range["totalCount"], "2");
    let future = events(json!({"recordedFrom": "2100-01-01T00:00:00Z"})).await;
    assert_eq!(future["nodes"], json!([]));
    let past = events(json!({"recordedTo": "2000-01-01T00:00:00Z"})).await;
    assert_eq!(past["nodes"], json!([]));
    let all_time = events(json!({"recordedFrom": "2000-01-01T00:00:00Z"})).await;
    assert_eq!(u64_of(&all_time["totalCount"]), server.head());

    let orders = |args: &str| {
        let q = format!("{{ orders({args}) {{ nodes {{ orderId }} totalCount }} }}");
        let server = &server;
        async move { server.gql(&q, json!({})).await["orders"].clone() }
    };
    assert_eq!(ids(&orders("first: 10").await), ["W1", "W2", "W3"]);
    assert_eq!(ids(&orders("filter: {status: [VALIDATED]}").await), ["W2"]);
    assert_eq!(ids(&orders("filter: {status: [RECEIVED, FULFILLING]}").await), ["W1", "W3"]);
    assert_eq!(ids(&orders("filter: {channel: \"web\"}").await), ["W1", "W3"]);
    let placed =
        "filter: {placedFrom: \"2026-03-02T00:00:00Z\", placedTo: \"2026-03-02T23:59:59Z\"}";
    assert_eq!(ids(&orders(placed).await), ["W2"]);
    assert_eq!(ids(&orders("filter: {sku: \"SKU-A\"}").await).len(), 3);
    assert_eq!(ids(&orders("filter: {sku: \"SKU-B\"}").await), Vec::<String>::new());
    assert_eq!(ids(&orders("filter: {holdReason: FRAUD}").await), Vec::<String>::new());
    assert_eq!(ids(&orders("sortKey: PLACED_AT, reverse: true").await), ["W3", "W2", "W1"]);
    let admin = token(Role::Admin);
    let bad = server
        .gql_as(Some(&admin), "{ orders(filter: {channel: \" ab\"}) { totalCount } }", json!({}))
        .await;
    assert_eq!(first_code(&bad), "INVALID_INPUT", "{bad:#}");
    let bad = server
        .gql_as(Some(&admin), "{ orders(filter: {status: [NOPE]}) { totalCount } }", json!({}))
        .await;
    assert_eq!(first_code(&bad), "INVALID_INPUT", "{bad:#}");

    let stock = |filter: &str| {
        let q = format!(
            "{{ stockLevels(filter: {filter}) {{ nodes {{ location sku lot available reserved }} }} }}"
        );
        let server = &server;
        async move { server.gql(&q, json!({})).await["stockLevels"]["nodes"].clone() }
    };
    let row = json!([{"location": "WH1", "sku": "SKU-A", "lot": null, "available": "0", "reserved": "5"}]);
    assert_eq!(stock("{}").await, row);
    assert_eq!(stock("{location: \"WH1\"}").await, row);
    assert_eq!(stock("{sku: \"SKU-A\"}").await, row);
    assert_eq!(stock("{state: RESERVED}").await, row);
    assert_eq!(stock("{state: AVAILABLE}").await, json!([]));
    assert_eq!(stock("{location: \"WH2\"}").await, json!([]));
    assert_eq!(stock("{lot: \"L1\"}").await, json!([]));
    server.stop().await;
}

#[tokio::test]
async fn nodes_round_trip_and_a_finance_node_is_forbidden_to_a_viewer() {
    let server = world().await;
    let data = server.gql("{ order(id: \"W2\") { order { id orderId } } }", json!({})).await;
    let order_id = data["order"]["order"]["id"].as_str().unwrap().to_owned();
    assert_eq!(order_id, "gid://tally/Order/W2");
    let q = "query($id: ID!) { node(id: $id) { id __typename
        ... on Order { orderId status }
        ... on Sku { sku abc unitCost { amount currencyCode } }
        ... on Location { location kind rank channels } } }";
    let node = server.gql(q, json!({"id": order_id})).await["node"].clone();
    assert_eq!(
        node,
        json!({"id": order_id, "__typename": "Order", "orderId": "W2", "status": "VALIDATED"})
    );
    for (id, typename) in
        [("gid://tally/Sku/SKU-A", "Sku"), ("gid://tally/Location/WH1", "Location")]
    {
        let node = server.gql(q, json!({"id": id})).await["node"].clone();
        assert_eq!(node["id"], id);
        assert_eq!(node["__typename"], typename);
    }
    let sku = server.gql(q, json!({"id": "gid://tally/Sku/SKU-A"})).await["node"].clone();
    assert_eq!(sku["unitCost"], json!({"amount": "20.00", "currencyCode": "USD"}));
    let location = server.gql(q, json!({"id": "gid://tally/Location/WH1"})).await["node"].clone();
    assert_eq!(location["kind"], "WAREHOUSE");

    let many = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }";
    let ids = json!({"ids": [order_id, "gid://tally/Sku/SKU-A", "gid://tally/Order/NOPE"]});
    let answer = server.gql_as(Some(&token(Role::Admin)), many, ids).await;
    assert_eq!(
        answer["data"]["nodes"],
        json!([{"id": "gid://tally/Order/W2"}, {"id": "gid://tally/Sku/SKU-A"}, null])
    );
    assert_eq!(answer["errors"][0]["extensions"]["code"], "NOT_FOUND", "{answer:#}");
    assert_eq!(answer["errors"][0]["path"], json!(["nodes", 2]), "{answer:#}");

    // A settlement is finance data: a viewer gets null and FORBIDDEN, whether it exists or not.
    let viewer = token(Role::Viewer);
    let settlement = json!({"id": "gid://tally/Settlement/S1"});
    let answer =
        server.gql_as(Some(&viewer), "query($id: ID!) { node(id: $id) { id } }", settlement).await;
    assert_eq!(answer["data"]["node"], Value::Null);
    assert_eq!(first_code(&answer), "FORBIDDEN", "{answer:#}");
    let ids = json!({"ids": ["gid://tally/Settlement/S1", "gid://tally/Order/W2"]});
    let answer = server.gql_as(Some(&viewer), many, ids).await;
    assert_eq!(answer["data"]["nodes"], json!([null, {"id": "gid://tally/Order/W2"}]));
    assert_eq!(first_code(&answer), "FORBIDDEN", "{answer:#}");
    let too_many: Vec<String> = (0..101).map(|i| format!("gid://tally/Order/O{i}")).collect();
    let answer = server.gql_as(Some(&viewer), many, json!({"ids": too_many})).await;
    assert_eq!(first_code(&answer), "LIMIT_EXCEEDED", "{answer:#}");
    let bad = server.gql_as(Some(&viewer), "{ node(id: \"W2\") { id } }", json!({})).await;
    assert_eq!(first_code(&bad), "INVALID_INPUT", "{bad:#}");
    server.stop().await;
}

#[tokio::test]
async fn an_age_above_two_to_the_31_is_an_exact_string() {
    let server = world().await;
    let data = server
        .gql(
            "{ backorders(now: \"2100-01-01T00:00:00Z\") { totalCount nodes { order qty since ageMs } } }",
            json!({}),
        )
        .await;
    let backorder = &data["backorders"]["nodes"][0];
    assert_eq!(backorder["order"], "W3");
    assert_eq!(backorder["qty"], 5);
    let since = chrono::DateTime::parse_from_rfc3339(backorder["since"].as_str().unwrap()).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2100-01-01T00:00:00Z").unwrap();
    let age = u64::try_from((now - since).num_milliseconds()).unwrap();
    assert!(age > 1 << 31);
    assert_eq!(backorder["ageMs"], json!(age.to_string()));
    server.stop().await;
}

/// The domain's example story (`tally_domain::examples`), each command submitted as JSON at
/// its example time: lot L1 of SKU-L (recalled), return R1 (closed), settlement S1 (paid out)
/// and journal entries, the last a manual `bank fee`.
async fn example_story() -> TestServer {
    let server = TestServer::start_with_views().await;
    let q = "mutation($input: SubmitInput!) { submit(input: $input) { userErrors { field message code } } }";
    for (i, command) in tally_domain::examples::commands().iter().enumerate() {
        let input = json!({"idempotencyKey": format!("ex-{i}"),
                           "occurredAt": tally_domain::examples::time_of(i).to_rfc3339(),
                           "json": serde_json::to_value(command).unwrap()});
        let data = server.gql(q, json!({"input": input})).await;
        assert_eq!(data["submit"]["userErrors"], json!([]), "example {i} refused: {data:#}");
    }
    let head = server.head();
    let timeout = std::time::Duration::from_secs(10);
    server.state.engine().wait_for_views(head, timeout).await.unwrap();
    server
}

const NODE: &str = "query($id: ID!) { node(id: $id) { id __typename
    ... on Lot { sku lot expiry recalledAt receipts { location qty } }
    ... on Settlement { settlementId channel payout { amount { amount currencyCode } } }
    ... on Return { returnId order authorizedUnits receivedUnits inspectedUnits closedAt }
    ... on JournalEntry { entryId memo seq postedAt
        reference { kind entityId nodeId location sku lot stream }
        postings { account amount { amount currencyCode } }
        totals { currencyCode debits { amount } credits { amount } } } } }";

#[tokio::test]
async fn lot_settlement_and_return_nodes_round_trip() {
    let server = example_story().await;
    let node = |id: &'static str| {
        let server = &server;
        async move {
            let node = server.gql(NODE, json!({"id": id})).await["node"].clone();
            assert_eq!(node["id"], id, "{node:#}");
            node
        }
    };
    let lot = node("gid://tally/Lot/SKU-L/L1").await;
    assert_eq!(
        (&lot["__typename"], &lot["sku"], &lot["lot"]),
        (&json!("Lot"), &json!("SKU-L"), &json!("L1"))
    );
    assert_eq!(lot["expiry"], "2026-12-31");
    assert_eq!(lot["receipts"], json!([{"location": "WH1", "qty": 20}]));
    assert!(lot["recalledAt"].is_string(), "L1 was recalled: {lot:#}");

    let settlement = node("gid://tally/Settlement/S1").await;
    assert_eq!(settlement["__typename"], "Settlement");
    assert_eq!(
        (&settlement["settlementId"], &settlement["channel"]),
        (&json!("S1"), &json!("amazon"))
    );
    assert_eq!(settlement["payout"]["amount"], json!({"amount": "19.40", "currencyCode": "USD"}));

    let ret = node("gid://tally/Return/R1").await;
    assert_eq!(ret["__typename"], "Return");
    assert_eq!((&ret["returnId"], &ret["order"]), (&json!("R1"), &json!("W1001")));
    let units = [&ret["authorizedUnits"], &ret["receivedUnits"], &ret["inspectedUnits"]];
    assert_eq!(units, [&json!("1"); 3]);
    assert!(ret["closedAt"].is_string(), "R1 was closed: {ret:#}");

    // Unknown ids of each type are NOT_FOUND; a lot id needs two parts.
    let admin = token(Role::Admin);
    for id in ["gid://tally/Lot/SKU-L/L9", "gid://tally/Settlement/S9", "gid://tally/Return/R9"] {
        let answer = server.gql_as(Some(&admin), NODE, json!({"id": id})).await;
        assert_eq!(answer["data"]["node"], Value::Null);
        assert_eq!(first_code(&answer), "NOT_FOUND", "{id}: {answer:#}");
    }
    let answer = server.gql_as(Some(&admin), NODE, json!({"id": "gid://tally/Lot/L1"})).await;
    assert_eq!(first_code(&answer), "INVALID_INPUT", "{answer:#}");
    server.stop().await;
}

#[tokio::test]
async fn every_journal_entry_is_a_node_readable_by_the_finance_roles_only() {
    let server = example_story().await;
    let q = "{ events(filter: {types: [JOURNAL_ENTRY_POSTED]}, first: 100) { nodes { seq occurredAt payload } } }";
    let events = server.gql(q, json!({})).await["events"]["nodes"].as_array().unwrap().clone();
    assert!(events.len() > 5, "the story posts entries: {}", events.len());
    let mut nodes = Vec::new();
    for event in &events {
        let entry = &event["payload"]["data"];
        let id = format!("gid://tally/JournalEntry/{}", entry["entry"].as_str().unwrap());
        let node = server.gql(NODE, json!({"id": id})).await["node"].clone();
        assert_eq!(node["id"], json!(id), "{node:#}");
        assert_eq!(node["__typename"], "JournalEntry");
        assert_eq!((&node["entryId"], &node["memo"]), (&entry["entry"], &entry["memo"]));
        assert_eq!(node["seq"], event["seq"]);
        let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
        assert_eq!(time(&node["postedAt"]), time(&event["occurredAt"]), "{node:#}");
        assert_eq!(
            node["postings"].as_array().unwrap().len(),
            entry["postings"].as_array().unwrap().len()
        );
        let totals = node["totals"].as_array().unwrap();
        assert_eq!(totals.len(), 1, "USD only: {node:#}");
        assert_eq!(totals[0]["debits"], totals[0]["credits"], "balanced: {node:#}");
        nodes.push(node);
    }

    // The manual entry of the examples.
    let manual = nodes.iter().find(|n| n["memo"] == "bank fee").unwrap();
    assert_eq!(manual["memo"], "bank fee");
    assert_eq!(
        manual["reference"],
        json!({"kind": "MANUAL", "entityId": null, "nodeId": null, "location": null, "sku": null,
               "lot": null, "stream": "journal"})
    );
    assert_eq!(
        manual["postings"],
        json!([{"account": "PAYMENT_FEES", "amount": {"amount": "1.50", "currencyCode": "USD"}},
               {"account": "BANK", "amount": {"amount": "-1.50", "currencyCode": "USD"}}])
    );
    assert_eq!(
        manual["totals"],
        json!([{"currencyCode": "USD", "debits": {"amount": "1.50"}, "credits": {"amount": "1.50"}}])
    );
    // A settlement's entry names its settlement, whose global id resolves.
    let of_settlement =
        nodes.iter().find(|n| n["reference"]["kind"] == "SETTLEMENT").expect("a settlement entry");
    assert_eq!(of_settlement["reference"]["entityId"], "S1");
    let settlement_id = of_settlement["reference"]["nodeId"].clone();
    assert_eq!(settlement_id, "gid://tally/Settlement/S1");
    let settlement = server.gql(NODE, json!({"id": settlement_id})).await["node"].clone();
    assert_eq!(settlement["settlementId"], "S1");
    // A stock entry names its bucket.
    let of_stock = nodes.iter().find(|n| n["reference"]["kind"] == "STOCK").expect("a stock entry");
    assert!(of_stock["reference"]["sku"].is_string() && of_stock["reference"]["nodeId"].is_null());

    // nodes(ids:): a mix of types, and an unknown entry.
    let many = "query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }";
    let manual_id = manual["id"].as_str().unwrap();
    let ids = json!({"ids": ["gid://tally/Lot/SKU-L/L1", manual_id, "gid://tally/Settlement/S1",
                             "gid://tally/Return/R1", "gid://tally/JournalEntry/je-999"]});
    let answer = server.gql_as(Some(&token(Role::Admin)), many, ids.clone()).await;
    assert_eq!(
        answer["data"]["nodes"],
        json!([{"id": "gid://tally/Lot/SKU-L/L1", "__typename": "Lot"},
               {"id": manual_id, "__typename": "JournalEntry"},
               {"id": "gid://tally/Settlement/S1", "__typename": "Settlement"},
               {"id": "gid://tally/Return/R1", "__typename": "Return"}, null])
    );
    assert_eq!(answer["errors"].as_array().unwrap().len(), 1, "{answer:#}");
    assert_eq!(first_code(&answer), "NOT_FOUND", "{answer:#}");
    assert_eq!(answer["errors"][0]["path"], json!(["nodes", 4]), "{answer:#}");

    // A viewer: the lot (log readers), the entries and the settlement (finance) are FORBIDDEN
    // at their index, known or not; the return is served.
    let answer = server.gql_as(Some(&token(Role::Viewer)), many, ids.clone()).await;
    assert_eq!(
        answer["data"]["nodes"],
        json!([null, null, null, {"id": "gid://tally/Return/R1", "__typename": "Return"}, null])
    );
    let errors: Vec<(Value, Value)> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["extensions"]["code"].clone(), e["path"].clone()))
        .collect();
    assert_eq!(
        errors,
        [
            (json!("FORBIDDEN"), json!(["nodes", 0])),
            (json!("FORBIDDEN"), json!(["nodes", 1])),
            (json!("FORBIDDEN"), json!(["nodes", 2])),
            (json!("FORBIDDEN"), json!(["nodes", 4])),
        ],
        "{answer:#}"
    );
    for id in [manual_id, "gid://tally/Settlement/S1"] {
        let answer = server.gql_as(Some(&token(Role::Viewer)), NODE, json!({"id": id})).await;
        assert_eq!(answer["data"]["node"], Value::Null, "{answer:#}");
        assert_eq!(first_code(&answer), "FORBIDDEN", "{id}: {answer:#}");
    }
    // The finance role reads the entry, not the return (an operational type).
    let answer = server.gql_as(Some(&token(Role::Finance)), many, ids).await;
    let served: Vec<&Value> =
        answer["data"]["nodes"].as_array().unwrap().iter().map(|n| &n["__typename"]).collect();
    assert_eq!(
        served,
        [&Value::Null, &json!("JournalEntry"), &json!("Settlement"), &Value::Null, &Value::Null]
    );
    server.stop().await;
}

/// Issue #16: the checkpoints connection reads one range per page (not every checkpoint), with
/// the same cursors, page info and total count as before.
#[tokio::test]
async fn the_checkpoints_connection_pages_both_ways() {
    let server = TestServer::start().await;
    let mut sizes = Vec::new();
    for i in 0..5 {
        server
            .submit(
                &format!("loc-{i}"),
                json!({"type": "define_location", "location": format!("L{i}"), "kind": "warehouse", "rank": 1, "channels": []}),
            )
            .await;
        let cut = server.gql("mutation { cutCheckpoint { size } }", json!({})).await;
        sizes.push(crate::support::u64_of(&cut["cutCheckpoint"]["size"]));
    }
    let page = |args: &str| {
        let query = format!(
            "{{ checkpoints({args}) {{ totalCount nodes {{ size }} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}"
        );
        let server = &server;
        async move { server.gql(&query, json!({})).await["checkpoints"].clone() }
    };
    let sizes_of = |c: &Value| -> Vec<u64> {
        c["nodes"].as_array().unwrap().iter().map(|n| crate::support::u64_of(&n["size"])).collect()
    };
    let first = page("first: 2").await;
    assert_eq!(crate::support::u64_of(&first["totalCount"]), 5);
    assert_eq!(sizes_of(&first), sizes[..2]);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["pageInfo"]["hasPreviousPage"], false);
    let after = first["pageInfo"]["endCursor"].as_str().unwrap();
    let second = page(&format!("first: 2, after: \"{after}\"")).await;
    assert_eq!(sizes_of(&second), sizes[2..4]);
    assert_eq!(second["pageInfo"]["hasPreviousPage"], true);
    let last = page("last: 2").await;
    assert_eq!(sizes_of(&last), sizes[3..]);
    assert_eq!(last["pageInfo"]["hasNextPage"], false);
    assert_eq!(last["pageInfo"]["hasPreviousPage"], true);
    let before = last["pageInfo"]["startCursor"].as_str().unwrap();
    let earlier = page(&format!("last: 9, before: \"{before}\"")).await;
    assert_eq!(sizes_of(&earlier), sizes[..3]);
    assert_eq!(earlier["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(earlier["pageInfo"]["hasNextPage"], true);
    server.stop().await;
}
