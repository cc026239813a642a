//! Purchasing and valuation queries (the `purchasing` view, docs/domain.md §5): goods received
//! not invoiced (Σ = 2050), payables per supplier (Σ = 2000) and inventory valuation per SKU
//! (Σ = 1200). Each answer gives its totals per currency over every row, and the rows paged.

use std::collections::BTreeMap;

use super::connection::{self, Connection, PageArgs, Window};
use super::views::{AsOf, ViewMeta, read_view, view_error};
use crate::auth::FieldGuard;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use async_graphql::{Context, Object, SimpleObject};
use tally_domain::graphql::UnsignedInt64;
use tally_domain::money::{Currency, Money};
use tally_domain::time::{Date, Timestamp};
use tally_projections::purchasing::{self, GrniRow, InvoiceView, Payables};

const VIEW: &str = "purchasing";

/// An amount per currency.
#[derive(Debug, Clone, SimpleObject)]
pub struct CurrencyAmount {
    /// ISO 4217 currency.
    pub currency_code: Currency,
    /// The amount.
    pub amount: Money,
}

fn totals(sums: BTreeMap<Currency, i128>) -> ApiResult<Vec<CurrencyAmount>> {
    sums.into_iter()
        .map(|(c, minor)| {
            let minor =
                i64::try_from(minor).map_err(|e| ApiError::internal("sum out of range", &e))?;
            Ok(CurrencyAmount { currency_code: c, amount: Money::from_minor(minor, c) })
        })
        .collect()
}

/// One row of goods received not invoiced: a purchase-order line, or a SKU's receipts without
/// a purchase order (`purchaseOrder` and `line` null).
#[derive(Debug, Clone, SimpleObject)]
pub struct GrniLine {
    /// The purchase order; null for receipts without one.
    pub purchase_order: Option<String>,
    /// Its line (0-based); null for receipts without a purchase order.
    pub line: Option<u32>,
    /// The supplier; null for receipts without a purchase order.
    pub supplier: Option<String>,
    /// The SKU.
    pub sku: String,
    /// Units ordered (0 without a purchase order).
    pub ordered: UnsignedInt64,
    /// Units received.
    pub received: UnsignedInt64,
    /// Units billed by supplier invoices.
    pub invoiced: UnsignedInt64,
    /// Units received and not yet matched by an invoice.
    pub open_qty: UnsignedInt64,
    /// Their value at receipt cost: this row's share of the 2050 balance (as a credit).
    pub open_value: Money,
}

impl GrniLine {
    fn new(r: GrniRow) -> Self {
        Self {
            purchase_order: r.purchase_order.map(|p| p.to_string()),
            line: r.line,
            supplier: r.supplier.map(|s| s.to_string()),
            sku: r.sku.to_string(),
            ordered: UnsignedInt64(r.ordered),
            received: UnsignedInt64(r.grni.received),
            invoiced: UnsignedInt64(r.invoiced),
            open_qty: UnsignedInt64(r.grni.open_qty()),
            open_value: Money::from_minor(r.grni.open_value(), r.currency),
        }
    }

    fn key(&self) -> Vec<String> {
        // Purchase-order lines first (by order, line), then receipts without one (by SKU).
        match (&self.purchase_order, self.line) {
            (Some(po), Some(n)) => vec!["0".to_owned(), po.clone(), format!("{n:010}")],
            _ => vec!["1".to_owned(), self.sku.clone()],
        }
    }
}

/// Goods received not invoiced.
#[derive(Debug, Clone)]
pub struct GrniAnswer {
    meta: ViewMeta,
    totals: Vec<CurrencyAmount>,
    lines: Vec<GrniLine>,
}

/// Goods received not invoiced: Σ open value per currency (= the 2050 balance as a credit)
/// and the open lines, paged.
#[Object]
impl GrniAnswer {
    /// What the answer reflects.
    async fn meta(&self) -> &ViewMeta {
        &self.meta
    }

    /// Σ open value per currency over every line (every page).
    async fn totals(&self) -> &[CurrencyAmount] {
        &self.totals
    }

