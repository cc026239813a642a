//! The outbox's errors.

use crate::config::ConfigError;
use crate::store::StoreError;

/// Why an outbox operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration (file or API input) is invalid.
    #[error("{0}")]
    Invalid(#[from] ConfigError),
    /// No endpoint has this name.
    #[error("unknown webhook endpoint '{0}'")]
    NotFound(String),
    /// An endpoint already has this name.
    #[error("a webhook endpoint named '{0}' exists")]
    Exists(String),
    /// The endpoint is defined in `webhooks.toml`: change it there.
    #[error(
        "webhook endpoint '{0}' is defined in webhooks.toml; change it there, then reload (SIGHUP) or restart"
    )]
    FromConfig(String),
    /// The outbox store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading the log failed.
    #[error("outbox: reading the log: {0}")]
    Log(#[from] tally_log::Error),
    /// The views could not be read or did not catch up.
    #[error("outbox: views: {0}")]
    Views(#[from] tally_projections::Error),
    /// The HTTP client could not be built.
    #[error("outbox: http client: {0}")]
    Client(String),
}

/// The outbox's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
