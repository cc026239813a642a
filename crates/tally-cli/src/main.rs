//! `tally`: the command line of the Tally ledger.
//!
//! Exit codes: 0 = ok; 1 = a problem was found (verification failed, or import lines were
//! rejected); 2 = error (bad arguments, unreadable store, I/O).

mod commands;
mod demo;
mod remote;
mod store;
mod tokens;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Tally: an event-sourced operations ledger.
#[derive(Debug, Parser)]
#[command(name = "tally", version, about, long_about = None)]
struct Cli {
    /// The data directory.
    #[arg(long, global = true, env = "TALLY_DATA", default_value = "./tally-data")]
    data: PathBuf,
    /// Ask the server at this URL (`http://host:port`) instead of opening the store: for
    /// verify, checkpoint, export, replay and proof. Without it, those commands ask the
    /// server recorded in `<data>/server.json` when a running server holds the store.
    #[arg(long, global = true, value_name = "URL")]
    server: Option<String>,
    /// The API token for a server (`--server`, or one found through `<data>/server.json`):
    /// admin or auditor (checkpoint: admin; export settlement|journal: admin, finance or
    /// auditor). Never printed.
    #[arg(long, global = true, env = "TALLY_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    token: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a store: data directory, ledger key (0600) and config.
    Init {
        /// The log's identity in checkpoints.
        #[arg(long, default_value = "tally.local/ledger")]
        origin: String,
        /// Where to write the ledger key (default: <data>/ledger.key).
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Serve GraphQL (queries, mutations, subscriptions) over the store.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Who may read /metrics: `loopback` (anonymous from loopback, else a token of role
        /// admin, operator or auditor), `token` or `anonymous`. Default: `metrics_access` in
        /// tally.toml, else `loopback`.
        #[arg(long)]
        metrics_access: Option<tally_api::config::MetricsAccess>,
    },
    /// Build a store with a realistic seeded dataset and serve it.
    Demo {
        /// Address to serve GraphQL on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Seed of the dataset (same seed, same data).
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Only build the dataset, then exit.
        #[arg(long)]
        no_serve: bool,
    },
    /// Import a file (or - for stdin): Tally's NDJSON commands (the default), or a format
    /// merchants have (--format shopify-orders | amazon-settlement-v2 | stock-snapshot-csv).
    /// Rejected lines or records are reported and skipped; exit 1 when any was rejected, 2
    /// when the file as a whole is invalid (nothing is imported then).
    ///
    /// Formats are idempotent by the source's own ids: importing a file again appends
    /// nothing. The summary (records, accepted, duplicates, rejected by code, events
    /// appended) is printed at the end; --json prints it as JSON (see README "Import").
    ///
    /// NDJSON:
    /// Each line is a command or an envelope {"key", "command", "source", "actor",
    /// "occurred_at"}. A line without "key" is keyed by the file's content digest and its line
    /// number: importing the same file again appends nothing, two identical lines are two
    /// commands, and a file that changed (even by an appended line) is a new file whose
    /// key-less lines are imported again. Give lines a "key" to import them once whatever file
    /// they come in (--require-keys refuses lines without one). A member given twice in one
    /// object is refused; a UTF-8 byte order mark at the start of the file is skipped.
    Import {
        /// The file, or `-`.
        file: String,
        /// The file's format: ndjson (Tally's commands), shopify-orders,
        /// amazon-settlement-v2 or stock-snapshot-csv.
        #[arg(long, default_value = "ndjson")]
        format: String,
        /// The channel the records belong to (shopify-orders, amazon-settlement-v2).
        #[arg(long)]
        channel: Option<String>,
        /// The location the records are about (stock-snapshot-csv).
        #[arg(long)]
        location: Option<String>,
        /// Print the summary as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Refuse lines without their own "key" (ndjson: for files that grow or are re-cut).
        #[arg(long)]
        require_keys: bool,
    },
    /// Verify the chain, the Merkle tree and the indexes (exit 1 on any failure).
    Verify {
        /// A signed checkpoint saved earlier: the log must still contain what it attests.
        #[arg(long)]
        against: Option<PathBuf>,
    },
    /// Cut a signed checkpoint of the head (or print the one already there).
    Checkpoint {
        /// Write it to this file as well.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Export an audit bundle or a settlement report.
    Export(commands::export::ExportArgs),
    /// Verify an audit bundle offline; needs no store.
    VerifyBundle {
        /// The bundle directory.
        dir: PathBuf,
        /// A checkpoint saved earlier: prove the bundle's log extends it (it must be a prefix
        /// of, or equal to, a signed checkpoint in the bundle).
        #[arg(long)]
        trusted: Option<PathBuf>,
        /// The ledger's public key file (`key.pub` format: exactly one key). Needed unless
        /// --trusted is given; the bundle's own key.pub is not trusted by itself.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Pass a bundle whose last events are beyond its newest signed checkpoint, printing
        /// how many are unsigned (they are checked for chain consistency only).
        #[arg(long)]
        allow_unsigned_tail: bool,
    },
    /// Rebuild the projections from the log (blue/green), print events, or check that the
    /// views equal a rebuild (exit 1 naming the first differing view and key).
    Replay {
        /// Rebuild (or check) only this view.
        #[arg(long)]
        view: Option<String>,
        /// Print events as NDJSON instead of rebuilding.
        #[arg(long, conflicts_with = "check")]
        print: bool,
        /// Rebuild every view into a temporary store and compare it byte for byte with the
        /// live views (brought up to the head first); changes nothing else.
        #[arg(long)]
        check: bool,
        /// First seq to print.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Last seq to print (default: the head).
        #[arg(long)]
        to: Option<u64>,
    },
    /// Print an inclusion proof (--seq) or a consistency proof (--from/--to) as JSON.
    Proof {
        /// The event to prove.
        #[arg(long, conflicts_with_all = ["from"])]
        seq: Option<u64>,
        /// Tree size the proof is for (default: the head).
        #[arg(long)]
        size: Option<u64>,
        /// Older tree size of a consistency proof.
        #[arg(long, requires = "to")]
        from: Option<u64>,
        /// Newer tree size of a consistency proof.
        #[arg(long)]
        to: Option<u64>,
    },
}

/// What a command found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything is fine.
    Ok,
    /// A problem was found and reported (exit 1).
    Problem,
}

/// Reports a panic as an error naming where it happened. A panic inside the storage engine
/// while it reads a store's files means those files are damaged (fjall 3.1 asserts on some
/// malformed journal entries instead of returning an error).
fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let message = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_default();
    let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line()));
    eprintln!(
        "tally: internal error{}: {}",
        location.unwrap_or_default(),
        message.replace('\n', " ")
    );
    eprintln!(
        "tally: if this happened while opening the store, its files are probably damaged; \
         `tally verify` names what it can, a backup restores the rest"
    );
}

