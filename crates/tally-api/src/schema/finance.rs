//! Finance queries: the trial balance, settlements and the settlement export (DOMAIN.md §4),
//! every amount as exact decimal text with its currency (the `finance` view).

use super::args;
use super::values::{Amount, date_of, day_window, name_of, time_of};
use super::views::{AsOf, ViewMeta, read_view, view_error};
use crate::auth::FieldGuard;
use crate::state::AppState;
use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use tally_domain::ids::{ChannelId, SettlementId};
use tally_domain::money::Currency;
use tally_projections::finance::{
    self, ExportRow, ExportSelector, SettlementDetail, SettlementView,
};

const VIEW: &str = "finance";
const DAY_MS: i64 = 86_400_000;

/// One account in one currency.
#[derive(Debug, Clone, SimpleObject)]
pub struct TrialBalanceRow {
    /// The account (`processor_clearing`, `sales_tax_payable`, …).
    pub account: String,
    /// Its number in the chart.
    pub number: u16,
    /// ISO 4217 code.
    pub currency: String,
    /// Σ debits.
    pub debits: Amount,
    /// Σ credits (positive).
    pub credits: Amount,
    /// debits − credits (debit positive).
    pub net: Amount,
}

/// Σ net of one currency: zero when the books balance.
#[derive(Debug, Clone, SimpleObject)]
pub struct CurrencyTotal {
    /// ISO 4217 code.
    pub currency: String,
    /// Σ net over every account.
    pub net: Amount,
    /// Whether it is zero and the answer is `complete`: false whenever the finance view
    /// quarantined an event, whose postings are then missing from these sums.
    pub balanced: bool,
}

/// The trial balance.
#[derive(Debug, Clone, SimpleObject)]
pub struct TrialBalanceAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// Every account and currency with postings, in chart order.
    pub rows: Vec<TrialBalanceRow>,
    /// Per currency.
    pub totals: Vec<CurrencyTotal>,
    /// Whether every journal entry up to `meta.seq` is in these sums (no quarantined event,
    /// views not stopped). When false, no total says `balanced`.
    pub complete: bool,
    /// Why the answer is not complete; null when it is.
    pub incomplete_reason: Option<String>,
}

/// A settlement's totals.
#[derive(Debug, Clone, SimpleObject)]
pub struct SettlementTotals {
    /// Principal and shipping.
    pub gross: Amount,
    /// Commissions, fulfilment and storage fees (negative).
    pub fees: Amount,
    /// Tax and facilitator tax.
    pub tax: Amount,
    /// Refunds (negative).
    pub refunds: Amount,
    /// Reserve held (negative) or released (positive).
    pub reserve: Amount,
    /// Σ of every line: what the payout must equal.
    pub net: Amount,
    /// Number of lines.
    pub line_count: u32,
}

/// A settlement's payout.
#[derive(Debug, Clone, SimpleObject)]
pub struct SettlementPayout {
    /// Amount deposited.
    pub amount: Amount,
    /// Deposit date.
    pub deposit_date: NaiveDate,
    /// Seq of the event.
    pub event_seq: u64,
}

/// A settlement: header, totals and payout.
#[derive(Debug, Clone, SimpleObject)]
pub struct Settlement {
    /// Its id.
    pub id: String,
    /// The marketplace channel.
    pub channel: String,
    /// ISO 4217 code.
    pub currency: String,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day of the period.
    pub period_end: NaiveDate,
    /// Totals.
    pub totals: SettlementTotals,
    /// The payout, once recorded.
    pub payout: Option<SettlementPayout>,
}

impl From<&SettlementView> for Settlement {
    fn from(s: &SettlementView) -> Self {
        let c = s.currency;
        let t = &s.totals;
        Self {
            id: s.id.to_string(),
            channel: s.channel.to_string(),
            currency: c.code().to_owned(),
            period_start: date_of(s.period_start.days()),
            period_end: date_of(s.period_end.days()),
            totals: SettlementTotals {
                gross: Amount::new(t.gross, c),
                fees: Amount::new(t.fees, c),
                tax: Amount::new(t.tax, c),
                refunds: Amount::new(t.refunds, c),
                reserve: Amount::new(t.reserve, c),
                net: Amount::new(t.net, c),
                line_count: t.line_count,
            },
            payout: s.payout.as_ref().map(|p| SettlementPayout {
                amount: Amount::new(p.amount, c),
                deposit_date: date_of(p.deposit_date.days()),
                event_seq: p.event_seq,
            }),
        }
    }
}

