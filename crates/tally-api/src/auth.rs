//! Bearer tokens, roles, and the table of which role may use which field.
//!
//! Tokens are kept only as blake3 hashes. A presented token is hashed and compared with every
//! configured hash using `blake3::Hash`'s `PartialEq`, which is constant-time (it compares
//! with `constant_time_eq`); the scan does not stop at the first match, so the time taken does
//! not tell which entry matched.

use crate::error::{ApiError, code};
use serde::Deserialize;
use std::path::Path;

/// What a token allows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, async_graphql::Enum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Submits commands, reads the log and the operational views.
    Operator,
    /// Finance views and exports.
    Finance,
    /// Everything read-only: the log, verification, checkpoints and proofs.
    Auditor,
    /// Dashboard views.
    Viewer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] =
        [Role::Admin, Role::Operator, Role::Finance, Role::Auditor, Role::Viewer];

    /// The lowercase name used in configuration.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Finance => "finance",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
        }
    }

    /// Parses a lowercase role name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

use Role::{Admin, Auditor, Finance, Operator, Viewer};

const EVERYONE: &[Role] = &[Admin, Operator, Finance, Auditor, Viewer];
const LOG_READERS: &[Role] = &[Admin, Operator, Auditor];
const AUDIT: &[Role] = &[Admin, Auditor];
const WRITERS: &[Role] = &[Admin, Operator];
const DASHBOARD: &[Role] = &[Admin, Operator, Auditor, Viewer];
const FINANCE: &[Role] = &[Admin, Finance, Auditor];

/// Which roles may use each root field (`Type.field`), and the nested fields that reach data
/// of a stricter role than their root (`AtsChange.event`: a viewer may follow ATS changes,
/// not read the log's events; `ViewMeta.checkpoint`: every view answer's meta may name its
/// signed checkpoint, which only audit roles read). A root field missing here is refused to
/// everyone. Tests check that every root field has a row, and that no nested field reaches a
/// type (`Checkpoint`, `Event`, …) that the root fields returning it give to fewer roles than
/// reach the nested field, unless a row here narrows it.
///
/// | data | roles |
/// | --- | --- |
/// | log events, streams, quarantine, lot trace | admin, operator, auditor |
/// | verification, checkpoints (also `meta.checkpoint`), proofs, audit trail, operations (`startOperation`, `operation`, the bundle download) | admin, auditor |
/// | operational views (stock, ATS, orders, exceptions) | admin, operator, auditor, viewer |
/// | finance views and exports | admin, finance, auditor |
/// | KPIs, `head`, `views`, `whoami` | every role |
/// | webhook endpoints, their dead letters and replays (they carry URLs and return secrets) | admin |
/// | commands (every typed command mutation: [`COMMAND_MUTATIONS`]) | admin, operator (`cutCheckpoint`: admin) |
/// | `node`, `nodes` | every role; each node type then needs its `Node.{Type}` row (the roles of the root field serving that type), else `FORBIDDEN` at that node |
pub const FIELD_ROLES: &[(&str, &[Role])] = &[
    ("Query.head", EVERYONE),
    ("Query.events", LOG_READERS),
    ("Query.stream", LOG_READERS),
    ("Query.event", LOG_READERS),
    ("Query.verify", AUDIT),
    ("Query.checkpoints", AUDIT),
    ("Query.latestCheckpoint", AUDIT),
    ("Query.inclusionProof", AUDIT),
    ("Query.consistencyProof", AUDIT),
    ("Query.views", EVERYONE),
    ("Query.quarantined", LOG_READERS),
    ("Query.submissionStats", DASHBOARD),
    ("Query.whoami", EVERYONE),
    ("Query.stock", DASHBOARD),
    ("Query.stockBySku", DASHBOARD),
    ("Query.stockByLocation", DASHBOARD),
    ("Query.ats", DASHBOARD),
    ("Query.atsByChannel", DASHBOARD),
    ("Query.order", DASHBOARD),
    ("Query.orders", DASHBOARD),
    ("Query.exceptions", DASHBOARD),
    ("Query.raisedExceptions", DASHBOARD),
    ("Query.workflowStages", DASHBOARD),
    ("Query.ordersInStage", DASHBOARD),
    ("Query.workflowRules", DASHBOARD),
    ("Query.backorders", DASHBOARD),
    ("Query.fillRate", EVERYONE),
    ("Query.releaseTimes", EVERYONE),
    ("Query.returnCycleTimes", EVERYONE),
    ("Query.recordAccuracy", EVERYONE),
    ("Query.auditTrail", AUDIT),
    ("Query.lotTrace", LOG_READERS),
    ("Query.trialBalance", FINANCE),
    ("Query.journalEntries", FINANCE),
    ("Query.accountSubledger", FINANCE),
    ("Query.settlement", FINANCE),
    ("Query.settlements", FINANCE),
    ("Query.settlementLines", FINANCE),
    ("Query.settlementExport", FINANCE),
    ("Query.goodsReceivedNotInvoiced", FINANCE),
    ("Query.payables", FINANCE),
    ("Query.inventoryValuation", FINANCE),
    ("Query.receivablesAging", FINANCE),
    ("Query.openInvoices", FINANCE),
    ("Query.stockLevels", DASHBOARD),
    ("Query.node", EVERYONE),
    ("Query.nodes", EVERYONE),
    ("Node.Order", DASHBOARD),
    ("Node.Settlement", FINANCE),
    ("Node.Lot", LOG_READERS),
    ("Node.Sku", DASHBOARD),
    ("Node.Location", DASHBOARD),
    ("Node.Return", DASHBOARD),
    ("Node.JournalEntry", FINANCE),
    ("Mutation.submit", WRITERS),
    ("Mutation.submitMany", WRITERS),
    ("Mutation.importRecords", WRITERS),
    ("Mutation.cutCheckpoint", &[Admin]),
    ("Mutation.rebuildView", &[Admin]),
    ("Mutation.startOperation", AUDIT),
    ("Query.operation", AUDIT),
    ("Query.webhookEndpoints", &[Admin]),
    ("Query.webhookDeadLetters", &[Admin]),
    ("Mutation.addWebhookEndpoint", &[Admin]),
    ("Mutation.removeWebhookEndpoint", &[Admin]),
    ("Mutation.pauseWebhookEndpoint", &[Admin]),
    ("Mutation.replayWebhookDeadLetters", &[Admin]),
    ("Subscription.events", LOG_READERS),
    ("Subscription.atsChanged", DASHBOARD),
    ("AtsChange.event", LOG_READERS),
    ("ViewMeta.checkpoint", AUDIT),
];

