//! Finance queries: the trial balance, settlements, their lines and the settlement export
//! (docs/domain.md §5), every amount as `MoneyV2` (the `finance` view). Trial balance rows and
//! settlements are the view's own structs; export rows are copies (the view's `ExportRow`
//! keeps minor units and a text transaction type, shaped here into `MoneyV2` and enums).

use super::args;
use super::connection::{self, Connection, PageArgs, Window};
use super::values::day_window;
use super::views::{AsOf, ViewMeta, read_view, view_error};
use crate::auth::FieldGuard;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use async_graphql::{Context, Enum, Object, SimpleObject};
use tally_domain::graphql::UnsignedInt64;
use tally_domain::ids::{ChannelId, SettlementId};
use tally_domain::money::{Currency, Money};
use tally_domain::settlement::SettlementLineKind;
use tally_domain::time::{DAY_MS, Date, Timestamp};
use tally_projections::finance::{
    self, ExportRow, ExportSelector, SettlementView, TrialBalanceRow,
};

const VIEW: &str = "finance";

/// Σ net of one currency: zero when the books balance.
#[derive(Debug, Clone, SimpleObject)]
pub struct CurrencyTotal {
    /// ISO 4217 currency.
    pub currency_code: Currency,
    /// Σ net over every account.
    pub net: Money,
    /// Whether it is zero and the answer is `complete`: false whenever the finance view
    /// quarantined an event, whose postings are then missing from these sums.
    pub balanced: bool,
}

/// The trial balance.
#[derive(Debug, Clone, SimpleObject)]
pub struct TrialBalanceAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// Every account and currency with postings, in chart order (at most the 17 accounts ×
    /// the currencies).
    pub rows: Vec<TrialBalanceRow>,
    /// Per currency.
    pub totals: Vec<CurrencyTotal>,
    /// Whether every journal entry up to `meta.seq` is in these sums (no quarantined event,
    /// views not stopped). When false, no total says `balanced`.
    pub complete: bool,
    /// Why the answer is not complete; null when it is.
    pub incomplete_reason: Option<String>,
}

/// A settlement, or null when unknown (its lines: `settlementLines`).
#[derive(Debug, Clone, SimpleObject)]
pub struct SettlementAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The settlement.
    pub settlement: Option<SettlementView>,
}

/// The export's transaction type of a line (docs/domain.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TxnType {
    /// A line about an order (principal, shipping, tax, fees of an order).
    Order,
    /// A refund.
    Refund,
    /// A service fee (storage).
    ServiceFee,
    /// A reserve held or released.
    Reserve,
    /// Anything else (fees without an order).
    Other,
}

impl TxnType {
    fn parse(text: &str) -> ApiResult<Self> {
        Ok(match text {
            "order" => TxnType::Order,
            "refund" => TxnType::Refund,
            "service_fee" => TxnType::ServiceFee,
            "reserve" => TxnType::Reserve,
            "other" => TxnType::Other,
            other => return Err(ApiError::internal("txn type", &other)),
        })
    }
}

/// One row of the settlement export (docs/domain.md §5): one money line.
#[derive(Debug, Clone, SimpleObject)]
pub struct SettlementExportRow {
    /// settlement_id.
    pub settlement_id: String,
    /// channel.
    pub channel: String,
    /// period_start.
    pub period_start: Date,
    /// period_end.
    pub period_end: Date,
    /// deposit_date, once paid out.
    pub deposit_date: Option<Date>,
    /// currency.
    pub currency_code: Currency,
    /// txn_type.
    pub txn_type: TxnType,
    /// amount_type: the line kind.
    pub amount_type: SettlementLineKind,
    /// amount_description.
    pub amount_description: String,
    /// order_id.
    pub order_id: Option<String>,
    /// sku.
    pub sku: Option<String>,
    /// quantity.
    pub quantity: UnsignedInt64,
    /// gross.
    pub gross: Money,
    /// fee.
    pub fee: Money,
    /// tax.
    pub tax: Money,
    /// net.
    pub net: Money,
    /// posted_at: business time of the journal entry.
    pub posted_at: Option<Timestamp>,
    /// gl_account: the chart number (four digits).
    pub gl_account: Option<u16>,
    /// journal_entry_id.
    pub journal_entry_id: Option<String>,
    /// event_seq.
    pub event_seq: UnsignedInt64,
}

