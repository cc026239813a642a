//! Inventory queries: the states of stock by location × SKU (summed and per lot), by SKU, by
//! location, every bucket by filter, and available-to-sell per channel and network-wide (the
//! `inventory` view). Rows are the view's own `StockRow` (GraphQL `StockStates`) and
//! `AtsView` (`Ats`).

use super::args;
use super::connection::{self, Connection, PageArgs, Window};
use super::views::{AsOf, ViewMeta, read_view, view_error};
use crate::auth::FieldGuard;
use crate::error::ApiResult;
use crate::state::AppState;
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use tally_domain::graphql::UnsignedInt64;
use tally_domain::ids::{ChannelId, LocationId, LotId, Sku};
use tally_projections::inventory::{self, AtsView, StockRow};

const VIEW: &str = "inventory";

/// A state of stock (docs/domain.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum InventoryState {
    /// Sellable, unclaimed.
    Available,
    /// Claimed by an order line, not yet picked.
    Reserved,
    /// Picked.
    Picked,
    /// Packed, awaiting the carrier.
    Packed,
    /// Not sellable (any reason).
    Quarantined,
    /// Returned, awaiting inspection.
    Returned,
    /// On the way from another location.
    InTransit,
    /// Expected inbound.
    Incoming,
    /// Shipped to customers (a cumulative counter).
    Shipped,
}

impl InventoryState {
    /// Units of `row` in this state.
    fn units(self, row: &StockRow) -> u64 {
        let s = &row.stock;
        match self {
            InventoryState::Available => s.available,
            InventoryState::Reserved => s.reserved,
            InventoryState::Picked => s.picked,
            InventoryState::Packed => s.packed,
            InventoryState::Quarantined => {
                s.quarantined.values().fold(0, |a, b| a.saturating_add(*b))
            }
            InventoryState::Returned => s.returned,
            InventoryState::InTransit => s.in_transit,
            InventoryState::Incoming => s.incoming,
            InventoryState::Shipped => s.shipped,
        }
    }
}

/// Which buckets (location × SKU × lot): every condition given must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct StockFilter {
    /// Only buckets at this location.
    pub location: Option<String>,
    /// Only buckets of this SKU.
    pub sku: Option<String>,
    /// Only buckets of this lot.
    pub lot: Option<String>,
    /// Only buckets holding units in this state.
    pub state: Option<InventoryState>,
    /// Only buckets whose location × SKU is (true) or is not (false) at or below its reorder
    /// point (`belowReorderPoint`).
    pub below_reorder_point: Option<bool>,
}

/// Stock of a SKU at a location.
#[derive(Debug, Clone, SimpleObject)]
pub struct StockAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// Summed over lots.
    pub total: StockRow,
    /// Per lot, by lot (one row with a null lot for SKUs without lots; none if nothing was ever
    /// there). Every lot is listed; `stockLevels(filter: {location, sku})` pages them.
    pub lots: Vec<StockRow>,
}

/// Available-to-sell of a SKU for one channel or network-wide.
#[derive(Debug, Clone, SimpleObject)]
pub struct AtsAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The SKU.
    pub sku: String,
    /// The channel; null = network-wide.
    pub channel: Option<String>,
    /// Units.
    pub ats: UnsignedInt64,
}

/// ATS of a SKU network-wide and per channel.
#[derive(Debug, Clone, SimpleObject)]
pub struct AtsByChannelAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The SKU.
    pub sku: String,
    /// Network-wide and per channel.
    #[graphql(flatten)]
    pub ats: AtsView,
}

fn page_rows(
    state: &AppState,
    kind: &str,
    page: &PageArgs,
    meta: ViewMeta,
    rows: Vec<StockRow>,
    key: impl Fn(&StockRow) -> Vec<String>,
) -> ApiResult<Connection<StockRow>> {
    let window = Window::<Vec<String>>::new(state.config(), kind, page)?;
    let items = rows.into_iter().map(|r| (key(&r), r)).collect();
    connection::paginate_sorted(kind, &window, meta, items)
}

/// Inventory queries.
#[derive(Debug, Default)]
pub struct InventoryQuery;

#[Object]
impl InventoryQuery {
    /// Stock of `sku` at `location`: summed over lots and per lot.
    #[graphql(guard = "FieldGuard(\"Query.stock\")")]
    async fn stock(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The location.")] location: String,
        #[graphql(desc = "The SKU.")] sku: String,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<StockAnswer> {
        let location: LocationId = args::id("location", &location)?;
        let sku: Sku = args::id("sku", &sku)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let at = inventory::stock(&view.reader, location.as_str(), sku.as_str())
            .map_err(|e| view_error(VIEW, &e))?;
        Ok(StockAnswer { meta: view.meta, total: at.total, lots: at.lots })
    }

    /// Stock of `sku` at every location holding or expecting it, summed over lots, by
    /// location, paged.
    #[graphql(
        guard = "FieldGuard(\"Query.stockBySku\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments, reason = "the Relay arguments")]
    async fn stock_by_sku(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The SKU.")] sku: String,
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
    ) -> async_graphql::Result<Connection<StockRow>> {
        let state = ctx.data_unchecked::<AppState>();
        let sku: Sku = args::id("sku", &sku)?;
        let page = PageArgs::new(first, after, last, before);
        Window::<Vec<String>>::new(state.config(), "stock-by-sku", &page)?;
        let view = read_view(state, VIEW, as_of).await?;
        let rows =
            inventory::by_sku(&view.reader, sku.as_str()).map_err(|e| view_error(VIEW, &e))?;
        Ok(page_rows(state, "stock-by-sku", &page, view.meta, rows, |r| vec![r.location.clone()])?)
    }

