//! The settlement and journal exports as files (CSV or JSON), one definition for `tally export
//! settlement|journal` offline and for `GET /exports/{settlement|journal}` on a running
//! server, so both write the same bytes.
//!
//! Columns: DOMAIN.md §4 for settlements ([`COLUMNS`]), docs/domain.md §5 for the journal
//! ([`JOURNAL_COLUMNS`]). Amounts are decimal strings with exactly the currency's minor
//! digits, never floats; JSON is an array of objects whose values are all strings.

use std::io::Write;
use tally_domain::journal::Account;
use tally_domain::money::Money;
use tally_domain::time::{Date, Timestamp};
use tally_projections::ViewReader;
use tally_projections::finance::{ExportRow, ExportSelector, export_rows};
use tally_projections::ledger::{self, ProcessorRow, ProcessorSettlement};

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header row.
    Csv,
    /// A JSON array of objects, every value a string.
    Json,
}

impl Format {
    /// `csv` or `json`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "csv" => Some(Self::Csv),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    /// Its media type.
    #[must_use]
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
        }
    }
}

/// Which export, over the UTC days `from..=to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Export {
    /// The settlement money lines of a marketplace channel.
    Settlement {
        /// The channel (an id of at most 64 bytes).
        channel: String,
        /// First day.
        from: Date,
        /// Last day (inclusive).
        to: Date,
    },
    /// The payment processor's settlements: each payout with the rows on 1100 processor
    /// clearing since the previous payout (unpaid rows: empty `settlement_id`).
    Processor {
        /// First day.
        from: Date,
        /// Last day (inclusive).
        to: Date,
    },
    /// The general journal, one row per posting, by business day then log order.
    Journal {
        /// First day.
        from: Date,
        /// Last day (inclusive).
        to: Date,
    },
}

impl Export {
    /// The view it reads.
    #[must_use]
    pub fn view(&self) -> &'static str {
        match self {
            Self::Settlement { .. } => "finance",
            Self::Processor { .. } | Self::Journal { .. } => "ledger",
        }
    }
}

/// The columns of DOMAIN.md §4, in order.
pub const COLUMNS: [&str; 20] = [
    "settlement_id",
    "channel",
    "period_start",
    "period_end",
    "deposit_date",
    "currency",
    "txn_type",
    "amount_type",
    "amount_description",
    "order_id",
    "sku",
    "quantity",
    "gross",
    "fee",
    "tax",
    "net",
    "posted_at",
    "gl_account",
    "journal_entry_id",
    "event_seq",
];

