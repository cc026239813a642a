//! `tally export --bundle <DIR>`, `tally export settlement …` and `tally export journal …`.

use crate::Outcome;
use crate::store::DataDir;
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use tally_api::exports::{self, Export};
use tally_domain::time::Date;

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
    match (&args.bundle, &args.what) {
        (Some(dir), None) => bundle(data, dir),
        (None, Some(what)) => {
            let (export, format, out) = what.export()?;
            let body = read_view(data, export.view(), |reader| {
                let mut body = Vec::new();
                exports::write(reader, &export, format, &mut body)?;
                Ok(body)
            })?;
            write_out(&body, out)?;
            Ok(Outcome::Ok)
        }
        _ => bail!(
            "give --bundle <DIR>, `settlement --channel … --from … --to …` or `journal --from … \
             --to …`"
        ),
    }
}

impl ExportWhat {
    /// The export asked for, its format and where to write it; the arguments checked as the
    /// server checks them.
    fn export(&self) -> anyhow::Result<(Export, exports::Format, Option<&Path>)> {
        Ok(match self {
            Self::Settlement { channel, processor, from, to, format, out } => {
                let (from, to) = period(from, to)?;
                let export = match (channel, processor) {
                    (Some(channel), false) => {
                        // Parsed like every id (at most 64 bytes): an over-long value never
                        // reaches the store.
                        tally_domain::ids::ChannelId::parse(channel).context("--channel")?;
                        Export::Settlement { channel: channel.clone(), from, to }
                    }
                    (None, true) => Export::Processor { from, to },
                    _ => bail!("give --channel <CHANNEL> or --processor"),
                };
                (export, format.into(), out.as_deref())
            }
            Self::Journal { from, to, format, out } => {
                let (from, to) = period(from, to)?;
                (Export::Journal { from, to }, format.into(), out.as_deref())
            }
        })
    }
}

impl From<&Format> for exports::Format {
    fn from(format: &Format) -> Self {
        match format {
            Format::Csv => Self::Csv,
            Format::Json => Self::Json,
        }
    }
}

/// Writes an export's bytes to `out`, or to stdout.
fn write_out(body: &[u8], out: Option<&Path>) -> anyhow::Result<()> {
    let mut sink: Box<dyn Write> = match out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("creating '{}'", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    sink.write_all(body)?;
    sink.flush()?;
    Ok(())
}

/// `tally export` against a running server. `--bundle DIR`: an `EXPORT_BUNDLE` operation
/// (the server cuts a checkpoint of the head and writes the bundle from a snapshot), then its
/// files are downloaded into DIR, which `tally verify-bundle` reads as it reads an offline
/// export.
pub fn online(remote: &crate::remote::Remote, args: &ExportArgs) -> anyhow::Result<Outcome> {
    let Some(out) = &args.bundle else {
        let Some(what) = &args.what else {
            bail!("give --bundle <DIR>, `settlement …` or `journal …`");
        };
        return export_online(remote, what);
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

/// `tally export settlement|journal` against a running server: `GET /exports/…`, the same
/// bytes as offline (one definition, `tally_api::exports`).
fn export_online(remote: &crate::remote::Remote, what: &ExportWhat) -> anyhow::Result<Outcome> {
    let (export, format, out) = what.export()?;
    let format = match format {
        exports::Format::Csv => "csv",
        exports::Format::Json => "json",
    };
    let mut query = vec![("format", format.to_owned())];
    let (path, from, to) = match &export {
        Export::Settlement { channel, from, to } => {
            query.push(("channel", channel.clone()));
            ("/exports/settlement", from, to)
        }
        Export::Processor { from, to } => {
            query.push(("processor", "true".to_owned()));
            ("/exports/settlement", from, to)
        }
        Export::Journal { from, to } => ("/exports/journal", from, to),
    };
    query.push(("from", from.to_string()));
    query.push(("to", to.to_string()));
    let (headers, body) = remote.get(path, &query)?;
    let quarantined = headers.get("tally-quarantined").and_then(|v| v.to_str().ok());
    if let Some((count, first)) = quarantined.and_then(|v| v.split_once(' ')) {
        eprintln!(
            "warning: the {} view could not apply {count} event(s), the first at seq {first}: \
             this export leaves them out",
            export.view()
        );
    }
    write_out(&body, out)?;
    Ok(Outcome::Ok)
}
