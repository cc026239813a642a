//! The `shopify-orders` importer on realistic Shopify Admin REST order objects
//! (`tests/fixtures/shopify/`, written from the public Order and Refund resource docs). Each
//! translated order is also decided by the domain, so the fixtures, the translator and the
//! ledger's order money agree to the cent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::collections::BTreeMap;

use serde_json::json;
use tally_domain::command::{Command, ReceiveOrder};
use tally_domain::ids::{Actor, ChannelId};
use tally_domain::journal::Account;
use tally_domain::money::{Currency, Money};
use tally_domain::order::CancelReason;
use tally_domain::time::Timestamp;
use tally_domain::{Context, State, decide, evolve};
use tally_intake::{Format, FormatError, Intent, Options, Record, translate};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/shopify/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn options(channel: &str) -> Options {
    Options { channel: Some(ChannelId::parse(channel).unwrap()), location: None }
}

fn records(name: &str, channel: &str) -> Vec<Record> {
    translate(Format::ShopifyOrders, &fixture(name), &options(channel)).unwrap()
}

fn intents(record: &Record) -> &[Intent] {
    record
        .outcome
        .as_ref()
        .unwrap_or_else(|r| panic!("{}: {} {}", record.source_id, r.code, r.message))
}

fn kinds(record: &Record) -> Vec<&'static str> {
    intents(record).iter().map(|i| i.command.kind()).collect()
}

fn receive(record: &Record) -> &ReceiveOrder {
    match &intents(record)[0].command {
        Command::ReceiveOrder(r) => r,
        other => panic!("first intent is {other:?}"),
    }
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

/// A ledger with the channel, a warehouse and the fixtures' SKUs (10 of each), deciding
/// intents the way the engine does: an idempotency key seen before appends nothing.
struct Ledger {
    state: State,
    keys: BTreeMap<String, Command>,
    appended: usize,
}

impl Ledger {
    fn new(channel: &str, currency: &str, skus: &[&str]) -> Self {
        let mut l = Self { state: State::new(), keys: BTreeMap::new(), appended: 0 };
        let cost = if currency == "JPY" { "500" } else { "5.00" };
        let mut setup = vec![
            json!({"type": "define_channel", "channel": channel, "priority": "standard",
                "kind": "direct", "currency": currency}),
            json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1,
                "channels": [channel]}),
        ];
        for sku in skus {
            setup.push(json!({"type": "define_sku", "sku": sku, "lot_tracked": false,
                "unit_cost": {"amount": cost, "currency": currency}, "abc": "A"}));
            setup.push(json!({"type": "receive_inventory", "location": "WH1", "sku": sku,
                "qty": 10}));
        }
        for c in setup {
            l.run(&serde_json::from_value(c).unwrap()).unwrap();
        }
        l.appended = 0;
        l
    }

    fn run(&mut self, command: &Command) -> Result<usize, String> {
        let ctx = Context {
            now: Timestamp::parse_rfc3339("2026-03-20T00:00:00Z").unwrap(),
            actor: Actor::parse("test").unwrap(),
        };
        let events = decide(&self.state, command, &ctx).map_err(|r| format!("{} {r}", r.code()))?;
        for e in &events {
            evolve(&mut self.state, e, ctx.now);
        }
        self.appended += events.len();
        Ok(events.len())
    }

    /// Submits every intent of every record; returns (accepted, duplicates, rejected codes).
    fn import(&mut self, records: &[Record]) -> (usize, usize, Vec<String>) {
        let (mut accepted, mut duplicates, mut rejected) = (0, 0, Vec::new());
        for r in records {
            let Ok(list) = &r.outcome else {
                rejected.push(format!("{}: refused", r.source_id));
                continue;
            };
            for i in list {
                if let Some(first) = self.keys.get(&i.idempotency_key) {
                    assert_eq!(first, &i.command, "same key, same command ({})", i.idempotency_key);
                    duplicates += 1;
                    continue;
                }
                match self.run(&i.command) {
                    Ok(_) => {
                        self.keys.insert(i.idempotency_key.clone(), i.command.clone());
                        accepted += 1;
                    }
                    Err(e) => {
                        // The record's later facts hang on this one: stop here.
                        rejected.push(format!("{}: {e}", r.source_id));
                        break;
                    }
                }
            }
        }
        (accepted, duplicates, rejected)
    }

    fn fulfil(&mut self, order: &str) {
        for t in ["validate_order", "allocate_order", "pick_order", "pack_order", "ship_order"] {
            self.run(&serde_json::from_value(json!({"type": t, "order": order})).unwrap())
                .unwrap_or_else(|e| panic!("{t} {order}: {e}"));
        }
    }

    fn bal(&self, account: Account, currency: Currency) -> i64 {
        self.state.balance(account, currency).minor()
    }
}

