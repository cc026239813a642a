//! Issue #14's warehouse bullets through the public API: the `warehouse_facts.json` story
//! (holds, a short pick, a count below the claims, a recall of packed units, an expiry, a
//! return of a lot that was not shipped) goes in through `submit`; the views come out with the
//! numbers computed by hand in docs/domain.md §3–§4.

use crate::support::TestServer;
use serde_json::{Value, json};

async fn run_story(server: &TestServer) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tally-domain/tests/scenarios/warehouse_facts.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let token = crate::support::token(tally_api::Role::Admin);
    let query = "mutation($input: SubmitInput!) { submit(input: $input, waitForViews: true) { viewsCaughtUp userErrors { code message } } }";
    let mut at: Option<String> = None;
    for (i, step) in file["steps"].as_array().unwrap().iter().enumerate() {
        if let Some(t) = step["at"].as_str() {
            at = Some(t.to_owned());
        }
        let Some(command) = step.get("command") else { continue };
        let input = json!({"idempotencyKey": format!("wh-{i}"), "json": command, "occurredAt": at});
        let answer = server.gql_as(Some(&token), query, json!({"input": input})).await;
        assert_eq!(answer["data"]["submit"]["userErrors"], json!([]), "step {i}: {answer:#}");
        assert_eq!(answer["data"]["submit"]["viewsCaughtUp"], json!(true), "step {i}");
    }
}

#[tokio::test]
async fn warehouse_facts_through_graphql() {
    let server = TestServer::start_with_views().await;
    run_story(&server).await;
    let answer = server
        .gql(
            r#"{
                a1: stock(location: "WH1", sku: "A") { total { available reserved picked onHand } }
                a2: stock(location: "WH2", sku: "A") { total { available reserved picked onHand } }
                l: stock(location: "WH1", sku: "L") { lots { lot available reserved packed returned quarantinedByReason { reason units } } }
                atsA: ats(sku: "A", channel: "web") { ats }
                atsL: atsByChannel(sku: "L") { network channels { channel ats } }
                h1: order(id: "H1") { order { status lines { allocated backordered } } }
                h2: order(id: "H2") { order { lines { allocated picked backordered } } }
                h3: order(id: "H3") { order { lines { allocated backordered } } }
            }"#,
            json!({}),
        )
        .await;
    let d = &answer;
    // WH1 A: 10 received; a short pick of 1 and a count of 7 (9 recorded) took 3 away.
    assert_eq!(
        d["a1"]["total"],
        json!({"available": "0", "reserved": "4", "picked": "3", "onHand": "7"})
    );
    assert_eq!(
        d["a2"]["total"],
        json!({"available": "0", "reserved": "0", "picked": "4", "onHand": "4"})
    );
    assert_eq!(d["atsA"]["ats"], "0");
    // H1 held (6 released, 3 went to H3), released: 3 allocated, 3 waiting.
    assert_eq!(d["h1"]["order"]["lines"], json!([{"allocated": 3, "backordered": 3}]));
    // H2: 7 picked, 1 short and waiting.
    assert_eq!(d["h2"]["order"]["lines"], json!([{"allocated": 7, "picked": 7, "backordered": 1}]));
    // H3: 3 filled by H1's hold, 2 given back by the count.
    assert_eq!(d["h3"]["order"]["lines"], json!([{"allocated": 1, "backordered": 2}]));
    let lots: Vec<&Value> = d["l"]["lots"].as_array().unwrap().iter().collect();
    let lot = |id: &str| lots.iter().find(|l| l["lot"] == id).copied().unwrap().clone();
    // E recalled with 4 packed pulled back: 6 in quarantine; F shipped 4, 1 returned; G
    // expired (5) plus one returned unit that was never shipped (quarantined on receipt).
    assert_eq!(lot("E")["packed"], "0");
    assert_eq!(lot("E")["quarantinedByReason"], json!([{"reason": "RECALLED", "units": "6"}]));
    assert_eq!(
        (lot("F")["available"].clone(), lot("F")["returned"].clone()),
        (json!("2"), json!("1"))
    );
    assert_eq!(
        lot("G")["quarantinedByReason"],
        json!([{"reason": "EXPIRED", "units": "5"}, {"reason": "RETURN_INSPECTION", "units": "1"}])
    );
    // Only F is sellable (E recalled, G past its removal date): ATS 2 on both channels.
    assert_eq!(d["atsL"]["network"], "2");
    assert_eq!(
        d["atsL"]["channels"],
        json!([{"channel": "edi", "ats": "2"}, {"channel": "web", "ats": "2"}])
    );
    // The exception queue: the short pick's count task, then the unverified return.
    let queue = server
        .gql(
            "{ raisedExceptions { totalCount nodes { kind subjectType subjectId message } } }",
            json!({}),
        )
        .await;
    let q = &queue["raisedExceptions"];
    assert_eq!(q["totalCount"], "2", "{queue:#}");
    assert_eq!(
        q["nodes"][0],
        json!({"kind": "CYCLE_COUNT_TASK", "subjectType": "stock", "subjectId": "WH1/A",
               "message": "count A at WH1: 1 unit(s) not found picking line 0 of order H2"})
    );
    assert_eq!(q["nodes"][1]["kind"], "RETURN_LOT_MISMATCH");
    assert_eq!(
        q["nodes"][1]["message"],
        "return RMA-1 of order R1: 1 × L lot G on line 0 not shipped on that line; received into quarantine"
    );
}
