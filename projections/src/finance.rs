//! The finance view: the trial balance per account × currency from journal entries, and
//! marketplace settlements with their money lines, totals, payout and the export rows of
//! DOMAIN.md §4 (amounts in integer minor units plus the currency; the exporter formats
//! decimals).
//!
//! Key layout (parts joined by 0x00):
//! - `tb/{account number}/{currency}` → [`Balance`] (chart order, then currency);
//! - `settlement/{id}` → [`SettlementView`];
//! - `line/{settlement}/{line no: 4 bytes BE}` → [`SettlementLine`], in line order;
//! - `pending/{settlement}` → the line number whose journal entry comes next;
//! - `by_channel/{channel}/{period start day}/{settlement}` → empty: settlements of a channel
//!   by period;
//! - `payout/{payout}` → [`ProcessorPayout`] (processor payouts of direct channels);
//! - `entry/{journal entry id}` → [`JournalEntryView`] (every posted entry, by its id).
//!
//! Columns of a line by kind: principal, shipping and refund → `gross`; commission,
//! fulfillment and storage fees → `fee`; tax and facilitator tax → `tax`; reserve moves only
//! `net`. `net` is always the line's signed amount, so Σ net = payout.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tally_domain::Event;
use tally_domain::ids::{ChannelId, JournalEntryId, OrderId, SettlementId, Sku};
use tally_domain::journal::{Account, JournalEntry, JournalRef, Posting};
use tally_domain::money::Currency;
use tally_domain::settlement::SettlementLineKind;
use tally_domain::time::{DAY_MS, Date};

use crate::keys::{be32, day_part, prefix, split, text};
use crate::projection::{Applied, ApplyError, Projection};
use crate::store::{Result, ViewReader};
use crate::tx::{Tx, key};

const TB: &[u8] = b"tb";
const SETTLEMENT: &[u8] = b"settlement";
const LINE: &[u8] = b"line";
const PENDING: &[u8] = b"pending";
const BY_CHANNEL: &[u8] = b"by_channel";
const PAYOUT: &[u8] = b"payout";
const ENTRY: &[u8] = b"entry";

/// The finance projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Finance;

/// Debits and credits posted to one account in one currency, in minor units (both ≥ 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Σ debits.
    pub debits: i64,
    /// Σ credits (as a positive number).
    pub credits: i64,
}

/// Totals of a settlement, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Principal, shipping, promotions, reimbursements and suspense lines.
    pub gross: i64,
    /// Commissions (and refund commissions), fulfillment, storage, subscription and
    /// advertising fees (negative).
    pub fees: i64,
    /// Tax and facilitator tax.
    pub tax: i64,
    /// Refunds (negative).
    pub refunds: i64,
    /// Reserve held (negative) or released (positive).
    pub reserve: i64,
    /// Σ of every line: what the payout must equal.
    pub net: i64,
    /// Number of lines.
    pub line_count: u32,
}

/// A settlement's payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementPayout {
    /// Amount deposited, minor units.
    pub amount: i64,
    /// Deposit date.
    pub deposit_date: Date,
    /// Seq of `settlement.payout_settled`.
    pub event_seq: u64,
}

/// One settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "Settlement", complex)
)]
pub struct SettlementView {
    /// Its ledger id; `id` is its global id.
    #[cfg_attr(feature = "graphql", graphql(name = "settlementId"))]
    pub id: SettlementId,
    /// The marketplace channel.
    pub channel: ChannelId,
    /// Currency.
    #[cfg_attr(feature = "graphql", graphql(name = "currencyCode"))]
    pub currency: Currency,
    /// First day.
    pub period_start: Date,
    /// Last day.
    pub period_end: Date,
    /// Totals so far.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub totals: Totals,
    /// The payout, once settled.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub payout: Option<SettlementPayout>,
}

/// One money line of a settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementLine {
    /// Line number within the settlement.
    pub line_no: u32,
    /// Kind.
    pub kind: SettlementLineKind,
    /// Signed amount, minor units.
    pub amount: i64,
    /// The order.
    pub order: Option<OrderId>,
    /// The SKU.
    pub sku: Option<Sku>,
    /// Units.
    pub qty: u64,
    /// The marketplace's description.
    pub description: String,
    /// Seq of `settlement.line_recorded`.
    pub event_seq: u64,
    /// Its journal entry.
    pub journal_entry_id: Option<String>,
    /// When the entry was posted (business time).
    pub posted_at_ms: Option<i64>,
    /// The account on the other side of marketplace clearing.
    pub gl_account: Option<u16>,
}

