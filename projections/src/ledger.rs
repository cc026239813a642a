//! The general ledger: every posting of every journal entry indexed by account × currency ×
//! business day, debit and credit sums bucketed by day for period trial balances, the journal
//! in date order for the journal export, and processor settlements (the money through 1100
//! processor clearing, grouped by payout) for the settlement export.
//!
//! **Periods use `posted_at`**, the entry's business time (the command's `ctx.now`), not the
//! ledger's recorded time: a period is about when the sale, refund or payout happened, so an
//! import of yesterday's captures today books them into yesterday, and a replay or an as-of
//! read gives the same periods whatever the recording clock did. The price is that a late or
//! back-dated entry changes a past period: read it `asOf` a seq to freeze what was reported.
//! Days are UTC days of `posted_at`. Every row keeps the seq of its `journal.entry_posted`.
//!
//! Key layout (parts joined by 0x00; numbers fixed-width big-endian, so keys sort by value):
//! - `sum/{level}/{account number}/{currency}/{bucket}` → [`Sums`]: Σ debits and Σ credits of
//!   the postings whose day falls in the bucket. Level `0` buckets are days, level `1` runs of
//!   32 days (`day.div_euclid(32)`), level `2` runs of 1024 days. The balance before day `D`
//!   is Σ level-2 buckets before `D`'s, + the level-1 buckets of `D`'s level-2 bucket before
//!   `D`'s, + the days of `D`'s level-1 bucket before `D`: at most history / 1024 days + 64
//!   rows per account × currency, however long the history. Applying a posting updates three
//!   rows, in place, also for a back-dated entry.
//! - `post/{account number}/{currency}/{day}/{seq}/{posting index}` → [`PostingRow`]: one row
//!   per posting; an account's postings over a date range are one range scan.
//! - `journal/{day}/{seq}` → [`EntryRow`]: every entry in date order (the journal export).
//! - `order/{order}` → the order's channel (for processor rows).
//! - `pctx` → [`ProcessorContext`]: what the last money event said about the journal entry
//!   that follows it (charge, fee, refund); removed by that entry.
//! - `prow/{currency}/{seq}/{posting index}` → [`ProcessorRow`]: every posting on 1100, in
//!   log order.
//! - `pcur/{currency}` → empty: the currencies with processor rows;
//! - `popen/{currency}` → [`OpenGroup`]: the processor rows since the last payout.
//! - `payout/{currency}/{deposit day}/{seq}` → [`PayoutGroup`]: a payout and the rows it pays.
//! - `sub/{account number}/{currency}/{reference type}/{reference id}` → i64: the balance of
//!   one account held by one journal reference (an order's deposits in 2100, an order's
//!   invoice in 1300 or 1150, a supplier's bills in 2000), absent when zero. Σ over an
//!   account's references is the account's balance: the subledger that explains a clearing
//!   account line by line.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tally_domain::Event;
use tally_domain::journal::{Account, JournalRef, Posting};
use tally_domain::money::Currency;
use tally_domain::time::{DAY_MS, Date};

use crate::keys::{be32, be64, day_part, malformed, prefix, split, text};
use crate::projection::{Applied, ApplyError, Projection};
use crate::store::{Result, ViewReader};
use crate::tx::{Tx, key};

const SUM: &[u8] = b"sum";
const POST: &[u8] = b"post";
const JOURNAL: &[u8] = b"journal";
const ORDER: &[u8] = b"order";
const PCTX: &[u8] = b"pctx";
const PROW: &[u8] = b"prow";
const POPEN: &[u8] = b"popen";
const PAYOUT: &[u8] = b"payout";
const PCUR: &[u8] = b"pcur";
const SUB: &[u8] = b"sub";

/// Days per level-1 bucket.
pub const LEVEL1_DAYS: i32 = 32;
/// Days per level-2 bucket.
pub const LEVEL2_DAYS: i32 = 1024;

/// The general-ledger projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ledger;