    /// Stock of every SKU at `location`, summed over lots, by SKU, paged.
    #[graphql(
        guard = "FieldGuard(\"Query.stockByLocation\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments, reason = "the Relay arguments")]
    async fn stock_by_location(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The location.")] location: String,
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
    ) -> async_graphql::Result<Connection<StockRow>> {
        let state = ctx.data_unchecked::<AppState>();
        let location: LocationId = args::id("location", &location)?;
        let page = PageArgs::new(first, after, last, before);
        Window::<Vec<String>>::new(state.config(), "stock-by-location", &page)?;
        let view = read_view(state, VIEW, as_of).await?;
        let rows = inventory::by_location(&view.reader, location.as_str())
            .map_err(|e| view_error(VIEW, &e))?;
        Ok(page_rows(state, "stock-by-location", &page, view.meta, rows, |r| vec![r.sku.clone()])?)
    }

    /// Every bucket (location × SKU × lot) that `filter` selects, by location, SKU and lot,
    /// paged. Without a location or a SKU it reads every bucket of the view.
    #[graphql(
        guard = "FieldGuard(\"Query.stockLevels\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments, reason = "the Relay arguments")]
    async fn stock_levels(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which buckets (every condition given must hold).")] filter: Option<
            StockFilter,
        >,
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
    ) -> async_graphql::Result<Connection<StockRow>> {
        let state = ctx.data_unchecked::<AppState>();
        let filter = filter.unwrap_or_default();
        let location: Option<LocationId> =
            args::opt_id("filter.location", filter.location.as_deref())?;
        let sku: Option<Sku> = args::opt_id("filter.sku", filter.sku.as_deref())?;
        let lot: Option<LotId> = args::opt_id("filter.lot", filter.lot.as_deref())?;
        let page = PageArgs::new(first, after, last, before);
        Window::<Vec<String>>::new(state.config(), "stock-levels", &page)?;
        let view = read_view(state, VIEW, as_of).await?;
        let rows = inventory::buckets(
            &view.reader,
            location.as_ref().map(LocationId::as_str),
            sku.as_ref().map(Sku::as_str),
        )
        .map_err(|e| view_error(VIEW, &e))?;
        let rows = rows
            .into_iter()
            .filter(|r| lot.as_ref().is_none_or(|l| r.lot.as_deref() == Some(l.as_str())))
            .filter(|r| filter.state.is_none_or(|s| s.units(r) > 0))
            .filter(|r| filter.below_reorder_point.is_none_or(|b| r.below_reorder_point == b))
            .collect();
        Ok(page_rows(state, "stock-levels", &page, view.meta, rows, |r| {
            vec![r.location.clone(), r.sku.clone(), r.lot.clone().unwrap_or_default()]
        })?)
    }

    /// Available-to-sell of `sku` for `channel` (a `standard` channel may not take safety
    /// stock, a `contract` channel may), or network-wide without a channel.
    #[graphql(guard = "FieldGuard(\"Query.ats\")")]
    async fn ats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The SKU.")] sku: String,
        #[graphql(desc = "The channel (default: network-wide).")] channel: Option<String>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<AtsAnswer> {
        args::id::<Sku>("sku", &sku)?;
        args::opt_id::<ChannelId>("channel", channel.as_deref())?;
        let today = ats_day(as_of.as_ref());
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let ats = inventory::ats(&view.reader, &sku, channel.as_deref(), today)
            .map_err(|e| view_error(VIEW, &e))?;
        Ok(AtsAnswer { meta: view.meta, sku, channel, ats: UnsignedInt64(ats) })
    }

    /// ATS of `sku` network-wide and for every known channel.
    #[graphql(guard = "FieldGuard(\"Query.atsByChannel\")")]
    async fn ats_by_channel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The SKU.")] sku: String,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<AtsByChannelAnswer> {
        Ok(ats_by_channel(ctx.data_unchecked::<AppState>(), sku, as_of).await?)
    }
}

/// The day ATS is answered for: lots past their removal date that day are not sellable. As of
/// a time (business time first), that time's day; otherwise today (UTC).
fn ats_day(as_of: Option<&AsOf>) -> tally_domain::time::Date {
    as_of.and_then(AsOf::day).unwrap_or_else(|| {
        tally_domain::time::Timestamp::from_millis(chrono::Utc::now().timestamp_millis()).date()
    })
}

/// ATS of `sku` network-wide and per channel, now or as of an earlier point.
pub(crate) async fn ats_by_channel(
    state: &AppState,
    sku: String,
    as_of: Option<AsOf>,
) -> ApiResult<AtsByChannelAnswer> {
    args::id::<Sku>("sku", &sku)?;
    let today = ats_day(as_of.as_ref());
    let view = read_view(state, VIEW, as_of).await?;
    let ats =
        inventory::ats_by_channel(&view.reader, &sku, today).map_err(|e| view_error(VIEW, &e))?;
    Ok(AtsByChannelAnswer { meta: view.meta, sku, ats })
}