#[test]
fn a_discounted_order_with_three_jurisdictions_and_taxed_shipping_is_translated_exactly() {
    let rs = records("orders.json", "shopify-us");
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0].source_id, "5531918336");
    assert_eq!(kinds(&rs[0]), ["receive_order", "capture_payment"]);
    let o = receive(&rs[0]);
    assert_eq!(o.order.as_str(), "5531918336");
    assert_eq!(o.number.as_deref(), Some("#1001"));
    assert_eq!(o.placed_at, Timestamp::parse_rfc3339("2026-03-01T17:14:27Z").unwrap());
    assert_eq!(o.lines[0].sku.as_str(), "TEE-BLK-M");
    assert_eq!((o.lines[0].qty, o.lines[0].unit_price), (2, usd(4_999)));
    assert_eq!(o.lines[0].discount, Some(usd(1_000)));
    let taxes = o.lines[0].tax_lines.as_ref().unwrap();
    let got: Vec<(&str, String, Option<Money>)> =
        taxes.iter().map(|t| (t.title.as_str(), t.rate.to_fraction_string(), t.amount)).collect();
    assert_eq!(
        got,
        [
            ("CA State Tax", "0.0725".to_owned(), Some(usd(652))),
            ("Los Angeles County Tax", "0.01".to_owned(), Some(usd(90))),
            ("Los Angeles City Tax", "0.0125".to_owned(), Some(usd(112))),
        ]
    );
    assert_eq!(o.shipping, usd(1_000));
    assert_eq!(o.shipping_lines[0].title, "Standard");
    assert_eq!(o.shipping_lines[0].tax_lines.as_ref().unwrap().len(), 3);
    assert_eq!((o.total_tax, o.total), (Some(usd(1_077)), Some(usd(12_425))));
    let to = o.ship_to.as_ref().unwrap();
    assert_eq!(
        (to.name.as_str(), to.line1.as_str(), to.line2.as_str(), to.region.as_str()),
        ("María José García-López", "1234 W Sunset Blvd", "Apt 5B", "CA")
    );
    assert_eq!((to.postal_code.as_str(), to.country.as_str()), ("90026", "US"));
    assert_eq!(o.buyer.as_ref().unwrap().as_str(), "7394826154112");
    let capture = &intents(&rs[0])[1];
    assert_eq!(capture.idempotency_key, "shopify:shopify-us:5531918336:capture:12425");
    assert_eq!(capture.source, "shopify/shopify-us/#1001");
    let Command::CapturePayment(c) = &capture.command else { unreachable!() };
    assert_eq!((c.amount, c.cumulative), (usd(12_425), true));
    assert!(
        intents(&rs[0])[0].idempotency_key.starts_with("shopify:shopify-us:5531918336:receive:")
    );

    // #1002 is pending (nothing captured) with its shipping discounted by a code.
    assert_eq!(kinds(&rs[1]), ["receive_order"]);
    let o = receive(&rs[1]);
    assert_eq!(o.shipping_lines[0].discount, Some(usd(1_000)));
    assert_eq!(o.total, Some(usd(1_643)));

    // The ledger takes both, and the shipped #1001 reproduces Shopify's totals: 4000 − 4200 =
    // subtotal 103.48, 4100 = 10.00, 2200 = 10.77, paid 124.25 out of deposits.
    let mut ledger = Ledger::new("shopify-us", "USD", &["TEE-BLK-M", "MUG-CER-12"]);
    let (accepted, duplicates, rejected) = ledger.import(&rs);
    assert_eq!((accepted, duplicates, rejected.len()), (3, 0, 0), "{rejected:?}");
    ledger.fulfil("5531918336");
    let b = |a| ledger.bal(a, Currency::USD);
    assert_eq!(-b(Account::ProductRevenue) - b(Account::Discounts), 10_348);
    assert_eq!(-b(Account::ShippingRevenue), 1_000);
    assert_eq!(-b(Account::SalesTaxPayable), 1_077);
    assert_eq!(b(Account::CustomerDeposits), 0);
    assert_eq!(b(Account::ProcessorClearing), 12_425);
}