    /// Lines with units or value still open: purchase-order lines by order and line, then
    /// receipts without a purchase order by SKU.
    #[graphql(complexity = "connection::complexity(first, last, child_complexity)")]
    async fn lines(
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
    ) -> async_graphql::Result<Connection<GrniLine>> {
        let state = ctx.data_unchecked::<AppState>();
        let window =
            Window::new(state.config(), "grni-line", &PageArgs::new(first, after, last, before))?;
        let items = self.lines.iter().map(|l| (l.key(), l.clone())).collect();
        Ok(connection::paginate_sorted("grni-line", &window, self.meta.clone(), items)?)
    }
}

/// A supplier invoice with money still owed.
#[derive(Debug, Clone, SimpleObject)]
pub struct SupplierInvoice {
    /// The supplier's invoice number.
    pub invoice: String,
    /// The purchase order, if any.
    pub purchase_order: Option<String>,
    /// Total billed.
    pub total: Money,
    /// Paid so far.
    pub paid: Money,
    /// Still owed.
    pub open: Money,
    /// Due date (recorded + the supplier's payment terms).
    pub due: Date,
    /// When it was recorded (business time).
    pub recorded_at: Timestamp,
}

impl SupplierInvoice {
    fn new(v: &InvoiceView) -> Self {
        let c = v.total.currency();
        Self {
            invoice: v.invoice.to_string(),
            purchase_order: v.purchase_order.as_ref().map(ToString::to_string),
            total: v.total,
            paid: Money::from_minor(v.paid_minor, c),
            open: Money::from_minor(v.open_minor(), c),
            due: v.due,
            recorded_at: Timestamp::from_millis(v.recorded_at_ms),
        }
    }
}

/// What is owed to one supplier.
#[derive(Debug, Clone, SimpleObject)]
pub struct SupplierPayables {
    /// The supplier's id.
    pub supplier: String,
    /// Its name.
    pub name: String,
    /// Its currency.
    pub currency_code: Currency,
    /// Payment terms in days (net N).
    pub payment_terms_days: u32,
    /// Σ invoices recorded.
    pub invoiced: Money,
    /// Σ payments made.
    pub paid: Money,
    /// Paid and not applied to an invoice.
    pub unapplied_credit: Money,
    /// Owed: Σ open invoices − unapplied credit (this supplier's share of the 2000 balance,
    /// as a credit).
    pub balance: Money,
    /// Invoices with money still owed, by invoice number.
    pub open_invoices: Vec<SupplierInvoice>,
}

impl SupplierPayables {
    fn new(p: &Payables) -> Self {
        let s = &p.supplier.supplier;
        let c = s.currency;
        Self {
            supplier: s.id.to_string(),
            name: s.name.clone(),
            currency_code: c,
            payment_terms_days: s.payment_terms_days,
            invoiced: Money::from_minor(p.supplier.invoiced_minor, c),
            paid: Money::from_minor(p.supplier.paid_minor, c),
            unapplied_credit: Money::from_minor(p.supplier.unapplied_minor, c),
            balance: Money::from_minor(p.balance_minor(), c),
            open_invoices: p.open_invoices.iter().map(SupplierInvoice::new).collect(),
        }
    }
}

/// Payables per supplier.
#[derive(Debug, Clone)]
pub struct PayablesAnswer {
    meta: ViewMeta,
    totals: Vec<CurrencyAmount>,
    suppliers: Vec<SupplierPayables>,
}

/// Open payables: Σ balance per currency (= the 2000 balance as a credit) and each
/// supplier's, paged.
#[Object]
impl PayablesAnswer {
    /// What the answer reflects.
    async fn meta(&self) -> &ViewMeta {
        &self.meta
    }

    /// Σ supplier balances per currency over every supplier (every page).
    async fn totals(&self) -> &[CurrencyAmount] {
        &self.totals
    }

    /// Every supplier, by id.
    #[graphql(complexity = "connection::complexity(first, last, child_complexity)")]
    async fn suppliers(
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
    ) -> async_graphql::Result<Connection<SupplierPayables>> {
        let state = ctx.data_unchecked::<AppState>();
        let window =
            Window::new(state.config(), "payables", &PageArgs::new(first, after, last, before))?;
        let items = self.suppliers.iter().map(|s| (s.supplier.clone(), s.clone())).collect();
        Ok(connection::paginate_sorted("payables", &window, self.meta.clone(), items)?)
    }
}

