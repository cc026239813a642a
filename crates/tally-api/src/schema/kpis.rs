//! Fill rates and KPIs over a window of UTC days (docs/domain.md §6): numerators and denominators
//! with the rates in basis points (the `fill_rate` and `kpis` views). Counts are
//! `UnsignedInt64`, times `Duration`, days `Date`. The rows are copies of the views' rows:
//! the views keep day numbers and millisecond sums, whose GraphQL shapes (a `Date`, a signed
//! `Duration`) the views do not know.
//!
//! The row lists are not paged: one row per channel or location and day of the window, so
//! their length is bounded by the window the caller gives.

use super::args;
use super::values::day_window;
use super::views::{AsOf, ViewMeta, read_view, view_error};
use crate::auth::FieldGuard;
use crate::state::AppState;
use async_graphql::{Context, Enum, Object, SimpleObject};
use tally_domain::graphql::{Decimal, DurationMs, UnsignedInt64};
use tally_domain::ids::{ChannelId, LocationId};
use tally_domain::master::AbcClass;
use tally_domain::money::div_half_even;
use tally_domain::time::Date;
use tally_projections::fill_rate::{self, FillCounts, Grouping};
use tally_projections::kpis;

/// How fill rates are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum FillRateGroupBy {
    /// By channel.
    Channel,
    /// By location of the first reservation (the empty location holds lines nothing was
    /// reserved for).
    Location,
}

/// A rate: numerator / denominator, exact, and as basis points and a percentage rounded
/// half-even (null when the denominator is zero): 2 of 3 is 6 667 bps, `"66.67"`.
#[derive(Debug, Clone, SimpleObject)]
pub struct Rate {
    /// Filled.
    pub numerator: UnsignedInt64,
    /// Of.
    pub denominator: UnsignedInt64,
    /// numerator × 10 000 / denominator, rounded half-even: 0 to 10 000.
    pub bps: Option<i32>,
    /// numerator × 100 / denominator as a decimal with two places, rounded half-even
    /// (`"66.67"`).
    pub percentage: Option<Decimal>,
}

fn unsigned(n: i64) -> UnsignedInt64 {
    UnsignedInt64(u64::try_from(n).unwrap_or(0))
}

/// numerator × 10 000 / denominator rounded half-even; `None` for a zero denominator.
fn bps_half_even(numerator: i64, denominator: i64) -> Option<i64> {
    (denominator > 0).then(|| {
        let bps = div_half_even(i128::from(numerator) * 10_000, i128::from(denominator));
        i64::try_from(bps).unwrap_or(i64::MAX)
    })
}

fn rate(numerator: i64, denominator: i64) -> Rate {
    let bps = bps_half_even(numerator, denominator);
    Rate {
        numerator: unsigned(numerator),
        denominator: unsigned(denominator),
        bps: bps.and_then(|b| i32::try_from(b).ok()),
        percentage: bps.and_then(|b| {
            let sign = if b < 0 { "-" } else { "" };
            let b = b.unsigned_abs();
            Decimal::parse(format!("{sign}{}.{:02}", b / 100, b % 100)).ok()
        }),
    }
}

/// The three fill rates on one basis.
#[derive(Debug, Clone, SimpleObject)]
pub struct FillRates {
    /// Orders with every line filled in full and no substitution / orders.
    pub order: Rate,
    /// Lines filled in full / lines.
    pub line: Rate,
    /// Units filled / units ordered.
    pub unit: Rate,
}

/// Fill rates of one group over the window.
#[derive(Debug, Clone, SimpleObject)]
pub struct FillRateGroup {
    /// The channel or location (one group per channel or location: a short list).
    pub group: String,
    /// Filled = reserved in full at first allocation.
    pub first_time: FillRates,
    /// Filled = shipped in full.
    #[graphql(name = "final")]
    pub final_basis: FillRates,
}

