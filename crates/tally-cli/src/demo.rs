//! The demo dataset: a deterministic, seeded fortnight of a small omnichannel business.
//!
//! Three channels (web and a marketplace are `standard`, a B2B/EDI channel is `contract`),
//! three locations, 36 SKUs of which six are lot-tracked medical supplies with expiries, and a
//! few thousand orders with holds, splits across locations, backorders filled by restocks,
//! cancellations, returns with every disposition, refunds, processor fees and payouts,
//! marketplace settlements whose net equals their payout, and one lot recall.
//!
//! The generator decides every command against its own copy of the domain state before it
//! emits it (the domain is pure and deterministic), so the engine accepts every submission and
//! reaches the same state; nothing is emitted that would be rejected.

use serde_json::{Value, json};
use tally_domain::ids::{Actor, OrderId, SettlementId};
use tally_domain::order::OrderStatus;
use tally_domain::time::Timestamp;
use tally_domain::{Command, Context, State, execute};
use tally_engine::Submission;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// 2026-11-09T00:00:00Z, a Monday.
const START_MS: i64 = 1_794_182_400_000;
const DAYS: i64 = 14;
const LOCATIONS: [&str; 3] = ["WH1", "WH2", "STORE1"];

/// A small deterministic generator (xorshift64*): the dataset depends only on the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

struct Sku {
    id: String,
    price_cents: i64,
    lot_tracked: bool,
}

/// The dataset being built.
pub struct Demo {
    seed: u64,
    rng: Rng,
    state: State,
    now: i64,
    submissions: Vec<Submission>,
    skus: Vec<Sku>,
    next_order: u64,
    next_id: u64,
    /// Orders and when they were placed, to move them along later.
    open: Vec<(String, &'static str, i64)>,
    delivered: Vec<String>,
    marketplace_sold: Vec<String>,
    /// Goods total (cents) of each marketplace order, for its settlement lines (delivered
    /// orders shrink to a digest in the domain state, so the generator keeps this itself).
    goods_cents: std::collections::BTreeMap<String, i64>,
    /// Whether an order's first line is a lot-tracked SKU (returns of those need a lot).
    first_line_lot_tracked: std::collections::BTreeSet<String>,
    /// Purchase orders received and not yet billed: (day received, PO id, units, unit cost
    /// cents), billed by the supplier two days later.
    unbilled: Vec<(i64, String, u64, i64)>,
    /// Supplier invoices not yet paid: (invoice id, total cents), paid weekly.
    unpaid: Vec<(String, i64)>,
}

/// B2B customers: id, name, terms (net days), credit limit (cents).
const CUSTOMERS: [(&str, &str, u32, i64); 3] = [
    ("ACME", "Acme Clinics", 30, 15_000_000),
    ("NORTH", "North Health Supply", 45, 6_000_000),
    ("CITY", "City Hospital", 15, 20_000_000),
];

fn money(cents: i64) -> Value {
    let sign = if cents < 0 { "-" } else { "" };
    json!({"amount": format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100), "currency": "USD"})
}

fn date(ms: i64) -> String {
    Timestamp::from_millis(ms).date().to_string()
}

impl Demo {
    fn new(seed: u64) -> Self {
        Self {
            seed,
            rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            state: State::new(),
            now: START_MS,
            submissions: Vec::new(),
            skus: Vec::new(),
            next_order: 1000,
            next_id: 0,
            open: Vec::new(),
            delivered: Vec::new(),
            marketplace_sold: Vec::new(),
            goods_cents: std::collections::BTreeMap::new(),
            first_line_lot_tracked: std::collections::BTreeSet::new(),
            unbilled: Vec::new(),
            unpaid: Vec::new(),
        }
    }