/// Σ debits and Σ credits (positive), minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sums {
    /// Σ debits.
    pub debits: i64,
    /// Σ credits, as a positive number.
    pub credits: i64,
}

/// One posting as the ledger keeps it (its account and currency are in the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostingRow {
    /// The journal entry.
    pub entry: String,
    /// Business time of the entry, ms since the epoch.
    pub posted_at_ms: i64,
    /// Seq of its `journal.entry_posted`.
    pub seq: u64,
    /// Position of the posting within its entry.
    pub index: u32,
    /// The account.
    pub account: Account,
    /// Debit positive, credit negative, minor units.
    pub amount: i64,
    /// Currency.
    pub currency: Currency,
    /// The entry's memo.
    pub memo: String,
    /// What the entry is about.
    pub reference: JournalRef,
}

impl PostingRow {
    /// The UTC day of `posted_at`.
    #[must_use]
    pub fn day(&self) -> i32 {
        day_of(self.posted_at_ms)
    }
}

/// A journal entry in the journal (date order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRow {
    /// Its id.
    pub entry: String,
    /// Business time, ms since the epoch.
    pub posted_at_ms: i64,
    /// Seq of its `journal.entry_posted`.
    pub seq: u64,
    /// Memo.
    pub memo: String,
    /// What it is about.
    pub reference: JournalRef,
    /// Its postings in entry order.
    pub postings: Vec<Posting>,
}

/// What a money event says about the processor-clearing posting of the entry that follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessorContext {
    /// `charge`, `fee` or `refund`.
    pub txn_type: String,
    /// `payment`, `processor_fee`, `refund` or `deposit_refund`.
    pub amount_type: String,
    /// The order.
    pub order: Option<String>,
    /// The SKU (a refund of one line).
    pub sku: Option<String>,
    /// Units (refunds).
    pub qty: u64,
    /// Of a refund: Σ tax refunded (positive), minor units; the rest of it is `gross`.
    pub tax: i64,
}

/// One money line through processor clearing (1100): a posting on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessorRow {
    /// `charge`, `refund`, `fee`, `payout` or `other`.
    pub txn_type: String,
    /// `payment`, `refund`, `deposit_refund`, `processor_fee`, `payout` or `adjustment`.
    pub amount_type: String,
    /// The entry's memo.
    pub description: String,
    /// The order.
    pub order: Option<String>,
    /// The order's channel.
    pub channel: Option<String>,
    /// The SKU (a refund of one line).
    pub sku: Option<String>,
    /// Units.
    pub qty: u64,
    /// Sales part, minor units (signed as `net`).
    pub gross: i64,
    /// Fee part.
    pub fee: i64,
    /// Tax part.
    pub tax: i64,
    /// The posting on 1100: into clearing positive, out negative.
    pub net: i64,
    /// Currency.
    pub currency: Currency,
    /// Business time of the entry.
    pub posted_at_ms: i64,
    /// The journal entry.
    pub journal_entry_id: String,
    /// Seq of the `journal.entry_posted`.
    pub event_seq: u64,
    /// Position of the posting in its entry.
    pub index: u32,
}

/// The processor rows since the last payout of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenGroup {
    /// Seq of its first row.
    pub first_seq: u64,
    /// Day of its first row.
    pub first_day: i32,
}

/// A processor payout and the rows it pays: every row on 1100 in its currency recorded after
/// the previous payout, up to and including its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutGroup {
    /// The payout id.
    pub payout: String,
    /// Amount paid to the bank (positive), minor units.
    pub amount: i64,
    /// Currency.
    pub currency: Currency,
    /// Seq of the payout's entry.
    pub seq: u64,
    /// Seq of the group's first row.
    pub first_seq: u64,
    /// Day of the group's first row.
    pub period_start: i32,
    /// Day of the payout (its deposit date).
    pub deposit_day: i32,
}

fn day_of(ms: i64) -> i32 {
    i32::try_from(ms.div_euclid(DAY_MS)).unwrap_or(if ms < 0 { i32::MIN } else { i32::MAX })
}

