//! A view with quarantined events says so in every answer (`meta.quarantined`), a finance
//! answer over such a view never says `balanced: true`, and `/readyz` names the view.

use crate::support::TestServer;
use serde_json::{Value, json};
use std::sync::Arc;
use tally_api::ApiConfig;
use tally_domain::Event;
use tally_domain::journal::JournalRef;
use tally_projections::{Applied, ApplyError, Projection, Tx};

/// The finance view, except that it cannot apply the payment journal entry of order `BAD`
/// (as it could not apply the overflowing captures the issue reported).
#[derive(Debug)]
struct FinanceRefusingBad;

impl Projection for FinanceRefusingBad {
    fn name(&self) -> &'static str {
        "finance"
    }
    fn version(&self) -> u32 {
        1
    }

    fn apply(&self, tx: &mut Tx<'_>, a: &Applied<'_>) -> Result<(), ApplyError> {
        if let Event::JournalEntryPosted(e) = a.event
            && matches!(&e.reference, JournalRef::Order(o) if o.as_str() == "BAD")
        {
            return Err(ApplyError::new("amount overflow"));
        }
        tally_projections::finance::Finance.apply(tx, a)
    }
}

/// The ledger view (the trial balance's), refusing the same entry.
#[derive(Debug)]
struct LedgerRefusingBad;

impl Projection for LedgerRefusingBad {
    fn name(&self) -> &'static str {
        "ledger"
    }
    fn version(&self) -> u32 {
        1
    }

    fn apply(&self, tx: &mut Tx<'_>, a: &Applied<'_>) -> Result<(), ApplyError> {
        if let Event::JournalEntryPosted(e) = a.event
            && matches!(&e.reference, JournalRef::Order(o) if o.as_str() == "BAD")
        {
            return Err(ApplyError::new("amount overflow"));
        }
        tally_projections::ledger::Ledger.apply(tx, a)
    }
}

async fn server() -> TestServer {
    let projections: Vec<Arc<dyn Projection>> = tally_projections::all()
        .into_iter()
        .map(|p| -> Arc<dyn Projection> {
            match p.name() {
                "finance" => Arc::new(FinanceRefusingBad),
                "ledger" => Arc::new(LedgerRefusingBad),
                _ => p,
            }
        })
        .collect();
    TestServer::start_over(ApiConfig::default(), projections).await
}

const ANSWERS: &str = r#"{
  trialBalance { meta { seq quarantined { count firstSeq } } totals { currencyCode net { amount } balanced } complete incompleteReason }
  settlementExport(channel: "web", fromDay: "2026-01-01", toDay: "2026-12-31") { rows { meta { quarantined { count firstSeq } } } }
  stock(location: "WH1", sku: "SKU-A") { meta { quarantined { count firstSeq } viewsStopped } }
  views { meta { quarantined { count firstSeq } } views { name quarantinedCount quarantinedFirstSeq } }
}"#;