    /// Decides `json` against the generator's state; emits it only when accepted.
    fn run(&mut self, source: &str, json: Value) -> bool {
        let Ok(command) = serde_json::from_value::<Command>(json) else { return false };
        let Ok(actor) = Actor::parse("demo") else { return false };
        let ctx = Context { now: Timestamp::from_millis(self.now), actor };
        if let Err(rejection) = execute(&mut self.state, &command, &ctx) {
            if std::env::var_os("TALLY_DEMO_DEBUG").is_some() {
                eprintln!("demo skips {}: {rejection}", command.kind());
            }
            return false;
        }
        self.next_id += 1;
        let mut submission =
            Submission::new(format!("demo-{}-{}", self.seed, self.next_id), command);
        submission.actor = "demo".to_owned();
        submission.source = source.to_owned();
        submission.occurred_at_ms = Some(self.now);
        self.submissions.push(submission);
        true
    }

    fn master_data(&mut self) {
        // The marketplace collects and remits the sales tax of its orders (facilitator tax).
        for (channel, priority, kind, facilitator) in [
            ("web", "standard", "direct", false),
            ("amazon", "standard", "marketplace", true),
            ("b2b", "contract", "wholesale", false),
        ] {
            self.run(
                "demo/setup",
                json!({"type": "define_channel", "channel": channel,
                "priority": priority, "kind": kind, "currency": "USD",
                "facilitator_tax": facilitator}),
            );
        }
        // B2B customers on terms; their orders are invoiced to 1300 and paid later.
        for (customer, name, terms, limit) in CUSTOMERS {
            self.run(
                "erp/customers",
                json!({"type": "define_customer", "customer": customer, "name": name,
                "currency": "USD", "terms_days": terms, "credit_limit": money(limit)}),
            );
        }
        for (location, kind, rank, channels) in [
            ("WH1", "warehouse", 1, json!(["web", "amazon", "b2b"])),
            ("WH2", "third_party", 2, json!(["web", "amazon", "b2b"])),
            ("STORE1", "store", 3, json!(["web"])),
        ] {
            self.run(
                "demo/setup",
                json!({"type": "define_location", "location": location,
                "kind": kind, "rank": rank, "channels": channels}),
            );
        }
        for i in 0..36u64 {
            let lot_tracked = i >= 30;
            let id = if lot_tracked {
                format!("MED-{:02}", i - 29)
            } else {
                format!("SKU-{:03}", i + 1)
            };
            let cost = 200 + (i as i64 * 137) % 4000;
            let price = cost * 2 + 99;
            let abc = ["A", "B", "C"][(i % 3) as usize];
            let mut def = json!({"type": "define_sku", "sku": id, "lot_tracked": lot_tracked,
                "unit_cost": money(cost), "abc": abc});
            if lot_tracked {
                def["shelf_life_margin_days"] = json!(30);
            }
            self.run("demo/setup", def);
            self.skus.push(Sku { id, price_cents: price, lot_tracked });
        }
        self.run(
            "demo/setup",
            json!({"type": "define_supplier", "supplier": "ACME", "name": "Acme Wholesale",
                "currency": "USD", "payment_terms_days": 30, "price_tolerance": "0.02"}),
        );
        for sku in 0..10 {
            let id = self.skus[sku].id.clone();
            self.run(
                "demo/setup",
                json!({"type": "set_safety_stock", "location": "WH1", "sku": id, "qty": 5}),
            );
        }
    }