#[test]
fn a_webhook_payload_with_vat_included_books_the_shop_currency() {
    let rs = records("webhook_orders_create_vat_included.json", "shopify-de");
    assert_eq!(rs.len(), 1);
    let o = receive(&rs[0]);
    assert!(o.taxes_included);
    // Shop money (EUR), not what the buyer saw (CHF).
    assert_eq!(o.currency, Currency::EUR);
    assert_eq!(o.total, Some(Money::from_minor(7_286, Currency::EUR)));
    let to = o.ship_to.as_ref().unwrap();
    assert_eq!((to.name.as_str(), to.line1.as_str()), ("Zoë Łukasiewicz", "Grünberger Straße 54"));
    assert_eq!(to.line2, "Hinterhaus, 3. OG");
    let mut ledger = Ledger::new("shopify-de", "EUR", &["KB-STEIN-350", "FT-4-100"]);
    let (accepted, _, rejected) = ledger.import(&rs);
    assert_eq!((accepted, rejected.len()), (2, 0), "{rejected:?}");
    ledger.fulfil("5540012345");
    let b = |a| ledger.bal(a, Currency::EUR);
    // 72.86 paid; 10.88 VAT; revenue net of VAT 67.96 − 9.58 − 0.52 = 57.86, shipping 4.12.
    assert_eq!(-b(Account::SalesTaxPayable), 1_088);
    assert_eq!(-b(Account::ProductRevenue), 5_786);
    assert_eq!(-b(Account::ShippingRevenue), 412);
    // A channel in another currency refuses the order: the shop currency must be the channel's.
    let mut usd_ledger = Ledger::new("shopify-de", "USD", &["KB-STEIN-350", "FT-4-100"]);
    let (_, _, rejected) = usd_ledger.import(&rs);
    assert!(rejected[0].contains("CURRENCY_MISMATCH"), "{rejected:?}");
}

#[test]
fn yen_orders_in_ndjson_import_and_an_unknown_sku_refuses_only_its_order() {
    let rs = records("orders_jpy.ndjson", "shopify-jp");
    assert_eq!(rs.len(), 2);
    let o = receive(&rs[0]);
    let yen = |m| Money::from_minor(m, Currency::JPY);
    assert_eq!((o.lines[0].unit_price, o.lines[0].discount), (yen(1_980), Some(yen(396))));
    assert_eq!((o.shipping, o.total_tax, o.total), (yen(550), Some(yen(374)), Some(yen(4_114))));
    assert_eq!(o.ship_to.as_ref().unwrap().city, "渋谷区");
    assert_eq!(o.ship_to.as_ref().unwrap().name, "太郎 山田");
    let mut ledger = Ledger::new("shopify-jp", "JPY", &["MATCHA-100"]);
    let (accepted, _, rejected) = ledger.import(&rs);
    // #3001 (receive + capture) imports; #3002 names a SKU the ledger does not know.
    assert_eq!(accepted, 2);
    assert_eq!(rejected.len(), 1);
    assert!(
        rejected[0].starts_with("5551234568: UNKNOWN_SKU") && rejected[0].contains("MATCHA-GHOST"),
        "{rejected:?}"
    );
    ledger.fulfil("5551234567");
    let b = |a| ledger.bal(a, Currency::JPY);
    assert_eq!(-b(Account::SalesTaxPayable), 374);
    assert_eq!(b(Account::Discounts), 396);
    assert_eq!(-b(Account::ProductRevenue), 3_960 - 324);
}

