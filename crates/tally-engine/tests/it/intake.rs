//! Importers end to end through the engine and the real views: the realistic fixtures of
//! `tally-intake` are translated, submitted by `tally_engine::intake::submit_records`, and
//! imported a second time (which appends nothing); the journal balances, the settlement
//! reconciles to its deposit, export rows keep sku and quantity, and a partner snapshot
//! reconciles without overwriting.

use crate::support::sub;
use serde_json::json;
use std::time::Duration;
use tally_domain::journal::Account;
use tally_domain::money::Currency;
use tally_engine::intake::{ImportSummary, IntakeContext, submit_records};
use tally_engine::{Engine, EngineConfig};
use tally_intake::{Format, Options, translate};
use tally_projections::finance;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tally-intake/tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// 2026-03-01T07:00:00Z: two hours after the snapshot fixture's `as_of`.
fn clock() -> i64 {
    1_772_348_400_000
}

fn open(dir: &std::path::Path) -> Engine {
    let config = EngineConfig { clock_ms: clock, timer_interval: None, ..EngineConfig::default() };
    Engine::open(dir, config, tally_projections::all()).unwrap()
}

fn setup(engine: &Engine, steps: &[serde_json::Value]) {
    setup_at(engine, steps, None);
}

/// [`setup`] at a business time (default: the support's 09:00).
fn setup_at(engine: &Engine, steps: &[serde_json::Value], occurred_at_ms: Option<i64>) {
    for step in steps {
        let key = blake3::hash(step.to_string().as_bytes()).to_hex();
        let mut submission = sub(&format!("setup-{}", &key[..32]), step.clone());
        if occurred_at_ms.is_some() {
            submission.occurred_at_ms = occurred_at_ms;
        }
        engine.submit_blocking(submission).unwrap();
    }
}

fn import(engine: &Engine, format: Format, bytes: &[u8], options: &Options) -> ImportSummary {
    let records = translate(format, bytes, options).unwrap();
    let ctx = IntakeContext {
        actor: "import:test".to_owned(),
        source: format!("import/{}", format.name()),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut seen = 0;
        let s = submit_records(engine, records, &ctx, &mut |n| seen = n).await;
        assert_eq!(seen, s.records, "progress reaches the end");
        engine.wait_for_views(engine.log().head().seq, Duration::from_secs(30)).await.unwrap();
        s
    })
}

fn amazon_us_master() -> Vec<serde_json::Value> {
    vec![
        json!({"type": "define_channel", "channel": "amazon-us", "priority": "standard", "kind": "marketplace", "currency": "USD", "facilitator_tax": true}),
        json!({"type": "define_sku", "sku": "TS-BLU-M", "lot_tracked": false, "unit_cost": {"amount": "6.40", "currency": "USD"}, "abc": "B"}),
    ]
}

fn mug() -> serde_json::Value {
    json!({"type": "define_sku", "sku": "MUG-WHT-11", "lot_tracked": false, "unit_cost": {"amount": "3.10", "currency": "USD"}, "abc": "C"})
}

fn us_options() -> Options {
    Options { channel: Some("amazon-us".parse_channel()), ..Options::default() }
}

trait ParseChannel {
    fn parse_channel(&self) -> tally_domain::ids::ChannelId;
}
impl ParseChannel for str {
    fn parse_channel(&self) -> tally_domain::ids::ChannelId {
        tally_domain::ids::ChannelId::parse(self).unwrap()
    }
}