    fn restock(&mut self, day: i64, initial: bool) {
        for i in 0..self.skus.len() {
            for (l, location) in LOCATIONS.iter().enumerate() {
                if l == 2 && i % 4 != 0 {
                    continue; // the store carries a quarter of the range
                }
                let available = match (
                    tally_domain::ids::LocationId::parse(*location),
                    tally_domain::ids::Sku::parse(self.skus[i].id.clone()),
                ) {
                    (Ok(loc), Ok(sku)) => self.state.available(&loc, &sku),
                    _ => continue,
                };
                // Restock some items late on purpose so backorders build up and get filled.
                if !initial && (available > 15 || self.rng.chance(40)) {
                    continue;
                }
                let qty = if initial { 20 + self.rng.below(40) } else { 30 + self.rng.below(50) };
                // Every receipt arrives against its own purchase order, at a cost within ±3 %
                // of the SKU's standard cost, so the moving average moves.
                let standard = (self.skus[i].price_cents - 99) / 2;
                let cost = standard * (97 + self.rng.below(7) as i64) / 100;
                let po = format!("PO-{day:02}{i:02}{l}");
                if !self.run(
                    "erp/purchasing",
                    json!({"type": "create_purchase_order", "purchase_order": po, "supplier": "ACME",
                        "lines": [{"sku": self.skus[i].id, "qty": qty, "unit_cost": money(cost)}]}),
                ) {
                    continue;
                }
                let mut cmd = json!({"type": "receive_inventory", "location": location,
                    "sku": self.skus[i].id, "qty": qty, "purchase_order": po, "po_line": 0});
                if self.skus[i].lot_tracked {
                    // Each receipt is a new lot; expiries spread over the next year.
                    cmd["lot"] = json!(format!("L{day:02}{i:02}{l}"));
                    cmd["expiry"] =
                        json!(date(self.now + (90 + self.rng.below(270) as i64) * DAY_MS));
                }
                if self.run(&format!("wms/{location}/asn"), cmd) {
                    self.unbilled.push((day, po, qty, cost));
                }
            }
        }
    }

    /// The supplier bills what it delivered two days ago (one invoice in ten 1 % over the
    /// purchase-order cost: price variance to 5600; one in fifty 5 % over: beyond tolerance,
    /// an exception a person must resolve, so those goods stay in GRNI).
    fn bill(&mut self, day: i64) {
        let (due, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.unbilled).into_iter().partition(|(d, ..)| *d + 2 <= day);
        self.unbilled = later;
        for (_, po, qty, cost) in due {
            let price = match self.rng.below(50) {
                0 => cost * 105 / 100,
                n if n % 10 == 1 => cost * 101 / 100,
                _ => cost,
            };
            let invoice = format!("ACME-{po}");
            let recorded = self.run(
                "erp/ap",
                json!({"type": "record_supplier_invoice", "invoice": invoice, "supplier": "ACME",
                    "purchase_order": po,
                    "lines": [{"po_line": 0, "qty": qty, "unit_price": money(price)}]}),
            );
            let posted = self.state.ap_invoices().any(|i| i.id.as_str() == invoice);
            if recorded && posted {
                self.unpaid.push((invoice, price * qty as i64));
            }
        }
    }

    /// A weekly payment run pays every invoice billed so far.
    fn pay_suppliers(&mut self, week: i64) {
        let invoices = std::mem::take(&mut self.unpaid);
        let total: i64 = invoices.iter().map(|(_, cents)| cents).sum();
        if invoices.is_empty() {
            return;
        }
        let applications: Vec<Value> = invoices
            .iter()
            .map(|(invoice, cents)| json!({"invoice": invoice, "amount": money(*cents)}))
            .collect();
        self.run(
            "erp/ap",
            json!({"type": "record_supplier_payment", "payment": format!("ACH-w{week:02}"),
                "supplier": "ACME", "amount": money(total), "applications": applications}),
        );
    }