impl SettlementExportRow {
    fn new(r: ExportRow) -> ApiResult<Self> {
        let c = r.currency;
        Ok(Self {
            txn_type: TxnType::parse(r.txn_type)?,
            settlement_id: r.settlement_id,
            channel: r.channel,
            period_start: r.period_start,
            period_end: r.period_end,
            deposit_date: r.deposit_date,
            currency_code: c,
            amount_type: r.kind,
            amount_description: r.amount_description,
            order_id: r.order_id,
            sku: r.sku,
            quantity: UnsignedInt64(r.quantity),
            gross: Money::from_minor(r.gross, c),
            fee: Money::from_minor(r.fee, c),
            tax: Money::from_minor(r.tax, c),
            net: Money::from_minor(r.net, c),
            posted_at: r.posted_at_ms.map(Timestamp::from_millis),
            gl_account: r.gl_account,
            journal_entry_id: r.journal_entry_id,
            event_seq: UnsignedInt64(r.event_seq),
        })
    }
}

/// Σ of the export's money columns in one currency.
#[derive(Debug, Clone, SimpleObject)]
pub struct ExportTotals {
    /// ISO 4217 currency.
    pub currency_code: Currency,
    /// Σ gross.
    pub gross: Money,
    /// Σ fee.
    pub fee: Money,
    /// Σ tax.
    pub tax: Money,
    /// Σ net.
    pub net: Money,
    /// Rows.
    pub row_count: UnsignedInt64,
}

/// The settlement export of a channel over a window: totals of every row, the rows paged.
#[derive(Debug, Clone)]
pub struct SettlementExportAnswer {
    totals: Vec<ExportTotals>,
    rows: Vec<ExportRow>,
    meta: ViewMeta,
}

/// The settlement export of a channel over a window: totals of every row, the rows paged.
#[Object]
impl SettlementExportAnswer {
    /// Per currency, over every row (every page).
    async fn totals(&self) -> &[ExportTotals] {
        &self.totals
    }

    /// One row per money line, settlement by settlement (by period start) in line order.
    #[graphql(complexity = "connection::complexity(first, last, child_complexity)")]
    async fn rows(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start or after `after` (default 50, at most the \
                          page size limit).")]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end or before `before` (at most the page size \
                          limit).")]
        last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<SettlementExportRow>> {
        let state = ctx.data_unchecked::<AppState>();
        let window =
            Window::new(state.config(), "export-row", &PageArgs::new(first, after, last, before))?;
        Ok(page_rows("export-row", &window, self.meta.clone(), self.rows.clone())?)
    }
}

fn wide(minor: i128, currency: Currency) -> ApiResult<Money> {
    let minor = i64::try_from(minor).map_err(|e| ApiError::internal("sum out of range", &e))?;
    Ok(Money::from_minor(minor, currency))
}

fn export_totals(rows: &[ExportRow]) -> ApiResult<Vec<ExportTotals>> {
    let mut sums: std::collections::BTreeMap<Currency, (i128, i128, i128, i128, u64)> =
        std::collections::BTreeMap::new();
    for r in rows {
        let s = sums.entry(r.currency).or_default();
        s.0 += i128::from(r.gross);
        s.1 += i128::from(r.fee);
        s.2 += i128::from(r.tax);
        s.3 += i128::from(r.net);
        s.4 += 1;
    }
    sums.into_iter()
        .map(|(c, (gross, fee, tax, net, row_count))| {
            Ok(ExportTotals {
                currency_code: c,
                gross: wide(gross, c)?,
                fee: wide(fee, c)?,
                tax: wide(tax, c)?,
                net: wide(net, c)?,
                row_count: UnsignedInt64(row_count),
            })
        })
        .collect()
}

/// Cursor key of an export row: period start, settlement, line number.
fn row_key(r: &ExportRow) -> Vec<String> {
    vec![
        format!("{:011}", i64::from(r.period_start.days()) + i64::from(i32::MAX)),
        r.settlement_id.clone(),
        format!("{:010}", r.line_no),
    ]
}

