//! `amazon-settlement-v2`: Amazon's "Flat File V2" settlement report
//! (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`).
//!
//! **What is read.** A tab-separated file with a header row naming the columns (settlement-id,
//! settlement-start-date, settlement-end-date, deposit-date, total-amount, currency,
//! transaction-type, order-id, merchant-order-id, adjustment-id, shipment-id, marketplace-name,
//! amount-type, amount-description, amount, fulfillment-id, posted-date, posted-date-time,
//! order-item-code, merchant-order-item-id, merchant-adjustment-item-id, sku,
//! quantity-purchased, promotion-id; columns are found by name, extra ones are ignored). The
//! first data row is the settlement summary (settlement-id, the period, deposit-date,
//! total-amount, currency); every further row is one money line of that settlement.
//!
//! **How it maps.** One record opens the settlement on `--channel` (`open_settlement`), one
//! record per money line (`record_settlement_line`, its kind from [`classify`], keeping the
//! order id, sku and quantity), and a last record settles the payout with the deposit
//! (`settle_payout`, amount = total-amount, on deposit-date). Amounts are decimal strings read
//! exactly in the currency's minor units (`1980` JPY, `19.99` USD; a comma is read as the
//! decimal mark when there is no dot, as in European reports); more decimals than the
//! currency has refuses the file (its total could not be checked). A description Tally does not know is recorded as a
//! `suspense` line (9999, and an exception is raised by the domain), never dropped. Rows of
//! amount 0 carry no money and are not recorded. The summary total must equal Σ amounts: if
//! not, the whole file is refused naming both numbers.
//!
//! **Idempotency.** Keys come from the settlement id and a stable identity of each row: a
//! digest of every column that names *what* the row is (transaction type, order, adjustment,
//! shipment, amount type and description, fulfilment, posted time, item codes, sku, quantity,
//! promotion) but not its amount, plus its occurrence number among identical rows. The same
//! file imported again appends nothing. Amazon never re-issues a closed settlement (corrections
//! come as adjustments in a later one); if a file with the same settlement id arrives with
//! changed amounts, each changed row is refused with `IDEMPOTENCY_CONFLICT` (never double
//! posted) and so is the payout if the total changed; rows it adds are recorded while the
//! settlement is still open.

use std::collections::HashMap;

use tally_domain::Command;
use tally_domain::command::{OpenSettlement, RecordSettlementLine, SettlePayout};
use tally_domain::ids::{ChannelId, OrderId, SettlementId, Sku};
use tally_domain::money::{Currency, Money};
use tally_domain::settlement::SettlementLineKind as K;
use tally_domain::time::Timestamp;

use crate::common::{digest, invalid, timestamp, utf8};
use crate::{FormatError, Intent, Options, Record};

/// The columns the report must have.
const REQUIRED: [&str; 10] = [
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "amount-type",
    "amount-description",
    "amount",
];

/// Columns that name what a row is (its identity for the idempotency key), besides the
/// settlement id.
const IDENTITY: [&str; 15] = [
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "amount-type",
    "amount-description",
    "fulfillment-id",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "promotion-id",
];

/// Transaction types whose item-price lines give money back to a customer.
const REFUND_TYPES: [&str; 3] = ["refund", "chargeback refund", "a-to-z guarantee claim"];