    fn place_order(&mut self) {
        self.next_order += 1;
        let roll = self.rng.below(100);
        let channel: &'static str = if roll < 60 {
            "web"
        } else if roll < 85 {
            "amazon"
        } else {
            "b2b"
        };
        let id = format!("{}-{}", channel.to_uppercase(), self.next_order);
        let line_count = 1 + self.rng.below(if channel == "b2b" { 4 } else { 3 });
        let mut lines = Vec::new();
        let mut subtotal = 0;
        for n in 0..line_count {
            let sku = &self.skus[self.rng.below(self.skus.len() as u64) as usize];
            if n == 0 && sku.lot_tracked {
                self.first_line_lot_tracked.insert(id.clone());
            }
            let qty = if channel == "b2b" { 5 + self.rng.below(20) } else { 1 + self.rng.below(3) };
            subtotal += sku.price_cents * qty as i64;
            lines.push(json!({"sku": sku.id, "qty": qty, "unit_price": money(sku.price_cents)}));
        }
        let shipping = if channel == "web" { 795 } else { 0 };
        let tax_ppm = if channel == "b2b" { 0 } else { 80_000 };
        // The command takes a decimal fraction: 8 % is "0.08".
        let tax_rate = if tax_ppm == 0 { "0" } else { "0.08" };
        let placed = self.now;
        let source = format!("{channel}/orders/{id}");
        let mut receive = json!({"type": "receive_order", "order": id, "channel": channel,
            "placed_at": Timestamp::from_millis(placed).to_rfc3339(), "currency": "USD",
            "lines": lines, "shipping": money(shipping), "tax_rate": tax_rate});
        if channel == "b2b" {
            receive["customer"] = json!(CUSTOMERS[(self.next_order % 3) as usize].0);
        }
        if !self.run(&source, receive) {
            return;
        }
        self.run(&source, json!({"type": "validate_order", "order": id}));
        if channel == "amazon" {
            self.goods_cents.insert(id.clone(), subtotal);
        }
        if channel == "web" {
            // Tax on goods and shipping, half-even per line as the domain computes it; the
            // capture is accepted only when it matches, which the generator checks.
            let base = subtotal + shipping;
            let tax = (base * tax_ppm + 500_000) / 1_000_000;
            self.run(
                &source,
                json!({"type": "capture_payment", "order": id,
                "payment": format!("ch_{}", self.next_order), "amount": money(base + tax)}),
            );
        }
        if self.rng.chance(6) {
            let reason =
                ["fraud", "payment", "address", "credit", "manual"][self.rng.below(5) as usize];
            self.run(
                &source,
                json!({"type": "hold_order", "order": id, "reason": reason,
                "due_at": Timestamp::from_millis(self.now + 4 * HOUR_MS).to_rfc3339(),
                "note": "demo hold"}),
            );
        } else {
            self.run(&source, json!({"type": "allocate_order", "order": id}));
        }
        if self.rng.chance(2) {
            self.run(&source, json!({"type": "cancel_order", "order": id, "reason": "customer"}));
            return;
        }
        self.open.push((id, channel, placed));
    }

    fn order_status(&self, id: &str) -> Option<OrderStatus> {
        let id = OrderId::parse(id).ok()?;
        self.state.order(&id).map(|o| o.status)
    }

    /// Releases holds (most of them), ships what is allocated, delivers what shipped.
    fn fulfil(&mut self) {
        let open = std::mem::take(&mut self.open);
        for (id, channel, placed) in open {
            let source = format!("wms/orders/{id}");
            let age = self.now - placed;
            let held = OrderId::parse(id.as_str())
                .ok()
                .and_then(|o| self.state.order(&o).map(|o| o.hold.is_some()))
                .unwrap_or(false);
            if held {
                if age > 6 * HOUR_MS && self.rng.chance(85) {
                    self.run(&source, json!({"type": "release_hold", "order": id}));
                    self.run(&source, json!({"type": "allocate_order", "order": id}));
                } else if age > 2 * DAY_MS {
                    self.run(
                        &source,
                        json!({"type": "cancel_order", "order": id, "reason": "fraud"}),
                    );
                    continue;
                }
                self.open.push((id, channel, placed));
                continue;
            }
            let in_progress = matches!(
                self.order_status(&id),
                Some(OrderStatus::Validated | OrderStatus::Fulfilling)
            );
            if age > HOUR_MS && in_progress {
                self.run(&source, json!({"type": "allocate_order", "order": id}));
                if self.run(&source, json!({"type": "pick_order", "order": id}))
                    && self.run(&source, json!({"type": "pack_order", "order": id}))
                {
                    self.run(
                        &source,
                        json!({"type": "ship_order", "order": id,
                        "carrier": "ups", "tracking": format!("1Z{}", self.next_order)}),
                    );
                }
            }
            match self.order_status(&id) {
                Some(OrderStatus::Shipped) if age > 2 * DAY_MS => {
                    if self.run(
                        &format!("carrier/ups/{id}"),
                        json!({"type": "deliver_order", "order": id}),
                    ) {
                        if channel == "web" {
                            self.run(
                                "stripe/fees",
                                json!({"type": "record_processor_fee", "order": id,
                                "fee": {"kind": "rate", "rate": "0.029", "fixed": money(30)}}),
                            );
                        }
                        if channel == "amazon" {
                            self.marketplace_sold.push(id.clone());
                        }
                        self.delivered.push(id);
                        continue;
                    }
                    self.open.push((id, channel, placed));
                }
                Some(OrderStatus::Delivered | OrderStatus::Cancelled) | None => {}
                _ if age > 5 * DAY_MS && self.rng.chance(30) => {
                    self.run(
                        &source,
                        json!({"type": "cancel_order", "order": id, "reason": "stockout"}),
                    );
                }
                _ => self.open.push((id, channel, placed)),
            }
        }
    }

    fn returns(&mut self) {
        let delivered = std::mem::take(&mut self.delivered);
        for (n, id) in delivered.into_iter().enumerate() {
            if !self.rng.chance(5)
                || id.starts_with("AMAZON")
                || id.starts_with("B2B")
                || self.first_line_lot_tracked.contains(&id)
            {
                continue;
            }
            let rma = format!("RMA-{id}");
            let source = format!("returns/{rma}");
            if !self.run(
                &source,
                json!({"type": "authorize_return", "return_id": rma, "order": id,
                "lines": [{"line": 0, "qty": 1}]}),
            ) {
                continue;
            }
            self.run(
                &source,
                json!({"type": "receive_return", "return_id": rma, "location": "WH1",
                "items": [{"line": 0, "qty": 1}]}),
            );
            let disposition = ["restock", "restock", "quarantine", "scrap"][n % 4];
            self.run(
                &source,
                json!({"type": "inspect_return", "return_id": rma,
                "items": [{"line": 0, "qty": 1, "disposition": disposition}]}),
            );
            self.run(
                "stripe/refunds",
                json!({"type": "issue_refund", "refund": format!("re_{id}"),
                "order": id, "lines": [{"line": 0, "qty": 1}]}),
            );
            self.run(&source, json!({"type": "close_return", "return_id": rma}));
        }
    }

    /// A weekly marketplace settlement for the delivered marketplace orders, and a processor
    /// payout of what the web clearing account holds.
    fn settle(&mut self, week: i64) {
        let sold = std::mem::take(&mut self.marketplace_sold);
        let id = format!("AMZ-2026-W{week:02}");
        let Ok(sid) = SettlementId::parse(id.clone()) else { return };
        let start = date(self.now - 7 * DAY_MS);
        let end = date(self.now - DAY_MS);
        if !self.run(
            "amazon/settlements",
            json!({"type": "open_settlement", "settlement": id,
            "channel": "amazon", "currency": "USD", "period_start": start, "period_end": end}),
        ) {
            return;
        }
        for order in &sold {
            let Some(&total) = self.goods_cents.get(order) else { continue };
            let tax = (total * 80_000 + 500_000) / 1_000_000;
            let commission = -(total * 15 / 100);
            for (kind, amount, description) in [
                ("principal", total, "Principal"),
                ("facilitator_tax", tax, "MarketplaceFacilitatorTax-Principal"),
                ("facilitator_tax", -tax, "MarketplaceFacilitatorTax-Principal withheld"),
                ("commission", commission, "Commission"),
                ("fulfillment_fee", -350, "FBAPerUnitFulfillmentFee"),
            ] {
                self.run("amazon/settlements", json!({"type": "record_settlement_line", "settlement": id,
                    "kind": kind, "amount": money(amount), "order": order, "description": description}));
            }
        }
        self.run(
            "amazon/settlements",
            json!({"type": "record_settlement_line", "settlement": id,
            "kind": "storage_fee", "amount": money(-1_250), "description": "Storage Fee"}),
        );
        if let Some(net) = self.state.settlement(&sid).map(|s| s.net_minor) {
            self.run(
                "amazon/settlements",
                json!({"type": "settle_payout", "settlement": id,
                "amount": money(net), "deposit_date": date(self.now + 2 * DAY_MS)}),
            );
        }
        self.collect_receivables();
        let clearing = self
            .state
            .balance(
                tally_domain::journal::Account::ProcessorClearing,
                tally_domain::money::Currency::USD,
            )
            .minor();
        if clearing > 0 {
            self.run(
                "stripe/payouts",
                json!({"type": "record_processor_payout",
                "payout": format!("po_w{week:02}"), "amount": money(clearing)}),
            );
        }
    }

    /// Weekly cash application: each B2B customer pays its invoices due within a week or issued
    /// more than five days ago, one in five payments short by a tenth of the last invoice (a
    /// partial payment) and one in five rounded up to the next hundred (the excess is unapplied
    /// credit, used by the next week's payment).
    fn collect_receivables(&mut self) {
        let horizon = Timestamp::from_millis(self.now + 7 * DAY_MS).date();
        let issued_before = Timestamp::from_millis(self.now - 5 * DAY_MS).date();
        for (customer, _, _, _) in CUSTOMERS {
            let Ok(id) = tally_domain::ids::CustomerId::parse(customer) else { continue };
            let due: Vec<(String, i64)> = self
                .state
                .open_invoices()
                .filter(|(_, i)| {
                    i.customer.as_ref() == Some(&id)
                        && (i.due_on <= horizon || i.issued_on <= issued_before)
                })
                .map(|(n, i)| (n.to_string(), i.open_minor))
                .collect();
            let credit = self.state.customer(&id).map_or(0, |c| c.credit_minor.max(0));
            if due.is_empty() {
                continue;
            }
            let owed: i64 = due.iter().map(|(_, open)| open).sum();
            let (amount, applications) = match self.rng.below(5) {
                0 => {
                    // Short: a tenth of the last invoice stays open.
                    let short = due.last().map_or(0, |(_, open)| open / 10);
                    let mut apps = due.clone();
                    if let Some(last) = apps.last_mut() {
                        last.1 -= short;
                    }
                    ((owed - short - credit).max(0), apps)
                }
                1 => (((owed - credit) / 10_000 + 1) * 10_000, due.clone()),
                _ => ((owed - credit).max(0), due.clone()),
            };
            let applications: Vec<Value> = applications
                .iter()
                .filter(|(_, open)| *open > 0)
                .map(|(invoice, open)| json!({"invoice": invoice, "amount": money(*open)}))
                .collect();
            self.run(
                "bank/remittances",
                json!({"type": "record_customer_payment",
                "payment": format!("ach-{customer}-{}", self.next_id), "customer": customer,
                "amount": money(amount), "applications": applications}),
            );
        }
    }

    fn play(&mut self, orders_per_day: u64) {
        self.master_data();
        self.build_rest(orders_per_day);
    }

    /// Everything after the master data; returns the number of submissions so far.
    fn build_rest(&mut self, orders_per_day: u64) -> usize {
        self.restock(0, true);
        for day in 0..DAYS {
            self.now = START_MS + day * DAY_MS + 7 * HOUR_MS;
            if day > 0 {
                self.restock(day, false);
            }
            let orders = orders_per_day / 2 + self.rng.below(orders_per_day);
            let step = (12 * HOUR_MS) / orders.max(1) as i64;
            for _ in 0..orders {
                self.now += step;
                self.place_order();
                if self.rng.chance(20) {
                    self.fulfil();
                }
            }
            self.now = START_MS + day * DAY_MS + 21 * HOUR_MS;
            self.fulfil();
            self.returns();
            self.bill(day);
            if day == 9 {
                // A supplier recall of the first medical lot received.
                self.run(
                    "quality/recall",
                    json!({"type": "recall_lot", "sku": "MED-01", "lot": "L00300"}),
                );
            }
            if day % 7 == 6 {
                self.settle(day / 7 + 45);
                self.pay_suppliers(day / 7 + 45);
            }
        }
        self.submissions.len()
    }
}

