//! The exception queue over GraphQL: a deposit that differs from its settlement is recorded
//! and raised; a person acknowledges and resolves it; what is not open is a typed user error;
//! the queue and each exception's history are in `raisedExceptions`.

use serde_json::{Value, json};

use crate::support::{TestServer, token, u64_of, user_code};
use tally_api::auth::Role;

const QUEUE: &str = "query($open: Boolean) { raisedExceptions(open: $open, first: 10) { totalCount nodes { number seq kind subjectType subjectId message open acknowledgements { by note seq } closed { resolution by note seq } } } }";

const ACK: &str = "mutation($input: AcknowledgeExceptionInput!, $key: String!) { acknowledgeException(input: $input, envelope: {idempotencyKey: $key}, waitForViews: true) { lastSeq deduplicated userErrors { field code message } } }";

const RESOLVE: &str = "mutation($input: ResolveExceptionInput!, $key: String!) { resolveException(input: $input, envelope: {idempotencyKey: $key}, waitForViews: true) { lastSeq deduplicated userErrors { field code message } } }";

fn usd(amount: &str) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

async fn queue(server: &TestServer, open: bool) -> Value {
    server.gql(QUEUE, json!({"open": open})).await["raisedExceptions"].clone()
}

#[tokio::test]
async fn a_differing_deposit_is_raised_acknowledged_and_resolved_by_a_person() {
    let server = TestServer::start_with_views().await;
    server
        .submit(
            "md-amz",
            json!({"type": "define_channel", "channel": "amazon", "priority": "standard", "kind": "marketplace", "currency": "USD"}),
        )
        .await;
    server
        .submit(
            "s1",
            json!({"type": "open_settlement", "settlement": "S1", "channel": "amazon", "currency": "USD",
                "period_start": "2026-03-01", "period_end": "2026-03-14"}),
        )
        .await;
    server
        .submit(
            "s1-fee",
            json!({"type": "record_settlement_line", "settlement": "S1", "kind": "storage_fee",
                "amount": usd("-4.10"), "description": "Storage Fee"}),
        )
        .await;
    server
        .submit(
            "s1-reimb",
            json!({"type": "record_settlement_line", "settlement": "S1", "kind": "reimbursement",
                "amount": usd("30.00"), "description": "WAREHOUSE_DAMAGE"}),
        )
        .await;
    // The bank paid 27.40; the lines say 25.90. The deposit is recorded, the 1.50 raised.
    let payout = server
        .submit(
            "s1-payout",
            json!({"type": "settle_payout", "settlement": "S1", "amount": usd("27.40"), "deposit_date": "2026-03-16"}),
        )
        .await;
    let types: Vec<&str> =
        payout["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["SETTLEMENT_PAYOUT_SETTLED", "JOURNAL_ENTRY_POSTED", "EXCEPTION_RAISED"]);

    let open = queue(&server, true).await;
    assert_eq!(u64_of(&open["totalCount"]), 1, "{open:#}");
    let x = &open["nodes"][0];
    assert_eq!(
        (&x["kind"], &x["subjectType"], &x["subjectId"]),
        (&json!("RECONCILIATION_MISMATCH"), &json!("settlement"), &json!("S1"))
    );
    assert_eq!(
        x["message"],
        "deposit 27.40 of settlement 'S1' differs from the net 25.90 of its 2 lines by 1.50"
    );
    assert_eq!((x["open"].clone(), x["closed"].clone()), (json!(true), Value::Null));
    let number = x["number"].as_str().unwrap().to_owned();
    assert_eq!(number, "1");

    // Acknowledged twice: two notes, still open; the same key again is a duplicate.
    for (key, note) in [("ack-1", "checking the seller central report"), ("ack-2", "")] {
        let vars = json!({"key": key, "input": {"exception": number, "note": note}});
        let ack = server.gql(ACK, vars).await["acknowledgeException"].clone();
        assert_eq!(ack["userErrors"], json!([]), "{ack:#}");
    }
    let head = server.head();
    let vars = json!({"key": "ack-1", "input": {"exception": number, "note": "checking the seller central report"}});
    let again = server.gql(ACK, vars).await["acknowledgeException"].clone();
    assert_eq!(again["deduplicated"], true);
    assert_eq!(server.head(), head);
    let x = queue(&server, true).await["nodes"][0].clone();
    let notes: Vec<&str> = x["acknowledgements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["note"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["checking the seller central report", ""]);
    assert_eq!(x["acknowledgements"][0]["by"], "admin-bot");

    // Resolving needs a note; the refusal appends nothing.
    let vars = json!({"key": "res-0", "input": {"exception": number, "resolution": "RESOLVED", "note": " "}});
    let refused = server.gql(RESOLVE, vars).await["resolveException"].clone();
    assert_eq!(user_code(&refused), "INVALID_INPUT", "{refused:#}");
    assert_eq!(server.head(), head);
    let vars = json!({"key": "res-1", "input": {"exception": number, "resolution": "RESOLVED", "note": "a missing reimbursement line: posted by manual entry"}});
    let resolved = server.gql(RESOLVE, vars).await["resolveException"].clone();
    assert_eq!(resolved["userErrors"], json!([]), "{resolved:#}");
    assert_eq!(u64_of(&resolved["lastSeq"]), head + 1);

    // Out of the queue, kept in history with who closed it and why.
    assert_eq!(u64_of(&queue(&server, true).await["totalCount"]), 0);
    let all = queue(&server, false).await;
    let x = &all["nodes"][0];
    assert_eq!(x["open"], false);
    assert_eq!(x["closed"]["resolution"], "RESOLVED");
    assert_eq!(x["closed"]["by"], "admin-bot");
    assert_eq!(u64_of(&x["closed"]["seq"]), head + 1);

    // Not open any more, never raised: typed user errors, nothing appended.
    for (key, n) in [("res-2", number.as_str()), ("res-3", "99")] {
        let vars = json!({"key": key, "input": {"exception": n, "resolution": "DISMISSED", "note": "again"}});
        let refused = server.gql(RESOLVE, vars).await["resolveException"].clone();
        assert_eq!(user_code(&refused), "UNKNOWN_EXCEPTION", "{refused:#}");
    }
    let vars = json!({"key": "ack-3", "input": {"exception": number, "note": "late"}});
    let refused = server.gql(ACK, vars).await["acknowledgeException"].clone();
    assert_eq!(user_code(&refused), "UNKNOWN_EXCEPTION", "{refused:#}");
    assert_eq!(server.head(), head + 1);

    // A second payout of the settlement is refused.
    let vars = json!({"input": {"idempotencyKey": "s1-payout-2", "json": {"type": "settle_payout", "settlement": "S1", "amount": usd("1.50"), "deposit_date": "2026-03-17"}}});
    let answer = server
        .gql(
            "mutation($input: SubmitInput!) { submit(input: $input) { userErrors { code } } }",
            vars,
        )
        .await;
    assert_eq!(user_code(&answer["submit"]), "SETTLEMENT_PAID_OUT", "{answer:#}");

    // Readers may not work the queue.
    let vars = json!({"key": "ack-viewer", "input": {"exception": number, "note": "x"}});
    let answer = server.gql_as(Some(&token(Role::Viewer)), ACK, vars).await;
    assert_eq!(crate::support::first_code(&answer), "FORBIDDEN", "{answer}");
    server.stop().await;
}