#[test]
fn an_order_created_then_updated_yields_only_what_changed_and_a_second_import_nothing() {
    let create = records("order_1012_create.json", "shopify-us");
    let paid = records("order_1012_updated_paid.json", "shopify-us");
    let refunded = records("order_1012_updated_refunded.json", "shopify-us");
    assert_eq!(kinds(&create[0]), ["receive_order"]);
    assert_eq!(kinds(&paid[0]), ["receive_order", "capture_payment"]);
    assert_eq!(kinds(&refunded[0]), ["receive_order", "capture_payment", "issue_refund"]);
    // The order's content did not change; seen paid, its receive carries the payment (for an
    // order first seen paid), which the ledger ignores for an order it has (the capture says
    // it); refunded, the same receive as paid but for Shopify's `updated_at` (its revision).
    let Command::ReceiveOrder(first) = &intents(&create[0])[0].command else { unreachable!() };
    let Command::ReceiveOrder(again) = &intents(&paid[0])[0].command else { unreachable!() };
    assert_eq!((first.order.as_str(), first.payments.len()), ("5580000001", 0));
    assert_eq!((again.order.as_str(), again.payments[0].amount), ("5580000001", usd(5_473)));
    let Command::ReceiveOrder(refunded_receive) = &intents(&refunded[0])[0].command else {
        unreachable!()
    };
    assert_eq!(
        ReceiveOrder { revision: again.revision, ..refunded_receive.clone() },
        again.clone()
    );
    assert!(again.revision < refunded_receive.revision);
    assert_eq!(
        intents(&refunded[0])[2].idempotency_key,
        "shopify:shopify-us:5580000001:refund:990000012:lines"
    );

    let mut ledger = Ledger::new("shopify-us", "USD", &["TEE-BLK-M"]);
    assert_eq!(ledger.import(&create), (1, 0, Vec::new()));
    let after_create = ledger.appended;
    // The same webhook again: nothing.
    assert_eq!(ledger.import(&create), (0, 1, Vec::new()));
    assert_eq!(ledger.appended, after_create);
    ledger.fulfil("5580000001");
    // Paid later: the receive changes nothing, the capture pays the open invoice.
    let before = ledger.appended;
    assert_eq!(ledger.import(&paid), (2, 0, Vec::new()));
    assert_eq!(ledger.appended, before + 2, "a capture and its journal entry");
    assert_eq!(ledger.bal(Account::AccountsReceivable, Currency::USD), 0);
    // Refunded later: only the refund, 49.99 + 4.74 back through 1100 (the receive of the
    // later revision is decided and changes nothing).
    let before = ledger.appended;
    assert_eq!(ledger.import(&refunded), (2, 1, Vec::new()));
    assert_eq!(ledger.appended, before + 2, "a refund and its journal entry");
    assert_eq!(ledger.bal(Account::ProcessorClearing, Currency::USD), 0);
    assert_eq!(ledger.bal(Account::SalesReturns, Currency::USD), 4_999);
    let before = ledger.appended;
    assert_eq!(ledger.import(&refunded), (0, 3, Vec::new()));
    assert_eq!(ledger.appended, before, "a second import appends nothing");

    // A later edit of the shipped order: a change of its shipped line is refused naming the
    // line, a new address as the order's state; the same edit under the revision the ledger
    // has is a conflict.
    let original: serde_json::Value =
        serde_json::from_slice(&fixture("order_1012_updated_refunded.json")).unwrap();
    let mut new_line = original.clone();
    new_line["line_items"][0]["quantity"] = json!(2);
    new_line["line_items"][0]["current_quantity"] = json!(2);
    new_line["line_items"][0]["fulfillable_quantity"] = json!(1);
    new_line["line_items"][0]["tax_lines"] = json!([]);
    new_line["total_tax"] = json!("0.00");
    new_line["total_price"] = json!("99.98");
    new_line["updated_at"] = json!("2026-03-12T09:00:00-08:00");
    let mut new_address = original;
    new_address["shipping_address"]["address1"] = json!("500 S Grand Ave");
    new_address["updated_at"] = json!("2026-03-12T09:00:00-08:00");
    let mut same_revision = new_address.clone();
    // The revision the ledger's order has: the creation's (the later receives changed nothing).
    same_revision["updated_at"] = json!("2026-03-04T08:00:00-08:00");
    for (edited, code) in [
        (new_line, "LINE_LOCKED"),
        (new_address, "INVALID_STATE"),
        (same_revision, "DUPLICATE_ORDER_CONFLICT"),
    ] {
        let edited = translate(
            Format::ShopifyOrders,
            &serde_json::to_vec(&edited).unwrap(),
            &options("shopify-us"),
        )
        .unwrap();
        assert_ne!(intents(&edited[0])[0].idempotency_key, intents(&create[0])[0].idempotency_key);
        let before = ledger.appended;
        let (_, _, rejected) = ledger.import(&edited);
        assert!(rejected[0].contains(code), "{code}: {rejected:?}");
        assert_eq!(ledger.appended, before);
    }
}