/// The line kind of an amount-type / amount-description, by the values Amazon's settlement
/// documentation and Seller Central list; `None` for one Tally does not know (→ suspense).
/// Compared without regard to ASCII case. The mapping table is in docs/domain.md.
#[must_use]
pub fn classify(transaction_type: &str, amount_type: &str, description: &str) -> Option<K> {
    let refund = REFUND_TYPES.iter().any(|t| t.eq_ignore_ascii_case(transaction_type.trim()));
    let at = amount_type.trim().to_ascii_lowercase();
    let d = description.trim().to_ascii_lowercase();
    let kind = match at.as_str() {
        "itemprice" => match d.as_str() {
            "principal" | "shipping" | "giftwrap" | "restockingfee" | "goodwill" if refund => {
                K::Refund
            }
            "principal" => K::Principal,
            "shipping" | "giftwrap" => K::Shipping,
            "tax" | "shippingtax" | "giftwraptax" | "restockingfeetax" => K::Tax,
            _ => return None,
        },
        "itemfees" => match d.as_str() {
            "commission"
            | "variableclosingfee"
            | "fixedclosingfee"
            | "digitalservicesfee"
            | "salestaxcollectionfee"
            | "highvolumelistingfee" => K::Commission,
            "refundcommission" => K::RefundCommission,
            "fbaperunitfulfillmentfee"
            | "fbaperorderfulfillmentfee"
            | "fbaweightbasedfee"
            | "fbapickandpackfee"
            | "shippingchargeback"
            | "giftwrapchargeback"
            | "shippinghb"
            | "digitalservicesfeefba" => K::FulfillmentFee,
            _ => return None,
        },
        "promotion" => match d.as_str() {
            "principal" | "shipping" | "giftwrap" | "taxdiscount" => K::Promotion,
            _ => return None,
        },
        "itemwithheldtax" => match d.as_str() {
            "marketplacefacilitatortax-principal"
            | "marketplacefacilitatortax-shipping"
            | "marketplacefacilitatortax-giftwrap"
            | "marketplacefacilitatortax-other"
            | "marketplacefacilitatortax-restockingfee"
            | "marketplacefacilitatorvat-principal"
            | "marketplacefacilitatorvat-shipping"
            | "marketplacefacilitatorvat-giftwrap"
            | "lowvaluegoodstax-principal"
            | "lowvaluegoodstax-shipping" => K::FacilitatorTax,
            _ => return None,
        },
        "other-transaction" => match d.as_str() {
            "current reserve amount" | "previous reserve amount balance" => K::Reserve,
            "storage fee"
            | "storagerenewalbilling"
            | "fba long-term storage fee"
            | "longtermstoragefee" => K::StorageFee,
            "subscription fee" => K::Subscription,
            "shipping label purchase"
            | "shipping label purchase for return"
            | "fbainboundtransportationfee"
            | "fba inbound transportation fee"
            | "inbound transportation charge"
            | "disposalcomplete"
            | "removalcomplete"
            | "fbadisposalfee"
            | "fbaremovalfee" => K::FulfillmentFee,
            "reversalreimbursement" => K::Reimbursement,
            _ => return None,
        },
        "fba inventory reimbursement" => match d.as_str() {
            "warehouse_damage"
            | "warehouse_lost"
            | "reversal_reimbursement"
            | "cs_error_items"
            | "free_replacement_refund_items"
            | "missing_from_inbound"
            | "customer_return"
            | "compensated_clawback" => K::Reimbursement,
            "incorrect_fees_items" => K::FulfillmentFee,
            _ => return None,
        },
        "cost of advertising" => match d.as_str() {
            "transactiontotalamount" => K::Advertising,
            _ => return None,
        },
        _ => return None,
    };
    Some(kind)
}

/// Reads a decimal amount exactly in `currency`'s minor units. A comma is the decimal mark
/// when the text has no dot (European reports).
fn amount(text: &str, currency: Currency) -> Result<Money, String> {
    let text = text.trim();
    let normalised = if text.contains('.') { text.to_owned() } else { text.replacen(',', ".", 1) };
    Money::parse(&normalised, currency).map_err(|_| {
        format!(
            "amount '{text}' is not a decimal with at most {} decimal(s) for {}",
            currency.minor_digits(),
            currency.code()
        )
    })
}

/// One row's cells by column name.
struct Row<'a> {
    line: u64,
    cells: &'a csv::StringRecord,
    columns: &'a HashMap<String, usize>,
}

impl Row<'_> {
    fn get(&self, column: &str) -> &str {
        self.columns.get(column).and_then(|&i| self.cells.get(i)).map_or("", str::trim)
    }
}

/// The settlement summary (first data row).
struct Summary {
    id: SettlementId,
    currency: Currency,
    start: Timestamp,
    end: Timestamp,
    deposit: Option<Timestamp>,
    total: Money,
}

