//! Talking to a running server: its address file in the data directory, and the client the
//! auditor's commands (`verify`, `export`, `replay`, `checkpoint`, `proof`) use when the store
//! is served.
//!
//! A command that needs the store first opens it offline. When the store is locked by a
//! running `tally serve` (or `tally demo`), it reads `<data>/server.json` — written by the
//! server once it listens, removed when it stops — and asks that server instead, with the
//! token of `--token` or `TALLY_TOKEN`. `--server URL` skips the offline attempt.

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The address file's name in the data directory.
pub const ADDRESS_FILE: &str = "server.json";

/// Bytes read from an address file at most (it holds three short fields).
const ADDRESS_FILE_BYTES_MAX: u64 = 4096;

/// How often an operation's progress is polled.
const POLL_INTERVAL_MS: u64 = 200;

/// Where a running server listens, as it recorded it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerAddress {
    /// The base URL to connect to (`http://127.0.0.1:8080`): the bound address, port 0
    /// resolved, an unspecified address (0.0.0.0, ::) replaced by loopback.
    pub url: String,
    /// The server's process id.
    pub pid: u32,
    /// When it started listening (RFC 3339).
    pub started_at: String,
}

/// The address file of a running server: removed when dropped (a clean shutdown).
#[derive(Debug)]
pub struct AddressFile {
    path: PathBuf,
}

impl Drop for AddressFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Records that this process serves `data` at `bound`: written to a temporary file (0600)
/// and renamed over `server.json`, so a reader never sees half a file.
pub fn write_address(data: &Path, bound: std::net::SocketAddr) -> anyhow::Result<AddressFile> {
    let mut connect = bound;
    if connect.ip().is_unspecified() {
        connect.set_ip(match bound {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let address = ServerAddress {
        url: format!("http://{connect}"),
        pid: std::process::id(),
        started_at: tally_domain::time::Timestamp::from_millis(now).to_rfc3339(),
    };
    let path = data.join(ADDRESS_FILE);
    let temp = data.join(format!(".{ADDRESS_FILE}.{}", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let write = || -> std::io::Result<()> {
        let mut file =
            std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
        file.write_all(serde_json::to_string_pretty(&address)?.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)
    };
    write().with_context(|| format!("writing '{}'", path.display()))?;
    Ok(AddressFile { path })
}

/// Reads `<data>/server.json`; `None` when there is none.
pub fn read_address(data: &Path) -> anyhow::Result<Option<ServerAddress>> {
    use std::io::Read as _;
    let path = data.join(ADDRESS_FILE);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading '{}'", path.display())),
    };
    let mut text = String::new();
    file.take(ADDRESS_FILE_BYTES_MAX)
        .read_to_string(&mut text)
        .with_context(|| format!("reading '{}'", path.display()))?;
    let address = serde_json::from_str(&text)
        .with_context(|| format!("'{}' is not a server address file", path.display()))?;
    Ok(Some(address))
}

/// Whether `error` says the store is locked by another process (a running server).
pub fn store_locked(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<tally_log::Error>().is_some_and(tally_log::Error::is_locked)
            || cause.downcast_ref::<tally_engine::OpenError>().is_some_and(
                |e| matches!(e, tally_engine::OpenError::Log(inner) if inner.is_locked()),
            )
    })
}

/// The process holding the file lock on `lock` (fjall's `log/lock`), from `/proc/locks`
/// (Linux); `None` when it cannot be told. Guards against an address file left by a killed
/// server while another process (an offline command) holds the store: the recorded address
/// might by then belong to another store's server.
fn lock_holder(lock: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(lock).ok()?;
    let dev = meta.dev();
    // Linux's dev_t encoding of major and minor, as /proc/locks prints them (hex).
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let file = format!("{major:02x}:{minor:02x}:{}", meta.ino());
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    // `1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF` (blocked waiters are `->` lines).
    locks.lines().filter(|line| !line.contains("->")).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (*fields.get(5)? == file).then(|| fields.get(4)?.parse().ok()).flatten()
    })
}