/// Targets shown at whatever level `RUST_LOG` asks for: Tally's own crates (`tally`,
/// `tally_*`), which never log a token, a token hash or key material (a test runs the binary at
/// `trace` to check), and the storage engine, which never sees one.
const VERBOSE_TARGETS: &[&str] = &["tally", "fjall", "lsm_tree"];

/// Every other target — the HTTP, WebSocket and GraphQL crates above all — is capped at this
/// level whatever `RUST_LOG` says: their debug and trace output prints what goes over the
/// wire (tungstenite logs every WebSocket message at trace, so a graphql-ws
/// `connection_init` would show its bearer token). `RUST_LOG=trace` raises only the targets
/// of [`VERBOSE_TARGETS`].
const THIRD_PARTY_LEVEL_MAX: tracing::Level = tracing::Level::INFO;

/// Whether an event or span of `target` at `level` may be printed (see
/// [`THIRD_PARTY_LEVEL_MAX`]).
fn shown(target: &str, level: tracing::Level) -> bool {
    let verbose = target.starts_with("tally_")
        || VERBOSE_TARGETS.iter().any(|root| {
            target.strip_prefix(root).is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        });
    verbose || level <= THIRD_PARTY_LEVEL_MAX
}

/// Diagnostics go to stderr, filtered by `RUST_LOG` (default `warn`), with third-party crates
/// capped at [`THIRD_PARTY_LEVEL_MAX`] whatever `RUST_LOG` says. Nothing logged names a token,
/// a token hash or key material.
fn init_logging() {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::FilterExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let cap = tracing_subscriber::filter::filter_fn(|meta| shown(meta.target(), *meta.level()));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(filter.and(cap));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    std::panic::set_hook(Box::new(report_panic));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli)))
        .unwrap_or_else(|_| Err(anyhow::anyhow!("stopped by the internal error above")));
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problem) => ExitCode::from(1),
        Err(err) => {
            eprintln!("tally: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let server = remote::ServerArgs { server: cli.server.clone(), token: cli.token.clone() };
    let data = cli.data.as_path();
    let served = |role: &str,
                  offline: &dyn Fn() -> anyhow::Result<Outcome>,
                  online: &dyn Fn(&remote::Remote) -> anyhow::Result<Outcome>| {
        remote::offline_or_served(data, &server, role, offline, online)
    };
    const AUDIT: &str = "admin or auditor";
    match cli.command {
        Command::Init { origin, key } => commands::init::run(&cli.data, &origin, key.as_deref()),
        Command::Serve { listen, metrics_access } => {
            commands::serve::run(&cli.data, &listen, metrics_access)
        }
        Command::Demo { listen, seed, no_serve } => {
            commands::demo::run(&cli.data, &listen, seed, no_serve)
        }
        Command::Import { file, format, channel, location, json, require_keys } => {
            if format == "ndjson" {
                commands::import::run(&cli.data, &file, require_keys, json)
            } else {
                let args = commands::import::FormatArgs { format, channel, location, json };
                commands::import::run_format(&cli.data, &file, &args)
            }
        }
        Command::Verify { against } => {
            served(AUDIT, &|| commands::verify::run(data, against.as_deref()), &|r| {
                commands::verify::online(r, against.as_deref())
            })
        }
        Command::Checkpoint { out } => {
            served("admin", &|| commands::checkpoint::run(data, out.as_deref()), &|r| {
                commands::checkpoint::online(r, out.as_deref())
            })
        }
        Command::Export(args) => {
            let role = if args.is_bundle() { AUDIT } else { "admin, finance or auditor" };
            served(role, &|| commands::export::run(data, &args), &|r| {
                commands::export::online(r, &args)
            })
        }
        Command::VerifyBundle { dir, trusted, key, allow_unsigned_tail } => {
            commands::verify::bundle(&dir, trusted.as_deref(), key.as_deref(), allow_unsigned_tail)
        }
        Command::Replay { view, print, check, from, to } => {
            let view = view.as_deref();
            if check {
                served(AUDIT, &|| commands::replay::check(data, view), &|r| {
                    commands::replay::check_online(r, view)
                })
            } else {
                let role = if print { AUDIT } else { "admin" };
                served(role, &|| commands::replay::run(data, view, print, from, to), &|r| {
                    commands::replay::online(r, view, print)
                })
            }
        }
        Command::Proof { seq, size, from, to } => {
            served(AUDIT, &|| commands::proof::run(data, seq, size, from.zip(to)), &|r| {
                commands::proof::online(r, seq, size, from.zip(to))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::shown;
    use tracing::Level;

    #[test]
    fn third_party_targets_are_capped_at_info_ours_are_not() {
        for target in
            ["tally", "tally::commands::serve", "tally_api::server", "fjall::db", "lsm_tree"]
        {
            assert!(shown(target, Level::TRACE), "{target}");
        }
        for target in
            ["tungstenite::protocol", "async_graphql_axum", "hyper::proto", "tallyho", "fjallx"]
        {
            assert!(!shown(target, Level::TRACE) && !shown(target, Level::DEBUG), "{target}");
            assert!(shown(target, Level::INFO) && shown(target, Level::WARN), "{target}");
        }
    }
}
