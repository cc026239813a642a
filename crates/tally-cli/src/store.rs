//! The data directory: its layout, its config file, and opening the log or the engine on it.
//!
//! ```text
//! <data>/tally.toml   origin, key file, checkpoint cadence, metrics access (written by `tally init`)
//! <data>/ledger.key   the ed25519 ledger key, mode 0600
//! <data>/log/         the hash-chained log (fjall)
//! <data>/views/       the projections (fjall), rebuildable from the log
//! ```

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use tally_api::config::MetricsAccess;
use tally_engine::{Engine, EngineConfig};
use tally_log::tally_proof::key::LedgerKey;
use tally_log::{CheckpointPolicy, Config, Log};

/// The config file's name.
pub const CONFIG_FILE: &str = "tally.toml";

/// What `tally init` writes to `tally.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The log's identity in checkpoints.
    pub origin: String,
    /// The ledger key, relative to the data directory unless absolute.
    pub key_file: PathBuf,
    /// Cut a checkpoint every this many events (0 = not by count).
    pub checkpoint_every_events: u64,
    /// Cut a checkpoint after this long with new events (0 = not by time).
    pub checkpoint_every_ms: u64,
    /// Who may read `/metrics` when serving: `loopback` (anonymous from 127.0.0.0/8 and ::1,
    /// a token of role admin, operator or auditor from anywhere else; the default), `token`
    /// (always a token) or `anonymous`. `tally serve --metrics-access` overrides it.
    #[serde(default)]
    pub metrics_access: MetricsAccess,
    /// Web origins (`scheme://host[:port]`) whose pages may call the API from a browser
    /// (CORS); none by default. No wildcard: tokens, not cookies, authenticate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cors_origins: Vec<String>,
    /// Whether requests without a token may introspect the schema; off by default.
    #[serde(default)]
    pub introspection_anonymous: bool,
}

/// An initialised data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
    pub config: StoreConfig,
}

impl DataDir {
    /// Reads `<root>/tally.toml`.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        let path = root.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("no store at '{}' (run `tally init` first)", root.display())
        })?;
        let config: StoreConfig =
            toml::from_str(&text).with_context(|| format!("reading '{}'", path.display()))?;
        Ok(Self { root: root.to_owned(), config })
    }

    /// Creates the directory, its key and config. Refuses an initialised directory.
    pub fn init(
        root: &Path,
        origin: &str,
        key_file: Option<&Path>,
    ) -> anyhow::Result<(Self, LedgerKey)> {
        if root.join(CONFIG_FILE).exists() || root.join("log").exists() {
            bail!("'{}' already holds a store", root.display());
        }
        // Owner-only: the directory holds the ledger key and the token hashes. (A directory
        // that already exists keeps its mode.)
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .with_context(|| format!("creating '{}'", root.display()))?;
        let config = StoreConfig {
            origin: origin.to_owned(),
            key_file: key_file.map_or_else(|| PathBuf::from("ledger.key"), Path::to_owned),
            checkpoint_every_events: 10_000,
            checkpoint_every_ms: 60_000,
            metrics_access: MetricsAccess::default(),
            cors_origins: Vec::new(),
            introspection_anonymous: false,
        };
        let dir = Self { root: root.to_owned(), config };
        let key = LedgerKey::generate("tally-ledger").context("generating the ledger key")?;
        key.create_file(&dir.key_path()).context("writing the ledger key")?;
        let text = toml::to_string_pretty(&dir.config).context("encoding the config")?;
        std::fs::write(root.join(CONFIG_FILE), text).context("writing the config")?;
        Ok((dir, key))
    }

    pub fn key_path(&self) -> PathBuf {
        if self.config.key_file.is_absolute() {
            self.config.key_file.clone()
        } else {
            self.root.join(&self.config.key_file)
        }
    }

    pub fn key(&self) -> anyhow::Result<LedgerKey> {
        LedgerKey::read_file(&self.key_path()).context("reading the ledger key")
    }

    pub fn log_config(&self) -> anyhow::Result<Config> {
        let mut policy = CheckpointPolicy::new(self.key()?, self.config.origin.clone());
        policy.every_events = self.config.checkpoint_every_events;
        policy.every_ms = self.config.checkpoint_every_ms;
        Ok(Config { checkpoints: Some(policy), ..Config::default() })
    }

    /// The log alone (verify, proofs, checkpoints, bundles).
    pub fn open_log(&self) -> anyhow::Result<Log> {
        Log::open(self.root.join("log"), self.log_config()?).map_err(anyhow::Error::from)
    }

    /// The engine with every projection.
    pub fn open_engine(&self) -> anyhow::Result<Engine> {
        let mut config = EngineConfig::default();
        let mut log = self.log_config()?;
        log.limits = config.log.limits.clone();
        config.log = log;
        Engine::open(&self.root, config, tally_projections::all()).map_err(anyhow::Error::from)
    }
}