#[test]
fn an_amazon_settlement_imports_once_balances_and_reconciles_to_its_deposit() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let mut master = amazon_us_master();
    master.push(mug());
    setup(&engine, &master);
    let bytes = fixture("amazon-settlement-us.tsv");
    let first = import(&engine, Format::AmazonSettlementV2, &bytes, &us_options());
    assert_eq!((first.records, first.accepted, first.duplicates, first.rejected), (30, 30, 0, 0));
    assert!(first.refusals.is_empty());
    let head = engine.log().head();
    assert_eq!(first.last_seq, head.seq);

    // The same file again appends nothing.
    let again = import(&engine, Format::AmazonSettlementV2, &bytes, &us_options());
    assert_eq!((again.records, again.accepted, again.duplicates, again.rejected), (30, 0, 30, 0));
    assert_eq!((again.events, again.last_seq), (0, 0));
    assert_eq!(engine.log().head(), head);

    let r = engine.views().reader("finance").unwrap();
    // Every entry balanced: the trial balance nets to zero.
    let totals = finance::trial_balance_totals(&r).unwrap();
    assert_eq!(totals.get(&Currency::USD), Some(&0));
    // Σ net of the lines = payout = deposit; facilitator tax netted; bank got the deposit.
    let detail = finance::settlement(&r, "11783365821").unwrap().unwrap();
    assert_eq!(detail.settlement.totals.net, 7358);
    assert_eq!(detail.settlement.totals.line_count, 28);
    let payout = detail.settlement.payout.as_ref().unwrap();
    assert_eq!((payout.amount, payout.deposit_date.to_string()), (7358, "2026-03-07".to_owned()));
    assert_eq!(finance::balance(&r, Account::Bank, Currency::USD).unwrap(), 7358);
    assert_eq!(finance::balance(&r, Account::SalesTaxPayable, Currency::USD).unwrap(), 0);
    assert_eq!(finance::balance(&r, Account::MarketplaceReserve, Currency::USD).unwrap(), -13_500);
    assert_eq!(finance::balance(&r, Account::StorageFees, Currency::USD).unwrap(), 1247);
    assert_eq!(finance::balance(&r, Account::Advertising, Currency::USD).unwrap(), 2361);
    assert_eq!(finance::balance(&r, Account::Discounts, Currency::USD).unwrap(), 749);
    // The unknown line sits in suspense and is raised.
    assert_eq!(finance::balance(&r, Account::Suspense, Currency::USD).unwrap(), 312);
    let orders = engine.views().reader("orders").unwrap();
    let raised = tally_projections::orders::raised_exceptions(&orders, false).unwrap();
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].kind, tally_domain::event::ExceptionKind::SuspenseLine);
    assert!(raised[0].message.contains("Low-Inventory-Level Fee"), "{}", raised[0].message);
    // Export rows keep sku and quantity, and name the account.
    let rows =
        finance::export_rows(&r, finance::ExportSelector::Settlement("11783365821")).unwrap();
    assert_eq!(rows.len(), 28);
    let principal = rows.iter().find(|row| row.net == 3998).unwrap();
    assert_eq!(principal.sku.as_deref(), Some("TS-BLU-M"));
    assert_eq!(principal.quantity, 2);
    assert_eq!(principal.order_id.as_deref(), Some("113-4567890-1234567"));
    assert_eq!(principal.deposit_date.map(|d| d.to_string()).as_deref(), Some("2026-03-07"));
    let reimbursed = rows.iter().find(|row| row.amount_description == "WAREHOUSE_DAMAGE").unwrap();
    assert_eq!((reimbursed.sku.as_deref(), reimbursed.quantity), (Some("MUG-WHT-11"), 1));
    assert_eq!(reimbursed.gl_account, Some(5500));
    let tax = rows.iter().filter(|row| row.amount_type == "facilitator_tax").count();
    assert_eq!(tax, 8, "the buyer's tax and the withheld tax, paired");
    engine.close();
}

