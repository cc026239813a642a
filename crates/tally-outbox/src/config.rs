//! The webhooks file (`<data-dir>/webhooks.toml`): delivery settings and endpoints, read and
//! validated at load with errors that name the endpoint and the field.

use crate::filter::TypePattern;
use crate::signing::Secret;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name in the data directory.
pub const FILE_NAME: &str = "webhooks.toml";
/// Most endpoints (from the file and added through the API together).
pub const ENDPOINTS_MAX: usize = 64;
/// Longest endpoint name, in bytes.
pub const NAME_BYTES_MAX: usize = 64;
/// Longest URL, in bytes.
pub const URL_BYTES_MAX: usize = 2048;
/// Most type patterns, channels or SKUs one endpoint may list.
pub const FILTER_ENTRIES_MAX: usize = 256;
/// Most delivery attempts one message may be given (the setting's upper bound).
pub const ATTEMPTS_MAX: u32 = 100;
/// Largest `ca_file`, in bytes (a bundle of a few hundred certificates fits).
pub const CA_FILE_BYTES_MAX: u64 = 1024 * 1024;
/// Longest `ca_file` path, in bytes.
pub const CA_PATH_BYTES_MAX: usize = 4096;

/// How deliveries are retried and paced, for every endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Delivery {
    /// Attempts of one message before it goes to the endpoint's dead letters (1 to 100).
    pub max_attempts: u32,
    /// Age after its first failed attempt at which a message goes to the dead letters, even
    /// with attempts left, in seconds.
    pub max_age_s: u64,
    /// Wait after the first failure; each further failure doubles it, in milliseconds.
    pub backoff_initial_ms: u64,
    /// Longest wait between two attempts, in milliseconds.
    pub backoff_max_ms: u64,
    /// A request that has no answer after this long failed, in milliseconds.
    pub request_timeout_ms: u64,
    /// How long stock moves are gathered before the `ats.changed` messages they cause are cut
    /// (several commits in this window give one message per channel and SKU), in milliseconds.
    pub ats_coalesce_ms: u64,
    /// Seed of the jitter added to each backoff (the jitter is a function of the seed, the
    /// message id and the attempt, so a run is reproducible).
    pub jitter_seed: u64,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            max_attempts: 15,
            max_age_s: 24 * 3600,
            backoff_initial_ms: 1000,
            backoff_max_ms: 3_600_000,
            request_timeout_ms: 10_000,
            ats_coalesce_ms: 100,
            jitter_seed: 0,
        }
    }
}

/// Where a new endpoint's cursor starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// After the log's head when the endpoint is first seen: only new events.
    #[default]
    Head,
    /// From the first event: the whole history is delivered.
    Earliest,
}

/// Where an endpoint is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// In `webhooks.toml` (changed by editing the file and restarting).
    Config,
    /// Added through the admin API (kept in the outbox store).
    Api,
}

/// The CA certificates an endpoint's server certificate must chain to, read from its
/// `ca_file` (PEM) when the configuration is loaded.
#[derive(Clone, PartialEq, Eq)]
pub struct CaFile {
    /// The path as resolved (relative paths are relative to the data directory).
    pub path: PathBuf,
    /// The file's bytes (one or more PEM certificates), checked when read.
    pub pem: Vec<u8>,
}

impl std::fmt::Debug for CaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaFile").field("path", &self.path).field("bytes", &self.pem.len()).finish()
    }
}