fn number_part(account: Account) -> String {
    format!("{:04}", account.number())
}

fn bucket(level: u8, day: i32) -> i32 {
    match level {
        0 => day,
        1 => day.div_euclid(LEVEL1_DAYS),
        _ => day.div_euclid(LEVEL2_DAYS),
    }
}

fn level_part(level: u8) -> [u8; 1] {
    [b'0' + level]
}

fn sum_prefix(level: u8, number: &str, currency: &str) -> Vec<u8> {
    prefix(&[SUM, &level_part(level), number.as_bytes(), currency.as_bytes()])
}

fn with_day(mut p: Vec<u8>, day: i32) -> Vec<u8> {
    p.extend_from_slice(&day_part(day));
    p
}

fn post_prefix(number: &str, currency: &str) -> Vec<u8> {
    prefix(&[POST, number.as_bytes(), currency.as_bytes()])
}

fn post_key(number: &str, currency: &str, day: i32, seq: u64, index: u32) -> Vec<u8> {
    let mut k = with_day(post_prefix(number, currency), day);
    k.push(0);
    k.extend_from_slice(&be64(seq));
    k.push(0);
    k.extend_from_slice(&be32(index));
    k
}

fn overflow() -> ApplyError {
    ApplyError::new("amount overflow")
}

fn add(into: &mut i64, v: i64) -> Result<(), ApplyError> {
    *into = into.checked_add(v).ok_or_else(overflow)?;
    Ok(())
}

fn processor_context(event: &Event) -> Option<ProcessorContext> {
    let ctx = |txn: &str, amount: &str, order: &tally_domain::ids::OrderId| ProcessorContext {
        txn_type: txn.to_owned(),
        amount_type: amount.to_owned(),
        order: Some(order.to_string()),
        sku: None,
        qty: 0,
        tax: 0,
    };
    match event {
        Event::PaymentCaptured(e) => Some(ctx("charge", "payment", &e.order)),
        Event::ProcessorFeeRecorded(e) => Some(ctx("fee", "processor_fee", &e.order)),
        Event::DepositRefunded(e) => Some(ctx("refund", "deposit_refund", &e.order)),
        Event::RefundIssued(e) => {
            let mut c = ctx("refund", "refund", &e.order);
            c.qty = e.lines.iter().map(|l| l.qty.get()).fold(0_u64, u64::saturating_add);
            c.tax = e
                .lines
                .iter()
                .map(|l| l.tax.minor())
                .fold(e.shipping_tax.minor(), i64::saturating_add);
            if let [one] = e.lines.as_slice() {
                c.sku = Some(one.sku.to_string());
            }
            Some(c)
        }
        _ => None,
    }
}