#[test]
fn a_line_of_an_unknown_sku_leaves_the_deposit_unexplained_until_the_sku_exists_then_a_reimport_completes()
 {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    setup(&engine, &amazon_us_master());
    let bytes = fixture("amazon-settlement-us.tsv");
    let first = import(&engine, Format::AmazonSettlementV2, &bytes, &us_options());
    // The mug's 7 lines are refused with their source ids; the deposit is recorded as the
    // bank saw it, with a reconciliation exception for what the lines do not explain.
    assert_eq!((first.accepted, first.rejected), (23, 7));
    assert_eq!(first.rejected_by_code.get("UNKNOWN_SKU"), Some(&7));
    // 22 lines and the opening, the payout and its exception.
    assert_eq!(first.events, 47);
    assert!(first.refusals.iter().any(|r| r.code == "UNKNOWN_SKU"
        && r.source_id.contains("order 114-2223334-5556667")
        && r.message.contains("MUG-WHT-11")));
    let orders = engine.views().reader("orders").unwrap();
    let open_now = tally_projections::orders::raised_exceptions(&orders, true).unwrap();
    let mismatch: Vec<_> = open_now
        .iter()
        .filter(|x| x.kind == tally_domain::event::ExceptionKind::ReconciliationMismatch)
        .collect();
    assert_eq!(mismatch.len(), 1, "{open_now:?}");
    assert_eq!(mismatch[0].subject_id, "11783365821");
    assert!(mismatch[0].message.contains("deposit 73.58"), "{}", mismatch[0].message);
    let number = mismatch[0].number;
    let r = engine.views().reader("finance").unwrap();
    assert_eq!(finance::balance(&r, Account::Bank, Currency::USD).unwrap(), 7358);
    assert_eq!(finance::trial_balance_totals(&r).unwrap().get(&Currency::USD), Some(&0));
    // Counted per source in the durable submission counters.
    let counts = engine.submission_counts();
    let line_counts =
        &counts[&("amazon/amazon-us/11783365821".to_owned(), "record_settlement_line".to_owned())];
    assert_eq!(line_counts.rejected_by_code.get("UNKNOWN_SKU"), Some(&7));
    // Once the SKU exists, the same file imports what was missing, nothing twice, and the
    // line that makes the lines equal the deposit clears the exception.
    setup(&engine, &[mug()]);
    let second = import(&engine, Format::AmazonSettlementV2, &bytes, &us_options());
    assert_eq!((second.accepted, second.duplicates, second.rejected), (7, 23, 0));
    let r = engine.views().reader("finance").unwrap();
    assert_eq!(finance::balance(&r, Account::Bank, Currency::USD).unwrap(), 7358);
    assert_eq!(finance::trial_balance_totals(&r).unwrap().get(&Currency::USD), Some(&0));
    let detail = finance::settlement(&r, "11783365821").unwrap().unwrap();
    assert_eq!(detail.settlement.totals.net, 7358);
    let orders = engine.views().reader("orders").unwrap();
    let cleared = tally_projections::orders::raised_exception(&orders, number).unwrap().unwrap();
    let closure = cleared.closed.as_ref().expect("the exception is closed");
    assert_eq!(closure.resolution, tally_domain::event::ExceptionResolution::Cleared);
    assert!(
        tally_projections::orders::raised_exceptions(&orders, true)
            .unwrap()
            .iter()
            .all(|x| x.kind != tally_domain::event::ExceptionKind::ReconciliationMismatch)
    );
    engine.close();
}

#[test]
fn a_jpy_settlement_posts_whole_yen() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    setup(
        &engine,
        &[
            json!({"type": "define_channel", "channel": "amazon-jp", "priority": "standard", "kind": "marketplace", "currency": "JPY", "facilitator_tax": false}),
            json!({"type": "define_sku", "sku": "JP-TEA-100", "lot_tracked": false, "unit_cost": {"amount": "6.40", "currency": "USD"}, "abc": "B"}),
        ],
    );
    let options = Options { channel: Some("amazon-jp".parse_channel()), ..Options::default() };
    let s =
        import(&engine, Format::AmazonSettlementV2, &fixture("amazon-settlement-jp.tsv"), &options);
    assert_eq!((s.records, s.accepted, s.rejected), (10, 10, 0));
    let r = engine.views().reader("finance").unwrap();
    assert_eq!(finance::balance(&r, Account::Bank, Currency::JPY).unwrap(), 3692);
    let rows = finance::export_rows(&r, finance::ExportSelector::Settlement("9876543210")).unwrap();
    assert_eq!(rows.iter().map(|row| row.net).sum::<i64>(), 3692);
    engine.close();
}