/// `orders/updated` after an order edit before fulfilment (`order_1012_edited.json`): the
/// received order is amended, not refused; its released and added units follow; the same
/// webhook again and the first version arriving late change nothing.
#[test]
fn an_order_edited_before_fulfilment_is_amended_not_refused() {
    let create = records("order_1012_create.json", "shopify-us");
    let edited = records("order_1012_edited.json", "shopify-us");
    let o = receive(&edited[0]);
    // The removed line is sent with 0 units (its taxes computed: none), the new line after it.
    assert_eq!(o.lines.len(), 2);
    assert_eq!((o.lines[0].sku.as_str(), o.lines[0].qty), ("TEE-BLK-M", 0));
    assert!(o.lines[0].tax_lines.as_ref().unwrap().iter().all(|t| t.amount.is_none()));
    assert_eq!((o.lines[1].sku.as_str(), o.lines[1].qty), ("TEE-WHT-M", 2));
    assert_eq!((o.total, o.total_tax), (Some(usd(10_948)), Some(usd(950))));
    assert_eq!(o.ship_to.as_ref().unwrap().line1, "2000 N Vermont Ave");
    assert_eq!(o.revision, Some(Timestamp::parse_rfc3339("2026-03-04T17:30:00Z").unwrap()));

    let mut ledger = Ledger::new("shopify-us", "USD", &["TEE-BLK-M", "TEE-WHT-M"]);
    assert_eq!(ledger.import(&create), (1, 0, Vec::new()));
    for t in ["validate_order", "allocate_order"] {
        ledger
            .run(&serde_json::from_value(json!({"type": t, "order": "5580000001"})).unwrap())
            .unwrap();
    }
    let wh1 = tally_domain::ids::LocationId::parse("WH1").unwrap();
    let sku = |s: &str| tally_domain::ids::Sku::parse(s).unwrap();
    assert_eq!(ledger.state.reserved(&wh1, &sku("TEE-BLK-M")), 1);
    let before = ledger.appended;
    assert_eq!(ledger.import(&edited), (1, 0, Vec::new()));
    // Released the black tee, amended, allocated the two white tees.
    assert_eq!(ledger.appended, before + 3);
    assert_eq!(ledger.state.reserved(&wh1, &sku("TEE-BLK-M")), 0);
    assert_eq!(ledger.state.reserved(&wh1, &sku("TEE-WHT-M")), 2);
    let order =
        ledger.state.order(&tally_domain::ids::OrderId::parse("5580000001").unwrap()).unwrap();
    assert_eq!(order.lines.iter().map(|l| l.ordered).collect::<Vec<_>>(), [0, 2]);
    assert_eq!(order.profile.ship_to.as_ref().unwrap().postal_code, "90027");
    // The same webhook again, and the creation arriving late: nothing.
    let before = ledger.appended;
    assert_eq!(ledger.import(&edited), (0, 1, Vec::new()));
    assert_eq!(ledger.import(&create), (0, 1, Vec::new()));
    assert_eq!(ledger.appended, before);
    // Shipped and invoiced as amended: 99.98 of goods, 9.50 of tax.
    for t in ["pick_order", "pack_order", "ship_order"] {
        ledger
            .run(&serde_json::from_value(json!({"type": t, "order": "5580000001"})).unwrap())
            .unwrap();
    }
    assert_eq!(ledger.bal(Account::ProductRevenue, Currency::USD), -9_998);
    assert_eq!(ledger.bal(Account::SalesTaxPayable, Currency::USD), -950);
    assert_eq!(ledger.bal(Account::AccountsReceivable, Currency::USD), 10_948);
}

#[test]
fn a_partial_refund_takes_shopify_s_subtotal_and_tax() {
    let rs = records("order_partially_refunded.json", "shopify-us");
    assert_eq!(kinds(&rs[0]), ["receive_order", "capture_payment", "issue_refund"]);
    let Command::IssueRefund(r) = &intents(&rs[0])[2].command else { unreachable!() };
    assert_eq!(r.refund.as_str(), "shopify-990000010");
    assert_eq!((r.lines[0].line, r.lines[0].qty), (0, 1));
    assert_eq!((r.lines[0].amount, r.lines[0].tax), (Some(usd(8_455)), Some(usd(750))));
    let mut ledger = Ledger::new("shopify-us", "USD", &["SHOE-TR-42"]);
    let (accepted, _, rejected) = ledger.import(&rs);
    // The refund needs a shipment first: refused, the rest imported.
    assert_eq!(accepted, 2);
    assert!(rejected[0].contains("EXCEEDS_OUTSTANDING"), "{rejected:?}");
    ledger.fulfil("5560000001");
    let (accepted, duplicates, rejected) = ledger.import(&rs);
    assert_eq!((accepted, duplicates, rejected.len()), (1, 2, 0), "{rejected:?}");
    let b = |a| ledger.bal(a, Currency::USD);
    assert_eq!(b(Account::ProcessorClearing), 20_044 - 9_205);
    assert_eq!(-b(Account::SalesTaxPayable), 1_634 - 750);
    assert_eq!(b(Account::SalesReturns), 8_455);
}