/// Who may read `/metrics` with a token (operational counters, rejection counts by source):
/// the roles that read the log. Whether a token is needed at all is
/// [`MetricsAccess`](crate::config::MetricsAccess).
pub const METRICS_ROLES: &[Role] = LOG_READERS;

/// Who may submit commands: every typed command mutation (one per domain command) and
/// `submit`/`submitMany`.
pub const COMMAND_ROLES: &[Role] = WRITERS;

/// Lists the typed command mutations as `Mutation.{field}`.
macro_rules! command_mutations {
    ($($(#[doc = $doc:literal])* $variant:ident($payload:ident) $tag:ident $field:literal;)*) => {
        &[$(concat!("Mutation.", $field)),*]
    };
}

/// Every typed command mutation (`Mutation.receiveInventory`, …), from the domain's command
/// list: each is allowed to [`COMMAND_ROLES`], so a new command needs no row here.
pub const COMMAND_MUTATIONS: &[&str] = tally_domain::for_each_command!(command_mutations);

/// The roles allowed on `field` (`Type.field`); empty when the field has no row.
#[must_use]
pub fn allowed_roles(field: &str) -> &'static [Role] {
    if COMMAND_MUTATIONS.contains(&field) {
        return COMMAND_ROLES;
    }
    FIELD_ROLES.iter().find(|(f, _)| *f == field).map_or(&[], |(_, roles)| *roles)
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name; recorded as the actor of submitted commands.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// The authentication outcome of one request or WebSocket connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No token was presented.
    Anonymous,
    /// A token was presented but matches none.
    Invalid,
    /// A known token.
    Caller(Caller),
}

impl Auth {
    /// Whether this caller may use `field`: `Ok`, or `UNAUTHENTICATED` / `FORBIDDEN`.
    pub fn check(&self, field: &str) -> Result<&Caller, ApiError> {
        match self {
            Auth::Anonymous => {
                Err(ApiError::new(code::UNAUTHENTICATED, "a bearer token is required"))
            }
            Auth::Invalid => Err(ApiError::new(code::UNAUTHENTICATED, "the token is not valid")),
            Auth::Caller(caller) => {
                if allowed_roles(field).contains(&caller.role) {
                    Ok(caller)
                } else {
                    Err(ApiError::new(
                        code::FORBIDDEN,
                        format!("role '{}' may not use {field}", caller.role.as_str()),
                    ))
                }
            }
        }
    }
}

/// The async-graphql guard of one root field: looks the field up in [`FIELD_ROLES`].
#[derive(Debug, Clone, Copy)]
pub struct FieldGuard(pub &'static str);

impl async_graphql::Guard for FieldGuard {
    async fn check(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<()> {
        let auth = ctx.data_opt::<Auth>().unwrap_or(&Auth::Anonymous);
        auth.check(self.0).map(|_| ()).map_err(Into::into)
    }
}

/// The guard of the typed command mutations: looks up `Mutation.{field}` (the field being
/// resolved) with [`allowed_roles`], so one guard serves every generated mutation.
#[derive(Debug, Clone, Copy)]
pub struct MutationGuard;

impl async_graphql::Guard for MutationGuard {
    async fn check(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<()> {
        let field = format!("Mutation.{}", ctx.item.node.name.node);
        let auth = ctx.data_opt::<Auth>().unwrap_or(&Auth::Anonymous);
        auth.check(&field).map(|_| ()).map_err(Into::into)
    }
}

/// One configured token.
#[derive(Clone)]
struct TokenEntry {
    name: String,
    role: Role,
    hash: blake3::Hash,
}

impl std::fmt::Debug for TokenEntry {
    /// Shows the name and role only: a token's hash is not printed, so it is never logged.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEntry")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("hash", &"<redacted>")
            .finish()
    }
}

/// The index of the first of `hashes` equal to `presented`. Every entry is compared (a fold
/// has no early exit), each with `blake3::Hash`'s constant-time `PartialEq`, so neither the
/// number of comparisons nor any one comparison depends on where, or whether, it matches.
fn find_constant_time<'a>(
    hashes: impl Iterator<Item = &'a blake3::Hash>,
    presented: &blake3::Hash,
) -> Option<usize> {
    hashes.enumerate().fold(None, |found, (index, hash)| {
        let equal = hash == presented;
        found.or(equal.then_some(index))
    })
}

/// Why a token configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthConfigError {
    /// The file could not be read.
    #[error("cannot read token file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Group or others may read or write the file: whoever can write it can give themselves
    /// any role, whoever can read it can try the hashes offline.
    #[error(
        "token file '{path}' has mode {mode:04o}, open to group or others; expected 0600 \
         (chmod 600)"
    )]
    Permissions {
        /// The path.
        path: String,
        /// The permission bits found.
        mode: u32,
    },
    /// The path is not a regular file.
    #[error("token file '{path}' is not a regular file")]
    NotAFile {
        /// The path.
        path: String,
    },
    /// The text is not valid TOML or JSON of the expected shape.
    #[error("token configuration: {0}")]
    Parse(String),
    /// An entry is wrong.
    #[error("token entry {index}: {reason}")]
    Entry {
        /// 0-based index.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    #[serde(default)]
    tokens: Vec<TokenFileEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFileEntry {
    /// Recorded as the actor of the commands it submits.
    name: String,
    role: Role,
    /// blake3 of the token, 64 hex digits.
    blake3: String,
}

/// Token → role configuration, holding only hashes.
///
/// File format (TOML; the same shape in JSON when the file name ends in `.json`):
///
/// ```toml
/// [[tokens]]
/// name = "ops-console"
/// role = "operator"
/// blake3 = "<64 hex digits: blake3 of the token>"
/// ```
///
/// Environment: `TALLY_API_TOKENS_FILE` names such a file; `TALLY_API_TOKENS` holds
/// `name:role:token` entries separated by commas, hashed as they are read.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    tokens: Vec<TokenEntry>,
}

