//! The real `tally` binary as a child process: finding (or building) it, `tally init`,
//! `tally serve` on 127.0.0.1:0, SIGKILL and SIGTERM.
//!
//! This crate has no `CARGO_BIN_EXE_tally` (the binary belongs to `tally-cli`), so the binary
//! is `TALLY_BIN` when set, or else what `cargo build -p tally-cli --bin tally` (with the
//! profile this test was built with) reports: a no-op when the binary is up to date, and a
//! correct build when it is missing or stale — after `cargo test --workspace` as after
//! `cargo test -p tally-e2e-tests` on a clean target.

use anyhow::{Context as _, bail};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;

/// The `tally` binary to run (built once per test process when needed).
pub fn tally_bin() -> anyhow::Result<PathBuf> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| locate().map_err(|e| format!("{e:#}"))).clone().map_err(anyhow::Error::msg)
}

fn locate() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("TALLY_BIN") {
        return Ok(PathBuf::from(path));
    }
    // The test runs from <target>/<profile>/deps/<name>-<hash>.
    let exe = std::env::current_exe().context("locating the test executable")?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test executable is not in <target>/<profile>/deps")?;
    let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut build = Command::new(&cargo);
    build
        .args(["build", "-p", "tally-cli", "--bin", "tally", "--message-format=json"])
        .arg("--manifest-path")
        .arg(&manifest)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    match profile {
        "debug" => {}
        "release" => {
            build.arg("--release");
        }
        other => {
            build.args(["--profile", other]);
        }
    }
    let built = build.output();
    let from_cargo = built.ok().filter(|o| o.status.success()).and_then(|o| {
        String::from_utf8_lossy(&o.stdout).lines().find_map(|line| {
            let message: serde_json::Value = serde_json::from_str(line).ok()?;
            (message["reason"] == "compiler-artifact" && message["target"]["name"] == "tally")
                .then(|| message["executable"].as_str().map(PathBuf::from))
                .flatten()
        })
    });
    if let Some(path) = from_cargo {
        return Ok(path);
    }
    // No cargo at hand (the test binary run by itself): the binary next to `deps`, if any.
    let sibling = profile_dir.join("tally");
    if sibling.is_file() {
        return Ok(sibling);
    }
    bail!(
        "no tally binary: `{} build -p tally-cli --bin tally` failed and {} does not exist (set TALLY_BIN)",
        Path::new(&cargo).display(),
        sibling.display()
    )
}

/// Runs `tally --data <data> <args>` to completion.
pub fn tally(data: &Path, args: &[&str]) -> anyhow::Result<Output> {
    Command::new(tally_bin()?)
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("TALLY_DATA")
        .output()
        .with_context(|| format!("running tally {}", args.join(" ")))
}

/// `tally init`; the admin API token it prints once.
pub fn init(data: &Path) -> anyhow::Result<String> {
    let out = tally(data, &["init"])?;
    if !out.status.success() {
        bail!("tally init: {}", String::from_utf8_lossy(&out.stderr));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("admin API token (shown once, stored hashed in tokens.toml): ")
                .map(str::to_owned)
        })
        .context("tally init printed no admin token")
}

/// A running `tally serve`.
#[derive(Debug)]
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Served {
    /// Starts `tally serve --listen 127.0.0.1:0` on `data`, its stderr appended to `stderr`;
    /// returns once it printed its address (it is listening).
    pub fn start(data: &Path, stderr: &Path) -> anyhow::Result<Self> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(stderr)?;
        let mut child = Command::new(tally_bin()?)
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("TALLY_DATA")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("spawning tally serve")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let address = lines.by_ref().map_while(Result::ok).find_map(|l| {
            l.strip_prefix("GraphQL:  http://").and_then(|r| r.split('/').next().map(str::to_owned))
        });
        let Some(address) = address else {
            let status = child.wait()?;
            bail!("tally serve exited ({status}) before listening; see {}", stderr.display());
        };
        // Keep draining its stdout so the pipe stays open while it runs.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self { child, base: format!("http://{address}") })
    }

    /// The server's process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then reap it.
    pub fn kill(mut self) -> anyhow::Result<ExitStatus> {
        self.child.kill().context("SIGKILL")?;
        Ok(self.child.wait()?)
    }

    /// SIGTERM (a graceful stop), then wait for it to exit.
    pub fn terminate(mut self) -> anyhow::Result<ExitStatus> {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status()?;
        if !sent.success() {
            bail!("kill -TERM failed");
        }
        Ok(self.child.wait()?)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // A test that fails midway must not leave a server behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