#[test]
fn a_cancelled_order_is_received_cancelled_and_its_deposit_refunded() {
    let rs = records("order_cancelled.json", "shopify-us");
    assert_eq!(
        kinds(&rs[0]),
        ["receive_order", "capture_payment", "cancel_order", "refund_deposit"]
    );
    let Command::CancelOrder(c) = &intents(&rs[0])[2].command else { unreachable!() };
    assert_eq!(c.reason, CancelReason::Customer);
    let Command::RefundDeposit(d) = &intents(&rs[0])[3].command else { unreachable!() };
    assert_eq!(d.amount, usd(1_643));
    let mut ledger = Ledger::new("shopify-us", "USD", &["MUG-CER-12"]);
    assert_eq!(ledger.import(&rs), (4, 0, Vec::new()));
    assert_eq!(ledger.bal(Account::CustomerDeposits, Currency::USD), 0);
    assert_eq!(ledger.bal(Account::ProcessorClearing, Currency::USD), 0);
}

#[test]
fn bad_input_is_refused_clearly_and_the_rest_imports() {
    let opts = options("shopify-us");
    let err = translate(Format::ShopifyOrders, b"not json", &opts).unwrap_err();
    assert!(matches!(&err, FormatError::Invalid(m) if m.contains("not JSON")), "{err:?}");
    let err = translate(Format::ShopifyOrders, b"", &opts).unwrap_err();
    assert!(matches!(&err, FormatError::Invalid(m) if m.contains("empty")), "{err:?}");
    let err =
        translate(Format::ShopifyOrders, &fixture("orders.json"), &Options::default()).unwrap_err();
    assert!(matches!(&err, FormatError::Invalid(m) if m.contains("channel")), "{err:?}");

    // NDJSON with a broken second line: that line is refused by number, the others import.
    let text = String::from_utf8(fixture("orders_jpy.ndjson")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(1, "{\"id\": 1, oops");
    let rs = translate(Format::ShopifyOrders, lines.join("\n").as_bytes(), &opts).unwrap();
    assert_eq!(rs.len(), 3);
    assert_eq!(rs[1].source_id, "line 2");
    assert!(rs[0].outcome.is_ok() && rs[2].outcome.is_ok());

    // A line item without a SKU (a tip, a custom item) and an amount finer than the currency.
    let mut o: serde_json::Value =
        serde_json::from_slice(&fixture("order_1012_create.json")).unwrap();
    o["line_items"][0]["sku"] = json!("");
    let rs = translate(Format::ShopifyOrders, &serde_json::to_vec(&o).unwrap(), &opts).unwrap();
    let refusal = rs[0].outcome.as_ref().unwrap_err();
    assert_eq!((rs[0].source_id.as_str(), refusal.code), ("5580000001", "MISSING_SKU"));
    assert!(refusal.message.contains("13720000000001"), "{}", refusal.message);
    o["line_items"][0]["sku"] = json!("TEE-BLK-M");
    o["line_items"][0]["price"] = json!("49.999");
    let rs = translate(Format::ShopifyOrders, &serde_json::to_vec(&o).unwrap(), &opts).unwrap();
    let refusal = rs[0].outcome.as_ref().unwrap_err();
    assert_eq!(refusal.code, "INVALID_INPUT");
    assert!(refusal.message.contains("49.999"), "{}", refusal.message);
    // An order that is not an object of the expected shape.
    let rs = translate(Format::ShopifyOrders, br#"[{"id": 7, "line_items": "x"}]"#, &opts).unwrap();
    assert_eq!(rs[0].source_id, "7");
    assert_eq!(rs[0].outcome.as_ref().unwrap_err().code, "INVALID_INPUT");
}

#[test]
fn a_full_refund_after_shipment_refunds_the_shipping_with_the_last_unit() {
    let rs = records("order_refunded_with_shipping.json", "shopify-us");
    assert_eq!(kinds(&rs[0]), ["receive_order", "capture_payment", "issue_refund", "issue_refund"]);
    let Command::IssueRefund(r) = &intents(&rs[0])[3].command else { unreachable!() };
    assert_eq!((r.shipping, r.shipping_tax), (Some(usd(1_500)), Some(usd(134))));
    assert_eq!(
        intents(&rs[0])[3].idempotency_key,
        "shopify:shopify-us:5560000001:refund:990000013:lines"
    );
    let mut ledger = Ledger::new("shopify-us", "USD", &["SHOE-TR-42"]);
    // Receive and capture; the refunds wait for the shipment.
    let (accepted, _, _) = ledger.import(&rs);
    assert_eq!(accepted, 2);
    ledger.fulfil("5560000001");
    let (accepted, duplicates, rejected) = ledger.import(&rs);
    assert_eq!((accepted, duplicates, rejected.len()), (2, 2, 0), "{rejected:?}");
    // Everything Shopify refunded (92.05 + 108.39 = the 200.44 paid) went back through 1100;
    // 2200 and 4100 are back to zero, 4500 holds the 169.10 of shoes after discount.
    let b = |a| ledger.bal(a, Currency::USD);
    assert_eq!(b(Account::ProcessorClearing), 0);
    assert_eq!(b(Account::SalesTaxPayable), 0);
    assert_eq!(b(Account::ShippingRevenue), 0);
    assert_eq!(b(Account::SalesReturns), 16_910);
    assert_eq!(b(Account::CustomerDeposits), 0);
}

/// `partially_paid` (30.00 of 54.73), then `paid`, then `paid` again: two captures adding up
/// to the paid total (30.00, then 24.73), and nothing for the repeat.
#[test]
fn a_partially_paid_order_then_paid_captures_each_new_part_once() {
    let original: serde_json::Value =
        serde_json::from_slice(&fixture("order_1012_create.json")).unwrap();
    let mut partial = original.clone();
    partial["financial_status"] = json!("partially_paid");
    partial["total_outstanding"] = json!("24.73");
    let partial = translate(
        Format::ShopifyOrders,
        &serde_json::to_vec(&partial).unwrap(),
        &options("shopify-us"),
    )
    .unwrap();
    let paid = records("order_1012_updated_paid.json", "shopify-us");
    assert_eq!(kinds(&partial[0]), ["receive_order", "capture_payment"]);
    assert_ne!(intents(&partial[0])[1].idempotency_key, intents(&paid[0])[1].idempotency_key);

    let mut ledger = Ledger::new("shopify-us", "USD", &["TEE-BLK-M"]);
    // Seen first partly paid: 30.00 recorded with the order (the capture then adds nothing).
    assert_eq!(ledger.import(&partial), (2, 0, Vec::new()));
    assert_eq!(ledger.bal(Account::ProcessorClearing, Currency::USD), 3_000);
    assert_eq!(ledger.import(&paid), (2, 0, Vec::new()));
    assert_eq!(ledger.bal(Account::ProcessorClearing, Currency::USD), 5_473);
    let before = ledger.appended;
    assert_eq!(ledger.import(&paid), (0, 2, Vec::new()));
    assert_eq!(ledger.appended, before);
}

/// A paid, discounted order edited before fulfilment to one tee of two (#1001 of
/// `orders.json`, `current_quantity` 1): the tee keeps half its discount (5.00) and its taxes
/// are computed from their rates on 44.99 (3.26 + 0.45 + 0.56), so the order adds up to
/// Shopify's current totals (tax 6.50, total 74.99); the released tee is available again, the
/// money already captured stays in deposits (the cumulative capture of a lower total adds
/// nothing) until a refund returns it.
#[test]
fn a_paid_discounted_line_reduced_by_an_edit_keeps_its_share_of_the_discount() {
    let mut order: serde_json::Value =
        serde_json::from_slice::<serde_json::Value>(&fixture("orders.json")).unwrap()["orders"][0]
            .clone();
    let original = translate(
        Format::ShopifyOrders,
        &serde_json::to_vec(&order).unwrap(),
        &options("shopify-us"),
    )
    .unwrap();
    order["updated_at"] = json!("2026-03-01T10:05:00-08:00");
    order["line_items"][0]["current_quantity"] = json!(1);
    order["line_items"][0]["fulfillable_quantity"] = json!(1);
    order["current_total_tax"] = json!("6.50");
    order["current_total_price"] = json!("74.99");
    order["total_outstanding"] = json!("-49.26");
    let edited = translate(
        Format::ShopifyOrders,
        &serde_json::to_vec(&order).unwrap(),
        &options("shopify-us"),
    )
    .unwrap();
    let o = receive(&edited[0]);
    assert_eq!((o.lines[0].qty, o.lines[0].discount), (1, Some(usd(500))));
    assert!(o.lines[0].tax_lines.as_ref().unwrap().iter().all(|t| t.amount.is_none()));
    assert_eq!((o.lines[1].qty, o.lines[1].discount), (1, Some(usd(150))));
    assert_eq!((o.total_tax, o.total), (Some(usd(650)), Some(usd(7_499))));

    let mut ledger = Ledger::new("shopify-us", "USD", &["TEE-BLK-M", "MUG-CER-12"]);
    assert_eq!(ledger.import(&original), (2, 0, Vec::new()));
    for t in ["validate_order", "allocate_order"] {
        ledger
            .run(&serde_json::from_value(json!({"type": t, "order": "5531918336"})).unwrap())
            .unwrap();
    }
    let wh1 = tally_domain::ids::LocationId::parse("WH1").unwrap();
    let tee = tally_domain::ids::Sku::parse("TEE-BLK-M").unwrap();
    assert_eq!(ledger.state.reserved(&wh1, &tee), 2);
    let (accepted, _, rejected) = ledger.import(&edited);
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(accepted, 2);
    assert_eq!(ledger.state.reserved(&wh1, &tee), 1);
    assert_eq!(ledger.bal(Account::CustomerDeposits, Currency::USD), -12_425);
    for t in ["pick_order", "pack_order", "ship_order"] {
        ledger
            .run(&serde_json::from_value(json!({"type": t, "order": "5531918336"})).unwrap())
            .unwrap();
    }
    // Shipped as amended: goods 49.99 + 15.00, discounts 5.00 + 1.50, tax 6.50, shipping 10.00;
    // what was paid above 74.99 is still a deposit.
    assert_eq!(ledger.bal(Account::ProductRevenue, Currency::USD), -6_499);
    assert_eq!(ledger.bal(Account::Discounts, Currency::USD), 650);
    assert_eq!(ledger.bal(Account::SalesTaxPayable, Currency::USD), -650);
    assert_eq!(ledger.bal(Account::CustomerDeposits, Currency::USD), -4_926);
}

/// Gift cards, tips and duties are not modelled yet: an order with them is refused by name
/// (typed code, the order named), never booked as stock or refused as a total that does not
/// add up; the same fields at zero import as before.
#[test]
fn gift_cards_tips_and_duties_are_refused_by_name_until_modelled() {
    let base: serde_json::Value =
        serde_json::from_slice(&fixture("order_1012_create.json")).unwrap();
    let refusal = |order: &serde_json::Value| {
        let rs = translate(
            Format::ShopifyOrders,
            &serde_json::to_vec(order).unwrap(),
            &options("shopify-us"),
        )
        .unwrap();
        rs[0].outcome.as_ref().map(|_| ()).map_err(|r| (r.code, r.message.clone()))
    };
    let mut gift = base.clone();
    gift["line_items"][0]["gift_card"] = json!(true);
    let (code, message) = refusal(&gift).unwrap_err();
    assert_eq!(code, "UNSUPPORTED_LINE");
    assert!(message.contains("5580000001") && message.contains("gift card"), "{message}");
    let mut tip = base.clone();
    tip["total_tip_received"] = json!("5.00");
    let (code, message) = refusal(&tip).unwrap_err();
    assert_eq!(code, "UNSUPPORTED_CHARGE");
    assert!(message.contains("tip of 5.00"), "{message}");
    let mut duties = base.clone();
    duties["current_total_duties_set"] = json!({
        "shop_money": {"amount": "3.20", "currency_code": "USD"},
        "presentment_money": {"amount": "3.20", "currency_code": "USD"}
    });
    let (code, message) = refusal(&duties).unwrap_err();
    assert_eq!(code, "UNSUPPORTED_CHARGE");
    assert!(message.contains("duties of 3.20"), "{message}");
    // At zero (as every other fixture has them), nothing changes.
    let mut zero = base;
    zero["total_tip_received"] = json!("0.00");
    zero["current_total_duties_set"] =
        json!({"shop_money": {"amount": "0.00", "currency_code": "USD"}});
    zero["line_items"][0]["gift_card"] = json!(false);
    assert!(refusal(&zero).is_ok());
}
