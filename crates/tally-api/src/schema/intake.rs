//! `importRecords`: a file in a format merchants have (a Shopify order export, an Amazon
//! settlement, a 3PL stock snapshot) submitted as one string and imported through the same
//! path as `tally import --format` (`tally_engine::intake::submit_records`).

use async_graphql::{Context, Enum, Object, SimpleObject};
use tally_domain::graphql::UnsignedInt64;
use tally_domain::ids::{ChannelId, LocationId};
use tally_engine::intake::{ImportSummary as Summary, IntakeContext, RecordRefusal};
use tally_intake::{Format, Options};

use crate::auth::{Auth, FieldGuard};
use crate::error::{ApiError, code};
use crate::state::AppState;

/// The formats `importRecords` reads (the `--format` names of `tally import`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ImportFormat {
    /// `shopify-orders`: Shopify Admin order objects (`orders.json`, an array, NDJSON, or one
    /// webhook payload); needs `channel`.
    ShopifyOrders,
    /// `amazon-settlement-v2`: Amazon's Flat File V2 settlement report (tab-separated);
    /// needs `channel`.
    AmazonSettlementV2,
    /// `stock-snapshot-csv`: a partner's on-hand snapshot `sku,lot,expiry,quantity,as_of`;
    /// needs `location`.
    StockSnapshotCsv,
}

impl ImportFormat {
    fn format(self) -> Format {
        match self {
            Self::ShopifyOrders => Format::ShopifyOrders,
            Self::AmazonSettlementV2 => Format::AmazonSettlementV2,
            Self::StockSnapshotCsv => Format::StockSnapshotCsv,
        }
    }
}

/// Rejected records of one code.
#[derive(Debug, Clone, SimpleObject)]
pub struct RejectionCount {
    /// The code (`UNKNOWN_SKU`, `IDEMPOTENCY_CONFLICT`, `INVALID_INPUT`, …).
    pub code: String,
    /// Records rejected with it.
    pub count: UnsignedInt64,
}

/// One record that was not imported.
#[derive(Debug, Clone, SimpleObject)]
pub struct ImportRefusal {
    /// The record's place in the input (0-based).
    pub index: UnsignedInt64,
    /// The source's id of the record (a settlement row, a snapshot line, an order id).
    pub source_id: String,
    /// Stable code.
    pub code: String,
    /// Why.
    pub message: String,
}

impl From<RecordRefusal> for ImportRefusal {
    fn from(r: RecordRefusal) -> Self {
        Self {
            index: UnsignedInt64(r.index),
            source_id: r.source_id,
            code: r.code,
            message: r.message,
        }
    }
}

/// What an import did (the same summary as `tally import --json`).
#[derive(Debug, Clone, SimpleObject)]
pub struct ImportSummary {
    /// The format read.
    pub format: ImportFormat,
    /// Records read.
    pub records: UnsignedInt64,
    /// Records that appended events.
    pub accepted: UnsignedInt64,
    /// Records already imported: nothing new appended.
    pub duplicates: UnsignedInt64,
    /// Records refused or rejected.
    pub rejected: UnsignedInt64,
    /// Rejected records per code.
    pub rejected_by_code: Vec<RejectionCount>,
    /// Events appended.
    pub events: UnsignedInt64,
    /// Seq of the last event appended (0 when none).
    pub last_seq: UnsignedInt64,
    /// The rejected records with their source ids, in input order (at most 1 000).
    pub refusals: Vec<ImportRefusal>,
    /// True when more records were rejected than `refusals` lists.
    pub refusals_truncated: bool,
}

impl ImportSummary {
    fn new(format: ImportFormat, s: Summary) -> Self {
        Self {
            format,
            records: UnsignedInt64(s.records),
            accepted: UnsignedInt64(s.accepted),
            duplicates: UnsignedInt64(s.duplicates),
            rejected: UnsignedInt64(s.rejected),
            rejected_by_code: s
                .rejected_by_code
                .into_iter()
                .map(|(code, n)| RejectionCount { code, count: UnsignedInt64(n) })
                .collect(),
            events: UnsignedInt64(s.events),
            last_seq: UnsignedInt64(s.last_seq),
            refusals: s.refusals.into_iter().map(ImportRefusal::from).collect(),
            refusals_truncated: s.refusals_truncated,
        }
    }
}

/// The import mutation.
#[derive(Debug, Default)]
pub struct IntakeMutation;

#[Object]
impl IntakeMutation {
    /// Imports a whole file given as `content` (at most the server's request body limit,
    /// 4 MiB by default): idempotent by the source's own ids, so importing the same content
    /// again appends nothing. A content that is not the format, or fails a file-level check
    /// (a settlement whose total is not the sum of its lines), is refused whole with
    /// `INVALID_INPUT` and nothing is imported; otherwise each record is accepted, found
    /// already imported, or rejected with its source id, code and reason, and the rest
    /// imports.
    #[graphql(guard = "FieldGuard(\"Mutation.importRecords\")")]
    async fn import_records(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The file's format.")] format: ImportFormat,
        #[graphql(desc = "The channel the records belong to (Shopify, Amazon).")] channel: Option<
            String,
        >,
        #[graphql(desc = "The location the records are about (stock snapshots).")] location: Option<
            String,
        >,
        #[graphql(desc = "The file's content (UTF-8 text).")] content: String,
        #[graphql(desc = "Answer only once every view reflects the import (bounded by the \
                          server's wait).")]
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<ImportSummary> {
        let state = ctx.data_unchecked::<AppState>();
        let caller =
            ctx.data_opt::<Auth>().unwrap_or(&Auth::Anonymous).check("Mutation.importRecords")?;
        let max = state.config().request_body_bytes_max;
        if content.len() > max {
            return Err(ApiError::new(
                code::LIMIT_EXCEEDED,
                format!("content of {} bytes is over the limit of {max}", content.len()),
            )
            .into());
        }
        let options = Options {
            channel: channel
                .map(ChannelId::parse)
                .transpose()
                .map_err(|e| ApiError::invalid(format!("channel: {e}")))?,
            location: location
                .map(LocationId::parse)
                .transpose()
                .map_err(|e| ApiError::invalid(format!("location: {e}")))?,
        };
        let records = tally_intake::translate(format.format(), content.as_bytes(), &options)
            .map_err(|e| ApiError::invalid(format!("{e}; nothing was imported")))?;
        drop(content);
        let intake = IntakeContext {
            actor: caller.name.clone(),
            source: format!("import/{}", format.format().name()),
        };
        let summary =
            tally_engine::intake::submit_records(state.engine(), records, &intake, &mut |_| {})
                .await;
        if wait_for_views == Some(true) && summary.last_seq > 0 {
            let _ = state
                .engine()
                .wait_for_views(summary.last_seq, state.config().wait_for_views_timeout())
                .await;
        }
        Ok(ImportSummary::new(format, summary))
    }
}