/// A processor payout to the bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessorPayout {
    /// Amount, minor units.
    pub amount: i64,
    /// Currency.
    pub currency: Currency,
    /// Seq of the event.
    pub event_seq: u64,
    /// Business time.
    pub at_ms: i64,
}

/// Σ debits and Σ credits of a journal entry in one currency (equal, since entries balance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "JournalEntryTotal", complex)
)]
pub struct EntryTotal {
    /// Currency.
    #[cfg_attr(feature = "graphql", graphql(name = "currencyCode"))]
    pub currency: Currency,
    /// Σ debits, minor units (≥ 0).
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub debits: i64,
    /// Σ credits as a positive number, minor units.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub credits: i64,
}

/// A posted journal entry with the seq and ledger time of its `journal.entry_posted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "JournalEntry", complex)
)]
pub struct JournalEntryView {
    /// Its ledger id (`je-{n}`, minted by the domain); `id` is its global id.
    #[cfg_attr(feature = "graphql", graphql(name = "entryId"))]
    pub id: JournalEntryId,
    /// A short lowercase description: `payment captured`, `invoice`, `cogs`, …
    pub memo: String,
    /// What it is about.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub reference: JournalRef,
    /// Its postings in entry order: debit positive, credit negative.
    pub postings: Vec<Posting>,
    /// Σ debits and Σ credits per currency, by currency.
    pub totals: Vec<EntryTotal>,
    /// Business time of posting (its event's `occurredAt`), ms since the epoch.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub posted_at_ms: i64,
    /// Seq of its `journal.entry_posted` (its ledger time is the log's: the view keeps only
    /// what replays the same, so that a rebuild or a restart gives identical bytes).
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub seq: u64,
}

fn entry_key(id: &str) -> Vec<u8> {
    key(&[ENTRY, id.as_bytes()])
}

/// The totals of `e`'s postings per currency; an error when one does not balance.
fn entry_totals(e: &JournalEntry) -> Result<Vec<EntryTotal>, ApplyError> {
    let mut sums: BTreeMap<Currency, (i64, i64)> = BTreeMap::new();
    for p in &e.postings {
        let (debits, credits) = sums.entry(p.amount.currency()).or_insert((0, 0));
        let minor = p.amount.minor();
        if minor >= 0 {
            add(debits, minor)?;
        } else {
            add(credits, minor.checked_neg().ok_or_else(overflow)?)?;
        }
    }
    if let Some((c, (d, cr))) = sums.iter().find(|(_, (d, cr))| d != cr) {
        return Err(ApplyError::new(format!(
            "journal entry '{}' does not balance in {c}: {}",
            e.entry,
            i128::from(*d) - i128::from(*cr)
        )));
    }
    Ok(sums
        .into_iter()
        .map(|(currency, (debits, credits))| EntryTotal { currency, debits, credits })
        .collect())
}

fn settlement_key(id: &str) -> Vec<u8> {
    key(&[SETTLEMENT, id.as_bytes()])
}

fn line_key(settlement: &str, line_no: u32) -> Vec<u8> {
    key(&[LINE, settlement.as_bytes(), &be32(line_no)])
}

fn overflow() -> ApplyError {
    ApplyError::new("amount overflow")
}

fn add(into: &mut i64, v: i64) -> Result<(), ApplyError> {
    *into = into.checked_add(v).ok_or_else(overflow)?;
    Ok(())
}

fn add_line(t: &mut Totals, kind: SettlementLineKind, amount: i64) -> Result<(), ApplyError> {
    use SettlementLineKind as K;
    let column = match kind {
        K::Principal | K::Shipping | K::Promotion | K::Reimbursement | K::Suspense => &mut t.gross,
        K::Tax | K::FacilitatorTax => &mut t.tax,
        K::Commission
        | K::RefundCommission
        | K::FulfillmentFee
        | K::StorageFee
        | K::Subscription
        | K::Advertising => &mut t.fees,
        K::Refund => &mut t.refunds,
        K::Reserve => &mut t.reserve,
    };
    add(column, amount)?;
    add(&mut t.net, amount)?;
    t.line_count += 1;
    Ok(())
}