/// A settlement with its money lines (as export rows), or null when unknown.
#[derive(Debug, Clone, SimpleObject)]
pub struct SettlementAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The settlement.
    pub settlement: Option<Settlement>,
    /// Its lines in line order (empty when unknown).
    pub lines: Vec<SettlementExportRow>,
}

/// Settlements of a channel.
#[derive(Debug, Clone, SimpleObject)]
pub struct SettlementsAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// By period start.
    pub settlements: Vec<Settlement>,
}

/// One row of the settlement export (DOMAIN.md §4): one money line.
#[derive(Debug, Clone, SimpleObject)]
pub struct SettlementExportRow {
    /// settlement_id.
    pub settlement_id: String,
    /// channel.
    pub channel: String,
    /// period_start.
    pub period_start: NaiveDate,
    /// period_end.
    pub period_end: NaiveDate,
    /// deposit_date, once paid out.
    pub deposit_date: Option<NaiveDate>,
    /// currency.
    pub currency: String,
    /// txn_type: `order`, `refund`, `service_fee`, `reserve` or `other`.
    pub txn_type: String,
    /// amount_type: the line kind (`principal`, `commission`, …).
    pub amount_type: String,
    /// amount_description.
    pub amount_description: String,
    /// order_id.
    pub order_id: Option<String>,
    /// sku.
    pub sku: Option<String>,
    /// quantity.
    pub quantity: u64,
    /// gross, decimal text.
    pub gross: String,
    /// fee, decimal text.
    pub fee: String,
    /// tax, decimal text.
    pub tax: String,
    /// net, decimal text.
    pub net: String,
    /// posted_at: business time of the journal entry.
    pub posted_at: Option<DateTime<Utc>>,
    /// gl_account.
    pub gl_account: Option<u16>,
    /// journal_entry_id.
    pub journal_entry_id: Option<String>,
    /// event_seq.
    pub event_seq: u64,
}

fn decimal(minor: i64, currency: Currency) -> String {
    Amount::new(minor, currency).amount
}

impl From<ExportRow> for SettlementExportRow {
    fn from(r: ExportRow) -> Self {
        let c = r.currency;
        Self {
            settlement_id: r.settlement_id,
            channel: r.channel,
            period_start: date_of(r.period_start.days()),
            period_end: date_of(r.period_end.days()),
            deposit_date: r.deposit_date.map(|d| date_of(d.days())),
            currency: c.code().to_owned(),
            txn_type: r.txn_type.to_owned(),
            amount_type: r.amount_type.to_owned(),
            amount_description: r.amount_description,
            order_id: r.order_id,
            sku: r.sku,
            quantity: r.quantity,
            gross: decimal(r.gross, c),
            fee: decimal(r.fee, c),
            tax: decimal(r.tax, c),
            net: decimal(r.net, c),
            posted_at: r.posted_at_ms.map(time_of),
            gl_account: r.gl_account,
            journal_entry_id: r.journal_entry_id,
            event_seq: r.event_seq,
        }
    }
}

/// Σ of the export's money columns in one currency.
#[derive(Debug, Clone, SimpleObject)]
pub struct ExportTotals {
    /// ISO 4217 code.
    pub currency: String,
    /// Σ gross.
    pub gross: String,
    /// Σ fee.
    pub fee: String,
    /// Σ tax.
    pub tax: String,
    /// Σ net.
    pub net: String,
    /// Rows.
    pub row_count: u64,
}

/// The settlement export of a channel over a window.
#[derive(Debug, Clone, SimpleObject)]
pub struct SettlementExportAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// One row per money line, settlement by settlement in line order.
    pub rows: Vec<SettlementExportRow>,
    /// Per currency.
    pub totals: Vec<ExportTotals>,
}

fn export_totals(rows: &[ExportRow]) -> Vec<ExportTotals> {
    let mut sums: std::collections::BTreeMap<Currency, (i64, i64, i64, i64, u64)> =
        std::collections::BTreeMap::new();
    for r in rows {
        let s = sums.entry(r.currency).or_default();
        *s = (s.0 + r.gross, s.1 + r.fee, s.2 + r.tax, s.3 + r.net, s.4 + 1);
    }
    sums.into_iter()
        .map(|(c, (gross, fee, tax, net, row_count))| ExportTotals {
            currency: c.code().to_owned(),
            gross: decimal(gross, c),
            fee: decimal(fee, c),
            tax: decimal(tax, c),
            net: decimal(net, c),
            row_count,
        })
        .collect()
}

