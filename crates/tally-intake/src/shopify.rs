//! The `shopify-orders` importer: Shopify Admin REST order objects to Tally commands.
//!
//! Input: `{"orders": […]}` (`orders.json`), `{"order": {…}}`, a bare array, NDJSON (one order
//! per line), or one `orders/create` / `orders/updated` webhook payload (the order object). One
//! Shopify store is one channel (`Options::channel`).
//!
//! Each order becomes, in this order:
//! 1. `receive_order`, keyed `shopify:{channel}:{order id}:receive:{content hash}`: lines
//!    (`sku`, `quantity`, `price`, Σ `discount_allocations` as the line discount, `tax_lines`
//!    with their stated amounts), shipping lines (price, discounts, tax lines),
//!    `taxes_included`, `name` as the order number, `total_tax` and `total_price` (the ledger
//!    refuses an order that does not add up to them), `shipping_address` as the ship-to,
//!    `customer.id` as the buyer, `updated_at` as the revision. The same record always gets the
//!    same key, so a re-sent order appends nothing. A later version (an `orders/updated` after
//!    an order edit, or a re-import) with other lines, shipping or ship-to amends the order the
//!    ledger has (`order.amended`: lines matched by SKU and price, reduced, removed or added,
//!    re-priced; reservations released or added units allocated; refused with `LINE_LOCKED`
//!    once the units are picked or shipped); an earlier version arriving late changes nothing.
//!    A line lost units before fulfilment when its `current_quantity` is below its `quantity`
//!    (nothing of it fulfilled, the order not cancelled): it is sent with the units left, its
//!    discount in proportion (rounded down) and its taxes computed from their rates, and the
//!    order is checked against `current_total_price` and `current_total_tax`.
//! 2. The money taken when `financial_status` says so (`paid`, `partially_paid`,
//!    `partially_refunded`, `refunded`): `total_price − total_outstanding`, recorded with the
//!    order (`payments` of `receive_order`) when it is first seen paid, and as a cumulative
//!    `capture_payment` (only what is not yet recorded is captured), keyed
//!    `…:capture:{paid total in minor units}`, for an order first seen pending or paid in
//!    parts. `pending`, `authorized`, `voided` and `expired` capture nothing, so an
//!    order first seen pending and later paid records its capture when the update arrives.
//! 3. `cancel_order` when `cancelled_at` is set, keyed `…:cancel` (`cancel_reason`: `fraud` →
//!    fraud, `inventory` → stockout, anything else → customer).
//! 4. Per refund (keyed by the Shopify refund id): refund line items that were fulfilled
//!    (`restock_type` `return`, `no_restock`, `legacy_restock`) become one `issue_refund` with
//!    Shopify's `subtotal` and `total_tax` per line (`…:refund:{id}:lines`), with the shipping
//!    it refunds (`refund_shipping_lines`, else `shipping_refund` order adjustments) when the
//!    refund has fulfilled lines or the order is fulfilled; the rest of the money its successful
//!    refund transactions returned (cancelled unfulfilled items, shipping before fulfilment,
//!    money-only refunds) is a `refund_deposit` (`…:refund:{id}:deposit`).
//!
//! Amounts are the shop-currency fields (`price`, `total_price`, …), which are what the
//! merchant's books and payouts are in; the presentment currency (what the buyer saw) is not
//! booked. The ledger refuses an order whose shop currency is not its channel's
//! (`CURRENCY_MISMATCH`). Decimal amounts and rates are read from the JSON text exactly (strings
//! or numbers), never through a float; an amount with more decimals than its currency has is
//! refused unless they are zeros (`"1500.00"` yen is ¥1500).

use serde::Deserialize;
use serde::de::Deserializer;
use serde_json::value::RawValue;
use tally_domain::Command;
use tally_domain::command::{
    CancelOrder, CapturePayment, IssueRefund, OrderLineInput, PaymentAtReceipt, ReceiveOrder,
    RefundDeposit, RefundLine, ShippingLineInput, TaxLineInput,
};
use tally_domain::ids::{BuyerId, ChannelId, Id, OrderId, PaymentId, RefundId, Sku};
use tally_domain::money::{Currency, Money, Rate};
use tally_domain::order::{Address, CancelReason};
use tally_domain::time::Timestamp;

use crate::{FormatError, Intent, Options, Record, Refusal};

/// Longest idempotency key the engine takes.
const KEY_BYTES_MAX: usize = 128;
/// Longest source text the engine takes.
const SOURCE_BYTES_MAX: usize = 200;

