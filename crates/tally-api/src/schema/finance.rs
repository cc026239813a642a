//! Finance queries: settlements, their lines and the settlement export
//! (docs/domain.md §5), every amount as `MoneyV2` (the `finance` view; the trial balance is
//! the `ledger` view's, in `ledger.rs`). Settlements are the view's own structs; export rows are copies (the view's `ExportRow`
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
use tally_domain::journal::Account;
use tally_domain::money::{Currency, Money};
use tally_domain::settlement::SettlementLineKind;
use tally_domain::time::{DAY_MS, Date, Timestamp};
use tally_projections::finance::{self, ExportRow, ExportSelector, SettlementView};
use tally_projections::ledger::{self, ProcessorRow, ProcessorSettlement};

const VIEW: &str = "finance";
const LEDGER_VIEW: &str = "ledger";

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
    /// Anything else (fees without an order; a processor posting no money event explains).
    Other,
    /// A processor charge: a payment captured into processor clearing.
    Charge,
    /// A processor fee.
    Fee,
    /// A processor payout to the bank (the row that closes its settlement).
    Payout,
}

impl TxnType {
    fn parse(text: &str) -> ApiResult<Self> {
        Ok(match text {
            "order" => TxnType::Order,
            "refund" => TxnType::Refund,
            "service_fee" => TxnType::ServiceFee,
            "reserve" => TxnType::Reserve,
            "other" => TxnType::Other,
            "charge" => TxnType::Charge,
            "fee" => TxnType::Fee,
            "payout" => TxnType::Payout,
            other => return Err(ApiError::internal("txn type", &other)),
        })
    }
}

/// The export's amount type of a line: a marketplace line's kind, or what a processor row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum AmountType {
    /// Item price collected from the customer.
    Principal,
    /// Shipping collected from the customer.
    Shipping,
    /// Sales tax collected for us.
    Tax,
    /// Marketplace-facilitator tax.
    FacilitatorTax,
    /// Marketplace commission.
    Commission,
    /// Fulfilment fee.
    FulfillmentFee,
    /// Storage fee.
    StorageFee,
    /// Refund to a customer (marketplace line, or processor refund of invoiced lines).
    Refund,
    /// Reserve held or released.
    Reserve,
    /// A seller-funded promotion (contra revenue 4200).
    Promotion,
    /// The marketplace's refund administration fee.
    RefundCommission,
    /// The marketplace's subscription fee.
    Subscription,
    /// Advertising charged against the settlement.
    Advertising,
    /// Inventory reimbursed by the marketplace.
    Reimbursement,
    /// An unknown line in 9999 suspense.
    Suspense,
    /// Processor: a payment captured.
    Payment,
    /// Processor: its fee.
    ProcessorFee,
    /// Processor: customer money held for an order (not yet invoiced) paid back.
    DepositRefund,
    /// Processor: the payout to the bank.
    Payout,
    /// Processor: any other posting on processor clearing (a manual entry).
    Adjustment,
}

impl AmountType {
    fn of_kind(kind: SettlementLineKind) -> Self {
        use SettlementLineKind as K;
        match kind {
            K::Principal => Self::Principal,
            K::Shipping => Self::Shipping,
            K::Tax => Self::Tax,
            K::FacilitatorTax => Self::FacilitatorTax,
            K::Commission => Self::Commission,
            K::FulfillmentFee => Self::FulfillmentFee,
            K::StorageFee => Self::StorageFee,
            K::Refund => Self::Refund,
            K::Reserve => Self::Reserve,
            K::Promotion => Self::Promotion,
            K::RefundCommission => Self::RefundCommission,
            K::Subscription => Self::Subscription,
            K::Advertising => Self::Advertising,
            K::Reimbursement => Self::Reimbursement,
            K::Suspense => Self::Suspense,
        }
    }