impl CaFile {
    /// Reads and checks `<base>/<path>` (or `path` when absolute): a readable file of at most
    /// [`CA_FILE_BYTES_MAX`] bytes holding at least one PEM certificate the TLS client
    /// accepts as a root. Errors name the endpoint and the key.
    pub fn load(name: &str, path: &str, base: Option<&Path>) -> Result<Self, ConfigError> {
        let bad = |why: String| ConfigError(format!("endpoint '{name}': ca_file '{path}': {why}"));
        if path.is_empty() || path.len() > CA_PATH_BYTES_MAX {
            return Err(bad(format!("must be 1 to {CA_PATH_BYTES_MAX} bytes")));
        }
        let resolved = match base {
            Some(base) if Path::new(path).is_relative() => base.join(path),
            _ => PathBuf::from(path),
        };
        // Absolute from here on: the path stored for an endpoint of the API does not depend on
        // the directory the server is started from.
        let resolved = std::fs::canonicalize(&resolved)
            .map_err(|e| bad(format!("cannot read {}: {e}", resolved.display())))?;
        let meta = std::fs::metadata(&resolved)
            .map_err(|e| bad(format!("cannot read {}: {e}", resolved.display())))?;
        if !meta.is_file() {
            return Err(bad(format!("{} is not a file", resolved.display())));
        }
        if meta.len() > CA_FILE_BYTES_MAX {
            return Err(bad(format!("larger than {CA_FILE_BYTES_MAX} bytes")));
        }
        let pem = std::fs::read(&resolved)
            .map_err(|e| bad(format!("cannot read {}: {e}", resolved.display())))?;
        let ca = Self { path: resolved, pem };
        crate::http::check_ca(&ca).map_err(bad)?;
        Ok(ca)
    }
}

/// One endpoint: where, what, and the secret it is signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSpec {
    /// Its name (`[a-z0-9_-]`, 1 to 64 bytes): the key of its cursor and dead letters.
    pub name: String,
    /// `https://…` (or `http://…`) URL the messages are POSTed to.
    pub url: String,
    /// For an `https://` URL: the CA certificates its server certificate must chain to,
    /// instead of the built-in web roots (a receiver with a private CA).
    pub ca_file: Option<CaFile>,
    /// Event types it receives: names (`order.shipped`, `ats.changed`) or globs (`order.*`, `*`).
    pub types: Vec<TypePattern>,
    /// Only messages about these channels (empty: every channel).
    pub channels: Vec<String>,
    /// Only messages about these SKUs (empty: every SKU).
    pub skus: Vec<String>,
    /// The signing secret.
    pub secret: Secret,
    /// Where its cursor starts when first seen.
    pub start: Start,
    /// Where it is defined.
    pub origin: Origin,
}

/// The stored and written form of an endpoint (`[[endpoint]]` in the file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointText {
    /// See [`EndpointSpec::name`].
    pub name: String,
    /// See [`EndpointSpec::url`].
    pub url: String,
    /// See [`EndpointSpec::types`].
    pub types: Vec<String>,
    /// See [`EndpointSpec::channels`].
    #[serde(default)]
    pub channels: Vec<String>,
    /// See [`EndpointSpec::skus`].
    #[serde(default)]
    pub skus: Vec<String>,
    /// `whsec_<base64>`.
    pub secret: String,
    /// See [`EndpointSpec::start`].
    #[serde(default)]
    pub start: Start,
    /// Path of a PEM file of CA certificates (see [`EndpointSpec::ca_file`]); relative to the
    /// data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    #[serde(default)]
    delivery: Delivery,
    #[serde(default, rename = "endpoint")]
    endpoints: Vec<EndpointText>,
}

/// The webhooks configuration: delivery settings and the file's endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhooksConfig {
    /// Retry and pacing.
    pub delivery: Delivery,
    /// The endpoints of the file.
    pub endpoints: Vec<EndpointSpec>,
}

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl WebhooksConfig {
    /// Reads `<dir>/webhooks.toml`; `None` when the file does not exist.
    pub fn load(dir: &Path) -> Result<Option<Self>, ConfigError> {
        let path = dir.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ConfigError(format!("reading {}: {e}", path.display()))),
        };
        Self::parse_in(&text, Some(dir))
            .map(Some)
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))
    }

    /// Reads the TOML text of a webhooks file (relative `ca_file` paths are relative to the
    /// current directory).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::parse_in(text, None)
    }

    /// Reads the TOML text of a webhooks file whose relative `ca_file` paths are relative to
    /// `base` (the data directory).
    pub fn parse_in(text: &str, base: Option<&Path>) -> Result<Self, ConfigError> {
        let file: FileText = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        file.delivery.check()?;
        if file.endpoints.len() > ENDPOINTS_MAX {
            return Err(ConfigError(format!(
                "{} endpoints, more than {ENDPOINTS_MAX}",
                file.endpoints.len()
            )));
        }
        let mut endpoints: Vec<EndpointSpec> = Vec::with_capacity(file.endpoints.len());
        for text in file.endpoints {
            let spec = text.into_spec_in(Origin::Config, base)?;
            if endpoints.iter().any(|e| e.name == spec.name) {
                return Err(ConfigError(format!("endpoint '{}' is defined twice", spec.name)));
            }
            endpoints.push(spec);
        }
        Ok(Self { delivery: file.delivery, endpoints })
    }
}