#[test]
fn a_partner_snapshot_reconciles_without_overwriting_and_refuses_the_unknown_sku_alone() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let cost = |a: &str| json!({"amount": a, "currency": "USD"});
    // The stock was received at 04:00; the partner counted at 05:00 (the file's `as_of`).
    setup_at(
        &engine,
        &[
            json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}),
            json!({"type": "define_location", "location": "3PL-RENO", "kind": "warehouse", "rank": 1, "channels": ["web"]}),
            json!({"type": "define_sku", "sku": "GLV-NIT-M", "lot_tracked": true, "shelf_life_margin_days": 30, "unit_cost": cost("4.25"), "abc": "A"}),
            json!({"type": "define_sku", "sku": "MASK-N95", "lot_tracked": false, "unit_cost": cost("11.80"), "abc": "A"}),
            json!({"type": "define_sku", "sku": "BAND-ELAS-7.5", "lot_tracked": false, "unit_cost": cost("1.95"), "abc": "C"}),
            json!({"type": "set_count_tolerance", "class": "A", "units": 5}),
            json!({"type": "set_count_tolerance", "class": "C", "units": 0, "fraction": "0.10"}),
            json!({"type": "receive_inventory", "location": "3PL-RENO", "sku": "GLV-NIT-M", "lot": "LOT-2611A", "expiry": "2027-05-31", "qty": 480}),
            json!({"type": "receive_inventory", "location": "3PL-RENO", "sku": "GLV-NIT-M", "lot": "LOT-2612B", "expiry": "2027-08-31", "qty": 200}),
            json!({"type": "receive_inventory", "location": "3PL-RENO", "sku": "MASK-N95", "qty": 1200}),
            json!({"type": "receive_inventory", "location": "3PL-RENO", "sku": "BAND-ELAS-7.5", "qty": 60}),
        ],
        Some(1_772_337_600_000),
    );
    // At 06:00, after the count and before the file arrives (07:00), 6 bandages are damaged:
    // the partner could not have counted that; it is no variance.
    setup_at(
        &engine,
        &[
            json!({"type": "adjust_inventory", "location": "3PL-RENO", "sku": "BAND-ELAS-7.5", "delta": -6, "reason": "damage"}),
        ],
        Some(1_772_344_800_000),
    );
    let options = Options {
        location: Some(tally_domain::ids::LocationId::parse("3PL-RENO").unwrap()),
        ..Options::default()
    };
    let bytes = fixture("stock-snapshot-3pl.csv");
    let first = import(&engine, Format::StockSnapshotCsv, &bytes, &options);
    assert_eq!((first.records, first.accepted, first.rejected), (5, 4, 1));
    assert_eq!(first.refusals[0].source_id, "line 6 sku SYR-10ML-LL lot LOT-88");
    assert_eq!(first.refusals[0].code, "UNKNOWN_SKU");
    let inv = engine.views().reader("inventory").unwrap();
    let on_hand = |sku: &str| {
        tally_projections::inventory::stock(&inv, "3PL-RENO", sku).unwrap().total.on_hand
    };
    // Matching lot: unchanged. Small variance (−2 of class A, tolerance 5): adjusted.
    assert_eq!(on_hand("GLV-NIT-M"), 480 + 198);
    // Large variance (−250): raised, never overwritten.
    assert_eq!(on_hand("MASK-N95"), 1200);
    // +4 of the 60 there at 05:00 is within class C's 10 %: the gain lands on today's 54.
    // (Compared with on-hand when the file arrived, 54, it would have been +10: beyond.)
    assert_eq!(on_hand("BAND-ELAS-7.5"), 58);
    let fin = engine.views().reader("finance").unwrap();
    // Write-offs of 2 × 4.25 and 6 × 1.95, gain of 4 × 1.95.
    assert_eq!(
        finance::balance(&fin, Account::InventoryWriteOff, Currency::USD).unwrap(),
        850 + 1170 - 780
    );
    assert_eq!(finance::trial_balance_totals(&fin).unwrap().get(&Currency::USD), Some(&0));
    let orders = engine.views().reader("orders").unwrap();
    let raised = tally_projections::orders::raised_exceptions(&orders, false).unwrap();
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].kind, tally_domain::event::ExceptionKind::SnapshotVariance);
    assert!(raised[0].message.contains("variance -250"), "{}", raised[0].message);
    // Again: nothing appended, the unknown SKU still refused.
    let head = engine.log().head();
    let again = import(&engine, Format::StockSnapshotCsv, &bytes, &options);
    assert_eq!((again.accepted, again.duplicates, again.rejected, again.events), (0, 4, 1, 0));
    assert_eq!(engine.log().head(), head);
    engine.close();
}