    fn parse_processor(text: &str) -> ApiResult<Self> {
        Ok(match text {
            "payment" => Self::Payment,
            "processor_fee" => Self::ProcessorFee,
            "refund" => Self::Refund,
            "deposit_refund" => Self::DepositRefund,
            "payout" => Self::Payout,
            "adjustment" => Self::Adjustment,
            other => return Err(ApiError::internal("amount type", &other)),
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
    /// amount_type: a marketplace line's kind, or what a processor row is.
    pub amount_type: AmountType,
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
            amount_type: AmountType::of_kind(r.kind),
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

    /// A processor row of `s` (docs/domain.md §5): `settlement_id` is the payout (empty while
    /// not paid out), `gl_account` 1100.
    fn processor(s: &ProcessorSettlement, r: &ProcessorRow) -> ApiResult<Self> {
        let c = r.currency;
        Ok(Self {
            settlement_id: s.payout.as_ref().map(|p| p.payout.clone()).unwrap_or_default(),
            channel: r.channel.clone().unwrap_or_default(),
            period_start: s.period_start,
            period_end: s.period_end,
            deposit_date: s.payout.as_ref().map(|p| Date::from_days(p.deposit_day)),
            currency_code: c,
            txn_type: TxnType::parse(&r.txn_type)?,
            amount_type: AmountType::parse_processor(&r.amount_type)?,
            amount_description: r.description.clone(),
            order_id: r.order.clone(),
            sku: r.sku.clone(),
            quantity: UnsignedInt64(r.qty),
            gross: Money::from_minor(r.gross, c),
            fee: Money::from_minor(r.fee, c),
            tax: Money::from_minor(r.tax, c),
            net: Money::from_minor(r.net, c),
            posted_at: Some(Timestamp::from_millis(r.posted_at_ms)),
            gl_account: Some(Account::ProcessorClearing.number()),
            journal_entry_id: Some(r.journal_entry_id.clone()),
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
    rows: Vec<(Vec<String>, SettlementExportRow)>,
    meta: ViewMeta,
}

/// The settlement export of a channel over a window: totals of every row, the rows paged.
#[Object]
impl SettlementExportAnswer {
    /// Per currency, over every row (every page).
    async fn totals(&self) -> &[ExportTotals] {
        &self.totals
    }

    /// One row per money line: marketplace settlements by period start, each in line order;
    /// processor settlements by currency and deposit day (the open rows last), each in log
    /// order.
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
        Ok(connection::paginate_sorted(
            "export-row",
            &window,
            self.meta.clone(),
            self.rows.clone(),
        )?)
    }
}

fn wide(minor: i128, currency: Currency) -> ApiResult<Money> {
    let minor = i64::try_from(minor).map_err(|e| ApiError::internal("sum out of range", &e))?;
    Ok(Money::from_minor(minor, currency))
}

fn export_totals(rows: &[(Vec<String>, SettlementExportRow)]) -> ApiResult<Vec<ExportTotals>> {
    let mut sums: std::collections::BTreeMap<Currency, (i128, i128, i128, i128, u64)> =
        std::collections::BTreeMap::new();
    for (_, r) in rows {
        let s = sums.entry(r.currency_code).or_default();
        s.0 += i128::from(r.gross.minor());
        s.1 += i128::from(r.fee.minor());
        s.2 += i128::from(r.tax.minor());
        s.3 += i128::from(r.net.minor());
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

fn keyed(rows: Vec<ExportRow>) -> ApiResult<Vec<(Vec<String>, SettlementExportRow)>> {
    rows.into_iter().map(|r| Ok((row_key(&r), SettlementExportRow::new(r)?))).collect()
}

/// Export rows of processor settlements with their cursor keys: currency, deposit day (the
/// open rows last), seq, posting index.
fn keyed_processor(
    settlements: &[ProcessorSettlement],
) -> ApiResult<Vec<(Vec<String>, SettlementExportRow)>> {
    let mut out = Vec::new();
    for s in settlements {
        let day = s
            .payout
            .as_ref()
            .map_or(i64::from(u32::MAX), |p| i64::from(p.deposit_day) + i64::from(i32::MAX));
        for r in &s.rows {
            let k = vec![
                s.currency.code().to_owned(),
                format!("{day:011}"),
                format!("{:020}", r.event_seq),
                format!("{:010}", r.index),
            ];
            out.push((k, SettlementExportRow::processor(s, r)?));
        }
    }
    Ok(out)
}

fn page_rows(
    kind: &str,
    window: &Window<Vec<String>>,
    meta: ViewMeta,
    rows: Vec<ExportRow>,
) -> ApiResult<Connection<SettlementExportRow>> {
    connection::paginate_sorted(kind, window, meta, keyed(rows)?)
}

/// Finance queries.
#[derive(Debug, Default)]
pub struct FinanceQuery;

#[Object]
impl FinanceQuery {
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

    /// The settlement export (docs/domain.md §5) over the UTC days `fromDay..=toDay`: of every
    /// settlement of the marketplace `channel` whose period overlaps them, or with
    /// `processor: true` of every processor settlement (a payout and the rows on 1100
    /// processor clearing since the previous payout in its currency; the rows not paid out yet
    /// form one more with an empty `settlementId`) whose period overlaps them. Totals over every
    /// row, the rows paged.
    #[graphql(guard = "FieldGuard(\"Query.settlementExport\")")]
    async fn settlement_export(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The marketplace channel (not with `processor`).")] channel: Option<
            String,
        >,
        #[graphql(desc = "Export the payment processor's settlements instead of a \
                          marketplace's (default false).")]
        processor: Option<bool>,
        #[graphql(desc = "First UTC day of the window.")] from_day: Date,
        #[graphql(desc = "Last UTC day of the window (inclusive).")] to_day: Date,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<SettlementExportAnswer> {
        let state = ctx.data_unchecked::<AppState>();
        let (from, to) = day_window(from_day, to_day)?;
        let processor = processor.unwrap_or(false);
        let rows = match (channel, processor) {
            (Some(channel), false) => {
                args::id::<ChannelId>("channel", &channel)?;
                let view = read_view(state, VIEW, as_of).await?;
                let selector = ExportSelector::Channel {
                    channel: &channel,
                    from_ms: i64::from(from) * DAY_MS,
                    to_ms: (i64::from(to) + 1) * DAY_MS - 1,
                };
                let rows = finance::export_rows(&view.reader, selector)
                    .map_err(|e| view_error(VIEW, &e))?;
                (keyed(rows)?, view.meta)
            }
            (None, true) => {
                let view = read_view(state, LEDGER_VIEW, as_of).await?;
                let found = ledger::processor_settlements(
                    &view.reader,
                    Date::from_days(from),
                    Date::from_days(to),
                )
                .map_err(|e| view_error(LEDGER_VIEW, &e))?;
                (keyed_processor(&found)?, view.meta)
            }
            _ => {
                return Err(ApiError::invalid(
                    "give either channel (a marketplace) or processor: true",
                )
                .into());
            }
        };
        let (rows, meta) = rows;
        let totals = export_totals(&rows)?;
        Ok(SettlementExportAnswer { totals, rows, meta })
    }
}
