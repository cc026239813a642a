//! Receivables queries (the `receivables` view): AR aging by days past due as of a business
//! date, per debtor and per currency (Σ equals the 1300 balance), and the open invoices, paged.

use super::args;
use super::connection::{self, Connection, PageArgs, Window};
use super::views::{AsOf, ViewMeta, read_view, view_error};
use crate::auth::FieldGuard;
use crate::state::AppState;
use async_graphql::{Context, Object, SimpleObject};
use tally_domain::graphql::UnsignedInt64;
use tally_domain::ids::CustomerId;
use tally_domain::money::{Currency, Money};
use tally_domain::time::{Date, Timestamp};
use tally_projections::receivables::{self, Buckets, InvoiceRec, days_past_due};

const VIEW: &str = "receivables";

/// Open amounts by days past due.
#[derive(Debug, Clone, SimpleObject)]
pub struct AgingBuckets {
    /// Not yet due (due today or later).
    pub current: Money,
    /// 1 to 30 days past due.
    #[graphql(name = "days1To30")]
    pub days_1_30: Money,
    /// 31 to 60 days past due.
    #[graphql(name = "days31To60")]
    pub days_31_60: Money,
    /// 61 to 90 days past due.
    #[graphql(name = "days61To90")]
    pub days_61_90: Money,
    /// More than 90 days past due.
    #[graphql(name = "over90")]
    pub over_90: Money,
    /// Σ of the buckets: what is open.
    pub total: Money,
}

impl AgingBuckets {
    fn new(b: &Buckets, c: Currency) -> Self {
        let m = |minor| Money::from_minor(minor, c);
        Self {
            current: m(b.current),
            days_1_30: m(b.days_1_30),
            days_31_60: m(b.days_31_60),
            days_61_90: m(b.days_61_90),
            over_90: m(b.over_90),
            total: m(b.total()),
        }
    }
}

/// One debtor's receivables in one currency.
#[derive(Debug, Clone, SimpleObject)]
pub struct DebtorAging {
    /// The customer; null for consumer orders shipped before they were paid (due at shipment).
    pub customer_id: Option<String>,
    /// The customer's name.
    pub name: Option<String>,
    /// ISO 4217 currency.
    pub currency_code: Currency,
    /// Payment terms `net N`, in days.
    pub terms_days: Option<u32>,
    /// Credit limit on open receivables.
    pub credit_limit: Option<Money>,
    /// Unapplied credit (overpayments, credit past the open amount), held in 2100.
    pub unapplied_credit: Money,
    /// Invoices with an amount open.
    pub open_invoices: UnsignedInt64,
    /// Open amounts by days past due.
    pub buckets: AgingBuckets,
}

/// Aging of every debtor in one currency.
#[derive(Debug, Clone, SimpleObject)]
pub struct CurrencyAging {
    /// ISO 4217 currency.
    pub currency_code: Currency,
    /// Σ over debtors: `total` equals the 1300 accounts receivable balance.
    pub buckets: AgingBuckets,
}

/// AR aging as of a business date.
#[derive(Debug, Clone, SimpleObject)]
pub struct ReceivablesAgingAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The business date days past due are counted to.
    pub as_of_day: Date,
    /// Customers by id, then consumer orders; each with open invoices or unapplied credit.
    pub debtors: Vec<DebtorAging>,
    /// Per currency.
    pub totals: Vec<CurrencyAging>,
}

/// An invoice with an amount open in 1300.
#[derive(Debug, Clone, SimpleObject)]
pub struct OpenInvoice {
    /// The invoice (`{order}-inv-{n}`).
    pub invoice_id: String,
    /// Its order.
    pub order_id: String,
    /// The customer owing it; null for a consumer order.
    pub customer_id: Option<String>,
    /// Issue (shipment) date.
    pub issued_on: Date,
    /// Due date (issue date + the customer's terms).
    pub due_on: Date,
    /// Days from the due date to `asOfDay` (negative: not yet due).
    pub days_past_due: i32,
    /// Amount debited to 1300 at issue.
    pub amount: Money,
    /// Amount still open.
    pub open: Money,
}