fn group(row: fill_rate::FillRateRow) -> FillRateGroup {
    let c = row.counts;
    FillRateGroup {
        group: row.group,
        first_time: FillRates {
            order: rate(c.first_orders, c.orders),
            line: rate(c.first_lines, c.lines),
            unit: rate(c.first_units, c.units),
        },
        final_basis: FillRates {
            order: rate(c.final_orders, c.orders),
            line: rate(c.final_lines, c.lines),
            unit: rate(c.final_units, c.units),
        },
    }
}

/// Fill rates per group, and over every channel.
#[derive(Debug, Clone, SimpleObject)]
pub struct FillRateAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// One row per group, by group.
    pub groups: Vec<FillRateGroup>,
    /// Every order of the window, whatever its channel or location (group `all`): the sums
    /// of the per-channel counts, each order counted once.
    pub total: FillRateGroup,
}

/// Release times of one channel and day of placement.
#[derive(Debug, Clone, SimpleObject)]
pub struct ReleaseTimeRow {
    /// The channel.
    pub channel: String,
    /// UTC day of placement.
    pub day: Date,
    /// Orders released.
    pub orders: UnsignedInt64,
    /// Σ (released − received).
    pub gross_sum: DurationMs,
    /// Σ (released − received − time on hold).
    pub net_sum: DurationMs,
}

/// Order release times (docs/domain.md §6).
#[derive(Debug, Clone, SimpleObject)]
pub struct ReleaseTimesAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// By channel then day.
    pub rows: Vec<ReleaseTimeRow>,
    /// Orders released over the window.
    pub orders: UnsignedInt64,
    /// Mean of released − received over the window (null without orders).
    pub gross_mean: Option<DurationMs>,
    /// Mean net of time on hold (null without orders).
    pub net_mean: Option<DurationMs>,
}

/// Return cycles ending on one day.
#[derive(Debug, Clone, SimpleObject)]
pub struct ReturnCycleRow {
    /// UTC day the cycles ended.
    pub day: Date,
    /// Returns whose customer cycle (authorised → refunded) ended.
    pub customer_returns: UnsignedInt64,
    /// Σ (refunded − authorised).
    pub customer_sum: DurationMs,
    /// Returns whose operations cycle (received → inspected) ended.
    pub operations_returns: UnsignedInt64,
    /// Σ (inspected − received).
    pub operations_sum: DurationMs,
}

/// Return cycle times.
#[derive(Debug, Clone, SimpleObject)]
pub struct ReturnCycleTimesAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// By day.
    pub rows: Vec<ReturnCycleRow>,
    /// Mean customer cycle over the window (null without returns).
    pub customer_mean: Option<DurationMs>,
    /// Mean operations cycle over the window (null without returns).
    pub operations_mean: Option<DurationMs>,
}

/// Cycle counts of one location and day.
#[derive(Debug, Clone, SimpleObject)]
pub struct AccuracyRow {
    /// The location.
    pub location: String,
    /// UTC day of the counts.
    pub day: Date,
    /// Counts within tolerance / counts taken.
    pub accuracy: Rate,
}

/// The cycle-count tolerance of an ABC class (`setCountTolerance`): a count is accurate
/// when it is off by at most `units`, or by at most `fraction` of the expected on-hand.
#[derive(Debug, Clone, SimpleObject)]
pub struct CountTolerance {
    /// The class.
    pub class: AbcClass,
    /// Units a count may be off.
    pub units: i32,
    /// Fraction of the expected on-hand a count may be off (`"0"`: none).
    pub fraction: tally_domain::money::Rate,
}

/// Inventory record accuracy.
#[derive(Debug, Clone, SimpleObject)]
pub struct RecordAccuracyAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// By location then day.
    pub rows: Vec<AccuracyRow>,
    /// Over the whole window.
    pub accuracy: Rate,
    /// The tolerance of each class in force at the view's seq (exact unless set). Each count
    /// was judged with the tolerance in force when it was taken: a change judges later counts
    /// only.
    pub tolerances: Vec<CountTolerance>,
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn mean(sum: i64, count: u64) -> Option<DurationMs> {
    (count > 0).then(|| DurationMs(sum / signed(count)))
}