impl Projection for Finance {
    fn name(&self) -> &'static str {
        "finance"
    }

    fn version(&self) -> u32 {
        1
    }

    fn apply(&self, tx: &mut Tx<'_>, a: &Applied<'_>) -> Result<(), ApplyError> {
        match a.event {
            Event::JournalEntryPosted(e) => {
                let totals = entry_totals(e)?;
                for p in &e.postings {
                    let number = format!("{:04}", p.account.number());
                    let k = key(&[TB, number.as_bytes(), p.amount.currency().code().as_bytes()]);
                    let mut b: Balance = tx.get(&k)?.unwrap_or_default();
                    let minor = p.amount.minor();
                    if minor >= 0 {
                        add(&mut b.debits, minor)?;
                    } else {
                        add(&mut b.credits, minor.checked_neg().ok_or_else(overflow)?)?;
                    }
                    tx.put(k, &b)?;
                }
                let view = JournalEntryView {
                    id: e.entry.clone(),
                    memo: e.memo.clone(),
                    reference: e.reference.clone(),
                    postings: e.postings.clone(),
                    totals,
                    posted_at_ms: e.posted_at.millis(),
                    seq: a.seq,
                };
                tx.put(entry_key(e.entry.as_str()), &view)?;
                if let JournalRef::Settlement(id) = &e.reference {
                    let pk = key(&[PENDING, id.as_str().as_bytes()]);
                    if let Some(line_no) = tx.get::<u32>(&pk)? {
                        tx.delete(pk);
                        let lk = line_key(id.as_str(), line_no);
                        let mut line: SettlementLine = tx.get(&lk)?.ok_or_else(|| {
                            ApplyError::new(format!("settlement '{id}' has no line {line_no}"))
                        })?;
                        line.journal_entry_id = Some(e.entry.to_string());
                        line.posted_at_ms = Some(e.posted_at.millis());
                        line.gl_account = e
                            .postings
                            .iter()
                            .find(|p| p.account != Account::MarketplaceClearing)
                            .map(|p| p.account.number());
                        tx.put(lk, &line)?;
                    }
                }
            }
            Event::SettlementOpened(e) => {
                let view = SettlementView {
                    id: e.settlement.clone(),
                    channel: e.channel.clone(),
                    currency: e.currency,
                    period_start: e.period_start,
                    period_end: e.period_end,
                    totals: Totals::default(),
                    payout: None,
                };
                tx.put(settlement_key(e.settlement.as_str()), &view)?;
                tx.put_raw(
                    key(&[
                        BY_CHANNEL,
                        e.channel.as_str().as_bytes(),
                        &day_part(e.period_start.days()),
                        e.settlement.as_str().as_bytes(),
                    ]),
                    Vec::new(),
                );
            }
            Event::SettlementLineRecorded(e) => {
                let sk = settlement_key(e.settlement.as_str());
                let mut view: SettlementView = tx.get(&sk)?.ok_or_else(|| {
                    ApplyError::new(format!("unknown settlement '{}'", e.settlement))
                })?;
                add_line(&mut view.totals, e.kind, e.amount.minor())?;
                tx.put(sk, &view)?;
                let line = SettlementLine {
                    line_no: e.line_no,
                    kind: e.kind,
                    amount: e.amount.minor(),
                    order: e.order.clone(),
                    sku: e.sku.clone(),
                    qty: e.qty,
                    description: e.description.clone(),
                    event_seq: a.seq,
                    journal_entry_id: None,
                    posted_at_ms: None,
                    gl_account: None,
                };
                tx.put(line_key(e.settlement.as_str(), e.line_no), &line)?;
                tx.put(key(&[PENDING, e.settlement.as_str().as_bytes()]), &e.line_no)?;
            }
            Event::PayoutSettled(e) => {
                let sk = settlement_key(e.settlement.as_str());
                let mut view: SettlementView = tx.get(&sk)?.ok_or_else(|| {
                    ApplyError::new(format!("unknown settlement '{}'", e.settlement))
                })?;
                view.payout = Some(SettlementPayout {
                    amount: e.amount.minor(),
                    deposit_date: e.deposit_date,
                    event_seq: a.seq,
                });
                tx.put(sk, &view)?;
            }
            Event::ProcessorPayoutRecorded(e) => {
                let payout = ProcessorPayout {
                    amount: e.amount.minor(),
                    currency: e.amount.currency(),
                    event_seq: a.seq,
                    at_ms: a.occurred_at_ms,
                };
                tx.put(key(&[PAYOUT, e.payout.as_str().as_bytes()]), &payout)?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// One row of the trial balance.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "TrialBalanceRow", complex)
)]
pub struct TrialBalanceRow {
    /// The account.
    pub account: Account,
    /// Its number in the chart.
    pub number: u16,
    /// Currency.
    #[cfg_attr(feature = "graphql", graphql(name = "currencyCode"))]
    pub currency: Currency,
    /// Σ debits, minor units.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub debits: i64,
    /// Σ credits, minor units (positive).
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub credits: i64,
    /// `debits − credits`.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub net: i64,
}

/// The trial balance: every account and currency with postings, in chart order.
pub fn trial_balance(r: &ViewReader) -> Result<Vec<TrialBalanceRow>> {
    let mut out = Vec::new();
    for (suffix, b) in r.scan_typed::<Balance>(&prefix(&[TB]))? {
        let parts = split(&suffix);
        let number = parts.first().and_then(|p| text(p).parse::<u16>().ok());
        let account = number.and_then(Account::from_number);
        let currency = parts.get(1).and_then(|p| Currency::parse(&text(p)).ok());
        let (Some(account), Some(currency)) = (account, currency) else {
            return Err(crate::keys::malformed("finance", "bad trial balance key"));
        };
        out.push(TrialBalanceRow {
            account,
            number: account.number(),
            currency,
            debits: b.debits,
            credits: b.credits,
            net: b.debits - b.credits,
        });
    }
    Ok(out)
}

/// Σ net of the trial balance per currency: zero in every currency when the books balance.
pub fn trial_balance_totals(r: &ViewReader) -> Result<BTreeMap<Currency, i128>> {
    let mut out = BTreeMap::new();
    for row in trial_balance(r)? {
        *out.entry(row.currency).or_insert(0) += i128::from(row.net);
    }
    Ok(out)
}

/// The net balance of one account in one currency (debit positive), minor units.
pub fn balance(r: &ViewReader, account: Account, currency: Currency) -> Result<i64> {
    let number = format!("{:04}", account.number());
    let b: Balance =
        r.get(&key(&[TB, number.as_bytes(), currency.code().as_bytes()]))?.unwrap_or_default();
    Ok(b.debits - b.credits)
}

/// A settlement with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementDetail {
    /// Header, totals and payout.
    pub settlement: SettlementView,
    /// Its money lines in line order.
    pub lines: Vec<SettlementLine>,
}

