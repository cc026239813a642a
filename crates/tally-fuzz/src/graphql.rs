//! `POST /graphql` bodies through the real tally-api router, over an engine in a temp dir.

use crate::samples;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use std::sync::{Mutex, OnceLock};
use tally_api::{ApiConfig, AppState, AuthConfig, Role};
use tally_engine::{Engine, EngineConfig};
use tally_log::CheckpointPolicy;
use tally_log::tally_proof::key::LedgerKey;
use tower::ServiceExt as _;

/// The admin bearer token of the harness's server.
pub const ADMIN_TOKEN: &str = "fuzz-admin-token";

/// The server one process fuzzes: router, state, the runtime that drives them, its store.
pub struct GraphqlHarness {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    state: AppState,
    /// One request at a time, so the head comparison sees only that request's effects.
    turn: Mutex<()>,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for GraphqlHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphqlHarness").field("dir", &self.dir.path()).finish_non_exhaustive()
    }
}

/// What one request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphqlOutcome {
    /// HTTP status.
    pub status: u16,
    /// The `extensions.code` of every GraphQL error, in order.
    pub codes: Vec<String>,
    /// Whether the request could have appended (a mutation operation with some non-null
    /// root field in its answer).
    pub may_append: bool,
    /// Seq of the head before and after.
    pub head: (u64, u64),
}

/// The process's harness, created on first use (a temp store with the sample commands).
pub fn harness() -> &'static GraphqlHarness {
    static HARNESS: OnceLock<GraphqlHarness> = OnceLock::new();
    HARNESS.get_or_init(GraphqlHarness::new)
}

/// Runs `data` as a `POST /graphql` body with the admin token. See [`GraphqlHarness::execute`].
pub fn graphql_input(data: &[u8]) -> GraphqlOutcome {
    harness().execute(data)
}

impl GraphqlHarness {
    fn new() -> Self {
        // The harness is a static that is never dropped, so its temp dir outlives the process;
        // the next harness removes the dirs of processes that are gone.
        remove_stale_stores();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{STORE_PREFIX}{}-", std::process::id()))
            .tempdir()
            .expect("a temp dir for the harness store");
        let mut config = EngineConfig::default();
        let key = LedgerKey::generate("tally-fuzz").expect("a valid key name");
        let mut policy = CheckpointPolicy::new(key, "tally.fuzz/ledger");
        policy.every_events = 0;
        policy.every_ms = 0;
        config.log.checkpoints = Some(policy);
        let projections = tally_projections::all();
        let engine = Engine::open(dir.path(), config, projections.clone())
            .expect("the harness engine opens");
        // A worker thread with tokio's default stack runs every request, as in `tally serve`.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let file = tally_engine::import::ImportFile::of_bytes(samples::COMMANDS.as_bytes());
        let submissions = (1..)
            .zip(samples::COMMANDS.lines())
            .map(|(number, line)| {
                tally_engine::import::parse_import_line(line, &file, number)
                    .expect("sample lines parse")
            })
            .collect();
        for answer in runtime.block_on(engine.submit_many(submissions)) {
            answer.expect("the sample commands are accepted");
        }
        let auth = AuthConfig::empty().with_token("fuzz-admin", Role::Admin, ADMIN_TOKEN);
        let state = AppState::with_projections(engine, auth, ApiConfig::default(), projections);
        let router = tally_api::router(state.clone());
        Self { runtime, router, state, turn: Mutex::new(()), dir }
    }

    /// The harness's app state (its engine, its log).
    #[must_use]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Posts `body` to `/graphql` and checks the answer: never a 5xx, JSON whenever the body
    /// was read, a `code` on every GraphQL error, and the log head (seq and hash) unchanged
    /// unless a mutation answered with some data. The engine must still take commands after.
    pub fn execute(&self, body: &[u8]) -> GraphqlOutcome {
        let _turn = self.turn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let log = self.state.log();
        let before = log.head();
        let request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
            .body(Body::from(body.to_vec()))
            .expect("a well-formed request");
        let router = self.router.clone();
        let answered = self.runtime.block_on(self.runtime.spawn(async move {
            let response = router.oneshot(request).await.unwrap_or_else(|e| match e {});
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await;
            (status, bytes)
        }));
        let (status, bytes) = match answered {
            Ok((status, Ok(bytes))) => (status, bytes),
            Ok((status, Err(e))) => panic!("the {status} answer's body failed: {e}"),
            Err(e) => panic!("the request task failed: {e}"),
        };
        assert!(!status.is_server_error(), "{status}: {}", String::from_utf8_lossy(&bytes));
        let after = log.head();
        let mut outcome = GraphqlOutcome {
            status: status.as_u16(),
            codes: Vec::new(),
            may_append: false,
            head: (before.seq, after.seq),
        };
        if status != StatusCode::PAYLOAD_TOO_LARGE {
            let answer: serde_json::Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{status} answer is not JSON ({e})"));
            let answers = match answer {
                serde_json::Value::Array(items) => items,
                single => vec![single],
            };
            let mut some_data = false;
            for answer in &answers {
                for error in answer.get("errors").and_then(|e| e.as_array()).into_iter().flatten() {
                    let code = error.pointer("/extensions/code").and_then(|c| c.as_str());
                    let code = code.unwrap_or_else(|| panic!("an error without a code: {error}"));
                    outcome.codes.push(code.to_owned());
                }
                if let Some(data) = answer.get("data").and_then(|d| d.as_object()) {
                    for value in data.values() {
                        // A mutation payload (or `submitMany`'s list of them): its
                        // `userErrors` are refusals that appended nothing.
                        let payloads = match value {
                            serde_json::Value::Array(items) => items.iter().collect(),
                            other => vec![other],
                        };
                        for payload in payloads {
                            let refusals = payload.get("userErrors").and_then(|e| e.as_array());
                            for error in refusals.into_iter().flatten() {
                                let code = error.get("code").and_then(|c| c.as_str());
                                let code = code.unwrap_or_else(|| {
                                    panic!("a user error without a code: {error}")
                                });
                                outcome.codes.push(code.to_owned());
                            }
                            some_data |= !payload.is_null() && refusals.is_none_or(Vec::is_empty);
                        }
                    }
                }
            }
            outcome.may_append = some_data && has_mutation(body);
        }
        if !outcome.may_append {
            assert_eq!(
                before, after,
                "a request that appended nothing moved the head: {outcome:?}"
            );
        }
        assert!(self.state.engine().poisoned().is_none(), "the engine stopped");
        outcome
    }
}

const STORE_PREFIX: &str = "tally-fuzz-graphql-";

/// Removes `tally-fuzz-graphql-<pid>-*` dirs in the temp dir whose process has ended.
fn remove_stale_stores() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(STORE_PREFIX)) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether any request in the body holds a mutation operation.
fn has_mutation(body: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else { return false };
    let requests = match value {
        serde_json::Value::Array(items) => items,
        single => vec![single],
    };
    requests.iter().filter_map(|r| r.get("query").and_then(|q| q.as_str())).any(|query| {
        let Ok(document) = async_graphql::parser::parse_query(query) else { return false };
        match &document.operations {
            DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
            DocumentOperations::Multiple(ops) => {
                ops.values().any(|op| op.node.ty == OperationType::Mutation)
            }
        }
    })
}