impl Delivery {
    /// Checks the bounds of every setting.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |what: &str| Err(ConfigError(format!("delivery.{what}")));
        if !(1..=ATTEMPTS_MAX).contains(&self.max_attempts) {
            return bad(&format!("max_attempts is {}; 1 to {ATTEMPTS_MAX}", self.max_attempts));
        }
        if self.max_age_s == 0 || self.max_age_s > 30 * 24 * 3600 {
            return bad(&format!("max_age_s is {}; 1 to 2592000 (30 days)", self.max_age_s));
        }
        if self.backoff_initial_ms == 0 || self.backoff_initial_ms > self.backoff_max_ms {
            return bad("backoff_initial_ms must be at least 1 and at most backoff_max_ms");
        }
        if self.backoff_max_ms > 24 * 3_600_000 {
            return bad(&format!(
                "backoff_max_ms is {}; at most 86400000 (a day)",
                self.backoff_max_ms
            ));
        }
        if !(1..=300_000).contains(&self.request_timeout_ms) {
            return bad(&format!("request_timeout_ms is {}; 1 to 300000", self.request_timeout_ms));
        }
        if self.ats_coalesce_ms > 60_000 {
            return bad(&format!("ats_coalesce_ms is {}; at most 60000", self.ats_coalesce_ms));
        }
        Ok(())
    }
}

fn check_list(name: &str, what: &str, list: &[String]) -> Result<(), ConfigError> {
    if list.len() > FILTER_ENTRIES_MAX {
        return Err(ConfigError(format!(
            "endpoint '{name}': {what} has {} entries, more than {FILTER_ENTRIES_MAX}",
            list.len()
        )));
    }
    Ok(())
}

/// Checks an endpoint name: `[a-z0-9_-]`, 1 to 64 bytes.
pub fn check_name(name: &str) -> Result<(), ConfigError> {
    if name.is_empty()
        || name.len() > NAME_BYTES_MAX
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(ConfigError(format!(
            "endpoint name '{name}' must be 1 to {NAME_BYTES_MAX} characters of a-z, 0-9, '_' and '-'"
        )));
    }
    Ok(())
}

/// Checks a URL: `https://` or `http://` with a host, at most 2048 bytes. Plain `http://` is
/// accepted for any host, as before TLS was supported (a receiver on the same host or a
/// private network); use `https://` across networks you do not control.
pub fn check_url(name: &str, url: &str) -> Result<(), ConfigError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ConfigError(format!("endpoint '{name}': url '{url}': {e}")))?;
    if url.len() > URL_BYTES_MAX {
        return Err(ConfigError(format!(
            "endpoint '{name}': url longer than {URL_BYTES_MAX} bytes"
        )));
    }
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ConfigError(format!(
            "endpoint '{name}': url '{url}': only https:// and http:// are supported"
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError(format!("endpoint '{name}': url '{url}' has no host")));
    }
    Ok(())
}

impl EndpointText {
    /// Validates every field into an endpoint (a relative `ca_file` is relative to the current
    /// directory).
    pub fn into_spec(self, origin: Origin) -> Result<EndpointSpec, ConfigError> {
        self.into_spec_in(origin, None)
    }