/// One settlement with its lines.
pub fn settlement(r: &ViewReader, id: &str) -> Result<Option<SettlementDetail>> {
    let Some(view) = r.get::<SettlementView>(&settlement_key(id))? else { return Ok(None) };
    let lines = r
        .scan_typed::<SettlementLine>(&prefix(&[LINE, id.as_bytes()]))?
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    Ok(Some(SettlementDetail { settlement: view, lines }))
}

/// Settlements of `channel` whose period overlaps `[from_ms, to_ms]`, by period start.
pub fn settlements(
    r: &ViewReader,
    channel: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<SettlementView>> {
    let p = prefix(&[BY_CHANNEL, channel.as_bytes()]);
    let mut out = Vec::new();
    for (k, _) in r.scan(&p)? {
        // `{period start: 4 bytes}\0{settlement}`: cut by width.
        let Some(id) = k.get(p.len() + 5..) else { continue };
        let Some(view) = r.get::<SettlementView>(&settlement_key(&text(id)))? else { continue };
        let start_ms = i64::from(view.period_start.days()) * DAY_MS;
        let end_ms = (i64::from(view.period_end.days()) + 1) * DAY_MS;
        if start_ms <= to_ms && end_ms > from_ms {
            out.push(view);
        }
    }
    Ok(out)
}

/// One row of the settlement export (docs/domain.md §5), amounts in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    /// settlement_id.
    pub settlement_id: String,
    /// channel.
    pub channel: String,
    /// period_start.
    pub period_start: Date,
    /// period_end.
    pub period_end: Date,
    /// deposit_date (once paid out).
    pub deposit_date: Option<Date>,
    /// currency.
    pub currency: Currency,
    /// txn_type: `order`, `refund`, `service_fee`, `reserve` or `other`.
    pub txn_type: &'static str,
    /// amount_type: the line kind (`principal`, `commission`, …).
    pub amount_type: &'static str,
    /// The line kind (`amount_type` as the enum).
    pub kind: SettlementLineKind,
    /// The line's number within its settlement.
    pub line_no: u32,
    /// amount_description.
    pub amount_description: String,
    /// order_id.
    pub order_id: Option<String>,
    /// sku.
    pub sku: Option<String>,
    /// quantity.
    pub quantity: u64,
    /// gross.
    pub gross: i64,
    /// fee.
    pub fee: i64,
    /// tax.
    pub tax: i64,
    /// net.
    pub net: i64,
    /// posted_at (business time of the journal entry).
    pub posted_at_ms: Option<i64>,
    /// gl_account.
    pub gl_account: Option<u16>,
    /// journal_entry_id.
    pub journal_entry_id: Option<String>,
    /// event_seq.
    pub event_seq: u64,
}