/// Whether process `pid` exists (Linux: `/proc/<pid>`; elsewhere assumed alive).
fn process_alive(pid: u32) -> bool {
    if Path::new("/proc/self").exists() {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// How the CLI reaches a server: `--server` and `--token` (or `TALLY_TOKEN`).
#[derive(Debug, Clone, Default)]
pub struct ServerArgs {
    /// `--server URL`.
    pub server: Option<String>,
    /// `--token` or `TALLY_TOKEN` (never printed).
    pub token: Option<String>,
}

/// Runs `offline`; when `--server` is given, or the store turns out to be locked by a running
/// server, runs `online` against that server instead. `role` names who may do it, for the
/// error that asks for a token.
pub fn offline_or_served<T>(
    data: &Path,
    args: &ServerArgs,
    role: &str,
    offline: impl FnOnce() -> anyhow::Result<T>,
    online: impl FnOnce(&Remote) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if let Some(url) = &args.server {
        let remote = Remote::new(url, token(args, role, "--server")?)?;
        return online(&remote);
    }
    match offline() {
        Err(e) if store_locked(&e) => {
            let remote = found(data, args, role)?;
            online(&remote)
        }
        other => other,
    }
}

fn token(args: &ServerArgs, role: &str, why: &str) -> anyhow::Result<String> {
    match &args.token {
        Some(token) if !token.is_empty() => Ok(token.clone()),
        _ => bail!(
            "{why}: this needs an API token of role {role}: give --token or set TALLY_TOKEN (the \
             token `tally init` printed is an admin token)"
        ),
    }
}

/// The server recorded in `<data>/server.json`, checked to be alive.
fn found(data: &Path, args: &ServerArgs, role: &str) -> anyhow::Result<Remote> {
    let Some(address) = read_address(data)? else {
        bail!(
            "the store '{}' is in use by another process (a running `tally serve`?) and records \
             no server address ({ADDRESS_FILE}); stop that process, or give --server URL and \
             --token",
            data.display()
        );
    };
    if let Some(holder) = lock_holder(&data.join("log").join("lock"))
        && holder != address.pid
    {
        bail!(
            "the store '{}' is locked by process {holder}, not by the server recorded in \
             {ADDRESS_FILE} (pid {}, started {}): the address file is stale; give --server URL \
             and --token",
            data.display(),
            address.pid,
            address.started_at
        );
    }
    if !process_alive(address.pid) {
        bail!(
            "the store '{}' is locked, but the server recorded in {ADDRESS_FILE} (pid {}, \
             started {}) is not running: the address file is stale; give --server URL and \
             --token",
            data.display(),
            address.pid,
            address.started_at
        );
    }
    let why = format!("the store is served at {} (pid {})", address.url, address.pid);
    let remote = Remote::new(&address.url, token(args, role, &why)?)?;
    remote.healthy().with_context(|| {
        format!(
            "the store '{}' is served at {} according to {ADDRESS_FILE}, which does not answer; \
             give --server URL",
            data.display(),
            address.url
        )
    })?;
    Ok(remote)
}

/// A client of one server.
pub struct Remote {
    base: String,
    token: String,
    /// `None` only while dropping (it is dropped inside its runtime).
    client: Option<reqwest::Client>,
    runtime: tokio::runtime::Runtime,
}

impl Drop for Remote {
    /// The client's connection pool is dropped inside the runtime it was built in.
    fn drop(&mut self) {
        let _runtime = self.runtime.enter();
        self.client.take();
    }
}

impl std::fmt::Debug for Remote {
    /// The token is never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("base", &self.base).finish_non_exhaustive()
    }
}

/// A GraphQL error the server answered, with its `extensions.code`.
#[derive(Debug)]
pub struct ServerError {
    /// The stable code (`FORBIDDEN`, `INVALID_INPUT`, …).
    pub code: String,
    /// Its message.
    pub message: String,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the server refused: {} ({})", self.message, self.code)
    }
}