impl Ledger {
    fn post(
        tx: &mut Tx<'_>,
        a: &Applied<'_>,
        e: &tally_domain::journal::JournalEntry,
    ) -> Result<(), ApplyError> {
        let day = day_of(e.posted_at.millis());
        // The money event just before explains this entry only when both are about the same
        // order (a stale context, say of an event that posted nothing, explains nothing).
        let context: Option<ProcessorContext> = tx.get(PCTX)?;
        if context.is_some() {
            tx.delete(PCTX.to_vec());
        }
        let context = context.filter(|c| match &e.reference {
            JournalRef::Order(o) => c.order.as_deref() == Some(o.as_str()),
            _ => false,
        });
        for (i, p) in e.postings.iter().enumerate() {
            let index = u32::try_from(i).map_err(|_| ApplyError::new("too many postings"))?;
            let number = number_part(p.account);
            let currency = p.amount.currency();
            let code = currency.code();
            let minor = p.amount.minor();
            for level in 0..=2 {
                let k = with_day(sum_prefix(level, &number, code), bucket(level, day));
                let mut s: Sums = tx.get(&k)?.unwrap_or_default();
                if minor >= 0 {
                    add(&mut s.debits, minor)?;
                } else {
                    add(&mut s.credits, minor.checked_neg().ok_or_else(overflow)?)?;
                }
                tx.put(k, &s)?;
            }
            let row = PostingRow {
                entry: e.entry.to_string(),
                posted_at_ms: e.posted_at.millis(),
                seq: a.seq,
                index,
                account: p.account,
                amount: minor,
                currency,
                memo: e.memo.clone(),
                reference: e.reference.clone(),
            };
            tx.put(post_key(&number, code, day, a.seq, index), &row)?;
            let (ref_type, ref_id) = reference_parts(&e.reference);
            let sub = key(&[
                SUB,
                number.as_bytes(),
                code.as_bytes(),
                ref_type.as_bytes(),
                ref_id.as_bytes(),
            ]);
            if tx.add(sub.clone(), minor)? == 0 {
                tx.delete(sub);
            }
            if p.account == Account::ProcessorClearing {
                Self::processor_row(tx, a, e, context.as_ref(), p, index, day)?;
            }
        }
        let entry = EntryRow {
            entry: e.entry.to_string(),
            posted_at_ms: e.posted_at.millis(),
            seq: a.seq,
            memo: e.memo.clone(),
            reference: e.reference.clone(),
            postings: e.postings.clone(),
        };
        tx.put(with_seq(with_day(prefix(&[JOURNAL]), day), a.seq), &entry)?;
        Ok(())
    }

    fn processor_row(
        tx: &mut Tx<'_>,
        a: &Applied<'_>,
        e: &tally_domain::journal::JournalEntry,
        context: Option<&ProcessorContext>,
        p: &Posting,
        index: u32,
        day: i32,
    ) -> Result<(), ApplyError> {
        let currency = p.amount.currency();
        let code = currency.code().as_bytes();
        let net = p.amount.minor();
        let (txn_type, amount_type, order, sku, qty, gross, fee, tax) =
            match (&e.reference, context) {
                (JournalRef::Payout(_), _) => ("payout", "payout", None, None, 0, 0, 0, 0),
                (_, Some(c)) => {
                    let (gross, fee, tax) = match c.txn_type.as_str() {
                        "fee" => (0, net, 0),
                        // A refund's net is −(merchandise + tax) when it went through 1100.
                        "refund" if c.tax > 0 && net <= 0 && net.saturating_neg() >= c.tax => {
                            (net + c.tax, 0, -c.tax)
                        }
                        _ => (net, 0, 0),
                    };
                    let (t, at) = (c.txn_type.as_str(), c.amount_type.as_str());
                    (t, at, c.order.clone(), c.sku.clone(), c.qty, gross, fee, tax)
                }
                (r, None) => {
                    let order = match r {
                        JournalRef::Order(o) => Some(o.to_string()),
                        _ => None,
                    };
                    ("other", "adjustment", order, None, 0, net, 0, 0)
                }
            };
        let channel = match &order {
            Some(o) => tx.get::<String>(&key(&[ORDER, o.as_bytes()]))?,
            None => None,
        };
        let row = ProcessorRow {
            txn_type: txn_type.to_owned(),
            amount_type: amount_type.to_owned(),
            description: e.memo.clone(),
            order,
            channel,
            sku,
            qty,
            gross,
            fee,
            tax,
            net,
            currency,
            posted_at_ms: e.posted_at.millis(),
            journal_entry_id: e.entry.to_string(),
            event_seq: a.seq,
            index,
        };
        let mut rk = with_seq(prefix(&[PROW, code]), a.seq);
        rk.push(0);
        rk.extend_from_slice(&be32(index));
        tx.put(rk, &row)?;
        tx.put_raw(key(&[PCUR, code]), Vec::new());
        let ok = key(&[POPEN, code]);
        let open = match tx.get::<OpenGroup>(&ok)? {
            Some(open) => open,
            None => OpenGroup { first_seq: a.seq, first_day: day },
        };
        if let JournalRef::Payout(id) = &e.reference {
            let group = PayoutGroup {
                payout: id.to_string(),
                amount: net.checked_neg().ok_or_else(overflow)?,
                currency,
                seq: a.seq,
                first_seq: open.first_seq,
                period_start: open.first_day.min(day),
                deposit_day: day,
            };
            tx.put(with_seq(with_day(prefix(&[PAYOUT, code]), day), a.seq), &group)?;
            tx.delete(ok);
        } else {
            tx.put(ok, &open)?;
        }
        Ok(())
    }
}

