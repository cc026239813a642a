//! Importers: pure translators from the bytes merchants have to Tally commands.
//!
//! Each format reads a whole file (or one webhook payload) and returns one [`Record`] per
//! source record: either the commands it means, each with an idempotency key derived from the
//! source's own ids (so a file imported twice, or a webhook delivered twice, appends nothing,
//! and an updated source record yields only the commands for what changed), or a typed
//! [`Refusal`] naming the record and why. No I/O, no clock, no engine: the CLI, the GraphQL
//! upload and the webhook endpoint submit what these return and count the outcomes.
//!
//! Depends on the domain only (ARCHITECTURE.md: domain → intake; engine/api/cli → intake).

use tally_domain::Command;

/// One command a source record means, with its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// Derived from the source's ids (e.g. `shopify:{shop}:{order id}:receive`), at most 128
    /// bytes: the same source fact always gets the same key.
    pub idempotency_key: String,
    /// Where it came from (e.g. `shopify/web/#1001`), for the audit trail.
    pub source: String,
    /// Business time of the fact in ms since the epoch, when the source says.
    pub occurred_at_ms: Option<i64>,
    /// The command.
    pub command: Command,
}

/// Why one source record was not translated. The rest of the file still imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Stable machine code, counted per source (e.g. `UNKNOWN_SKU`, `INVALID_INPUT`).
    pub code: &'static str,
    /// Human message naming the field and the value.
    pub message: String,
}

/// One source record and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The source's id of the record (Shopify order id, settlement id + row, snapshot row).
    pub source_id: String,
    /// Its commands, in the order they must be submitted, or why it was refused.
    pub outcome: Result<Vec<Intent>, Refusal>,
}

/// Why a whole input could not be read (not one record: the file itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The bytes are not the format at all (not JSON, wrong header, not UTF-8), or a
    /// file-level check failed (e.g. a settlement's total is not the sum of its lines).
    #[error("{0}")]
    Invalid(String),
}

/// The formats `tally import --format` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Shopify Admin order objects: a REST `orders.json` (`{"orders": […]}`), a bare array,
    /// NDJSON, or one `orders/create` / `orders/updated` webhook payload.
    ShopifyOrders,
    /// Amazon's "Flat File V2" settlement report (tab-separated).
    AmazonSettlementV2,
    /// A 3PL / drop-ship partner's on-hand snapshot (`sku,lot,expiry,quantity,as_of`).
    StockSnapshotCsv,
}

impl Format {
    /// Every format, by its `--format` name.
    pub const ALL: &'static [(&'static str, Format)] = &[
        ("shopify-orders", Format::ShopifyOrders),
        ("amazon-settlement-v2", Format::AmazonSettlementV2),
        ("stock-snapshot-csv", Format::StockSnapshotCsv),
    ];

    /// The format named `name`, if any.
    #[must_use]
    pub fn parse(name: &str) -> Option<Format> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }

    /// Its `--format` name.
    #[must_use]
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, f)| *f == self).map_or("?", |&(n, _)| n)
    }
}

pub mod amazon;
mod common;
pub mod shopify;
pub mod snapshot;

/// What a format needs besides the bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The channel the records belong to (`shopify-orders`: one Shopify store = one channel).
    pub channel: Option<tally_domain::ids::ChannelId>,
    /// The location the records are about (`stock-snapshot-csv`).
    pub location: Option<tally_domain::ids::LocationId>,
}

/// Translates a whole input of `format`. Records come back in source order.
///
/// # Errors
/// [`FormatError`] when the input as a whole is not the format or fails a file-level check;
/// one bad record is a [`Refusal`] in its [`Record`] instead.
pub fn translate(
    format: Format,
    bytes: &[u8],
    options: &Options,
) -> Result<Vec<Record>, FormatError> {
    match format {
        Format::ShopifyOrders => shopify::translate(bytes, options),
        Format::AmazonSettlementV2 => amazon::translate(bytes, options),
        Format::StockSnapshotCsv => snapshot::translate(bytes, options),
    }
}