impl AuthConfig {
    /// No tokens: every field answers `UNAUTHENTICATED`.
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// The hash to put in a token file for `token` (64 hex digits).
    #[must_use]
    pub fn hash_token(token: &str) -> String {
        blake3::hash(token.as_bytes()).to_hex().to_string()
    }

    /// Adds a token given in clear; only its hash is kept.
    #[must_use]
    pub fn with_token(mut self, name: &str, role: Role, token: &str) -> Self {
        self.tokens.push(TokenEntry {
            name: name.to_owned(),
            role,
            hash: blake3::hash(token.as_bytes()),
        });
        self
    }

    /// Number of configured tokens.
    #[must_use]
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether no token is configured.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    fn from_file_entries(file: TokenFile) -> Result<Self, AuthConfigError> {
        let mut tokens = Vec::with_capacity(file.tokens.len());
        for (index, entry) in file.tokens.into_iter().enumerate() {
            let hash = blake3::Hash::from_hex(entry.blake3.trim()).map_err(|e| {
                AuthConfigError::Entry {
                    index,
                    reason: format!("blake3 is not 64 hex digits: {e}"),
                }
            })?;
            if entry.name.is_empty() || entry.name.chars().any(char::is_control) {
                return Err(AuthConfigError::Entry {
                    index,
                    reason: "name must be non-empty printable text".to_owned(),
                });
            }
            tokens.push(TokenEntry { name: entry.name, role: entry.role, hash });
        }
        Ok(Self { tokens })
    }