impl std::error::Error for ServerError {}

impl Remote {
    /// A client of the server at `url` (`http://host:port`, with or without a trailing `/`).
    pub fn new(url: &str, token: String) -> anyhow::Result<Self> {
        let base = url.trim_end_matches('/').trim_end_matches("/graphql").to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--server '{url}': give a URL such as http://127.0.0.1:8080");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the runtime")?;
        // The client's timers belong to this runtime.
        let client = {
            let _runtime = runtime.enter();
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .build()
                .context("building the HTTP client")?
        };
        Ok(Self { base, token, client: Some(client), runtime })
    }

    fn client(&self) -> &reqwest::Client {
        // Set from `new` until `drop`.
        self.client.as_ref().unwrap_or_else(|| unreachable!("the client is dropped only in drop"))
    }

    fn healthy(&self) -> anyhow::Result<()> {
        let url = format!("{}/healthz", self.base);
        let response = self
            .runtime
            .block_on(async {
                self.client().get(&url).timeout(Duration::from_secs(5)).send().await
            })
            .with_context(|| format!("connecting to {url}"))?;
        if !response.status().is_success() {
            bail!("{url} answered {}", response.status());
        }
        Ok(())
    }

    /// Runs one GraphQL operation; an error in the answer becomes a [`ServerError`].
    pub fn graphql(
        &self,
        query: &str,
        variables: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}/graphql", self.base);
        let body = serde_json::json!({ "query": query, "variables": variables });
        let answer: serde_json::Value = self
            .runtime
            .block_on(async {
                let response = self
                    .client()
                    .post(&url)
                    .bearer_auth(&self.token)
                    .timeout(Duration::from_secs(60))
                    .json(&body)
                    .send()
                    .await?;
                response.error_for_status()?.json().await
            })
            .with_context(|| format!("asking {url}"))?;
        if let Some(error) = answer.get("errors").and_then(|e| e.get(0)) {
            let text = |v: Option<&serde_json::Value>| {
                v.and_then(serde_json::Value::as_str).unwrap_or_default().to_owned()
            };
            return Err(ServerError {
                code: text(error.pointer("/extensions/code")),
                message: text(error.get("message")),
            }
            .into());
        }
        Ok(answer.get("data").cloned().unwrap_or_default())
    }

    /// `GET path?query`: the answer's headers and body; a status other than 2xx is an error
    /// carrying the server's text.
    pub fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<(reqwest::header::HeaderMap, Vec<u8>)> {
        let url = format!("{}{path}", self.base);
        self.runtime
            .block_on(async {
                let response =
                    self.client().get(&url).query(query).bearer_auth(&self.token).send().await?;
                let status = response.status();
                if !status.is_success() {
                    let text = response.text().await.unwrap_or_default();
                    anyhow::bail!("the server answered {status}: {}", text.trim());
                }
                let headers = response.headers().clone();
                Ok((headers, response.bytes().await?.to_vec()))
            })
            .with_context(|| format!("asking {url}"))
    }

    /// Downloads `path` (on the server) into the file `to`, which must not exist yet; returns
    /// the bytes written.
    pub fn download(&self, path: &str, to: &Path) -> anyhow::Result<u64> {
        let url = format!("{}{path}", self.base);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(to)
            .with_context(|| format!("creating '{}'", to.display()))?;
        let written = self
            .runtime
            .block_on(async {
                let mut response = self.client().get(&url).bearer_auth(&self.token).send().await?;
                let status = response.status();
                if !status.is_success() {
                    let text = response.text().await.unwrap_or_default();
                    anyhow::bail!("{status}: {}", text.trim());
                }
                let mut written = 0u64;
                while let Some(chunk) = response.chunk().await? {
                    file.write_all(&chunk)?;
                    written += chunk.len() as u64;
                }
                file.sync_all()?;
                Ok(written)
            })
            .with_context(|| format!("downloading {url}"))?;
        Ok(written)
    }

    /// Starts an operation (`VERIFY`, `EXPORT_BUNDLE`, `REPLAY_CHECK`) and polls it to its end,
    /// with a progress bar on stderr when it is a terminal.
    pub fn run_operation(
        &self,
        kind: &str,
        against: Option<&str>,
        view: Option<&str>,
    ) -> anyhow::Result<serde_json::Value> {
        const FIELDS: &str = "id kind running doneEvents totalEvents ok report error seq \
                              bundle { eventCount checkpointCount headHash files { name bytes path } }";
        let started = self.graphql(
            &format!(
                "mutation Start($kind: OperationKind!, $against: String, $view: String) {{ \
                 startOperation(kind: $kind, against: $against, view: $view) {{ {FIELDS} }} }}"
            ),
            serde_json::json!({ "kind": kind, "against": against, "view": view }),
        )?;
        let mut op = started.get("startOperation").cloned().unwrap_or_default();
        let id = op.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let bar = progress_bar(&kind.to_lowercase().replace('_', " "));
        while op.get("running").and_then(serde_json::Value::as_bool).unwrap_or(false) {
            bar.set_length(number(&op, "totalEvents"));
            bar.set_position(number(&op, "doneEvents"));
            std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS));
            let answer = self.graphql(
                &format!("query Poll($id: String!) {{ operation(id: $id) {{ {FIELDS} }} }}"),
                serde_json::json!({ "id": id }),
            )?;
            op = answer.get("operation").cloned().unwrap_or_default();
        }
        bar.finish_and_clear();
        if let Some(error) = op.get("error").and_then(|e| e.as_str()) {
            bail!("the server's {} operation failed: {error}", kind.to_lowercase());
        }
        Ok(op)
    }

    /// Rebuilds `view` on the server (`rebuildView`), polling `views` for progress; returns
    /// (generation, applied seq).
    pub fn rebuild_view(&self, view: &str) -> anyhow::Result<(u64, u64)> {
        self.graphql(
            "mutation Rebuild($name: String!) { rebuildView(name: $name) { started } }",
            serde_json::json!({ "name": view }),
        )?;
        let bar = progress_bar(view);
        loop {
            let answer = self.graphql(
                "{ views { views { name appliedSeq rebuild { running doneEvents totalEvents \
                 generation error } } } }",
                serde_json::Value::Null,
            )?;
            let found = answer
                .pointer("/views/views")
                .and_then(|v| v.as_array())
                .and_then(|views| views.iter().find(|v| v["name"] == view))
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("the server lists no view '{view}'"))?;
            let rebuild = &found["rebuild"];
            if rebuild["running"].as_bool() == Some(false) {
                bar.finish_and_clear();
                if let Some(error) = rebuild["error"].as_str() {
                    bail!("rebuilding '{view}' on the server failed: {error}");
                }
                return Ok((number(rebuild, "generation"), number(&found, "appliedSeq")));
            }
            bar.set_length(number(rebuild, "totalEvents"));
            bar.set_position(number(rebuild, "doneEvents"));
            std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS));
        }
    }
}

/// A JSON number or a GraphQL `UnsignedInt64` string, as u64 (0 when absent).
pub fn number(value: &serde_json::Value, field: &str) -> u64 {
    match &value[field] {
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
        serde_json::Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// A progress bar on stderr (drawn only when stderr is a terminal).
fn progress_bar(message: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>12} [{bar:40}] {pos}/{len} events {per_sec}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(message.to_owned());
    bar
}

/// Prints an operation's report lines; `Ok` when it found nothing wrong.
pub fn print_report(op: &serde_json::Value) -> crate::Outcome {
    for line in op["report"].as_array().into_iter().flatten() {
        println!("{}", line.as_str().unwrap_or_default());
    }
    if op["ok"].as_bool() == Some(true) { crate::Outcome::Ok } else { crate::Outcome::Problem }
}