/// The demo's workflow rules file (`workflow.toml`): the rules of its Shopify store, channel
/// `shop`. The fortnight's three channels run without rules, so the rules never act on the
/// orders the generator drives by hand.
pub const WORKFLOW_TOML: &str = r#"# Written by `tally demo`: the workflow rules of the demo's Shopify store (channel "shop").
# Edit, then `kill -HUP <pid>` of `tally serve` (or restart it) to put changes in force; each
# change is a `workflow.configured` event. Every key: README.md, "Workflow rules".
[channels.shop]
validate = true              # known SKUs, prices, a complete ship-to address
require_address = true
validation_sla = "24h"
auto_release = true          # a payment hold is released when the captures reach the total
auto_allocate = true         # a validated order no rule holds is allocated
backorder = "wait"

[[channels.shop.holds]]      # in order; the first that matches holds the order
name = "unpaid"
when = "payment_not_captured"
reason = "payment"
sla = "24h"

[[channels.shop.holds]]
name = "risky"
when = "fraud_score_at_least"
fraud_score = 75
reason = "fraud"
sla = "4h"

[[channels.shop.holds]]
name = "big-order"
when = "order_value_at_least"
amount = "1000.00 USD"
reason = "manual"
sla = "8h"
"#;

/// What the demo adds after the fortnight for the workflow rules to act on: a Shopify store
/// (channel `shop`, served by WH1), then, once `WORKFLOW_TOML` is in force, six of its
/// orders, each showing one rule (the tour in the README reads them).
pub struct ShopTour {
    /// Defines the channel and lets WH1 serve it.
    pub setup: Vec<Submission>,
    /// The store's orders and one later capture; the rules decide the rest.
    pub orders: Vec<Submission>,
}