/// A decimal or id as written in the JSON: a string or a number, kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            let s: String = serde_json::from_str(text).map_err(serde::de::Error::custom)?;
            Ok(Text(s))
        } else if text.bytes().next().is_some_and(|b| b == b'-' || b.is_ascii_digit()) {
            Ok(Text(text.to_owned()))
        } else {
            Err(serde::de::Error::custom(format!("expected a number or a string, got {text}")))
        }
    }
}

fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Deserialize)]
struct ShopOrder {
    id: Text,
    name: Option<String>,
    created_at: Option<String>,
    processed_at: Option<String>,
    updated_at: Option<String>,
    currency: Option<String>,
    presentment_currency: Option<String>,
    taxes_included: Option<bool>,
    total_price: Option<Text>,
    total_tax: Option<Text>,
    current_total_price: Option<Text>,
    current_total_tax: Option<Text>,
    total_tip_received: Option<Text>,
    current_total_duties_set: Option<MoneyBag>,
    original_total_duties_set: Option<MoneyBag>,
    total_outstanding: Option<Text>,
    financial_status: Option<String>,
    fulfillment_status: Option<String>,
    cancelled_at: Option<String>,
    cancel_reason: Option<String>,
    customer: Option<Customer>,
    shipping_address: Option<ShopAddress>,
    #[serde(default, deserialize_with = "list")]
    line_items: Vec<LineItem>,
    #[serde(default, deserialize_with = "list")]
    shipping_lines: Vec<ShopShippingLine>,
    #[serde(default, deserialize_with = "list")]
    refunds: Vec<Refund>,
}