fn detail_answer(
    meta: ViewMeta,
    detail: Option<SettlementDetail>,
    lines: Vec<ExportRow>,
) -> SettlementAnswer {
    match detail {
        None => SettlementAnswer { meta, settlement: None, lines: Vec::new() },
        Some(d) => SettlementAnswer {
            meta,
            settlement: Some(Settlement::from(&d.settlement)),
            lines: lines.into_iter().map(Into::into).collect(),
        },
    }
}

/// Finance queries.
#[derive(Debug, Default)]
pub struct FinanceQuery;

#[Object]
impl FinanceQuery {
    /// Every account and currency with postings, and Σ net per currency (zero when the books
    /// balance).
    #[graphql(guard = "FieldGuard(\"Query.trialBalance\")")]
    async fn trial_balance(
        &self,
        ctx: &Context<'_>,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<TrialBalanceAnswer> {
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let incomplete_reason = match (view.meta.quarantined.first_seq, &view.meta.views_stopped) {
            (Some(first), _) => Some(format!(
                "the finance view could not apply {} event(s), the first at seq {first} (see \
                 quarantined(view: \"finance\")); their postings are missing, so the books \
                 cannot be shown to balance",
                view.meta.quarantined.count
            )),
            (None, Some(stopped)) => Some(stopped.clone()),
            (None, None) => None,
        };
        let complete = incomplete_reason.is_none();
        let rows = finance::trial_balance(&view.reader).map_err(|e| view_error(VIEW, &e))?;
        let totals = finance::trial_balance_totals(&view.reader)
            .map_err(|e| view_error(VIEW, &e))?
            .into_iter()
            .map(|(c, net)| {
                Ok(CurrencyTotal {
                    currency: c.code().to_owned(),
                    net: Amount::wide(net, c)?,
                    balanced: complete && net == 0,
                })
            })
            .collect::<crate::error::ApiResult<Vec<_>>>()?;
        let rows = rows
            .into_iter()
            .map(|r| TrialBalanceRow {
                account: name_of(&r.account),
                number: r.number,
                currency: r.currency.code().to_owned(),
                debits: Amount::new(r.debits, r.currency),
                credits: Amount::new(r.credits, r.currency),
                net: Amount::new(r.net, r.currency),
            })
            .collect();
        Ok(TrialBalanceAnswer { meta: view.meta, rows, totals, complete, incomplete_reason })
    }

    /// One settlement with its lines.
    #[graphql(guard = "FieldGuard(\"Query.settlement\")")]
    async fn settlement(
        &self,
        ctx: &Context<'_>,
        id: String,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<SettlementAnswer> {
        args::id::<SettlementId>("id", &id)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let detail = finance::settlement(&view.reader, &id).map_err(|e| view_error(VIEW, &e))?;
        let lines = finance::export_rows(&view.reader, ExportSelector::Settlement(&id))
            .map_err(|e| view_error(VIEW, &e))?;
        Ok(detail_answer(view.meta, detail, lines))
    }

    /// Settlements of `channel` whose period overlaps `[from, to]`, by period start.
    #[graphql(guard = "FieldGuard(\"Query.settlements\")")]
    async fn settlements(
        &self,
        ctx: &Context<'_>,
        channel: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<SettlementsAnswer> {
        args::id::<ChannelId>("channel", &channel)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let found = finance::settlements(
            &view.reader,
            &channel,
            from.timestamp_millis(),
            to.timestamp_millis(),
        )
        .map_err(|e| view_error(VIEW, &e))?;
        Ok(SettlementsAnswer {
            meta: view.meta,
            settlements: found.iter().map(Settlement::from).collect(),
        })
    }

    /// The settlement export (DOMAIN.md §4) of every settlement of `channel` whose period
    /// overlaps the UTC days `fromDay..=toDay`.
    #[graphql(guard = "FieldGuard(\"Query.settlementExport\")")]
    async fn settlement_export(
        &self,
        ctx: &Context<'_>,
        channel: String,
        from_day: NaiveDate,
        to_day: NaiveDate,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<SettlementExportAnswer> {
        args::id::<ChannelId>("channel", &channel)?;
        let (from, to) = day_window(from_day, to_day)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let selector = ExportSelector::Channel {
            channel: &channel,
            from_ms: i64::from(from) * DAY_MS,
            to_ms: (i64::from(to) + 1) * DAY_MS - 1,
        };
        let rows =
            finance::export_rows(&view.reader, selector).map_err(|e| view_error(VIEW, &e))?;
        let totals = export_totals(&rows);
        Ok(SettlementExportAnswer {
            meta: view.meta,
            rows: rows.into_iter().map(Into::into).collect(),
            totals,
        })
    }
}