    /// Validates every field into an endpoint, reading its `ca_file` (relative to `base`).
    pub fn into_spec_in(
        self,
        origin: Origin,
        base: Option<&Path>,
    ) -> Result<EndpointSpec, ConfigError> {
        check_name(&self.name)?;
        let name = self.name;
        check_url(&name, &self.url)?;
        let ca_file = match &self.ca_file {
            None => None,
            Some(_) if !self.url.starts_with("https://") => {
                return Err(ConfigError(format!(
                    "endpoint '{name}': ca_file is set but url '{}' is not https://",
                    self.url
                )));
            }
            Some(path) => Some(CaFile::load(&name, path, base)?),
        };
        if self.types.is_empty() {
            return Err(ConfigError(format!(
                "endpoint '{name}': types is empty (use [\"*\"] for every type)"
            )));
        }
        check_list(&name, "types", &self.types)?;
        check_list(&name, "channels", &self.channels)?;
        check_list(&name, "skus", &self.skus)?;
        let types = self
            .types
            .iter()
            .map(|t| {
                TypePattern::parse(t).map_err(|e| ConfigError(format!("endpoint '{name}': {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for channel in &self.channels {
            tally_domain::ids::ChannelId::parse(channel.clone())
                .map_err(|e| ConfigError(format!("endpoint '{name}': channels: {e}")))?;
        }
        for sku in &self.skus {
            tally_domain::ids::Sku::parse(sku.clone())
                .map_err(|e| ConfigError(format!("endpoint '{name}': skus: {e}")))?;
        }
        let secret = Secret::parse(&self.secret)
            .map_err(|e| ConfigError(format!("endpoint '{name}': secret: {e}")))?;
        Ok(EndpointSpec {
            name,
            url: self.url,
            ca_file,
            types,
            channels: self.channels,
            skus: self.skus,
            secret,
            start: self.start,
            origin,
        })
    }
}

impl EndpointSpec {
    /// The stored form (with the secret).
    #[must_use]
    pub fn to_text(&self) -> EndpointText {
        EndpointText {
            name: self.name.clone(),
            url: self.url.clone(),
            types: self.types.iter().map(|t| t.as_str().to_owned()).collect(),
            channels: self.channels.clone(),
            skus: self.skus.clone(),
            secret: self.secret.expose(),
            start: self.start,
            ca_file: self.ca_file.as_ref().map(|c| c.path.display().to_string()),
        }
    }

    /// Whether the endpoint wants `ats.changed`.
    #[must_use]
    pub fn wants_ats(&self) -> bool {
        self.types.iter().any(|t| t.matches(crate::message::ATS_CHANGED))
    }

    /// Whether the endpoint wants events of this type.
    #[must_use]
    pub fn wants_type(&self, event_type: &str) -> bool {
        self.types.iter().any(|t| t.matches(event_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn reads_a_full_file() {
        let text = format!(
            r#"
[delivery]
max_attempts = 5
backoff_initial_ms = 200

[[endpoint]]
name = "erp"
url = "http://127.0.0.1:9000/hooks/tally"
types = ["order.*", "finance.payment_captured"]
secret = "{SECRET}"

[[endpoint]]
name = "shop-feed"
url = "http://10.0.0.5/ats"
types = ["ats.changed"]
channels = ["web"]
skus = ["TEE-BLK-M"]
secret = "{SECRET}"
start = "earliest"
"#
        );
        let config = WebhooksConfig::parse(&text).expect("parses");
        assert_eq!(config.delivery.max_attempts, 5);
        assert_eq!(config.delivery.backoff_initial_ms, 200);
        assert_eq!(config.delivery.max_age_s, 86_400);
        assert_eq!(config.endpoints.len(), 2);
        let erp = &config.endpoints[0];
        assert!(erp.wants_type("order.shipped"));
        assert!(erp.wants_type("finance.payment_captured"));
        assert!(!erp.wants_type("finance.refund_issued"));
        assert!(!erp.wants_ats());
        let feed = &config.endpoints[1];
        assert!(feed.wants_ats());
        assert_eq!(feed.start, Start::Earliest);
        assert_eq!(feed.channels, ["web"]);
    }

    #[test]
    fn refuses_bad_endpoints_with_the_reason() {
        let cases = [
            ("name = \"ERP\"", "endpoint name 'ERP'"),
            ("name = \"a\"\nurl = \"ftp://x/\"", "only https:// and http://"),
            ("name = \"a\"\ntypes = [\"ordr.*\"]", "matches no event type"),
            ("name = \"a\"\ntypes = [\"order.shiped\"]", "unknown event type 'order.shiped'"),
            ("name = \"a\"\nsecret = \"abc\"", "secret: a secret starts with 'whsec_'"),
            ("name = \"a\"\ntypes = []", "types is empty"),
        ];
        for (override_, expected) in cases {
            let mut fields = vec![
                ("name", "name = \"a\"".to_owned()),
                ("url", "url = \"http://127.0.0.1:1/\"".to_owned()),
                ("types", "types = [\"*\"]".to_owned()),
                ("secret", format!("secret = \"{SECRET}\"")),
            ];
            for line in override_.lines() {
                let key = line.split(' ').next().unwrap_or_default();
                if let Some(f) = fields.iter_mut().find(|(k, _)| *k == key) {
                    f.1 = line.to_owned();
                }
            }
            let body: Vec<String> = fields.into_iter().map(|(_, v)| v).collect();
            let text = format!("[[endpoint]]\n{}\n", body.join("\n"));
            let err = WebhooksConfig::parse(&text).expect_err(override_);
            assert!(err.0.contains(expected), "{override_}: {err}");
        }
        let twice = format!(
            "[[endpoint]]\nname=\"a\"\nurl=\"http://h/\"\ntypes=[\"*\"]\nsecret=\"{SECRET}\"\n[[endpoint]]\nname=\"a\"\nurl=\"http://h/\"\ntypes=[\"*\"]\nsecret=\"{SECRET}\"\n"
        );
        assert!(WebhooksConfig::parse(&twice).expect_err("twice").0.contains("defined twice"));
        assert!(WebhooksConfig::parse("[delivery]\nmax_attempts = 0\n").is_err());
        assert!(
            WebhooksConfig::parse("[delivery]\nmax_atempts = 3\n")
                .expect_err("typo")
                .0
                .contains("unknown field")
        );
    }

    fn with_ca(url: &str, ca_file: &str) -> String {
        format!(
            "[[endpoint]]\nname = \"erp\"\nurl = \"{url}\"\ntypes = [\"*\"]\nsecret = \"{SECRET}\"\nca_file = \"{ca_file}\"\n"
        )
    }

    #[test]
    fn a_ca_file_is_read_and_checked_at_load() {
        let dir = tempfile::tempdir().expect("dir");
        let base = Some(dir.path());
        let missing = WebhooksConfig::parse_in(&with_ca("https://h/", "nope.pem"), base)
            .expect_err("missing file");
        assert!(
            missing.0.starts_with("endpoint 'erp': ca_file 'nope.pem': cannot read"),
            "{missing}"
        );
        std::fs::write(dir.path().join("junk.pem"), "not a certificate\n").expect("write");
        let junk = WebhooksConfig::parse_in(&with_ca("https://h/", "junk.pem"), base)
            .expect_err("no certificate");
        assert!(junk.0.contains("endpoint 'erp': ca_file 'junk.pem': holds no PEM"), "{junk}");
        std::fs::write(
            dir.path().join("bad.pem"),
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let bad = WebhooksConfig::parse_in(&with_ca("https://h/", "bad.pem"), base)
            .expect_err("unparseable certificate");
        assert!(bad.0.starts_with("endpoint 'erp': ca_file 'bad.pem': "), "{bad}");
        let plain = WebhooksConfig::parse_in(&with_ca("http://h/", "junk.pem"), base)
            .expect_err("ca_file on http");
        assert!(plain.0.contains("ca_file is set but url 'http://h/' is not https://"), "{plain}");
        let dir_as_file =
            WebhooksConfig::parse_in(&with_ca("https://h/", "."), base).expect_err("a directory");
        assert!(dir_as_file.0.contains("is not a file"), "{dir_as_file}");
        // https without ca_file uses the built-in roots.
        let text = format!(
            "[[endpoint]]\nname = \"erp\"\nurl = \"https://hooks.example.com/tally\"\ntypes = [\"*\"]\nsecret = \"{SECRET}\"\n"
        );
        let config = WebhooksConfig::parse(&text).expect("https");
        assert_eq!(config.endpoints[0].ca_file, None);
    }
}
