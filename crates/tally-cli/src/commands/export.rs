//! `tally export --bundle <DIR>` and `tally export settlement …`.

use crate::Outcome;
use crate::store::DataDir;
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use tally_domain::money::Money;
use tally_domain::time::{Date, Timestamp};
use tally_projections::finance::{ExportRow, ExportSelector, export_rows};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ExportArgs {
    /// Write an audit bundle (events with hashes, checkpoints, public key) into this directory.
    #[arg(long)]
    bundle: Option<PathBuf>,
    #[command(subcommand)]
    what: Option<ExportWhat>,
}

#[derive(Debug, Subcommand)]
enum ExportWhat {
    /// Settlement money lines (DOMAIN.md §4 columns) of a channel over a period.
    Settlement {
        /// The channel.
        #[arg(long)]
        channel: String,
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

pub fn run(data: &Path, args: ExportArgs) -> anyhow::Result<Outcome> {
    match (args.bundle, args.what) {
        (Some(dir), None) => bundle(data, &dir),
        (None, Some(ExportWhat::Settlement { channel, from, to, format, out })) => {
            settlement(data, &channel, &from, &to, format, out.as_deref())
        }
        _ => bail!("give --bundle <DIR> or `settlement --channel … --from … --to …`"),
    }
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

fn settlement(
    data: &Path,
    channel: &str,
    from: &str,
    to: &str,
    format: Format,
    out: Option<&Path>,
) -> anyhow::Result<Outcome> {
    // Parsed like every id (at most 64 bytes): an over-long value never reaches the store.
    let channel = tally_domain::ids::ChannelId::parse(channel).context("--channel")?;
    let channel = channel.as_str();
    let from = Date::parse(from).with_context(|| format!("--from '{from}'"))?;
    let to = Date::parse(to).with_context(|| format!("--to '{to}'"))?;
    if to < from {
        bail!("--to {to} is before --from {from}");
    }
    let dir = DataDir::open(data)?;
    let engine = dir.open_engine()?;
    let head = engine.log().head().seq;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    runtime
        .block_on(engine.wait_for_views(head, std::time::Duration::from_secs(600)))
        .context("bringing the views up to date")?;
    let reader = engine.views().reader("finance")?;
    const DAY_MS: i64 = 86_400_000;
    let selector = ExportSelector::Channel {
        channel,
        from_ms: i64::from(from.days()) * DAY_MS,
        to_ms: (i64::from(to.days()) + 1) * DAY_MS - 1,
    };
    let rows = export_rows(&reader, selector)?;
    let (quarantined, first) = reader.quarantine_summary()?;
    if let Some(first) = first {
        eprintln!(
            "warning: the finance view could not apply {quarantined} event(s), the first at seq \
             {first}: this export leaves them out"
        );
    }
    engine.close();

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
            writer.write_record(COLUMNS)?;
            for row in &rows {
                writer.write_record(cells(row))?;
            }
            writer.flush()?;
        }
        Format::Json => {
            let objects: Vec<serde_json::Map<String, serde_json::Value>> = rows
                .iter()
                .map(|row| {
                    COLUMNS
                        .iter()
                        .zip(cells(row))
                        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v)))
                        .collect()
                })
                .collect();
            serde_json::to_writer_pretty(&mut sink, &objects)?;
            writeln!(sink)?;
        }
    }
    sink.flush()?;
    Ok(Outcome::Ok)
}