fn file_error(message: String) -> FormatError {
    FormatError::Invalid(format!("amazon-settlement-v2: {message}"))
}

fn summary(row: &Row<'_>) -> Result<Summary, FormatError> {
    let at = |what: &str| format!("line {}: {what}", row.line);
    let id_text = row.get("settlement-id");
    let id =
        SettlementId::parse(id_text).map_err(|e| file_error(at(&format!("settlement-id: {e}"))))?;
    let currency = Currency::parse(row.get("currency"))
        .map_err(|e| file_error(at(&format!("summary row currency: {e}"))))?;
    let time = |column: &str| {
        let text = row.get(column);
        timestamp(text).ok_or_else(|| file_error(at(&format!("{column} '{text}' is not a date"))))
    };
    let start = time("settlement-start-date")?;
    let end = time("settlement-end-date")?;
    let deposit =
        if row.get("deposit-date").is_empty() { None } else { Some(time("deposit-date")?) };
    let total = amount(row.get("total-amount"), currency)
        .map_err(|e| file_error(at(&format!("total-amount: {e}"))))?;
    if !row.get("transaction-type").is_empty() || !row.get("amount").is_empty() {
        return Err(file_error(at(
            "the first data row must be the settlement summary (no transaction-type or amount)",
        )));
    }
    Ok(Summary { id, currency, start, end, deposit, total })
}

/// Translates one settlement file.
///
/// # Errors
/// [`FormatError`] when the bytes are not a V2 settlement (not UTF-8, no header, a missing
/// column, no summary row, rows of another settlement or currency), when `--channel` is not
/// given, when an amount is not exact in the currency, or when the summary's total-amount is
/// not Σ amounts.
pub fn translate(bytes: &[u8], options: &Options) -> Result<Vec<Record>, FormatError> {
    let channel: ChannelId = options.channel.clone().ok_or_else(|| {
        file_error(
            "--channel is required: the Amazon marketplace channel the settlement is for"
                .to_owned(),
        )
    })?;
    let text = utf8(bytes, "amazon-settlement-v2")?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .quoting(false)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| file_error(format!("header: {e}")))?.clone();
    let columns: HashMap<String, usize> =
        header.iter().enumerate().map(|(i, h)| (h.trim().to_ascii_lowercase(), i)).collect();
    let missing: Vec<&str> =
        REQUIRED.iter().copied().filter(|c| !columns.contains_key(*c)).collect();
    if !missing.is_empty() {
        return Err(file_error(format!(
            "not a Flat File V2 settlement report: header lacks {}",
            missing.join(", ")
        )));
    }
    let mut rows = Vec::new();
    for (n, cells) in reader.records().enumerate() {
        let cells = cells.map_err(|e| file_error(format!("line {}: {e}", n + 2)))?;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows.push((n as u64 + 2, cells));
    }
    let Some((first_line, first)) = rows.first() else {
        return Err(file_error("no settlement summary row".to_owned()));
    };
    let s = summary(&Row { line: *first_line, cells: first, columns: &columns })?;
    let source = format!("amazon/{channel}/{}", s.id);
    let key = |what: &str| format!("amazon-settlement:{}:{what}", s.id);
    let mut records = vec![Record {
        source_id: format!("{} summary", s.id),
        outcome: Ok(vec![Intent {
            idempotency_key: key("open"),
            source: source.clone(),
            occurred_at_ms: Some(s.start.millis()),
            command: Command::OpenSettlement(OpenSettlement {
                settlement: s.id.clone(),
                channel: channel.clone(),
                currency: s.currency,
                period_start: s.start.date(),
                period_end: s.end.date(),
            }),
        }]),
    }];
    let mut sum: i128 = 0;
    let mut seen: HashMap<String, u32> = HashMap::new();
    for (line, cells) in &rows[1..] {
        let row = Row { line: *line, cells, columns: &columns };
        let sid = row.get("settlement-id");
        if sid != s.id.as_str() {
            return Err(file_error(format!(
                "line {line}: settlement-id '{sid}' is not the summary's '{}' (one settlement per file)",
                s.id
            )));
        }
        let currency = row.get("currency");
        if !currency.is_empty() && currency != s.currency.code() {
            return Err(file_error(format!(
                "line {line}: currency '{currency}' is not the settlement's {}",
                s.currency.code()
            )));
        }
        let identity: Vec<&str> = IDENTITY.iter().map(|c| row.get(c)).collect();
        let base = digest(&identity);
        let occurrence = seen.entry(base.clone()).and_modify(|n| *n += 1).or_insert(1);
        let row_key = key(&format!("line:{}", digest(&[&base, &occurrence.to_string()])));
        let source_id = {
            let order = row.get("order-id");
            let what = format!("{}/{}", row.get("amount-type"), row.get("amount-description"));
            if order.is_empty() {
                format!("{} line {line} {what}", s.id)
            } else {
                format!("{} line {line} order {order} {what}", s.id)
            }
        };
        // An amount that cannot be read exactly leaves the total unverifiable: the file is
        // refused, naming the line.
        let money = amount(row.get("amount"), s.currency)
            .map_err(|e| file_error(format!("line {line} ({source_id}): {e}")))?;
        sum += i128::from(money.minor());
        if money.minor() == 0 {
            continue;
        }
        records.push(Record { source_id, outcome: line_record(&row, &s, money, row_key, &source) });
    }
    if sum != i128::from(s.total.minor()) {
        let shown = i64::try_from(sum)
            .map(|m| Money::from_minor(m, s.currency).to_decimal_string())
            .unwrap_or_else(|_| format!("{sum} minor units"));
        return Err(file_error(format!(
            "settlement {}: total-amount {} {} is not the sum of its lines {shown} {}",
            s.id,
            s.total.to_decimal_string(),
            s.currency.code(),
            s.currency.code()
        )));
    }
    if let Some(deposit) = s.deposit {
        records.push(Record {
            source_id: format!("{} deposit", s.id),
            outcome: Ok(vec![Intent {
                idempotency_key: key("payout"),
                source,
                occurred_at_ms: Some(deposit.millis()),
                command: Command::SettlePayout(SettlePayout {
                    settlement: s.id.clone(),
                    amount: s.total,
                    deposit_date: deposit.date(),
                }),
            }]),
        });
    }
    Ok(records)
}

