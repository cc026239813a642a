//! Inventory queries: the states of stock by location × SKU (summed and per lot), by SKU, by
//! location, and available-to-sell per channel and network-wide (the `inventory` view).

use super::args;
use super::values::name_of;
use super::views::{AsOf, ViewMeta, read_view, view_error};
use crate::auth::FieldGuard;
use crate::error::ApiResult;
use crate::state::AppState;
use async_graphql::{Context, Object, SimpleObject};
use tally_domain::ids::{ChannelId, LocationId, Sku};
use tally_projections::inventory::{self, StockRow};

const VIEW: &str = "inventory";

/// Units quarantined for one reason.
#[derive(Debug, Clone, SimpleObject)]
pub struct QuarantinedUnits {
    /// The reason (`damaged`, `quality_hold`, `recalled`, `expired`, `return_inspection`).
    pub reason: String,
    /// Units.
    pub units: u64,
}

/// The states of one bucket (location × SKU × lot) or of a sum of buckets (DOMAIN.md §1).
#[derive(Debug, Clone, SimpleObject)]
pub struct StockStates {
    /// The location.
    pub location: String,
    /// The SKU.
    pub sku: String,
    /// The lot; null for SKUs without lots and for sums over lots.
    pub lot: Option<String>,
    /// Sellable, unclaimed.
    pub available: u64,
    /// Claimed by an order line, not yet picked.
    pub reserved: u64,
    /// Picked.
    pub picked: u64,
    /// Packed, awaiting the carrier.
    pub packed: u64,
    /// Not sellable, all reasons.
    pub quarantined: u64,
    /// Not sellable, by reason.
    pub quarantined_by_reason: Vec<QuarantinedUnits>,
    /// Returned, awaiting inspection.
    pub returned: u64,
    /// On the way from another location.
    pub in_transit: u64,
    /// Expected inbound.
    pub incoming: u64,
    /// Cumulative units shipped to customers from here (a counter, not stock).
    pub shipped: u64,
    /// Physically there: available + reserved + picked + packed + quarantined + returned.
    pub on_hand: u64,
}

impl From<StockRow> for StockStates {
    fn from(row: StockRow) -> Self {
        let s = row.stock;
        Self {
            quarantined: s.quarantined_total(),
            quarantined_by_reason: s
                .quarantined
                .iter()
                .map(|(reason, units)| QuarantinedUnits { reason: name_of(reason), units: *units })
                .collect(),
            location: row.location,
            sku: row.sku,
            lot: row.lot,
            available: s.available,
            reserved: s.reserved,
            picked: s.picked,
            packed: s.packed,
            returned: s.returned,
            in_transit: s.in_transit,
            incoming: s.incoming,
            shipped: s.shipped,
            on_hand: row.on_hand,
        }
    }
}

/// Stock of a SKU at a location.
#[derive(Debug, Clone, SimpleObject)]
pub struct StockAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// Summed over lots.
    pub total: StockStates,
    /// Per lot (one row with a null lot for SKUs without lots; none if nothing was ever there).
    pub lots: Vec<StockStates>,
}

/// Stock rows summed over lots.
#[derive(Debug, Clone, SimpleObject)]
pub struct StockListAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// One row per location (`stockBySku`) or per SKU (`stockByLocation`).
    pub rows: Vec<StockStates>,
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
    pub ats: u64,
}

/// ATS of a SKU for one channel.
#[derive(Debug, Clone, SimpleObject)]
pub struct ChannelAts {
    /// The channel.
    pub channel: String,
    /// Units.
    pub ats: u64,
}

/// ATS of a SKU network-wide and per channel.
#[derive(Debug, Clone, SimpleObject)]
pub struct AtsByChannelAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The SKU.
    pub sku: String,
    /// Network ATS: Σ over locations of max(0, available − safety stock).
    pub network: u64,
    /// Per known channel, by channel id.
    pub channels: Vec<ChannelAts>,
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
        location: String,
        sku: String,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<StockAnswer> {
        let location: LocationId = args::id("location", &location)?;
        let sku: Sku = args::id("sku", &sku)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let at = inventory::stock(&view.reader, location.as_str(), sku.as_str())
            .map_err(|e| view_error(VIEW, &e))?;
        Ok(StockAnswer {
            meta: view.meta,
            total: at.total.into(),
            lots: at.lots.into_iter().map(Into::into).collect(),
        })
    }

    /// Stock of `sku` at every location holding or expecting it, summed over lots.
    #[graphql(guard = "FieldGuard(\"Query.stockBySku\")")]
    async fn stock_by_sku(
        &self,
        ctx: &Context<'_>,
        sku: String,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<StockListAnswer> {
        let sku: Sku = args::id("sku", &sku)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let rows =
            inventory::by_sku(&view.reader, sku.as_str()).map_err(|e| view_error(VIEW, &e))?;
        Ok(StockListAnswer { meta: view.meta, rows: rows.into_iter().map(Into::into).collect() })
    }

    /// Stock of every SKU at `location`, summed over lots.
    #[graphql(guard = "FieldGuard(\"Query.stockByLocation\")")]
    async fn stock_by_location(
        &self,
        ctx: &Context<'_>,
        location: String,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<StockListAnswer> {
        let location: LocationId = args::id("location", &location)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let rows = inventory::by_location(&view.reader, location.as_str())
            .map_err(|e| view_error(VIEW, &e))?;
        Ok(StockListAnswer { meta: view.meta, rows: rows.into_iter().map(Into::into).collect() })
    }

    /// Available-to-sell of `sku` for `channel` (a `standard` channel may not take safety
    /// stock, a `contract` channel may), or network-wide without a channel.
    #[graphql(guard = "FieldGuard(\"Query.ats\")")]
    async fn ats(
        &self,
        ctx: &Context<'_>,
        sku: String,
        channel: Option<String>,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<AtsAnswer> {
        args::id::<Sku>("sku", &sku)?;
        args::opt_id::<ChannelId>("channel", channel.as_deref())?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let ats = inventory::ats(&view.reader, &sku, channel.as_deref())
            .map_err(|e| view_error(VIEW, &e))?;
        Ok(AtsAnswer { meta: view.meta, sku, channel, ats })
    }

    /// ATS of `sku` network-wide and for every known channel.
    #[graphql(guard = "FieldGuard(\"Query.atsByChannel\")")]
    async fn ats_by_channel(
        &self,
        ctx: &Context<'_>,
        sku: String,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<AtsByChannelAnswer> {
        Ok(ats_by_channel(ctx.data_unchecked::<AppState>(), sku, as_of).await?)
    }
}

/// ATS of `sku` network-wide and per channel, now or as of an earlier point.
pub(crate) async fn ats_by_channel(
    state: &AppState,
    sku: String,
    as_of: Option<AsOf>,
) -> ApiResult<AtsByChannelAnswer> {
    args::id::<Sku>("sku", &sku)?;
    let view = read_view(state, VIEW, as_of).await?;
    let ats = inventory::ats_by_channel(&view.reader, &sku).map_err(|e| view_error(VIEW, &e))?;
    Ok(AtsByChannelAnswer {
        meta: view.meta,
        sku,
        network: ats.network,
        channels: ats
            .channels
            .into_iter()
            .map(|(channel, ats)| ChannelAts { channel, ats })
            .collect(),
    })
}