/// Which settlements to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportSelector<'a> {
    /// One settlement.
    Settlement(&'a str),
    /// Every settlement of a channel whose period overlaps `[from_ms, to_ms]`.
    Channel {
        /// The channel.
        channel: &'a str,
        /// Window start.
        from_ms: i64,
        /// Window end.
        to_ms: i64,
    },
}

fn export_row(s: &SettlementView, l: &SettlementLine) -> ExportRow {
    use SettlementLineKind as K;
    let (gross, fee, tax) = match l.kind {
        K::Principal | K::Shipping | K::Refund | K::Promotion | K::Reimbursement | K::Suspense => {
            (l.amount, 0, 0)
        }
        K::Commission
        | K::RefundCommission
        | K::FulfillmentFee
        | K::StorageFee
        | K::Subscription
        | K::Advertising => (0, l.amount, 0),
        K::Tax | K::FacilitatorTax => (0, 0, l.amount),
        K::Reserve => (0, 0, 0),
    };
    let txn_type = match l.kind {
        K::Refund | K::RefundCommission => "refund",
        K::StorageFee | K::Subscription | K::Advertising => "service_fee",
        K::Reserve => "reserve",
        _ if l.order.is_some() => "order",
        _ => "other",
    };
    ExportRow {
        settlement_id: s.id.to_string(),
        channel: s.channel.to_string(),
        period_start: s.period_start,
        period_end: s.period_end,
        deposit_date: s.payout.as_ref().map(|p| p.deposit_date),
        currency: s.currency,
        txn_type,
        amount_type: l.kind.as_str(),
        kind: l.kind,
        line_no: l.line_no,
        amount_description: l.description.clone(),
        order_id: l.order.as_ref().map(ToString::to_string),
        sku: l.sku.as_ref().map(ToString::to_string),
        quantity: l.qty,
        gross,
        fee,
        tax,
        net: l.amount,
        posted_at_ms: l.posted_at_ms,
        gl_account: l.gl_account,
        journal_entry_id: l.journal_entry_id.clone(),
        event_seq: l.event_seq,
    }
}

/// Export rows, one per money line, settlement by settlement in line order.
pub fn export_rows(r: &ViewReader, selector: ExportSelector<'_>) -> Result<Vec<ExportRow>> {
    let ids: Vec<String> = match selector {
        ExportSelector::Settlement(id) => vec![id.to_owned()],
        ExportSelector::Channel { channel, from_ms, to_ms } => {
            settlements(r, channel, from_ms, to_ms)?.into_iter().map(|s| s.id.to_string()).collect()
        }
    };
    let mut out = Vec::new();
    for id in ids {
        if let Some(detail) = settlement(r, &id)? {
            out.extend(detail.lines.iter().map(|l| export_row(&detail.settlement, l)));
        }
    }
    Ok(out)
}

/// The journal entry with this id.
pub fn journal_entry(r: &ViewReader, id: &str) -> Result<Option<JournalEntryView>> {
    r.get(&entry_key(id))
}

/// A processor payout.
pub fn processor_payout(r: &ViewReader, id: &str) -> Result<Option<ProcessorPayout>> {
    r.get(&key(&[PAYOUT, id.as_bytes()]))
}