    /// Parses the TOML form.
    pub fn from_toml_str(text: &str) -> Result<Self, AuthConfigError> {
        let file: TokenFile =
            toml::from_str(text).map_err(|e| AuthConfigError::Parse(e.to_string()))?;
        Self::from_file_entries(file)
    }

    /// Parses the JSON form.
    pub fn from_json_str(text: &str) -> Result<Self, AuthConfigError> {
        let file: TokenFile =
            serde_json::from_str(text).map_err(|e| AuthConfigError::Parse(e.to_string()))?;
        Self::from_file_entries(file)
    }

    /// Reads a token file: JSON when its name ends in `.json`, TOML otherwise. Refuses a file
    /// that group or others may read or write (any of the `0o077` bits), like the ledger key:
    /// the same rule for `tokens.toml` and for `TALLY_API_TOKENS_FILE`.
    pub fn from_file(path: &Path) -> Result<Self, AuthConfigError> {
        use std::os::unix::fs::PermissionsExt as _;
        let shown = || path.display().to_string();
        let io = |source| AuthConfigError::Io { path: shown(), source };
        let metadata = std::fs::metadata(path).map_err(io)?;
        if !metadata.is_file() {
            return Err(AuthConfigError::NotAFile { path: shown() });
        }
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(AuthConfigError::Permissions { path: shown(), mode });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        if path.extension().is_some_and(|e| e == "json") {
            Self::from_json_str(&text)
        } else {
            Self::from_toml_str(&text)
        }
    }

    /// Parses `name:role:token[,name:role:token…]` (the `TALLY_API_TOKENS` form).
    pub fn from_env_value(value: &str) -> Result<Self, AuthConfigError> {
        let mut config = Self::empty();
        for (index, item) in value.split(',').map(str::trim).filter(|s| !s.is_empty()).enumerate() {
            let mut parts = item.splitn(3, ':');
            let (Some(name), Some(role), Some(token)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(AuthConfigError::Entry {
                    index,
                    reason: "expected name:role:token".to_owned(),
                });
            };
            let role = Role::parse(role).ok_or_else(|| AuthConfigError::Entry {
                index,
                reason: format!("unknown role '{role}'"),
            })?;
            if name.is_empty() || token.is_empty() {
                return Err(AuthConfigError::Entry {
                    index,
                    reason: "name and token must be non-empty".to_owned(),
                });
            }
            config = config.with_token(name, role, token);
        }
        Ok(config)
    }

    /// Tokens from the environment: the file named by `TALLY_API_TOKENS_FILE` (owner-only, see
    /// [`AuthConfig::from_file`]), plus the entries of `TALLY_API_TOKENS`.
    pub fn from_env() -> Result<Self, AuthConfigError> {
        let mut config = match std::env::var_os("TALLY_API_TOKENS_FILE") {
            Some(path) => Self::from_file(Path::new(&path))?,
            None => Self::empty(),
        };
        if let Ok(value) = std::env::var("TALLY_API_TOKENS") {
            config.tokens.extend(Self::from_env_value(&value)?.tokens);
        }
        Ok(config)
    }