fn with_seq(mut p: Vec<u8>, seq: u64) -> Vec<u8> {
    p.push(0);
    p.extend_from_slice(&be64(seq));
    p
}

impl Projection for Ledger {
    fn name(&self) -> &'static str {
        "ledger"
    }

    fn version(&self) -> u32 {
        1
    }

    fn apply(&self, tx: &mut Tx<'_>, a: &Applied<'_>) -> Result<(), ApplyError> {
        match a.event {
            Event::JournalEntryPosted(e) => Self::post(tx, a, e)?,
            Event::OrderReceived(e) => {
                tx.put(key(&[ORDER, e.order.as_str().as_bytes()]), &e.channel.to_string())?;
            }
            other => {
                if let Some(context) = processor_context(other) {
                    tx.put(PCTX.to_vec(), &context)?;
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Reads.

/// One account × currency of a period trial balance, minor units (debit positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodBalance {
    /// The account.
    pub account: Account,
    /// Currency.
    pub currency: Currency,
    /// Balance before the period's first day.
    pub opening: i64,
    /// Σ debits posted in the period.
    pub debits: i64,
    /// Σ credits posted in the period (positive).
    pub credits: i64,
    /// Balance at the end of the period's last day: opening + debits − credits.
    pub closing: i64,
}

fn narrow(v: i128) -> Result<i64> {
    i64::try_from(v).map_err(|_| malformed("ledger", "a balance does not fit in 64 bits"))
}

fn sums_of(r: &ViewReader, bytes: &[u8]) -> Result<(i128, i128)> {
    let s: Sums = r.decode(bytes)?;
    Ok((i128::from(s.debits), i128::from(s.credits)))
}

/// The bucket number at the end of a `sum` key (its last 4 bytes).
fn key_bucket(k: &[u8]) -> Option<i32> {
    k.len().checked_sub(4).and_then(|at| crate::keys::day_from(&k[at..]))
}

/// Σ (debits, credits) of one level's buckets in `[lo, hi)`, read from `lo` on (at most
/// `hi − lo` rows).
fn level_sum(r: &ViewReader, p: &[u8], lo: i32, hi: i32) -> Result<(i128, i128)> {
    let mut out = (0_i128, 0_i128);
    if hi <= lo {
        return Ok(out);
    }
    let after = lo.checked_sub(1).map(|b| with_day(p.to_vec(), b));
    let limit = usize::try_from(hi.saturating_sub(lo)).unwrap_or(usize::MAX);
    for (k, v) in r.scan_after(p, after.as_deref(), limit)? {
        let Some(b) = key_bucket(&k) else { return Err(malformed("ledger", "bad sum key")) };
        if b >= hi {
            break;
        }
        let (d, c) = sums_of(r, &v)?;
        out.0 += d;
        out.1 += c;
    }
    Ok(out)
}

/// A level-2 bucket: its number, Σ debits, Σ credits.
type Level2 = (i32, i128, i128);

/// Σ (debits, credits) of one account × currency posted before `day`, given its level-2
/// buckets.
fn before(
    r: &ViewReader,
    number: &str,
    currency: &str,
    level2: &[Level2],
    day: i32,
) -> Result<(i128, i128)> {
    let b2 = bucket(2, day);
    let b1 = bucket(1, day);
    let mut out = (0_i128, 0_i128);
    for (b, d, c) in level2 {
        if *b < b2 {
            out.0 += d;
            out.1 += c;
        }
    }
    let l1 = level_sum(r, &sum_prefix(1, number, currency), b2.saturating_mul(32), b1)?;
    let l0 = level_sum(r, &sum_prefix(0, number, currency), b1.saturating_mul(32), day)?;
    Ok((out.0 + l1.0 + l0.0, out.1 + l1.1 + l0.1))
}

/// The trial balance of the UTC days `from..=to` (either open-ended when `None`): every
/// account × currency with postings on or before `to`, in chart order then currency, with
/// its opening balance, the period's debits and credits and its closing balance.
///
/// Cost: one scan of the level-2 sums (every account × currency × 1024 days of history),
/// then at most 64 rows per account × currency and bound.
pub fn trial_balance(
    r: &ViewReader,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Vec<PeriodBalance>> {
    let mut combos: BTreeMap<(u16, String), Vec<Level2>> = BTreeMap::new();
    let p2 = prefix(&[SUM, &level_part(2)]);
    for (k, v) in r.scan(&p2)? {
        let suffix = k.get(p2.len()..).unwrap_or_default();
        let parts = split(suffix);
        let bad = || malformed("ledger", "bad level-2 sum key");
        let number = parts.first().and_then(|p| text(p).parse::<u16>().ok()).ok_or_else(bad)?;
        let currency = parts.get(1).map(|p| text(p)).ok_or_else(bad)?;
        let b = key_bucket(suffix).ok_or_else(bad)?;
        let (d, c) = sums_of(r, &v)?;
        combos.entry((number, currency)).or_default().push((b, d, c));
    }
    let mut out = Vec::new();
    for ((number, code), level2) in combos {
        let bad = || malformed("ledger", format!("unknown account {number} or currency {code}"));
        let account = Account::from_number(number).ok_or_else(bad)?;
        let currency = Currency::parse(&code).map_err(|_| bad())?;
        let n = number_part(account);
        let total = level2.iter().fold((0, 0), |(d, c), (_, d2, c2)| (d + d2, c + c2));
        let open = match from {
            Some(f) => before(r, &n, &code, &level2, f.days())?,
            None => (0, 0),
        };
        let through = match to {
            Some(t) => before(r, &n, &code, &level2, t.days().saturating_add(1))?,
            None => total,
        };
        if through == (0, 0) {
            continue;
        }
        let debits = through.0 - open.0;
        let credits = through.1 - open.1;
        out.push(PeriodBalance {
            account,
            currency,
            opening: narrow(open.0 - open.1)?,
            debits: narrow(debits)?,
            credits: narrow(credits)?,
            closing: narrow(through.0 - through.1)?,
        });
    }
    out.sort_by(|a, b| (a.account, a.currency.code()).cmp(&(b.account, b.currency.code())));
    Ok(out)
}

/// The currencies an account has postings in.
pub fn currencies(r: &ViewReader, account: Account) -> Result<Vec<Currency>> {
    let n = number_part(account);
    let mut out: Vec<Currency> = Vec::new();
    let p = prefix(&[SUM, &level_part(2), n.as_bytes()]);
    for (k, _) in r.scan(&p)? {
        let code = split(k.get(p.len()..).unwrap_or_default()).first().map(|p| text(p));
        let code = code.unwrap_or_default();
        let c = Currency::parse(&code)
            .map_err(|_| malformed("ledger", format!("bad currency '{code}'")))?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// Where a posting stands in an account's list: (day, seq, posting index).
pub type PostingPos = (i32, u64, u32);

/// At most `limit` postings of `account` in `currency` on the UTC days `from..=to`, strictly
/// after `after` (or from `from`) in (day, seq, index) order. Reads O(`limit`) rows.
pub fn postings_after(
    r: &ViewReader,
    account: Account,
    currency: Currency,
    (from, to): (i32, i32),
    after: Option<PostingPos>,
    limit: usize,
) -> Result<Vec<PostingRow>> {
    let n = number_part(account);
    let p = post_prefix(&n, currency.code());
    let start = match after {
        Some((d, s, i)) if d >= from => post_key(&n, currency.code(), d, s, i),
        // Past every key of the day before `from`.
        _ => {
            let mut k = with_day(p.clone(), from.saturating_sub(1));
            k.push(0xFF);
            k
        }
    };
    let mut out = Vec::new();
    for (_, v) in r.scan_after(&p, Some(&start), limit)? {
        let row: PostingRow = r.decode(&v)?;
        if row.day() > to {
            break;
        }
        out.push(row);
    }
    Ok(out)
}

/// At most `limit` postings of `account` in `currency` on the UTC days `from..=to`, strictly
/// before `before` (or from `to`), nearest first. Reads O(`limit`) rows.
pub fn postings_before(
    r: &ViewReader,
    account: Account,
    currency: Currency,
    (from, to): (i32, i32),
    before: Option<PostingPos>,
    limit: usize,
) -> Result<Vec<PostingRow>> {
    let n = number_part(account);
    let p = post_prefix(&n, currency.code());
    let end = match before {
        Some((d, s, i)) if d <= to => post_key(&n, currency.code(), d, s, i),
        _ => with_day(p.clone(), to.saturating_add(1)),
    };
    let mut out = Vec::new();
    for (_, v) in r.scan_before(&p, Some(&end), limit)? {
        let row: PostingRow = r.decode(&v)?;
        if row.day() < from {
            break;
        }
        out.push(row);
    }
    Ok(out)
}

/// Every journal entry posted on the UTC days `from..=to`, by day then seq.
pub fn journal(r: &ViewReader, from: Date, to: Date) -> Result<Vec<EntryRow>> {
    const CHUNK: usize = 1024;
    let p = prefix(&[JOURNAL]);
    let mut after = with_day(p.clone(), from.days().saturating_sub(1));
    after.push(0xFF);
    let mut out = Vec::new();
    loop {
        let chunk = r.scan_after(&p, Some(&after), CHUNK)?;
        let full = chunk.len() == CHUNK;
        for (k, v) in chunk {
            let row: EntryRow = r.decode(&v)?;
            if day_of(row.posted_at_ms) > to.days() {
                return Ok(out);
            }
            out.push(row);
            after = k;
        }
        if !full {
            return Ok(out);
        }
    }
}

/// One reference's share of an account's balance (debit positive, minor units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubledgerRow {
    /// The reference's type (`order`, `customer`, `settlement`, `stock`, …).
    pub reference_type: String,
    /// Its id.
    pub reference_id: String,
    /// Its balance on the account.
    pub balance: i64,
}

/// The references holding a non-zero balance on `account` in `currency`, by type then id.
/// Σ of the balances is the account's balance.
pub fn subledger(
    r: &ViewReader,
    account: Account,
    currency: Currency,
) -> Result<Vec<SubledgerRow>> {
    let number = number_part(account);
    let p = prefix(&[SUB, number.as_bytes(), currency.code().as_bytes()]);
    let mut out = Vec::new();
    for (k, bytes) in r.scan(&p)? {
        let parts = split(&k[p.len()..]);
        let (Some(t), Some(id)) = (parts.first(), parts.get(1)) else {
            return Err(malformed("ledger", "a subledger key without type and id"));
        };
        let balance = i64::from_be_bytes(
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| malformed("ledger", "a subledger balance is not 8 bytes"))?,
        );
        out.push(SubledgerRow { reference_type: text(t), reference_id: text(id), balance });
    }
    Ok(out)
}

/// `(type, id)` of a journal reference, for exports: `order`, `return`, `settlement`,
/// `payout`, `supplier` with the id; `stock` with `location/sku[/lot]`; `manual` with an empty id.
#[must_use]
pub fn reference_parts(r: &JournalRef) -> (&'static str, String) {
    match r {
        JournalRef::Order(id) => ("order", id.to_string()),
        JournalRef::Return(id) => ("return", id.to_string()),
        JournalRef::Settlement(id) => ("settlement", id.to_string()),
        JournalRef::Payout(id) => ("payout", id.to_string()),
        JournalRef::Supplier(id) => ("supplier", id.to_string()),
        JournalRef::Customer(id) => ("customer", id.to_string()),
        JournalRef::Stock(k) => {
            let mut id = format!("{}/{}", k.location, k.sku);
            if let Some(lot) = &k.lot {
                id.push('/');
                id.push_str(lot.as_str());
            }
            ("stock", id)
        }
        JournalRef::Manual => ("manual", String::new()),
    }
}

/// A processor settlement: one payout and its rows, or the rows not paid out yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorSettlement {
    /// The payout (None: the open rows since the last payout).
    pub payout: Option<PayoutGroup>,
    /// Currency.
    pub currency: Currency,
    /// First day (the first row's).
    pub period_start: Date,
    /// Last day (the payout's, or the last open row's).
    pub period_end: Date,
    /// Its rows in log order; a payout's own row last.
    pub rows: Vec<ProcessorRow>,
}

/// Processor rows of `currency` with seq in `[first, last]` (every remaining row when `last`
/// is `None`).
fn processor_rows(
    r: &ViewReader,
    code: &str,
    first: u64,
    last: Option<u64>,
) -> Result<Vec<ProcessorRow>> {
    const CHUNK: usize = 1024;
    let p = prefix(&[PROW, code.as_bytes()]);
    let mut after = first.checked_sub(1).map(|s| {
        let mut k = with_seq(prefix(&[PROW, code.as_bytes()]), s);
        k.push(0xFF);
        k
    });
    let mut out = Vec::new();
    loop {
        let chunk = r.scan_after(&p, after.as_deref(), CHUNK)?;
        let full = chunk.len() == CHUNK;
        for (k, v) in chunk {
            let row: ProcessorRow = r.decode(&v)?;
            if last.is_some_and(|l| row.event_seq > l) {
                return Ok(out);
            }
            out.push(row);
            after = Some(k);
        }
        if !full {
            return Ok(out);
        }
    }
}

/// Processor settlements whose period overlaps the UTC days `from..=to`, per currency (in
/// currency order) by deposit day; the open rows since the last payout come last, with no
/// payout.
pub fn processor_settlements(
    r: &ViewReader,
    from: Date,
    to: Date,
) -> Result<Vec<ProcessorSettlement>> {
    let mut codes: Vec<String> = Vec::new();
    let cp = prefix(&[PCUR]);
    for (k, _) in r.scan(&cp)? {
        codes.push(text(k.get(cp.len()..).unwrap_or_default()));
    }
    let mut out = Vec::new();
    for code in codes {
        let currency = Currency::parse(&code)
            .map_err(|_| malformed("ledger", format!("bad currency '{code}'")))?;
        let p = prefix(&[PAYOUT, code.as_bytes()]);
        let mut after = with_day(p.clone(), from.days().saturating_sub(1));
        after.push(0xFF);
        for (_, v) in r.scan_after(&p, Some(&after), usize::MAX)? {
            let g: PayoutGroup = r.decode(&v)?;
            if g.period_start > to.days() {
                continue;
            }
            let rows = processor_rows(r, &code, g.first_seq, Some(g.seq))?;
            out.push(ProcessorSettlement {
                currency,
                period_start: Date::from_days(g.period_start),
                period_end: Date::from_days(g.deposit_day),
                payout: Some(g),
                rows,
            });
        }
        if let Some(open) = r.get::<OpenGroup>(&key(&[POPEN, code.as_bytes()]))? {
            let rows = processor_rows(r, &code, open.first_seq, None)?;
            let last = rows.iter().map(|r| day_of(r.posted_at_ms)).max().unwrap_or(open.first_day);
            if open.first_day <= to.days() && last >= from.days() {
                out.push(ProcessorSettlement {
                    payout: None,
                    currency,
                    period_start: Date::from_days(open.first_day),
                    period_end: Date::from_days(last),
                    rows,
                });
            }
        }
    }
    Ok(out)
}
