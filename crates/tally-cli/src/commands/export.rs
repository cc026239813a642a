//! `tally export --bundle <DIR>`, `tally export settlement …` and `tally export journal …`.

use crate::Outcome;
use crate::store::DataDir;
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use tally_domain::journal::Account;
use tally_domain::money::Money;
use tally_domain::time::{Date, Timestamp};
use tally_projections::finance::{ExportRow, ExportSelector, export_rows};
use tally_projections::ledger::{self, ProcessorRow, ProcessorSettlement};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ExportArgs {
    /// Write an audit bundle (events with hashes, checkpoints, public key) into this directory.
    #[arg(long)]
    bundle: Option<PathBuf>,
    #[command(subcommand)]
    what: Option<ExportWhat>,
}

#[derive(Debug, Clone, Subcommand)]
enum ExportWhat {
    /// Settlement money lines (DOMAIN.md §4 columns) of a marketplace channel, or of the
    /// payment processor (`--processor`), over a period.
    Settlement {
        /// The marketplace channel.
        #[arg(long, required_unless_present = "processor", conflicts_with = "processor")]
        channel: Option<String>,
        /// The payment processor's settlements: each payout with the rows on 1100 processor
        /// clearing since the previous payout (unpaid rows: empty settlement_id).
        #[arg(long)]
        processor: bool,
        /// First day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        from: String,
        /// Last day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        to: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The general journal over a period: one row per posting (date, entry_id, account,
    /// account_name, debit, credit, currency, memo, reference_type, reference_id, event_seq),
    /// by business day then log order.
    Journal {
        /// First day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        from: String,
        /// Last day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        to: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Json,
}

impl ExportArgs {
    /// Whether this is `export --bundle`.
    pub fn is_bundle(&self) -> bool {
        self.bundle.is_some()
    }
}

pub fn run(data: &Path, args: &ExportArgs) -> anyhow::Result<Outcome> {
    match (args.bundle.clone(), args.what.clone()) {
        (Some(dir), None) => bundle(data, &dir),
        (None, Some(ExportWhat::Settlement { channel, processor, from, to, format, out })) => {
            let period = period(&from, &to)?;
            match (channel, processor) {
                (Some(channel), false) => {
                    settlement(data, &channel, period, format, out.as_deref())
                }
                (None, true) => processor_settlement(data, period, format, out.as_deref()),
                _ => bail!("give --channel <CHANNEL> or --processor"),
            }
        }
        (None, Some(ExportWhat::Journal { from, to, format, out })) => {
            journal(data, period(&from, &to)?, format, out.as_deref())
        }
        _ => bail!(
            "give --bundle <DIR>, `settlement --channel … --from … --to …` or `journal --from … \
             --to …`"
        ),
    }
}

/// `tally export` against a running server. `--bundle DIR`: an `EXPORT_BUNDLE` operation
/// (the server cuts a checkpoint of the head and writes the bundle from a snapshot), then its
/// files are downloaded into DIR, which `tally verify-bundle` reads as it reads an offline
/// export.
pub fn online(remote: &crate::remote::Remote, args: &ExportArgs) -> anyhow::Result<Outcome> {
    let Some(out) = &args.bundle else {
        bail!(
            "export settlement|journal reads the views offline, and the store is served at {}: \
             ask the server's `settlementExport` and `journalEntries` queries, or stop it",
            remote.url()
        );
    };
    // The same refusal as offline, before the server does any work.
    if out.exists() && std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("bundle directory {} is not empty", out.display());
    }
    let op = remote.run_operation("EXPORT_BUNDLE", None, None)?;
    let report = op["report"][0].as_str().unwrap_or_default().to_owned();
    let files = op["bundle"]["files"].as_array().cloned().unwrap_or_default();
    if files.is_empty() {
        bail!("the server's export holds no bundle files (a newer export replaced it?)");
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating '{}'", out.display()))?;
    let mut written_files = Vec::new();
    let downloaded = (|| -> anyhow::Result<()> {
        for file in &files {
            let name = file["name"].as_str().unwrap_or_default();
            // Names come from the server: only the bundle's own plain file names are written.
            if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
                bail!("the server named a bundle file '{name}'");
            }
            let path = file["path"].as_str().unwrap_or_default();
            written_files.push(out.join(name));
            let written = remote.download(path, &out.join(name))?;
            let expected = crate::remote::number(file, "bytes");
            if written != expected {
                bail!("downloading {name}: {written} bytes, the server announced {expected}");
            }
        }
        Ok(())
    })();
    if let Err(e) = downloaded {
        // No half bundle is left behind.
        for path in &written_files {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    println!("bundle written to {}: {report}", out.display());
    Ok(Outcome::Ok)
}

/// Cuts a signed checkpoint of the head first, so the bundle's last event is covered by a
/// signature and an honest bundle always verifies (without `--allow-unsigned-tail`).
fn bundle(data: &Path, out: &Path) -> anyhow::Result<Outcome> {
    let dir = DataDir::open(data)?;
    let log = dir.open_log().with_context(|| {
        format!(
            "export --bundle signs a checkpoint of the head with the ledger key '{}' (tally.toml \
             key_file), which it could not use",
            dir.key_path().display()
        )
    })?;
    let result = (|| -> anyhow::Result<()> {
        let upto = log.checkpoint_blocking().context("cutting a checkpoint of the head")?;
        if upto.unverified().size == 0 {
            bail!("the log holds no events: a bundle of an empty log proves nothing");
        }
        let summary = log.export_bundle(out, &upto)?;
        println!(
            "bundle written to {}: {} events, {} checkpoints (the newest, size {}, signs the \
             last event), head hash {}",
            out.display(),
            summary.event_count,
            summary.checkpoint_count,
            upto.unverified().size,
            summary.head_hash
        );
        Ok(())
    })();
    log.close();
    result?;
    Ok(Outcome::Ok)
}

/// The columns of DOMAIN.md §4, in order.
const COLUMNS: [&str; 20] = [
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

fn decimal(minor: i64, row: &ExportRow) -> String {
    Money::from_minor(minor, row.currency).to_decimal_string()
}

/// One row as strings, in [`COLUMNS`] order. Amounts are decimal strings with exactly the
/// currency's minor digits, never floats.
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

/// `--from` and `--to` as days, `--to` not before `--from`.
fn period(from: &str, to: &str) -> anyhow::Result<(Date, Date)> {
    let from = Date::parse(from).with_context(|| format!("--from '{from}'"))?;
    let to = Date::parse(to).with_context(|| format!("--to '{to}'"))?;
    if to < from {
        bail!("--to {to} is before --from {from}");
    }
    Ok((from, to))
}

/// Opens the store offline, brings the views up to the head, and reads `view` through `read`;
/// warns on stderr when the view quarantined events (the export leaves them out).
fn read_view<T>(
    data: &Path,
    view: &str,
    read: impl FnOnce(&tally_projections::ViewReader) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let dir = DataDir::open(data)?;
    let engine = dir.open_engine()?;
    let result = (|| {
        let head = engine.log().head().seq;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
        runtime
            .block_on(engine.wait_for_views(head, std::time::Duration::from_secs(600)))
            .context("bringing the views up to date")?;
        let reader = engine.views().reader(view)?;
        let out = read(&reader)?;
        let (quarantined, first) = reader.quarantine_summary()?;
        if let Some(first) = first {
            eprintln!(
                "warning: the {view} view could not apply {quarantined} event(s), the first at \
                 seq {first}: this export leaves them out"
            );
        }
        Ok(out)
    })();
    engine.close();
    result
}

/// Writes `rows` (cells in `columns` order) as CSV with a header, or as a JSON array of
/// objects whose values are all strings.
fn write_rows(
    columns: &[&str],
    rows: &[Vec<String>],
    format: Format,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let mut sink: Box<dyn Write> = match out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("creating '{}'", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    match format {
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(&mut sink);
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
            serde_json::to_writer_pretty(&mut sink, &objects)?;
            writeln!(sink)?;
        }
    }
    sink.flush()?;
    Ok(())
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

fn processor_settlement(
    data: &Path,
    (from, to): (Date, Date),
    format: Format,
    out: Option<&Path>,
) -> anyhow::Result<Outcome> {
    let settlements =
        read_view(data, "ledger", |r| Ok(ledger::processor_settlements(r, from, to)?))?;
    let rows: Vec<Vec<String>> = settlements
        .iter()
        .flat_map(|s| s.rows.iter().map(move |r| processor_cells(s, r)))
        .collect();
    write_rows(&COLUMNS, &rows, format, out)?;
    Ok(Outcome::Ok)
}

/// The columns of the journal export, in order.
const JOURNAL_COLUMNS: [&str; 11] = [
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

fn journal(
    data: &Path,
    (from, to): (Date, Date),
    format: Format,
    out: Option<&Path>,
) -> anyhow::Result<Outcome> {
    let entries = read_view(data, "ledger", |r| Ok(ledger::journal(r, from, to)?))?;
    let rows: Vec<Vec<String>> = entries.iter().flat_map(journal_cells).collect();
    write_rows(&JOURNAL_COLUMNS, &rows, format, out)?;
    Ok(Outcome::Ok)
}

fn settlement(
    data: &Path,
    channel: &str,
    (from, to): (Date, Date),
    format: Format,
    out: Option<&Path>,
) -> anyhow::Result<Outcome> {
    // Parsed like every id (at most 64 bytes): an over-long value never reaches the store.
    let channel = tally_domain::ids::ChannelId::parse(channel).context("--channel")?;
    let channel = channel.as_str();
    const DAY_MS: i64 = 86_400_000;
    let selector = ExportSelector::Channel {
        channel,
        from_ms: i64::from(from.days()) * DAY_MS,
        to_ms: (i64::from(to.days()) + 1) * DAY_MS - 1,
    };
    let rows = read_view(data, "finance", |r| Ok(export_rows(r, selector)?))?;
    let rows: Vec<Vec<String>> = rows.iter().map(cells).collect();
    write_rows(&COLUMNS, &rows, format, out)?;
    Ok(Outcome::Ok)
}