#[test]
fn a_settlement_reissued_with_a_changed_amount_is_refused_row_by_row_never_posted_twice() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let mut master = amazon_us_master();
    master.push(mug());
    setup(&engine, &master);
    let text = String::from_utf8(fixture("amazon-settlement-us.tsv")).unwrap();
    import(&engine, Format::AmazonSettlementV2, text.as_bytes(), &us_options());
    let head = engine.log().head();
    let changed = text.replace("\t73.58\t", "\t73.57\t").replace("\t-12.47\t", "\t-12.48\t");
    let s = import(&engine, Format::AmazonSettlementV2, changed.as_bytes(), &us_options());
    assert_eq!((s.duplicates, s.rejected, s.events), (28, 2, 0));
    assert_eq!(s.rejected_by_code.get("IDEMPOTENCY_CONFLICT"), Some(&2));
    assert!(s.refusals.iter().any(|r| r.source_id.contains("Storage Fee")));
    assert_eq!(engine.log().head(), head);
    engine.close();
}

fn shopify_options() -> Options {
    Options { channel: Some("shopify-us".parse_channel()), ..Options::default() }
}

/// Issue #15: an `orders/updated` whose lines and ship-to differ from what was received
/// (`order_1012_edited.json`: the black tee removed, two white tees added, a new address)
/// amends the order through the engine instead of being refused as a duplicate; the views
/// follow (lines, reservations); the same webhook again and the creation arriving late append
/// nothing.
#[test]
fn a_shopify_order_edit_amends_the_order_once() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let mut master = vec![
        json!({"type": "define_channel", "channel": "shopify-us", "priority": "standard", "kind": "direct", "currency": "USD"}),
        json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["shopify-us"]}),
    ];
    for sku in ["TEE-BLK-M", "TEE-WHT-M"] {
        master.push(json!({"type": "define_sku", "sku": sku, "lot_tracked": false, "unit_cost": {"amount": "11.00", "currency": "USD"}, "abc": "A"}));
        master.push(json!({"type": "receive_inventory", "location": "WH1", "sku": sku, "qty": 5}));
    }
    master.push(json!({"type": "validate_order", "order": "5580000001"}));
    master.push(json!({"type": "allocate_order", "order": "5580000001"}));
    setup(&engine, &master[..6]);
    let create = fixture("shopify/order_1012_create.json");
    let first = import(&engine, Format::ShopifyOrders, &create, &shopify_options());
    assert_eq!((first.accepted, first.rejected), (1, 0), "{:?}", first.refusals);
    setup(&engine, &master[6..]);

    let edited = fixture("shopify/order_1012_edited.json");
    let amended = import(&engine, Format::ShopifyOrders, &edited, &shopify_options());
    assert_eq!((amended.accepted, amended.rejected), (1, 0), "{:?}", amended.refusals);
    // The black tee's reservation released, the amendment, the white tees allocated.
    assert_eq!(amended.events, 3);
    let orders = engine.views().reader("orders").unwrap();
    let view = tally_projections::orders::order(&orders, "5580000001").unwrap().unwrap();
    let lines: Vec<(&str, u64, u64)> =
        view.lines.iter().map(|l| (l.sku.as_str(), l.ordered, l.allocated)).collect();
    assert_eq!(lines, [("TEE-BLK-M", 0, 0), ("TEE-WHT-M", 2, 2)]);

    let head = engine.log().head();
    for bytes in [&edited, &create] {
        let again = import(&engine, Format::ShopifyOrders, bytes, &shopify_options());
        assert_eq!((again.accepted, again.duplicates, again.events), (0, 1, 0));
    }
    assert_eq!(engine.log().head(), head, "nothing appended");
    engine.close();
}