/// The demo's submissions for `seed` (about `orders_per_day` orders a day for a fortnight),
/// and the Shopify store's tour that follows it.
#[must_use]
pub fn dataset(seed: u64, orders_per_day: u64) -> (Vec<Submission>, ShopTour) {
    let mut demo = Demo::new(seed);
    demo.play(orders_per_day);
    let main = demo.submissions.len();
    demo.now = START_MS + DAYS * DAY_MS + 9 * HOUR_MS;
    demo.run(
        "demo/setup",
        json!({"type": "define_channel", "channel": "shop", "priority": "standard",
            "kind": "direct", "currency": "USD"}),
    );
    demo.run(
        "demo/setup",
        json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1,
            "channels": ["web", "amazon", "b2b", "shop"]}),
    );
    let setup_end = demo.submissions.len();
    // The SKU with the most units available at WH1 (not lot-tracked), so the allocations the
    // rules make are never short.
    let wh1 = tally_domain::ids::LocationId::parse("WH1").expect("a valid id");
    let sku = demo
        .skus
        .iter()
        .filter(|s| !s.lot_tracked)
        .max_by_key(|s| {
            tally_domain::ids::Sku::parse(&s.id).map_or(0, |id| demo.state.available(&wh1, &id))
        })
        .map(|s| (s.id.clone(), s.price_cents))
        .expect("the demo has SKUs");
    let address = |postal: &str| {
        json!({"name": "Rosa Diaz", "line1": "1200 NW Naito Pkwy", "city": "Portland",
            "region": "OR", "postal_code": postal, "country": "US"})
    };
    // (order, units, paid at checkout, fraud score, postal code): Oregon has no sales tax.
    let big = 100_000 / sku.1 + 1;
    let orders: [(&str, i64, bool, i64, &str); 6] = [
        ("SHOP-1001", 1, true, 5, "97209"), // validated and allocated by rule
        ("SHOP-1002", 2, false, 5, "97209"), // held: unpaid
        ("SHOP-1003", 1, false, 5, "97209"), // held: unpaid, then paid: released, allocated
        ("SHOP-1004", 1, true, 5, ""),      // held: address (no postal code)
        ("SHOP-1005", big, true, 5, "97209"), // held: manual (order value ≥ 1000.00)
        ("SHOP-1006", 1, true, 91, "97209"), // held: fraud score 91
    ];
    for (i, (id, qty, paid, fraud, postal)) in orders.into_iter().enumerate() {
        demo.now += 10 * 60_000;
        let total = sku.1 * qty;
        let mut receive = json!({"type": "receive_order", "order": id, "channel": "shop",
            "number": format!("#{}", &id[5..]),
            "placed_at": Timestamp::from_millis(demo.now).to_rfc3339(), "currency": "USD",
            "lines": [{"sku": sku.0, "qty": qty, "unit_price": money(sku.1)}],
            "shipping": money(0), "tax_rate": "0", "ship_to": address(postal),
            "buyer": format!("shop-buyer-{}", 500 + i), "fraud_score": fraud});
        if paid {
            receive["payments"] =
                json!([{"payment": format!("shop-pay-{id}"), "amount": money(total)}]);
        }
        demo.run(&format!("shopify/shop/orders/{id}"), receive);
        if id == "SHOP-1003" {
            demo.now += 30 * 60_000;
            demo.run(
                &format!("shopify/shop/orders/{id}"),
                json!({"type": "capture_payment", "order": id, "payment": format!("shop-pay-{id}"),
                    "amount": money(total)}),
            );
        }
    }
    let mut submissions = demo.submissions;
    let orders = submissions.split_off(setup_end);
    let setup = submissions.split_off(main);
    (submissions, ShopTour { setup, orders })
}

