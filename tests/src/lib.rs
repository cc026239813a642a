//! The end-to-end harness: a real server on 127.0.0.1:0 over a temporary store (every
//! projection, signed checkpoints), one bearer token per role, and the DOMAIN.md scenario
//! files as commands to submit.

pub mod process;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tally_api::{ApiConfig, AppState, AuthConfig, Role};
use tally_engine::{Engine, EngineConfig};
use tally_log::CheckpointPolicy;
use tally_log::tally_proof::key::LedgerKey;

/// How long a graceful stop may take.
const STOP_TIMEOUT_MS: u64 = 10_000;

/// The bearer token of `role` in these tests.
#[must_use]
pub fn token(role: Role) -> String {
    format!("e2e-{}", role.as_str())
}

/// A running server over a temporary store.
#[derive(Debug)]
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    state: AppState,
    client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Opens a temporary store with every projection and a signing key (checkpoints every
    /// `checkpoint_every_events` events, and on demand), and serves it on 127.0.0.1:0.
    pub async fn start(checkpoint_every_events: u64) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let key = LedgerKey::generate("tally-e2e").map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut policy = CheckpointPolicy::new(key, "tally.e2e/ledger");
        policy.every_events = checkpoint_every_events;
        policy.every_ms = 0;
        let mut config = EngineConfig::default();
        config.log.checkpoints = Some(policy);
        let projections = tally_projections::all();
        let engine = Engine::open(dir.path(), config, projections.clone())
            .map_err(|e| anyhow::anyhow!("open engine: {e}"))?;
        let mut auth = AuthConfig::empty();
        for role in Role::ALL {
            auth = auth.with_token(&format!("e2e-{}", role.as_str()), role, &token(role));
        }
        let state = AppState::with_projections(engine, auth, ApiConfig::default(), projections);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(tally_api::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        Ok(Self {
            base,
            state,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            served: Some(served),
            _dir: dir,
        })
    }

    /// POSTs a GraphQL request as `role`; the whole JSON answer (data and errors).
    pub async fn graphql(
        &self,
        role: Role,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token(role))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?;
        let status = response.status();
        let answer: Value = response.json().await?;
        if !status.is_success() {
            bail!("HTTP {status}: {answer}");
        }
        Ok(answer)
    }

    /// [`Server::graphql`], failing on any error; the `data`.
    pub async fn data(&self, role: Role, query: &str, variables: Value) -> anyhow::Result<Value> {
        let answer = self.graphql(role, query, variables).await?;
        if let Some(errors) = answer.get("errors") {
            bail!("graphql errors: {errors}");
        }
        Ok(answer["data"].clone())
    }

    /// Submits one command JSON as an operator with `waitForViews`; the answer, with a
    /// refusal (`userErrors`) given as top-level `errors` (see [`refusals_as_errors`]).
    pub async fn submit(
        &self,
        key: &str,
        at: Option<&str>,
        command: &Value,
    ) -> anyhow::Result<Value> {
        let query = "mutation($input: SubmitInput!) { submit(input: $input, waitForViews: true) { lastSeq viewsCaughtUp userErrors { field code message } } }";
        let input = json!({ "idempotencyKey": key, "json": command, "occurredAt": at });
        let answer = self.graphql(Role::Operator, query, json!({ "input": input })).await?;
        Ok(refusals_as_errors(answer, "submit"))
    }

    /// Submits every command of a scenario file; the number of rejections.
    pub async fn run_scenario(&self, name: &str) -> anyhow::Result<usize> {
        let mut rejected = 0;
        for (i, (at, command)) in scenario(name)?.into_iter().enumerate() {
            let answer = self.submit(&format!("{name}-{i}"), at.as_deref(), &command).await?;
            if answer.get("errors").is_some() {
                rejected += 1;
            } else if answer["data"]["submit"]["viewsCaughtUp"] != json!(true) {
                bail!("{name} step {i}: the views did not catch up: {answer}");
            }
        }
        Ok(rejected)
    }

    /// The durable head seq.
    #[must_use]
    pub fn head(&self) -> u64 {
        self.state.log().head().seq
    }

    /// Stops serving gracefully, then closes the engine.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(served) = self.served.take() {
            tokio::time::timeout(Duration::from_millis(STOP_TIMEOUT_MS), served)
                .await
                .context("server did not stop in time")???;
        }
        let engine = self.state.engine().clone();
        tokio::task::spawn_blocking(move || engine.close()).await?;
        Ok(())
    }
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/tally-domain/tests/scenarios")
}

/// The commands of a DOMAIN.md scenario file, each with the business time in force.
pub fn scenario(name: &str) -> anyhow::Result<Vec<(Option<String>, Value)>> {
    let path = scenarios_dir().join(name);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let file: Value = serde_json::from_str(&text)?;
    let steps = file["steps"].as_array().context("a scenario has steps")?;
    let mut now: Option<String> = None;
    let mut out = Vec::new();
    for step in steps {
        if let Some(at) = step["at"].as_str() {
            now = Some(at.to_owned());
        }
        if let Some(command) = step.get("command") {
            out.push((now.clone(), command.clone()));
        }
    }
    Ok(out)
}

/// Minor units of a decimal string with exactly `digits` fraction digits (`"-3.75"` → -375).
pub fn minor(text: &str, digits: usize) -> anyhow::Result<i64> {
    let (negative, body) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if fraction.len() != digits {
        bail!("'{text}' does not have exactly {digits} minor digits");
    }
    let value: i64 = format!("{whole}{fraction}").parse()?;
    Ok(if negative { -value } else { value })
}

/// A mutation answer whose payload at `data.{field}` has `userErrors`, rewritten as an answer
/// with those errors at the top level (`{"data": null, "errors": [{message, extensions:
/// {code}}]}`), so harnesses that count refusals look in one place. Other answers are returned
/// as they are.
#[must_use]
pub fn refusals_as_errors(answer: Value, field: &str) -> Value {
    let user_errors = answer["data"][field]["userErrors"].as_array().cloned().unwrap_or_default();
    if user_errors.is_empty() {
        return answer;
    }
    let errors: Vec<Value> = user_errors
        .iter()
        .map(|e| json!({ "message": e["message"], "extensions": { "code": e["code"] } }))
        .collect();
    json!({ "data": null, "errors": errors })
}

/// A 64-bit number of an answer: `UnsignedInt64` is a string of digits; JSON numbers are
/// accepted too.
#[must_use]
pub fn u64_of(value: &Value) -> Option<u64> {
    match value {
        Value::String(text) => text.parse().ok(),
        _ => value.as_u64(),
    }
}