/// Fill-rate and KPI queries.
#[derive(Debug, Default)]
pub struct KpisQuery;

#[Object]
impl KpisQuery {
    /// Fill rates of orders placed on UTC days `fromDay..=toDay`, on both bases.
    #[graphql(guard = "FieldGuard(\"Query.fillRate\")")]
    async fn fill_rate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Group by channel or by location.")] group_by: FillRateGroupBy,
        #[graphql(desc = "First UTC day of the window.")] from_day: Date,
        #[graphql(desc = "Last UTC day of the window (inclusive).")] to_day: Date,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<FillRateAnswer> {
        const VIEW: &str = "fill_rate";
        let (from, to) = day_window(from_day, to_day)?;
        let grouping = match group_by {
            FillRateGroupBy::Channel => Grouping::Channel,
            FillRateGroupBy::Location => Grouping::Location,
        };
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let rows = fill_rate::fill_rates(&view.reader, grouping, from, to)
            .map_err(|e| view_error(VIEW, &e))?;
        // Each order belongs to one channel: the channel rows add up to every order once (a
        // location row may share an order with another location).
        let by_channel = match grouping {
            Grouping::Channel => rows.clone(),
            Grouping::Location => fill_rate::fill_rates(&view.reader, Grouping::Channel, from, to)
                .map_err(|e| view_error(VIEW, &e))?,
        };
        let mut all = FillCounts::default();
        for row in &by_channel {
            all.add(&row.counts);
        }
        let total = group(fill_rate::FillRateRow { group: "all".to_owned(), counts: all });
        Ok(FillRateAnswer { meta: view.meta, groups: rows.into_iter().map(group).collect(), total })
    }

    /// Release times of orders placed on UTC days `fromDay..=toDay`, of `channel` or all.
    #[graphql(guard = "FieldGuard(\"Query.releaseTimes\")")]
    async fn release_times(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this channel (default: all).")] channel: Option<String>,
        #[graphql(desc = "First UTC day of the window.")] from_day: Date,
        #[graphql(desc = "Last UTC day of the window (inclusive).")] to_day: Date,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<ReleaseTimesAnswer> {
        const VIEW: &str = "kpis";
        args::opt_id::<ChannelId>("channel", channel.as_deref())?;
        let (from, to) = day_window(from_day, to_day)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let rows = kpis::release_times(&view.reader, channel.as_deref(), from, to)
            .map_err(|e| view_error(VIEW, &e))?;
        let orders: u64 = rows.iter().map(|r| r.orders).sum();
        let gross: i64 = rows.iter().map(|r| r.gross_ms_sum).sum();
        let net: i64 = rows.iter().map(|r| r.net_ms_sum).sum();
        Ok(ReleaseTimesAnswer {
            meta: view.meta,
            rows: rows
                .into_iter()
                .map(|r| ReleaseTimeRow {
                    channel: r.channel,
                    day: Date::from_days(r.day),
                    orders: UnsignedInt64(r.orders),
                    gross_sum: DurationMs(r.gross_ms_sum),
                    net_sum: DurationMs(r.net_ms_sum),
                })
                .collect(),
            orders: UnsignedInt64(orders),
            gross_mean: mean(gross, orders),
            net_mean: mean(net, orders),
        })
    }

    /// Return cycle times of cycles ending on UTC days `fromDay..=toDay`.
    #[graphql(guard = "FieldGuard(\"Query.returnCycleTimes\")")]
    async fn return_cycle_times(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First UTC day of the window.")] from_day: Date,
        #[graphql(desc = "Last UTC day of the window (inclusive).")] to_day: Date,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<ReturnCycleTimesAnswer> {
        const VIEW: &str = "kpis";
        let (from, to) = day_window(from_day, to_day)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let rows =
            kpis::return_cycle_times(&view.reader, from, to).map_err(|e| view_error(VIEW, &e))?;
        let customer: (u64, i64) = rows
            .iter()
            .fold((0, 0), |(n, s), r| (n + r.sums.customer_returns, s + r.sums.customer_ms_sum));
        let operations: (u64, i64) = rows.iter().fold((0, 0), |(n, s), r| {
            (n + r.sums.operations_returns, s + r.sums.operations_ms_sum)
        });
        Ok(ReturnCycleTimesAnswer {
            meta: view.meta,
            rows: rows
                .into_iter()
                .map(|r| ReturnCycleRow {
                    day: Date::from_days(r.day),
                    customer_returns: UnsignedInt64(r.sums.customer_returns),
                    customer_sum: DurationMs(r.sums.customer_ms_sum),
                    operations_returns: UnsignedInt64(r.sums.operations_returns),
                    operations_sum: DurationMs(r.sums.operations_ms_sum),
                })
                .collect(),
            customer_mean: mean(customer.1, customer.0),
            operations_mean: mean(operations.1, operations.0),
        })
    }

    /// Inventory record accuracy of counts taken on UTC days `fromDay..=toDay`, at
    /// `location` or everywhere.
    #[graphql(guard = "FieldGuard(\"Query.recordAccuracy\")")]
    async fn record_accuracy(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this location (default: all).")] location: Option<String>,
        #[graphql(desc = "First UTC day of the window.")] from_day: Date,
        #[graphql(desc = "Last UTC day of the window (inclusive).")] to_day: Date,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<RecordAccuracyAnswer> {
        const VIEW: &str = "kpis";
        args::opt_id::<LocationId>("location", location.as_deref())?;
        let (from, to) = day_window(from_day, to_day)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let rows = kpis::record_accuracy(&view.reader, location.as_deref(), from, to)
            .map_err(|e| view_error(VIEW, &e))?;
        let tolerances = kpis::count_tolerances(&view.reader)
            .map_err(|e| view_error(VIEW, &e))?
            .into_iter()
            .map(|(class, t)| CountTolerance {
                class,
                // Bounded by limits::COUNT_TOLERANCE_UNITS_MAX (10⁹ < 2³¹).
                units: i32::try_from(t.units).unwrap_or(i32::MAX),
                fraction: t.fraction,
            })
            .collect();
        let within: u64 = rows.iter().map(|r| r.within).sum();
        let counts: u64 = rows.iter().map(|r| r.counts).sum();
        Ok(RecordAccuracyAnswer {
            meta: view.meta,
            rows: rows
                .into_iter()
                .map(|r| AccuracyRow {
                    location: r.location,
                    day: Date::from_days(r.day),
                    accuracy: rate(signed(r.within), signed(r.counts)),
                })
                .collect(),
            accuracy: rate(signed(within), signed(counts)),
            tolerances,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(numerator: i64, denominator: i64) -> (Option<i32>, Option<String>) {
        let r = rate(numerator, denominator);
        (r.bps, r.percentage.map(|p| p.as_str().to_owned()))
    }

    #[test]
    fn rates_round_half_even_to_a_basis_point_and_two_decimals() {
        assert_eq!(shown(2, 3), (Some(6667), Some("66.67".to_owned())), "not 66.66");
        assert_eq!(shown(1, 3), (Some(3333), Some("33.33".to_owned())));
        assert_eq!(shown(1, 8), (Some(1250), Some("12.50".to_owned())));
        assert_eq!(shown(1, 20_000), (Some(0), Some("0.00".to_owned())), "0.5 bp to even 0");
        assert_eq!(shown(3, 20_000), (Some(2), Some("0.02".to_owned())), "1.5 bp to even 2");
        assert_eq!(shown(5, 5), (Some(10_000), Some("100.00".to_owned())));
        assert_eq!(shown(0, 0), (None, None), "no denominator, no rate");
    }
}