/// The columns of the journal export, in order.
pub const JOURNAL_COLUMNS: [&str; 11] = [
    "date",
    "entry_id",
    "account",
    "account_name",
    "debit",
    "credit",
    "currency",
    "memo",
    "reference_type",
    "reference_id",
    "event_seq",
];

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading the view failed.
    #[error("reading the view: {0}")]
    View(#[from] tally_projections::Error),
    /// Writing the output failed.
    #[error("writing: {0}")]
    Write(#[from] std::io::Error),
    /// Encoding CSV failed.
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Encoding JSON failed.
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Writes `export` read from `reader` (a snapshot of [`Export::view`]) to `out`.
pub fn write(
    reader: &ViewReader,
    export: &Export,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    const DAY_MS: i64 = 86_400_000;
    match export {
        Export::Settlement { channel, from, to } => {
            let selector = ExportSelector::Channel {
                channel,
                from_ms: i64::from(from.days()) * DAY_MS,
                to_ms: (i64::from(to.days()) + 1) * DAY_MS - 1,
            };
            let rows: Vec<Vec<String>> = export_rows(reader, selector)?.iter().map(cells).collect();
            write_rows(&COLUMNS, &rows, format, out)
        }
        Export::Processor { from, to } => {
            let settlements = ledger::processor_settlements(reader, *from, *to)?;
            let rows: Vec<Vec<String>> = settlements
                .iter()
                .flat_map(|s| s.rows.iter().map(move |r| processor_cells(s, r)))
                .collect();
            write_rows(&COLUMNS, &rows, format, out)
        }
        Export::Journal { from, to } => {
            let entries = ledger::journal(reader, *from, *to)?;
            let rows: Vec<Vec<String>> = entries.iter().flat_map(journal_cells).collect();
            write_rows(&JOURNAL_COLUMNS, &rows, format, out)
        }
    }
}

fn decimal(minor: i64, row: &ExportRow) -> String {
    Money::from_minor(minor, row.currency).to_decimal_string()
}

/// One row as strings, in [`COLUMNS`] order.
fn cells(row: &ExportRow) -> Vec<String> {
    vec![
        row.settlement_id.clone(),
        row.channel.clone(),
        row.period_start.to_string(),
        row.period_end.to_string(),
        row.deposit_date.map(|d| d.to_string()).unwrap_or_default(),
        row.currency.code().to_owned(),
        row.txn_type.to_owned(),
        row.amount_type.to_owned(),
        row.amount_description.clone(),
        row.order_id.clone().unwrap_or_default(),
        row.sku.clone().unwrap_or_default(),
        row.quantity.to_string(),
        decimal(row.gross, row),
        decimal(row.fee, row),
        decimal(row.tax, row),
        decimal(row.net, row),
        row.posted_at_ms.map(|ms| Timestamp::from_millis(ms).to_rfc3339()).unwrap_or_default(),
        row.gl_account.map(|a| a.to_string()).unwrap_or_default(),
        row.journal_entry_id.clone().unwrap_or_default(),
        row.event_seq.to_string(),
    ]
}

/// One processor row as strings, in [`COLUMNS`] order: `settlement_id` is the payout (empty
/// while not paid out), `channel` the order's (empty without an order), `gl_account` 1100.
fn processor_cells(s: &ProcessorSettlement, row: &ProcessorRow) -> Vec<String> {
    let decimal = |minor| Money::from_minor(minor, row.currency).to_decimal_string();
    vec![
        s.payout.as_ref().map(|p| p.payout.clone()).unwrap_or_default(),
        row.channel.clone().unwrap_or_default(),
        s.period_start.to_string(),
        s.period_end.to_string(),
        s.payout.as_ref().map(|p| Date::from_days(p.deposit_day).to_string()).unwrap_or_default(),
        row.currency.code().to_owned(),
        row.txn_type.clone(),
        row.amount_type.clone(),
        row.description.clone(),
        row.order.clone().unwrap_or_default(),
        row.sku.clone().unwrap_or_default(),
        row.qty.to_string(),
        decimal(row.gross),
        decimal(row.fee),
        decimal(row.tax),
        decimal(row.net),
        Timestamp::from_millis(row.posted_at_ms).to_rfc3339(),
        Account::ProcessorClearing.number().to_string(),
        row.journal_entry_id.clone(),
        row.event_seq.to_string(),
    ]
}

/// One row per posting of `entry`, in [`JOURNAL_COLUMNS`] order: the debit or the credit as a
/// decimal string with the currency's minor digits, the other empty.
fn journal_cells(entry: &ledger::EntryRow) -> Vec<Vec<String>> {
    let date = Timestamp::from_millis(entry.posted_at_ms).date().to_string();
    let (reference_type, reference_id) = ledger::reference_parts(&entry.reference);
    entry
        .postings
        .iter()
        .map(|p| {
            let minor = p.amount.minor();
            let amount = Money::from_minor(minor.saturating_abs(), p.amount.currency());
            let (debit, credit) = if minor >= 0 {
                (amount.to_decimal_string(), String::new())
            } else {
                (String::new(), amount.to_decimal_string())
            };
            vec![
                date.clone(),
                entry.entry.clone(),
                format!("{:04}", p.account.number()),
                p.account.name().to_owned(),
                debit,
                credit,
                p.amount.currency().code().to_owned(),
                entry.memo.clone(),
                reference_type.to_owned(),
                reference_id.clone(),
                entry.seq.to_string(),
            ]
        })
        .collect()
}

/// Writes `rows` (cells in `columns` order) as CSV with a header, or as a JSON array of
/// objects whose values are all strings.
fn write_rows(
    columns: &[&str],
    rows: &[Vec<String>],
    format: Format,
    sink: &mut dyn Write,
) -> Result<(), ExportError> {
    match format {
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(&mut *sink);
            writer.write_record(columns)?;
            for row in rows {
                writer.write_record(row)?;
            }
            writer.flush()?;
        }
        Format::Json => {
            let objects: Vec<serde_json::Map<String, serde_json::Value>> = rows
                .iter()
                .map(|row| {
                    columns
                        .iter()
                        .zip(row)
                        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
                        .collect()
                })
                .collect();
            serde_json::to_writer_pretty(&mut *sink, &objects)?;
            writeln!(sink)?;
        }
    }
    sink.flush()?;
    Ok(())
}