/// One SKU's valuation: moving weighted average cost (docs/domain.md §5).
#[derive(Debug, Clone, SimpleObject)]
pub struct SkuValuation {
    /// The SKU.
    pub sku: String,
    /// Units owned: on hand (except returned units awaiting inspection) plus in transit.
    pub units: UnsignedInt64,
    /// Their carrying value: this SKU's share of the 1200 balance.
    pub value: Money,
    /// value ÷ units, rounded half-even to the minor unit (postings use the exact ratio).
    pub average_cost: Money,
}

/// Inventory valuation.
#[derive(Debug, Clone)]
pub struct ValuationAnswer {
    meta: ViewMeta,
    totals: Vec<CurrencyAmount>,
    skus: Vec<SkuValuation>,
}

/// Inventory valuation: Σ value per currency (= the 1200 balance) and each SKU's, paged.
#[Object]
impl ValuationAnswer {
    /// What the answer reflects.
    async fn meta(&self) -> &ViewMeta {
        &self.meta
    }

    /// Σ value per currency over every SKU (every page).
    async fn totals(&self) -> &[CurrencyAmount] {
        &self.totals
    }

    /// Every SKU holding units, by SKU.
    #[graphql(complexity = "connection::complexity(first, last, child_complexity)")]
    async fn skus(
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
    ) -> async_graphql::Result<Connection<SkuValuation>> {
        let state = ctx.data_unchecked::<AppState>();
        let window =
            Window::new(state.config(), "valuation", &PageArgs::new(first, after, last, before))?;
        let items = self.skus.iter().map(|s| (s.sku.clone(), s.clone())).collect();
        Ok(connection::paginate_sorted("valuation", &window, self.meta.clone(), items)?)
    }
}

/// Purchasing and valuation queries.
#[derive(Debug, Default)]
pub struct PurchasingQuery;

#[Object]
impl PurchasingQuery {
    /// Goods received not invoiced, per purchase-order line and per SKU received without a
    /// purchase order; the totals equal the 2050 balance (as a credit).
    #[graphql(guard = "FieldGuard(\"Query.goodsReceivedNotInvoiced\")")]
    async fn goods_received_not_invoiced(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<GrniAnswer> {
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let rows = purchasing::grni(&view.reader).map_err(|e| view_error(VIEW, &e))?;
        let mut sums: BTreeMap<Currency, i128> = BTreeMap::new();
        for r in &rows {
            *sums.entry(r.currency).or_insert(0) += i128::from(r.grni.open_value());
        }
        Ok(GrniAnswer {
            meta: view.meta,
            totals: totals(sums)?,
            lines: rows.into_iter().map(GrniLine::new).collect(),
        })
    }

    /// Open payables per supplier (invoices, payments, unapplied credit, balance); the totals
    /// equal the 2000 balance (as a credit).
    #[graphql(guard = "FieldGuard(\"Query.payables\")")]
    async fn payables(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<PayablesAnswer> {
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let rows = purchasing::payables(&view.reader).map_err(|e| view_error(VIEW, &e))?;
        let mut sums: BTreeMap<Currency, i128> = BTreeMap::new();
        for p in &rows {
            *sums.entry(p.supplier.supplier.currency).or_insert(0) += i128::from(p.balance_minor());
        }
        Ok(PayablesAnswer {
            meta: view.meta,
            totals: totals(sums)?,
            suppliers: rows.iter().map(SupplierPayables::new).collect(),
        })
    }

    /// Inventory valuation per SKU at moving weighted average cost; the totals equal the 1200
    /// balance.
    #[graphql(guard = "FieldGuard(\"Query.inventoryValuation\")")]
    async fn inventory_valuation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<ValuationAnswer> {
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let pools = purchasing::valuation(&view.reader).map_err(|e| view_error(VIEW, &e))?;
        let mut sums: BTreeMap<Currency, i128> = BTreeMap::new();
        let mut skus = Vec::with_capacity(pools.len());
        for (sku, pool) in pools {
            let c = pool.value.currency();
            *sums.entry(c).or_insert(0) += i128::from(pool.value.minor());
            skus.push(SkuValuation {
                sku: sku.to_string(),
                units: UnsignedInt64(pool.units),
                value: pool.value,
                average_cost: pool.average().unwrap_or(Money::zero(c)),
            });
        }
        Ok(ValuationAnswer { meta: view.meta, totals: totals(sums)?, skus })
    }
}