#[cfg(test)]
mod tests {
    use super::{CUSTOMERS, Demo};
    use tally_domain::ids::CustomerId;
    use tally_domain::journal::Account;
    use tally_domain::money::Currency;

    /// The demo's books tie out: 1200 = Σ valuation pools and is never negative, 2050 = the
    /// goods received not invoiced (some left open by an exception or billed in the last two
    /// days), 2000 = invoices not yet paid, and price variance reached 5600.
    #[test]
    fn the_demo_s_clearing_accounts_are_explained_by_their_subledgers() {
        let mut demo = super::Demo::new(7);
        demo.master_data();
        let submissions = demo.build_rest(40);
        assert!(submissions > 0);
        let state = &demo.state;
        let usd = |a| state.balance(a, Currency::USD).minor();
        let pools: i64 = state.pools().map(|(_, p)| p.value.minor()).sum();
        assert_eq!(usd(Account::Inventory), pools);
        assert!(pools > 0);
        let grni: i64 = state
            .purchase_orders()
            .flat_map(|(_, po)| po.lines.iter().map(|l| l.grni.open_value()))
            .sum();
        assert_eq!(state.unmatched_receipts().count(), 0, "every receipt is against a PO");
        assert_eq!(-usd(Account::GoodsReceivedNotInvoiced), grni);
        assert!(grni > 0, "the last two days are not billed yet");
        let open: i64 =
            state.ap_invoices().map(tally_domain::purchasing::ApInvoice::open_minor).sum();
        assert_eq!(-usd(Account::AccountsPayable), open);
        assert!(usd(Account::PurchasePriceVariance) > 0);
    }

