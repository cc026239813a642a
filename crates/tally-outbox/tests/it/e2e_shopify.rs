//! Issue #15, "Done when": a Shopify order file is imported, the workflow rules validate the
//! orders, hold the unpaid ones for payment, release one when its capture arrives (Shopify's
//! `orders/updated` once paid), allocate; a webhook receiver gets signed `order.*` and
//! `ats.changed` deliveries, verifies the signatures, and survives an outage and a restart of
//! Tally (engine and outbox) with nothing lost and no duplicate but with the same webhook-id.

use crate::support::*;
use std::collections::{BTreeMap, BTreeSet};
use tally_engine::intake::{IntakeContext, submit_records};
use tally_intake::{Format, Options};
use tally_outbox::Start;

const FIXTURES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../tally-intake/tests/fixtures/shopify");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

async fn import(engine: &tally_engine::Engine, name: &str) -> tally_engine::intake::ImportSummary {
    let options = Options {
        channel: Some(tally_domain::ids::ChannelId::parse("shop").unwrap()),
        ..Options::default()
    };
    let records = tally_intake::translate(Format::ShopifyOrders, &fixture(name), &options).unwrap();
    let ctx = IntakeContext {
        actor: "import:test".to_owned(),
        source: "import/shopify-orders".to_owned(),
    };
    let summary = submit_records(engine, records, &ctx, &mut |_| {}).await;
    assert_eq!(summary.rejected, 0, "{name}: {:?}", summary.refusals);
    summary
}

async fn setup(engine: &tally_engine::Engine) {
    let steps = [
        serde_json::json!({"type": "define_channel", "channel": "shop", "priority": "standard", "kind": "direct", "currency": "USD"}),
        serde_json::json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["shop"]}),
        serde_json::json!({"type": "define_sku", "sku": "TEE-BLK-M", "lot_tracked": false, "unit_cost": {"amount": "8.00", "currency": "USD"}, "abc": "A"}),
        serde_json::json!({"type": "define_sku", "sku": "MUG-CER-12", "lot_tracked": false, "unit_cost": {"amount": "3.00", "currency": "USD"}, "abc": "B"}),
        serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "TEE-BLK-M", "qty": 20}),
        serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "MUG-CER-12", "qty": 20}),
        serde_json::json!({"type": "configure_workflow", "channels": [{
            "channel": "shop", "validate": true, "require_address": true,
            "validation_sla_minutes": 1440, "auto_release": true, "auto_allocate": true,
            "backorder": "wait",
            "holds": [{"name": "unpaid", "when": "payment_not_captured", "reason": "payment", "sla_minutes": 1440}]}]}),
    ];
    for (i, step) in steps.into_iter().enumerate() {
        submit(engine, &format!("setup-{i}"), step).await;
    }
}

/// (seq, type, actor, stream) of every event in the log.
fn log_events(engine: &tally_engine::Engine) -> Vec<(u64, String, String, String)> {
    engine
        .log()
        .read(..)
        .map(|e| {
            let e = e.unwrap();
            (e.seq(), e.event_type().to_owned(), e.actor().to_owned(), e.stream().to_owned())
        })
        .collect()
}