#[derive(Debug, Deserialize)]
struct Customer {
    id: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct ShopAddress {
    name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    company: Option<String>,
    address1: Option<String>,
    address2: Option<String>,
    city: Option<String>,
    province_code: Option<String>,
    province: Option<String>,
    zip: Option<String>,
    country_code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LineItem {
    id: Option<Text>,
    sku: Option<String>,
    title: Option<String>,
    quantity: i64,
    current_quantity: Option<i64>,
    fulfillment_status: Option<String>,
    #[serde(default)]
    gift_card: Option<bool>,
    price: Text,
    #[serde(default, deserialize_with = "list")]
    discount_allocations: Vec<Allocation>,
    #[serde(default, deserialize_with = "list")]
    tax_lines: Vec<ShopTaxLine>,
}

#[derive(Debug, Deserialize)]
struct Allocation {
    amount: Text,
}

#[derive(Debug, Deserialize)]
struct ShopTaxLine {
    title: Option<String>,
    price: Text,
    rate: Text,
}

#[derive(Debug, Deserialize)]
struct ShopShippingLine {
    title: Option<String>,
    price: Text,
    #[serde(default, deserialize_with = "list")]
    discount_allocations: Vec<Allocation>,
    #[serde(default, deserialize_with = "list")]
    tax_lines: Vec<ShopTaxLine>,
}

#[derive(Debug, Deserialize)]
struct Refund {
    id: Text,
    created_at: Option<String>,
    processed_at: Option<String>,
    #[serde(default, deserialize_with = "list")]
    refund_line_items: Vec<RefundLineItem>,
    #[serde(default, deserialize_with = "list")]
    transactions: Vec<Transaction>,
    #[serde(default, deserialize_with = "list")]
    order_adjustments: Vec<Adjustment>,
    #[serde(default, deserialize_with = "list")]
    refund_shipping_lines: Vec<RefundShippingLine>,
}

#[derive(Debug, Deserialize)]
struct Adjustment {
    kind: Option<String>,
    amount: Option<Text>,
    tax_amount: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct RefundShippingLine {
    subtotal_amount_set: Option<MoneyBag>,
    tax_amount_set: Option<MoneyBag>,
}

#[derive(Debug, Deserialize)]
struct MoneyBag {
    shop_money: ShopMoney,
}

#[derive(Debug, Deserialize)]
struct ShopMoney {
    amount: Text,
}

#[derive(Debug, Deserialize)]
struct RefundLineItem {
    line_item_id: Text,
    quantity: i64,
    restock_type: Option<String>,
    subtotal: Option<Text>,
    total_tax: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct Transaction {
    kind: Option<String>,
    status: Option<String>,
    amount: Option<Text>,
    currency: Option<String>,
}

/// What the first bytes of a top-level value say it is.
#[derive(Debug, Deserialize)]
struct Probe {
    orders: Option<Vec<Box<RawValue>>>,
    order: Option<Box<RawValue>>,
    id: Option<Text>,
}

/// Translates one input (module doc).
///
/// # Errors
/// [`FormatError`] when no channel is given, or the input is not UTF-8 JSON orders at all; one
/// order that cannot be read is a [`Refusal`] in its [`Record`].
pub fn translate(bytes: &[u8], options: &Options) -> Result<Vec<Record>, FormatError> {
    let channel = options.channel.as_ref().ok_or_else(|| {
        FormatError::Invalid("shopify-orders needs the channel the store sells through".to_owned())
    })?;
    let text = std::str::from_utf8(bytes)
        .map_err(|e| FormatError::Invalid(format!("the input is not UTF-8: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(FormatError::Invalid("the input is empty".to_owned()));
    }
    let mut records = Vec::new();
    for (n, value) in top_level(text)?.into_iter().enumerate() {
        match value {
            Ok(raw) => expand(&raw, n, &mut records)?,
            Err((label, message)) => records.push((label, Err(message))),
        }
    }
    let mut out = Vec::with_capacity(records.len());
    for (label, raw) in records {
        out.push(match raw {
            Ok(raw) => order_record(channel, &label, &raw),
            Err(message) => Record {
                source_id: label,
                outcome: Err(Refusal { code: "INVALID_INPUT", message }),
            },
        });
    }
    Ok(out)
}

/// A top-level value, or the label and reason of a line that is not JSON.
type Top = Result<Box<RawValue>, (String, String)>;

/// The top-level JSON values: one document, or one per line (NDJSON); a line that is not JSON
/// is refused by its line number, the rest read on.
fn top_level(text: &str) -> Result<Vec<Top>, FormatError> {
    let whole: Result<Vec<Box<RawValue>>, _> =
        serde_json::Deserializer::from_str(text).into_iter::<Box<RawValue>>().collect();
    match whole {
        Ok(values) => Ok(values.into_iter().map(Ok).collect()),
        Err(e) if !text.trim().contains('\n') => {
            Err(FormatError::Invalid(format!("the input is not JSON: {e}")))
        }
        Err(_) => {
            let mut out = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                out.push(serde_json::from_str::<Box<RawValue>>(line).map_err(|e| {
                    let label = format!("line {}", i + 1);
                    (label, format!("line {} is not JSON: {e}", i + 1))
                }));
            }
            if out.iter().all(Result::is_err) {
                return Err(FormatError::Invalid("no line of the input is JSON".to_owned()));
            }
            Ok(out)
        }
    }
}

/// Orders inside one top-level value, labelled by their Shopify id (or position).
fn expand(
    raw: &RawValue,
    n: usize,
    out: &mut Vec<(String, Result<Box<RawValue>, String>)>,
) -> Result<(), FormatError> {
    let text = raw.get().trim_start();
    let orders: Vec<Box<RawValue>> = if text.starts_with('[') {
        serde_json::from_str(text)
            .map_err(|e| FormatError::Invalid(format!("value {} is not a list: {e}", n + 1)))?
    } else if text.starts_with('{') {
        let probe: Probe = serde_json::from_str(text).map_err(|e| {
            FormatError::Invalid(format!("value {} is not an order object: {e}", n + 1))
        })?;
        match (probe.orders, probe.order) {
            (Some(list), _) => list,
            (None, Some(one)) => vec![one],
            (None, None) => vec![raw.to_owned()],
        }
    } else {
        return Err(FormatError::Invalid(format!(
            "value {} is neither an order, a list of orders nor {{\"orders\": […]}}",
            n + 1
        )));
    };
    for (i, order) in orders.into_iter().enumerate() {
        let label = serde_json::from_str::<Probe>(order.get())
            .ok()
            .and_then(|p| p.id)
            .map_or_else(|| format!("order {}", out.len() + i + 1), |t| t.0);
        out.push((label, Ok(order)));
    }
    Ok(())
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal { code, message: message.into() }
}

fn invalid(message: impl Into<String>) -> Refusal {
    refuse("INVALID_INPUT", message)
}

fn order_record(channel: &ChannelId, label: &str, raw: &RawValue) -> Record {
    let outcome = serde_json::from_str::<ShopOrder>(raw.get())
        .map_err(|e| invalid(format!("Shopify order {label}: {e}")))
        .and_then(|o| intents(channel, &o));
    Record { source_id: label.to_owned(), outcome }
}

/// An amount in `currency` from its decimal text, exactly: `"19.99"`, `"1500"`, `"1500.00"`
/// (yen), `"-5.00"`. Decimals past the currency's minor digits must be zeros.
pub fn parse_amount(text: &str, currency: Currency) -> Result<Money, String> {
    let t = text.trim();
    let digits = currency.minor_digits() as usize;
    let shortened = match t.split_once('.') {
        Some((int, frac)) if frac.len() > digits => {
            let (keep, extra) = frac.split_at(digits);
            if !extra.bytes().all(|b| b == b'0') {
                return Err(format!(
                    "amount '{text}' has more decimals than {} has ({digits})",
                    currency.code()
                ));
            }
            if keep.is_empty() { int.to_owned() } else { format!("{int}.{keep}") }
        }
        _ => t.to_owned(),
    };
    let money = Money::parse(&shortened, currency).map_err(|e| format!("{e}"))?;
    if money.minor().unsigned_abs() > tally_domain::limits::AMOUNT_MINOR_MAX.unsigned_abs() {
        return Err(format!("amount '{text}' is beyond the ledger's bound"));
    }
    Ok(money)
}

/// A rate as an exact decimal fraction from its text (`0.0725`); trailing zeros past six
/// decimals are dropped, anything finer is refused.
fn parse_rate(text: &str) -> Result<Rate, String> {
    let t = text.trim();
    let t = match t.split_once('.') {
        Some((int, frac)) if frac.len() > 6 && frac[6..].bytes().all(|b| b == b'0') => {
            format!("{int}.{}", &frac[..6])
        }
        _ => t.to_owned(),
    };
    Rate::parse_fraction(&t).map_err(|_| {
        format!("tax rate '{text}' is not a fraction from 0 to 1 with at most six decimals")
    })
}

fn parse_id<T: Id>(what: &str, text: &str) -> Result<T, Refusal> {
    T::parse_id(text.to_owned()).map_err(|e| invalid(format!("{what}: {e}")))
}

fn time(what: &str, text: &str) -> Result<Timestamp, Refusal> {
    Timestamp::parse_rfc3339(text.trim())
        .map_err(|_| invalid(format!("{what} '{text}' is not an RFC 3339 time")))
}

/// The idempotency key of one fact of an order; hashed when the ids make it too long.
fn key(channel: &ChannelId, order: &str, fact: &str) -> String {
    let k = format!("shopify:{channel}:{order}:{fact}");
    if k.len() <= KEY_BYTES_MAX {
        k
    } else {
        format!("shopify:{}", &blake3::hash(k.as_bytes()).to_hex()[..64])
    }
}

fn source(channel: &ChannelId, label: &str) -> String {
    let mut s = format!("shopify/{channel}/{label}");
    if s.len() > SOURCE_BYTES_MAX {
        let mut cut = SOURCE_BYTES_MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

fn taxes(
    lines: &[ShopTaxLine],
    currency: Currency,
    whose: &str,
) -> Result<Vec<TaxLineInput>, Refusal> {
    lines
        .iter()
        .map(|t| {
            Ok(TaxLineInput {
                title: t.title.clone().unwrap_or_else(|| "Tax".to_owned()),
                rate: parse_rate(&t.rate.0).map_err(|e| invalid(format!("{whose}: {e}")))?,
                amount: Some(
                    parse_amount(&t.price.0, currency)
                        .map_err(|e| invalid(format!("{whose}: {e}")))?,
                ),
            })
        })
        .collect()
}

fn discount(
    allocations: &[Allocation],
    currency: Currency,
    whose: &str,
) -> Result<Option<Money>, Refusal> {
    if allocations.is_empty() {
        return Ok(None);
    }
    let mut sum = Money::zero(currency);
    for a in allocations {
        let m =
            parse_amount(&a.amount.0, currency).map_err(|e| invalid(format!("{whose}: {e}")))?;
        sum = sum.checked_add(m).ok_or_else(|| invalid(format!("{whose}: discounts overflow")))?;
    }
    Ok(Some(sum))
}

fn address(a: &ShopAddress) -> Address {
    let text = |s: &Option<String>| s.as_deref().unwrap_or("").trim().to_owned();
    let name = match a.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => n.to_owned(),
        None => format!("{} {}", text(&a.first_name), text(&a.last_name)).trim().to_owned(),
    };
    let company = text(&a.company);
    let line2 = match (text(&a.address2), company.is_empty()) {
        (l2, true) => l2,
        (l2, false) if l2.is_empty() => company,
        (l2, false) => format!("{l2}, {company}"),
    };
    let region = match text(&a.province_code) {
        r if r.is_empty() => text(&a.province),
        r => r,
    };
    Address {
        name,
        line1: text(&a.address1),
        line2,
        city: text(&a.city),
        region,
        postal_code: text(&a.zip),
        country: text(&a.country_code).to_uppercase(),
    }
}

fn intent(
    channel: &ChannelId,
    order: &str,
    label: &str,
    fact: &str,
    at: Option<Timestamp>,
    command: Command,
) -> Intent {
    Intent {
        idempotency_key: key(channel, order, fact),
        source: source(channel, label),
        occurred_at_ms: at.map(Timestamp::millis),
        command,
    }
}

fn intents(channel: &ChannelId, o: &ShopOrder) -> Result<Vec<Intent>, Refusal> {
    let id_text = o.id.0.trim();
    let order: OrderId = parse_id("order id", id_text)?;
    let label = o.name.clone().unwrap_or_else(|| id_text.to_owned());
    let code =
        o.currency.as_deref().ok_or_else(|| invalid(format!("order {id_text} has no currency")))?;
    let currency = Currency::parse(code.trim())
        .map_err(|e| refuse("CURRENCY_MISMATCH", format!("order {id_text}: {e}")))?;
    let _presentment = o.presentment_currency.as_deref();
    let placed = o
        .created_at
        .as_deref()
        .or(o.processed_at.as_deref())
        .ok_or_else(|| invalid(format!("order {id_text} has no created_at")))?;
    let placed_at = time("created_at", placed)?;
    let amount = |what: &str, t: &Text| {
        parse_amount(&t.0, currency).map_err(|e| invalid(format!("order {id_text} {what}: {e}")))
    };
    if o.line_items.is_empty() {
        return Err(invalid(format!("order {id_text} has no line items")));
    }
    // Not modelled yet (docs/domain.md §8): refused by name rather than booked wrong (a gift
    // card is no stock item) or refused as a total that does not add up.
    if let Some(li) = o.line_items.iter().find(|li| li.gift_card == Some(true)) {
        return Err(refuse(
            "UNSUPPORTED_LINE",
            format!(
                "order {id_text} line item {} ({}) sells a gift card: Tally does not book gift card liabilities yet",
                li.id.as_ref().map_or("?", |t| t.0.as_str()),
                li.title.as_deref().unwrap_or("untitled")
            ),
        ));
    }
    let positive = |what: &str, t: Option<&Text>| -> Result<Option<Money>, Refusal> {
        Ok(t.map(|t| amount(what, t)).transpose()?.filter(|m| m.minor() > 0))
    };
    if let Some(tip) = positive("total_tip_received", o.total_tip_received.as_ref())? {
        return Err(refuse(
            "UNSUPPORTED_CHARGE",
            format!(
                "order {id_text} has a tip of {}: Tally does not book tips yet",
                tip.to_decimal_string()
            ),
        ));
    }
    let duties = o.current_total_duties_set.as_ref().or(o.original_total_duties_set.as_ref());
    if let Some(duty) = positive("total duties", duties.map(|b| &b.shop_money.amount))? {
        return Err(refuse(
            "UNSUPPORTED_CHARGE",
            format!(
                "order {id_text} charges duties of {}: Tally does not book duties yet",
                duty.to_decimal_string()
            ),
        ));
    }
    // Units removed before fulfilment (an order edit): `current_quantity` below `quantity` on
    // a line nothing of which was fulfilled, on an order not cancelled (a cancellation keeps
    // its lines: `cancel_order` ends the order).
    let removed = |li: &LineItem| {
        li.current_quantity.filter(|c| {
            (0..li.quantity).contains(c)
                && li.fulfillment_status.is_none()
                && o.cancelled_at.is_none()
        })
    };
    let edited = o.line_items.iter().any(|li| removed(li).is_some())
        && o.line_items.iter().any(|li| removed(li).unwrap_or(li.quantity) > 0);
    let mut lines = Vec::with_capacity(o.line_items.len());
    for (i, li) in o.line_items.iter().enumerate() {
        let li_id = li.id.as_ref().map_or_else(|| format!("#{i}"), |t| t.0.clone());
        let whose = format!("order {id_text} line item {li_id}");
        let sku_text = li.sku.as_deref().map(str::trim).unwrap_or("");
        if sku_text.is_empty() {
            return Err(refuse(
                "MISSING_SKU",
                format!(
                    "{whose} ({}) has no SKU: Tally books stock by SKU",
                    li.title.as_deref().unwrap_or("untitled")
                ),
            ));
        }
        let sku: Sku = parse_id(&whose, sku_text)?;
        let unit_price = amount(&format!("line item {li_id} price"), &li.price)?;
        let discount = discount(&li.discount_allocations, currency, &whose)?;
        let tax_lines = taxes(&li.tax_lines, currency, &whose)?;
        match removed(li).filter(|_| edited) {
            // Shopify's line keeps its amounts for the units first ordered: the discount
            // follows the units left (rounded down), the taxes are computed from their rates
            // and matched to the order's current total tax.
            Some(left) => lines.push(OrderLineInput {
                sku,
                qty: left,
                unit_price,
                discount: discount.map(|d| {
                    Money::from_minor(
                        i64::try_from(
                            i128::from(d.minor()) * i128::from(left)
                                / i128::from(li.quantity.max(1)),
                        )
                        .unwrap_or(0),
                        currency,
                    )
                }),
                tax_lines: Some(
                    tax_lines.into_iter().map(|t| TaxLineInput { amount: None, ..t }).collect(),
                ),
            }),
            None => lines.push(OrderLineInput {
                sku,
                qty: li.quantity,
                unit_price,
                discount,
                tax_lines: Some(tax_lines),
            }),
        }
    }
    let mut shipping_lines = Vec::with_capacity(o.shipping_lines.len());
    let mut shipping = Money::zero(currency);
    for (i, s) in o.shipping_lines.iter().enumerate() {
        let whose = format!("order {id_text} shipping line {i}");
        let price = amount("shipping price", &s.price)?;
        shipping = shipping
            .checked_add(price)
            .ok_or_else(|| invalid(format!("{whose}: shipping overflows")))?;
        shipping_lines.push(ShippingLineInput {
            title: s.title.clone().unwrap_or_else(|| "Shipping".to_owned()),
            price,
            discount: discount(&s.discount_allocations, currency, &whose)?,
            tax_lines: Some(taxes(&s.tax_lines, currency, &whose)?),
        });
    }
    let buyer = match o.customer.as_ref().and_then(|c| c.id.as_ref()) {
        Some(t) => Some(parse_id::<BuyerId>("customer id", t.0.trim())?),
        None => None,
    };
    // 2. The money taken at checkout (or since): recorded with the order when it is first
    // seen paid (so a paid order never meets a payment hold), and as a cumulative capture
    // (only what is not recorded yet) for an order first seen pending, or paid in parts.
    let paid_statuses = ["paid", "partially_paid", "partially_refunded", "refunded"];
    let status = o.financial_status.as_deref().unwrap_or("pending");
    // An order whose lines lost units is checked against its current totals.
    let (total_field, total_tax_field) = if edited {
        (
            o.current_total_price.as_ref().map(|t| ("current_total_price", t)),
            o.current_total_tax.as_ref().map(|t| ("current_total_tax", t)),
        )
    } else {
        (
            o.total_price.as_ref().map(|t| ("total_price", t)),
            o.total_tax.as_ref().map(|t| ("total_tax", t)),
        )
    };
    let total = total_field.map(|(what, t)| amount(what, t)).transpose()?;
    let paid = if paid_statuses.contains(&status) {
        let total = total
            .ok_or_else(|| invalid(format!("order {id_text} is {status} without total_price")))?;
        let outstanding = match &o.total_outstanding {
            Some(t) => amount("total_outstanding", t)?,
            None if status == "partially_paid" => {
                return Err(invalid(format!(
                    "order {id_text} is partially_paid without total_outstanding: how much was paid is unknown"
                )));
            }
            None => Money::zero(currency),
        };
        Money::from_minor(total.minor() - outstanding.minor().max(0), currency)
    } else {
        Money::zero(currency)
    };
    // Shopify's version of the order: a later one with other lines or ship-to amends the
    // order (the ledger ignores an earlier one arriving late).
    let revision = o.updated_at.as_deref().map(|t| time("updated_at", t)).transpose()?;
    let payment_id =
        parse_id::<PaymentId>("payment id", &format!("shopify-{id_text}-{}", paid.minor()))?;
    let receive = ReceiveOrder {
        order: order.clone(),
        channel: channel.clone(),
        placed_at,
        currency,
        lines,
        shipping,
        tax_rate: Rate::ZERO,
        taxes_included: o.taxes_included.unwrap_or(false),
        shipping_lines,
        number: o.name.clone(),
        total_tax: total_tax_field.map(|(what, t)| amount(what, t)).transpose()?,
        total,
        customer: None,
        ship_to: o.shipping_address.as_ref().map(|a| Box::new(address(a))),
        buyer,
        fraud_score: None,
        payments: if paid.minor() > 0 {
            vec![PaymentAtReceipt { payment: payment_id.clone(), amount: paid }]
        } else {
            Vec::new()
        },
        revision,
    };
    let receive = Command::ReceiveOrder(receive);
    let content = serde_json::to_vec(&receive).map_err(|e| invalid(e.to_string()))?;
    let hash = blake3::hash(&content).to_hex();
    let mut out = vec![intent(
        channel,
        id_text,
        &label,
        &format!("receive:{}", &hash[..16]),
        Some(placed_at),
        receive,
    )];

    if paid.minor() > 0 {
        let at = o.processed_at.as_deref().map(|t| time("processed_at", t)).transpose()?;
        // Keyed by the paid total: `partially_paid` then `paid` are two captures, and the same
        // status again is the same key.
        out.push(intent(
            channel,
            id_text,
            &label,
            &format!("capture:{}", paid.minor()),
            at.or(Some(placed_at)),
            Command::CapturePayment(CapturePayment {
                order: order.clone(),
                payment: payment_id,
                amount: paid,
                cumulative: true,
            }),
        ));
    }

    // 3. Cancellation.
    if let Some(at) = o.cancelled_at.as_deref() {
        let reason = match o.cancel_reason.as_deref() {
            Some("fraud") => CancelReason::Fraud,
            Some("inventory") => CancelReason::Stockout,
            _ => CancelReason::Customer,
        };
        out.push(intent(
            channel,
            id_text,
            &label,
            "cancel",
            Some(time("cancelled_at", at)?),
            Command::CancelOrder(CancelOrder { order: order.clone(), reason }),
        ));
    }

    // 4. Refunds.
    let included = o.taxes_included.unwrap_or(false);
    for r in &o.refunds {
        out.extend(refund_intents(channel, o, &order, &label, r, currency, included)?);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn refund_intents(
    channel: &ChannelId,
    o: &ShopOrder,
    order: &OrderId,
    label: &str,
    r: &Refund,
    currency: Currency,
    included: bool,
) -> Result<Vec<Intent>, Refusal> {
    let id_text = o.id.0.trim();
    let rid = r.id.0.trim();
    let whose = format!("order {id_text} refund {rid}");
    let at = r
        .processed_at
        .as_deref()
        .or(r.created_at.as_deref())
        .map(|t| time("refund processed_at", t))
        .transpose()?;
    let amount = |what: &str, t: &Option<Text>| -> Result<Money, Refusal> {
        t.as_ref().map_or(Ok(Money::zero(currency)), |t| {
            parse_amount(&t.0, currency).map_err(|e| invalid(format!("{whose} {what}: {e}")))
        })
    };
    let mut lines = Vec::new();
    let mut lines_total = 0i64;
    let mut cancelled_total = 0i64;
    for rli in &r.refund_line_items {
        let line = o
            .line_items
            .iter()
            .position(|li| li.id.as_ref().is_some_and(|i| i.0.trim() == rli.line_item_id.0.trim()))
            .ok_or_else(|| {
                invalid(format!(
                    "{whose} names line item {} the order does not have",
                    rli.line_item_id.0
                ))
            })?;
        let subtotal = amount("subtotal", &rli.subtotal)?;
        let tax = amount("total_tax", &rli.total_tax)?;
        let charged = if included { subtotal.minor() } else { subtotal.minor() + tax.minor() };
        if rli.restock_type.as_deref() == Some("cancel") {
            // Never fulfilled: the money comes back out of what the order holds in deposits.
            cancelled_total += charged;
            continue;
        }
        lines_total += charged;
        lines.push(RefundLine {
            line: u32::try_from(line).map_err(|_| invalid(format!("{whose}: too many lines")))?,
            qty: rli.quantity,
            amount: Some(subtotal),
            tax: Some(tax),
        });
    }
    // Shipping refunded (tax apart): the refund's shipping lines, else its `shipping_refund`
    // adjustments (negative amounts, tax added to them).
    let (mut ship, mut ship_tax) = (0i64, 0i64);
    if r.refund_shipping_lines.is_empty() {
        for a in r.order_adjustments.iter().filter(|a| a.kind.as_deref() == Some("shipping_refund"))
        {
            ship -= amount("shipping refund", &a.amount)?.minor();
            ship_tax -= amount("shipping refund tax", &a.tax_amount)?.minor();
        }
    } else {
        for l in &r.refund_shipping_lines {
            let bag =
                |b: &Option<MoneyBag>| b.as_ref().map(|b| Text(b.shop_money.amount.0.clone()));
            ship += amount("refund shipping line", &bag(&l.subtotal_amount_set))?.minor();
            ship_tax += amount("refund shipping line tax", &bag(&l.tax_amount_set))?.minor();
        }
    }
    if ship < 0 || ship_tax < 0 {
        return Err(invalid(format!("{whose}: a negative shipping refund")));
    }
    // After fulfilment it is refunded with the lines (Dr 4100); before, out of deposits.
    let fulfilled = matches!(o.fulfillment_status.as_deref(), Some("fulfilled" | "partial"));
    let shipping_in_refund = ship + ship_tax > 0 && (!lines.is_empty() || fulfilled);
    let issued = lines_total + if shipping_in_refund { ship + ship_tax } else { 0 };
    // What the refund gave back, from its successful refund transactions in the shop currency.
    let mut returned = None;
    for t in &r.transactions {
        let ok = t.kind.as_deref().is_none_or(|k| k == "refund")
            && t.status.as_deref().is_none_or(|s| s == "success");
        let same = t.currency.as_deref().is_none_or(|c| c.trim() == currency.code());
        if ok && same {
            let m = amount("transaction amount", &t.amount)?;
            returned = Some(returned.unwrap_or(0) + m.minor());
        }
    }
    let returned = returned.unwrap_or(lines_total + cancelled_total + ship + ship_tax);
    let deposit = returned - issued;
    if deposit < 0 {
        return Err(refuse(
            "REFUND_MISMATCH",
            format!(
                "{whose}: its transactions returned {} but its fulfilled lines and shipping are {}",
                Money::from_minor(returned, currency).to_decimal_string(),
                Money::from_minor(issued, currency).to_decimal_string()
            ),
        ));
    }
    let mut out = Vec::new();
    if !lines.is_empty() || shipping_in_refund {
        let money = |minor: i64| (minor > 0).then(|| Money::from_minor(minor, currency));
        let (shipping, shipping_tax) =
            if shipping_in_refund { (money(ship), money(ship_tax)) } else { (None, None) };
        out.push(intent(
            channel,
            id_text,
            label,
            &format!("refund:{rid}:lines"),
            at,
            Command::IssueRefund(IssueRefund {
                refund: parse_id::<RefundId>("refund id", &format!("shopify-{rid}"))?,
                order: order.clone(),
                lines,
                shipping,
                shipping_tax,
            }),
        ));
    }
    if deposit > 0 {
        out.push(intent(
            channel,
            id_text,
            label,
            &format!("refund:{rid}:deposit"),
            at,
            Command::RefundDeposit(RefundDeposit {
                refund: parse_id::<RefundId>("refund id", &format!("shopify-{rid}-deposit"))?,
                order: order.clone(),
                amount: Money::from_minor(deposit, currency),
            }),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_exactly_with_the_currency_s_digits() {
        assert_eq!(
            parse_amount("19.99", Currency::USD),
            Ok(Money::from_minor(1999, Currency::USD))
        );
        assert_eq!(
            parse_amount("1500.00", Currency::JPY),
            Ok(Money::from_minor(1500, Currency::JPY))
        );
        assert_eq!(parse_amount("1500", Currency::JPY), Ok(Money::from_minor(1500, Currency::JPY)));
        assert!(parse_amount("1500.5", Currency::JPY).is_err());
        assert_eq!(parse_amount("1.5", Currency::KWD), Ok(Money::from_minor(1500, Currency::KWD)));
        assert!(parse_amount("0.001", Currency::USD).is_err());
        assert!(parse_amount("1e3", Currency::USD).is_err());
        assert_eq!(parse_rate("0.0725"), Ok(Rate::from_ppm(72_500).expect("rate")));
        assert_eq!(parse_rate("0.08875000"), Ok(Rate::from_ppm(88_750).expect("rate")));
        assert!(parse_rate("0.0000001").is_err());
        assert!(parse_rate("1.5").is_err());
    }

    #[test]
    fn keys_too_long_for_the_engine_are_hashed_deterministically() {
        let ch = ChannelId::parse("c".repeat(100)).expect("id");
        let k = key(&ch, "5531918336", "receive:0123456789abcdef");
        assert!(k.len() <= KEY_BYTES_MAX && k.starts_with("shopify:"), "{k}");
        assert_eq!(k, key(&ch, "5531918336", "receive:0123456789abcdef"));
        assert_ne!(k, key(&ch, "5531918336", "cancel"));
    }
}