    /// After a full demo run every clearing account the sales side owns clears (#14): 2100
    /// customer deposits is never a debit, 1300 equals the open invoices (the AR aging total),
    /// and the marketplace's facilitator tax never reaches 2200.
    #[test]
    fn the_demo_leaves_deposits_credit_and_receivables_equal_to_open_invoices() {
        let mut demo = Demo::new(7);
        demo.play(crate::commands::demo::ORDERS_PER_DAY);
        let state = &demo.state;
        let usd = |a| state.balance(a, Currency::USD).minor();
        assert!(usd(Account::CustomerDeposits) <= 0, "2100 {}", usd(Account::CustomerDeposits));
        let open: i64 = state.open_invoices().map(|(_, i)| i.open_minor).sum();
        assert_eq!(usd(Account::AccountsReceivable), open);
        let customers: i64 = CUSTOMERS
            .iter()
            .filter_map(|(c, ..)| state.customer(&CustomerId::parse(*c).ok()?))
            .map(|c| c.open_ar_minor)
            .sum();
        let consumer: i64 = state
            .open_invoices()
            .filter(|(_, i)| i.customer.is_none())
            .map(|(_, i)| i.open_minor)
            .sum();
        assert_eq!(customers + consumer, open);
        assert!(state.open_invoices().count() > 0, "some B2B invoices are still open");
    }
}