/// The intents of one money line, or why it is refused.
fn line_record(
    row: &Row<'_>,
    s: &Summary,
    money: Money,
    key: String,
    source: &str,
) -> Result<Vec<Intent>, crate::Refusal> {
    let line = row.line;
    let (txn, at, desc) =
        (row.get("transaction-type"), row.get("amount-type"), row.get("amount-description"));
    let (kind, description) = match classify(txn, at, desc) {
        Some(kind) => (kind, desc.to_owned()),
        None => (K::Suspense, format!("{txn}/{at}/{desc}")),
    };
    let order = match row.get("order-id") {
        "" => None,
        text => {
            Some(OrderId::parse(text).map_err(|e| invalid(format!("line {line}: order-id: {e}")))?)
        }
    };
    let sku = match row.get("sku") {
        "" => None,
        text => Some(Sku::parse(text).map_err(|e| invalid(format!("line {line}: sku: {e}")))?),
    };
    let qty = match row.get("quantity-purchased") {
        "" => 0,
        text => text.parse::<u64>().map_err(|_| {
            invalid(format!("line {line}: quantity-purchased '{text}' is not a whole number"))
        })?,
    };
    let posted = [row.get("posted-date-time"), row.get("posted-date")]
        .into_iter()
        .find(|t| !t.is_empty())
        .map(|t| {
            timestamp(t)
                .ok_or_else(|| invalid(format!("line {line}: posted date '{t}' is not a date")))
        })
        .transpose()?;
    Ok(vec![Intent {
        idempotency_key: key,
        source: source.to_owned(),
        occurred_at_ms: Some(posted.unwrap_or(s.end).millis()),
        command: Command::RecordSettlementLine(RecordSettlementLine {
            settlement: s.id.clone(),
            kind,
            amount: money,
            order,
            sku,
            qty,
            description,
        }),
    }])
}