    /// Who `token` is, if anyone. Compares against every entry, in constant time each
    /// (`find_constant_time`).
    #[must_use]
    pub fn authenticate(&self, token: &str) -> Option<Caller> {
        let presented = blake3::hash(token.as_bytes());
        let index = find_constant_time(self.tokens.iter().map(|e| &e.hash), &presented)?;
        let entry = self.tokens.get(index)?;
        Some(Caller { name: entry.name.clone(), role: entry.role })
    }

    /// Resolves an `Authorization` header value (`Bearer <token>`); `None` = no header.
    #[must_use]
    pub fn resolve(&self, authorization: Option<&str>) -> Auth {
        let Some(value) = authorization else { return Auth::Anonymous };
        let value = value.trim();
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .unwrap_or_default();
        if token.is_empty() {
            return Auth::Invalid;
        }
        self.authenticate(token).map_or(Auth::Invalid, Auth::Caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(n: usize) -> Vec<blake3::Hash> {
        (0..n).map(|i| blake3::hash(format!("token-{i}").as_bytes())).collect()
    }

    #[test]
    fn lookup_compares_with_every_entry_wherever_it_matches() {
        let all = hashes(7);
        let unknown = blake3::hash(b"unknown");
        for target in all.iter().map(Some).chain([None]) {
            let presented = target.unwrap_or(&unknown);
            let mut visited = 0;
            let found = find_constant_time(all.iter().inspect(|_| visited += 1), presented);
            assert_eq!(found, target.and_then(|t| all.iter().position(|h| h == t)));
            assert_eq!(visited, all.len(), "every entry is compared, match or not");
        }
        // Duplicates: the first entry wins, and the scan still goes to the end.
        let twice = [all[2], all[3], all[2]];
        let mut visited = 0;
        assert_eq!(find_constant_time(twice.iter().inspect(|_| visited += 1), &all[2]), Some(0));
        assert_eq!(visited, 3);
    }

    #[test]
    fn authenticate_resolves_tokens_and_debug_shows_no_hash() {
        let config = AuthConfig::empty().with_token("ops", Role::Operator, "tly_ops").with_token(
            "audit",
            Role::Auditor,
            "tly_audit",
        );
        assert_eq!(
            config.authenticate("tly_audit"),
            Some(Caller { name: "audit".to_owned(), role: Role::Auditor })
        );
        assert_eq!(config.authenticate("tly_nope"), None);
        assert_eq!(
            config.resolve(Some("Bearer tly_ops")).clone(),
            Auth::Caller(Caller { name: "ops".to_owned(), role: Role::Operator })
        );
        assert_eq!(config.resolve(Some("Basic tly_ops")), Auth::Invalid);
        assert_eq!(config.resolve(None), Auth::Anonymous);
        let debug = format!("{config:?}");
        for secret in ["tly_ops", "tly_audit"] {
            assert!(!debug.contains(secret), "{debug}");
            assert!(!debug.contains(&AuthConfig::hash_token(secret)), "{debug}");
        }
        assert!(debug.contains("ops") && debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn a_token_file_open_to_group_or_others_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.toml");
        let hash = AuthConfig::hash_token("tly_x");
        std::fs::write(
            &path,
            format!("[[tokens]]\nname = \"a\"\nrole = \"admin\"\nblake3 = \"{hash}\"\n"),
        )
        .expect("ok");
        for mode in [0o666, 0o644, 0o640, 0o620, 0o604, 0o602, 0o601] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("ok");
            let error = AuthConfig::from_file(&path).expect_err("refused");
            assert!(
                matches!(error, AuthConfigError::Permissions { mode: m, .. } if m == mode),
                "{error}"
            );
            assert!(error.to_string().contains("chmod 600"), "{error}");
        }
        for mode in [0o600, 0o400] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("ok");
            assert_eq!(AuthConfig::from_file(&path).expect("ok").len(), 1);
        }
        assert!(matches!(
            AuthConfig::from_file(dir.path()).expect_err("refused"),
            AuthConfigError::NotAFile { .. }
        ));
    }
}