fn page_rows(
    kind: &str,
    window: &Window<Vec<String>>,
    meta: ViewMeta,
    rows: Vec<ExportRow>,
) -> ApiResult<Connection<SettlementExportRow>> {
    let items = rows
        .into_iter()
        .map(|r| Ok((row_key(&r), SettlementExportRow::new(r)?)))
        .collect::<ApiResult<Vec<_>>>()?;
    connection::paginate_sorted(kind, window, meta, items)
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
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
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
                    currency_code: c,
                    net: wide(net, c)?,
                    balanced: complete && net == 0,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(TrialBalanceAnswer { meta: view.meta, rows, totals, complete, incomplete_reason })
    }

    /// One settlement by its ledger id.
    #[graphql(guard = "FieldGuard(\"Query.settlement\")")]
    async fn settlement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The settlement's ledger id.")] id: String,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<SettlementAnswer> {
        args::id::<SettlementId>("id", &id)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let detail = finance::settlement(&view.reader, &id).map_err(|e| view_error(VIEW, &e))?;
        Ok(SettlementAnswer { meta: view.meta, settlement: detail.map(|d| d.settlement) })
    }

    /// The money lines of one settlement in line order, as export rows, paged (an unknown
    /// settlement has none).
    #[graphql(
        guard = "FieldGuard(\"Query.settlementLines\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments, reason = "the Relay arguments")]
    async fn settlement_lines(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The settlement's ledger id.")] id: String,
        #[graphql(
            desc = "Page size from the start or after `after` (default 50, at most the page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(
            desc = "Page size from the end or before `before` (at most the page size limit)."
        )]
        last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<Connection<SettlementExportRow>> {
        let state = ctx.data_unchecked::<AppState>();
        args::id::<SettlementId>("id", &id)?;
        let window = Window::new(
            state.config(),
            "settlement-line",
            &PageArgs::new(first, after, last, before),
        )?;
        let view = read_view(state, VIEW, as_of).await?;
        let rows = finance::export_rows(&view.reader, ExportSelector::Settlement(&id))
            .map_err(|e| view_error(VIEW, &e))?;
        Ok(page_rows("settlement-line", &window, view.meta, rows)?)
    }

    /// Settlements of `channel` whose period overlaps `[from, to]`, by period start, paged.
    #[graphql(
        guard = "FieldGuard(\"Query.settlements\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments, reason = "the Relay arguments")]
    async fn settlements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The marketplace channel.")] channel: String,
        #[graphql(desc = "Start of the window.")] from: Timestamp,
        #[graphql(desc = "End of the window (inclusive).")] to: Timestamp,
        #[graphql(
            desc = "Page size from the start or after `after` (default 50, at most the page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(
            desc = "Page size from the end or before `before` (at most the page size limit)."
        )]
        last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<Connection<SettlementView>> {
        let state = ctx.data_unchecked::<AppState>();
        args::id::<ChannelId>("channel", &channel)?;
        let window =
            Window::new(state.config(), "settlement", &PageArgs::new(first, after, last, before))?;
        let view = read_view(state, VIEW, as_of).await?;
        let found = finance::settlements(&view.reader, &channel, from.millis(), to.millis())
            .map_err(|e| view_error(VIEW, &e))?;
        let items = found
            .into_iter()
            .map(|s| {
                let start = i64::from(s.period_start.days()) + i64::from(i32::MAX);
                (vec![format!("{start:011}"), s.id.to_string()], s)
            })
            .collect();
        Ok(connection::paginate_sorted("settlement", &window, view.meta, items)?)
    }

    /// The settlement export (docs/domain.md §5) of every settlement of `channel` whose period
    /// overlaps the UTC days `fromDay..=toDay`: totals over every row, the rows paged.
    #[graphql(guard = "FieldGuard(\"Query.settlementExport\")")]
    async fn settlement_export(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The marketplace channel.")] channel: String,
        #[graphql(desc = "First UTC day of the window.")] from_day: Date,
        #[graphql(desc = "Last UTC day of the window (inclusive).")] to_day: Date,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<SettlementExportAnswer> {
        let state = ctx.data_unchecked::<AppState>();
        args::id::<ChannelId>("channel", &channel)?;
        let (from, to) = day_window(from_day, to_day)?;
        let view = read_view(state, VIEW, as_of).await?;
        let selector = ExportSelector::Channel {
            channel: &channel,
            from_ms: i64::from(from) * DAY_MS,
            to_ms: (i64::from(to) + 1) * DAY_MS - 1,
        };
        let rows =
            finance::export_rows(&view.reader, selector).map_err(|e| view_error(VIEW, &e))?;
        let totals = export_totals(&rows)?;
        Ok(SettlementExportAnswer { totals, rows, meta: view.meta })
    }
}