impl OpenInvoice {
    fn new(r: InvoiceRec, as_of: Date) -> Self {
        Self {
            days_past_due: days_past_due(as_of, r.due_on),
            amount: Money::from_minor(r.amount_minor, r.currency),
            open: Money::from_minor(r.open_minor, r.currency),
            invoice_id: r.invoice,
            order_id: r.order,
            customer_id: r.customer,
            issued_on: r.issued_on,
            due_on: r.due_on,
        }
    }
}

fn today() -> Date {
    Timestamp::from_millis(chrono::Utc::now().timestamp_millis()).date()
}

/// Receivables queries.
#[derive(Debug, Default)]
pub struct ReceivablesQuery;

#[Object]
impl ReceivablesQuery {
    /// AR aging by days past due (current, 1–30, 31–60, 61–90, > 90) as of a business date,
    /// per debtor and per currency; each currency's total equals its 1300 balance.
    #[graphql(guard = "FieldGuard(\"Query.receivablesAging\")")]
    async fn receivables_aging(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The business date days past due are counted to (default: today, UTC).")]
        as_of_day: Option<Date>,
        #[graphql(desc = "Only this customer.")] customer: Option<String>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<ReceivablesAgingAnswer> {
        if let Some(c) = &customer {
            args::id::<CustomerId>("customer", c)?;
        }
        let day = as_of_day.unwrap_or_else(today);
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let aging = receivables::aging(&view.reader, day, customer.as_deref())
            .map_err(|e| view_error(VIEW, &e))?;
        let debtors = aging
            .debtors
            .into_iter()
            .map(|d| DebtorAging {
                name: d.record.as_ref().map(|r| r.name.clone()),
                terms_days: d.record.as_ref().map(|r| r.terms_days),
                credit_limit: d
                    .record
                    .as_ref()
                    .map(|r| Money::from_minor(r.credit_limit_minor, d.currency)),
                unapplied_credit: Money::from_minor(
                    d.record.as_ref().map_or(0, |r| r.credit_minor),
                    d.currency,
                ),
                open_invoices: UnsignedInt64(d.open_invoices),
                buckets: AgingBuckets::new(&d.buckets, d.currency),
                customer_id: d.customer,
                currency_code: d.currency,
            })
            .collect();
        let totals = aging
            .totals
            .iter()
            .map(|(c, b)| CurrencyAging { currency_code: *c, buckets: AgingBuckets::new(b, *c) })
            .collect();
        Ok(ReceivablesAgingAnswer { meta: view.meta, as_of_day: day, debtors, totals })
    }

    /// Invoices with an amount open in 1300, by invoice id, paged; only one customer's when
    /// given.
    #[graphql(
        guard = "FieldGuard(\"Query.openInvoices\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments, reason = "the Relay arguments")]
    async fn open_invoices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this customer.")] customer: Option<String>,
        #[graphql(desc = "The business date days past due are counted to (default: today, UTC).")]
        as_of_day: Option<Date>,
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
    ) -> async_graphql::Result<Connection<OpenInvoice>> {
        let state = ctx.data_unchecked::<AppState>();
        if let Some(c) = &customer {
            args::id::<CustomerId>("customer", c)?;
        }
        let window = Window::<Vec<String>>::new(
            state.config(),
            "invoice",
            &PageArgs::new(first, after, last, before),
        )?;
        let day = as_of_day.unwrap_or_else(today);
        let view = read_view(state, VIEW, as_of).await?;
        let found = receivables::open_invoices(&view.reader, customer.as_deref())
            .map_err(|e| view_error(VIEW, &e))?;
        let items = found
            .into_iter()
            .map(|r| (vec![r.invoice.clone()], OpenInvoice::new(r, day)))
            .collect();
        Ok(connection::paginate_sorted("invoice", &window, view.meta, items)?)
    }
}