#[test]
fn shopify_orders_run_through_the_rules_and_out_to_a_signed_webhook_across_an_outage_and_a_restart()
{
    let dir = tempfile::tempdir().unwrap();
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let receiver = rt.block_on(Receiver::start());
    let types = ["order.*", "ats.changed"];
    let open_outbox = |engine: &tally_engine::Engine| {
        let outbox_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let outbox = outbox_rt.block_on(async {
            start(
                dir.path(),
                engine,
                fast(100),
                vec![endpoint("shop-sync", &receiver.url, &types, Start::Earliest)],
            )
        });
        (outbox_rt, outbox)
    };

    // First life: set up, import the store's orders.json (#1001 paid, #1002 pending).
    let engine = open_engine(dir.path());
    let (outbox_rt, outbox) = open_outbox(&engine);
    rt.block_on(async {
        setup(&engine).await;
        let summary = import(&engine, "orders.json").await;
        assert_eq!((summary.records, summary.accepted), (2, 2));
        // Re-importing the file appends nothing.
        let again = import(&engine, "orders.json").await;
        assert_eq!((again.accepted, again.duplicates, again.events), (0, 2, 0));
    });
    let events = log_events(&engine);
    let by_rule = |t: &str, actor: &str| events.iter().filter(|e| e.1 == t && e.2 == actor).count();
    assert_eq!(by_rule("order.validated", "rule:validate"), 2, "both orders validated by rule");
    // #1001 arrives paid (its payment recorded with it): allocated, both lines; #1002 is
    // pending: held for payment.
    assert_eq!(by_rule("order.held", "rule:unpaid"), 1);
    assert_eq!(by_rule("order.line_allocated", "rule:auto-allocate"), 2, "#1001 is allocated");
    assert_eq!(by_rule("order.hold_released", "rule:auto-release"), 0);

    // The receiver goes down; #1012 arrives pending (held), then Tally stops.
    rt.block_on(async {
        let up_to = engine.log().head().seq;
        receiver
            .wait_until("deliveries of the first import", |r| {
                r.iter().any(|r| r.event_type() != "ats.changed" && r.seq() == up_to)
                    || r.iter().filter(|r| r.status < 300).count() > 10
            })
            .await;
        receiver.behave(|b| b.fail_next = u32::MAX);
        import(&engine, "order_1012_create.json").await;
        let before = receiver.all().len();
        receiver.wait_until("failed attempts during the outage", |r| r.len() >= before + 3).await;
    });
    drop(outbox);
    outbox_rt.shutdown_timeout(std::time::Duration::from_secs(10));
    engine.close();
    drop(engine);

    // Second life: the receiver is back; Shopify says #1012 is paid.
    receiver.behave(|b| b.fail_next = 0);
    let engine = open_engine(dir.path());
    let (outbox_rt, outbox) = open_outbox(&engine);
    let before_paid = engine.log().head().seq;
    rt.block_on(async {
        let summary = import(&engine, "order_1012_updated_paid.json").await;
        assert_eq!(summary.accepted, 1, "the update is a capture, not a duplicate order");
    });
    let after: Vec<(String, String)> =
        log_events(&engine).into_iter().filter(|e| e.0 > before_paid).map(|e| (e.1, e.2)).collect();
    let kinds: Vec<String> = after.iter().map(|(t, a)| format!("{t} by {a}")).collect();
    assert!(kinds.contains(&"finance.payment_captured by import:test".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"order.hold_released by rule:auto-release".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"order.line_allocated by rule:auto-release".to_owned()), "{kinds:?}");

    // Every order.* event of the log reaches the receiver, verified, whatever happened.
    let order_seqs: BTreeSet<u64> = log_events(&engine)
        .into_iter()
        .filter(|e| e.1.starts_with("order."))
        .map(|e| e.0)
        .collect();
    rt.block_on(async {
        receiver
            .wait_until("every order event", |r| {
                let got: BTreeSet<u64> = r
                    .iter()
                    .filter(|r| r.status < 300 && r.event_type() != "ats.changed")
                    .map(Received::seq)
                    .collect();
                order_seqs.is_subset(&got)
            })
            .await;
        receiver
            .wait_until("an ats.changed after the last allocation", |r| {
                r.iter().any(|r| r.status < 300 && r.event_type() == "ats.changed")
            })
            .await;
    });
    let all = receiver.all();
    assert!(all.iter().all(|r| r.verified), "every delivery's signature verifies");
    let mut ids_by_seq: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for r in all.iter().filter(|r| r.event_type() != "ats.changed") {
        assert!(r.event_type().starts_with("order."), "only what the endpoint asked for");
        ids_by_seq.entry(r.seq()).or_default().insert(r.id.clone());
    }
    for (seq, ids) in &ids_by_seq {
        assert_eq!(ids.len(), 1, "seq {seq} was delivered under more than one webhook-id");
    }
    let delivered: BTreeSet<u64> = ids_by_seq.keys().copied().collect();
    assert_eq!(delivered, order_seqs, "nothing lost, nothing unexpected");
    let ats: Vec<&Received> =
        all.iter().filter(|r| r.status < 300 && r.event_type() == "ats.changed").collect();
    assert!(
        ats.iter().all(|r| r.body["data"]["channel"] == "shop"),
        "{:?}",
        ats.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    drop(outbox);
    outbox_rt.shutdown_timeout(std::time::Duration::from_secs(10));
    engine.close();
}
