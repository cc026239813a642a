//! The `ats.changed` feed: which SKUs a run of events may have moved, and their ATS per
//! channel from the inventory view (the domain's definition, DOMAIN §1).

use crate::filter::skus_in;
use std::collections::BTreeSet;
use tally_domain::time::Timestamp;
use tally_log::{Log, RecordedEvent};
use tally_projections::{ViewReader, inventory};

/// Most events read for one cut (a larger backlog is cut in several).
pub const CUT_EVENTS_MAX: usize = 10_000;
/// Most SKUs one cut looks at (a master-data change touching more is cut in several).
pub const CUT_SKUS_MAX: usize = 10_000;
/// The inventory view's name.
pub const VIEW: &str = "inventory";

/// What a run of events may have changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Touched {
    /// SKUs named by the events.
    pub skus: BTreeSet<String>,
    /// A location or channel was (re)defined: the ATS of every SKU may have moved.
    pub all: bool,
    /// The last seq read.
    pub upto: u64,
}

/// Whether an event type changes which locations serve which channel, or a channel's
/// priority class, without naming a SKU.
fn moves_every_sku(event_type: &str) -> bool {
    matches!(event_type, "location.defined" | "channel.defined")
}

/// Reads the events after `after` up to `head` (at most [`CUT_EVENTS_MAX`]) and collects what
/// they touched.
pub fn touched(log: &Log, after: u64, head: u64) -> Result<Touched, tally_log::Error> {
    let mut out = Touched { upto: after, ..Touched::default() };
    if head <= after {
        return Ok(out);
    }
    for event in log.read(after + 1..=head).take(CUT_EVENTS_MAX) {
        let event = event?;
        note(&event, &mut out);
        out.upto = event.seq();
    }
    Ok(out)
}

fn note(event: &RecordedEvent, out: &mut Touched) {
    if moves_every_sku(event.event_type()) {
        out.all = true;
        return;
    }
    // An event the codec cannot read names nothing (the views quarantine it as well).
    let Ok(decoded) =
        tally_domain::decode(event.event_type(), event.schema_version(), event.payload())
    else {
        return;
    };
    let Ok(json) = serde_json::to_value(&decoded) else { return };
    let mut skus = Vec::new();
    skus_in(&json, &mut skus);
    out.skus.extend(skus);
}

/// Every SKU the inventory view holds stock rows for.
pub fn every_sku(reader: &ViewReader) -> Result<BTreeSet<String>, tally_projections::Error> {
    Ok(inventory::buckets(reader, None, None)?
        .into_iter()
        .map(|row| row.sku)
        .take(CUT_SKUS_MAX)
        .collect())
}

/// The ATS of each SKU for each known channel (only `channels` when not empty), as the view
/// reads now, on the day of `now_ms`: `(channel, sku, ats)`.
pub fn figures(
    reader: &ViewReader,
    skus: &BTreeSet<String>,
    channels: &[String],
    now_ms: i64,
) -> Result<Vec<(String, String, u64)>, tally_projections::Error> {
    let today = Timestamp::from_millis(now_ms).date();
    let mut out = Vec::new();
    for sku in skus.iter().take(CUT_SKUS_MAX) {
        let view = inventory::ats_by_channel(reader, sku, today)?;
        for channel in view.channels {
            if channels.is_empty() || channels.contains(&channel.channel) {
                out.push((channel.channel, sku.clone(), channel.ats));
            }
        }
    }
    Ok(out)
}