#[tokio::test]
async fn a_quarantined_finance_event_is_reported_by_every_answer_and_readyz() {
    let server = server().await;
    server.master_data().await;
    for (key, order) in [("o-good", "GOOD"), ("o-bad", "BAD")] {
        server
            .submit(
                key,
                json!({"type": "receive_order", "order": order, "channel": "web",
                       "placed_at": "2026-03-01T00:00:00Z", "currency": "USD",
                       "lines": [{"sku": "SKU-A", "qty": 1, "unit_price": {"amount": "10.00", "currency": "USD"}}],
                       "shipping": {"amount": "0.00", "currency": "USD"}, "tax_rate": "0"}),
            )
            .await;
    }
    server
        .submit("c-good", json!({"type": "capture_payment", "order": "GOOD", "payment": "P1", "amount": {"amount": "10.00", "currency": "USD"}}))
        .await;
    let bad = server
        .submit("c-bad", json!({"type": "capture_payment", "order": "BAD", "payment": "P2", "amount": {"amount": "10.00", "currency": "USD"}}))
        .await;
    let bad_entry_seq = crate::support::u64_of(&bad["lastSeq"]);
    server
        .state
        .engine()
        .views()
        .wait_for(server.head(), std::time::Duration::from_secs(10))
        .await
        .unwrap();

    let data = server.gql(ANSWERS, json!({})).await;
    let tb = &data["trialBalance"];
    assert_eq!(
        tb["meta"]["quarantined"],
        json!({"count": "1", "firstSeq": bad_entry_seq.to_string()}),
        "{data:#}"
    );
    // The remaining postings still sum to zero, but the answer must not call that balanced.
    assert_eq!(tb["totals"][0]["net"]["amount"], "0.00", "{data:#}");
    assert_eq!(tb["totals"][0]["balanced"], false, "{data:#}");
    assert_eq!(tb["complete"], false);
    assert!(tb["incompleteReason"].as_str().unwrap().contains(&format!("seq {bad_entry_seq}")));
    let export = &data["settlementExport"]["rows"]["meta"]["quarantined"];
    assert_eq!(export, &json!({"count": "1", "firstSeq": bad_entry_seq.to_string()}));
    // Other views are whole.
    assert_eq!(data["stock"]["meta"]["quarantined"], json!({"count": "0", "firstSeq": null}));
    assert_eq!(data["stock"]["meta"]["viewsStopped"], Value::Null);
    // The finance and the ledger view each quarantined it.
    assert_eq!(data["views"]["meta"]["quarantined"]["count"], "2");
    let finance = data["views"]["views"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "finance")
        .unwrap()
        .clone();
    assert_eq!(finance["quarantinedFirstSeq"], bad_entry_seq.to_string());

    // Reads are fine, so the server stays ready; the body names the view.
    let ready = server.client.get(format!("{}/readyz", server.base)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(
        body["quarantined_views"]["finance"],
        json!({"count": 1, "first_seq": bad_entry_seq})
    );
    assert_eq!(
        body["quarantined_views"]["ledger"],
        json!({"count": 1, "first_seq": bad_entry_seq})
    );
    assert_eq!(body["quarantined_views"].as_object().unwrap().len(), 2, "{body:#}");

    // As of a seq before the quarantined event, the answer is whole again.
    let before = server
        .gql(
            "query($seq: UnsignedInt64!) { trialBalance(asOf: {seq: $seq}) { meta { quarantined { count } } totals { balanced } complete } }",
            json!({ "seq": bad_entry_seq - 1 }),
        )
        .await;
    assert_eq!(before["trialBalance"]["meta"]["quarantined"]["count"], "0");
    assert_eq!(before["trialBalance"]["complete"], true);
    assert_eq!(before["trialBalance"]["totals"][0]["balanced"], true);
    server.stop().await;
}

#[tokio::test]
async fn a_view_storage_failure_stops_the_views_without_quarantine_until_a_restart() {
    use tally_engine::{Engine, EngineConfig};
    let server = TestServer::start_with_views().await;
    server.master_data().await;
    let views = server.state.engine().views().clone();
    let timeout = std::time::Duration::from_secs(10);
    views.wait_for(server.head(), timeout).await.unwrap();
    let before = views.low_water();

    // The disk fails for the next read a projection makes.
    views.inject_read_faults(1);
    server
        .submit(
            "r1",
            json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 5}),
        )
        .await;
    // Whichever catch-up (the runner's or this one) meets the fault, the store is stopped now.
    let log = server.state.engine().log().clone();
    let caught_up = views.catch_up(&log, None);
    assert!(caught_up.is_err(), "{caught_up:?}");
    assert!(views.failure().is_some());
    assert_eq!(views.low_water(), before, "nothing applied past the failure");
    for name in views.names() {
        assert!(views.quarantined(name).unwrap().is_empty(), "{name} quarantined an event");
    }

    let ready = server.client.get(format!("{}/readyz", server.base)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert!(body["reason"].as_str().unwrap().contains("storage failure"), "{body:#}");
    let data = server
        .gql(r#"{ stock(location: "WH1", sku: "SKU-A") { meta { seq viewsStopped } } }"#, json!({}))
        .await;
    assert!(data["stock"]["meta"]["viewsStopped"].is_string(), "{data:#}");

    // Restart: the views resume from their checkpoints and equal a rebuild.
    drop((log, views));
    let dir = server.stop_and_keep().await;
    let engine =
        Engine::open(dir.path(), EngineConfig::default(), tally_projections::all()).unwrap();
    let head = engine.log().head().seq;
    engine.views().wait_for(head, timeout).await.unwrap();
    assert!(engine.views().failure().is_none());
    let rebuilt = tally_projections::ViewStore::temporary(tally_projections::all()).unwrap();
    rebuilt.catch_up(engine.log(), None).unwrap();
    for name in engine.views().names() {
        assert!(engine.views().quarantined(name).unwrap().is_empty());
        assert!(
            engine.views().dump(name).unwrap() == rebuilt.dump(name).unwrap(),
            "{name} differs"
        );
    }
    let reader = engine.views().reader("inventory").unwrap();
    let stock = tally_projections::inventory::stock(&reader, "WH1", "SKU-A").unwrap();
    assert_eq!(stock.total.stock.available, 5);
    tokio::task::spawn_blocking(move || engine.close()).await.unwrap();
}
