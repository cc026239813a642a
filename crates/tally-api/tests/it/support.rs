//! A test server: temp engine (with a counting projection and a signing key), real HTTP.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tally_api::{ApiConfig, AppState, AuthConfig, Role};
use tally_engine::{Engine, EngineConfig};
use tally_log::CheckpointPolicy;
use tally_log::tally_proof::key::LedgerKey;
use tally_projections::{Applied, ApplyError, Projection, Tx};

/// Counts events: the smallest projection that makes views, lag and waitForViews real.
#[derive(Debug)]
pub struct EventCount;

impl Projection for EventCount {
    fn name(&self) -> &'static str {
        "event_count"
    }
    fn version(&self) -> u32 {
        1
    }
    fn apply(&self, tx: &mut Tx<'_>, _event: &Applied<'_>) -> Result<(), ApplyError> {
        let n = tx.get_raw(b"count")?.and_then(|v| v.try_into().ok()).map_or(0, u64::from_be_bytes);
        tx.put_raw(b"count".to_vec(), (n + 1).to_be_bytes().to_vec());
        Ok(())
    }
}

/// The token of each role in tests: `token-<role>`.
pub fn token(role: Role) -> String {
    format!("token-{}", role.as_str())
}

pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(ApiConfig::default()).await
    }

    /// A server over the ledger's real projections (plus the counting one).
    pub async fn start_with_views() -> Self {
        let mut projections = tally_projections::all();
        projections.push(Arc::new(EventCount));
        Self::start_over(ApiConfig::default(), projections).await
    }

    pub async fn start_with(config: ApiConfig) -> Self {
        Self::start_over(config, vec![Arc::new(EventCount)]).await
    }

    /// A server over these projections.
    pub async fn start_over(config: ApiConfig, projections: Vec<Arc<dyn Projection>>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut engine_config = EngineConfig::default();
        let mut policy =
            CheckpointPolicy::new(LedgerKey::generate("tally-test").unwrap(), "tally.test/ledger");
        policy.every_events = 0;
        policy.every_ms = 0;
        engine_config.log.checkpoints = Some(policy);
        let engine = Engine::open(dir.path(), engine_config, projections.clone()).unwrap();
        Self::serve(engine, projections, config, dir).await
    }

    /// Serves an open engine whose store is in `dir`.
    pub async fn serve(
        engine: Engine,
        projections: Vec<Arc<dyn Projection>>,
        config: ApiConfig,
        dir: tempfile::TempDir,
    ) -> Self {
        let mut auth = AuthConfig::empty();
        for role in Role::ALL {
            auth = auth.with_token(&format!("{}-bot", role.as_str()), role, &token(role));
        }
        let state = AppState::with_projections(engine, auth, config, projections);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(tally_api::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        Self {
            base,
            state,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            served: Some(served),
            _dir: dir,
        }
    }

    /// The store's directory.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn head(&self) -> u64 {
        self.state.log().head().seq
    }

    /// Asks the server to shut down (without waiting).
    pub fn begin_stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Stops the server gracefully, then closes the engine.
    pub async fn stop(self) {
        drop(self.stop_and_keep().await);
    }

    /// [`TestServer::stop`], handing back the store's directory.
    pub async fn stop_and_keep(mut self) -> tempfile::TempDir {
        self.begin_stop();
        if let Some(served) = self.served.take() {
            tokio::time::timeout(Duration::from_secs(10), served).await.unwrap().unwrap().unwrap();
        }
        let engine = self.state.engine().clone();
        tokio::task::spawn_blocking(move || engine.close()).await.unwrap();
        self._dir
    }

    /// POSTs a GraphQL request; returns the JSON answer.
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// As admin; panics on errors.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let answer = self.gql_as(Some(&token(Role::Admin)), query, variables).await;
        assert!(answer.get("errors").is_none(), "unexpected errors: {answer:#}");
        answer["data"].clone()
    }

    /// Submits domain command JSON as admin; returns the `CommandPayload` JSON. Panics when
    /// the command is refused (`userErrors`).
    pub async fn submit(&self, key: &str, command: Value) -> Value {
        let data = self
            .gql(
                "mutation($input: SubmitInput!) { submit(input: $input) { commandId firstSeq lastSeq deduplicated events { seq stream type } userErrors { field message code } } }",
                json!({ "input": { "idempotencyKey": key, "json": command } }),
            )
            .await;
        let payload = data["submit"].clone();
        assert_eq!(payload["userErrors"], json!([]), "refused: {payload:#}");
        payload
    }

    /// Channels web (standard) and edi (contract), WH1 serving both, SKU-A at 20.00 USD.
    pub async fn master_data(&self) {
        self.submit(
            "md-web",
            json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}),
        )
        .await;
        self.submit(
            "md-edi",
            json!({"type": "define_channel", "channel": "edi", "priority": "contract", "kind": "wholesale", "currency": "USD"}),
        )
        .await;
        self.submit(
            "md-wh1",
            json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["web", "edi"]}),
        )
        .await;
        self.submit(
            "md-sku-a",
            json!({"type": "define_sku", "sku": "SKU-A", "lot_tracked": false, "unit_cost": {"amount": "20.00", "currency": "USD"}, "abc": "A"}),
        )
        .await;
    }
}

/// The `code` extension of the first error of an answer.
pub fn first_code(answer: &Value) -> String {
    answer["errors"][0]["extensions"]["code"].as_str().unwrap_or("<none>").to_owned()
}

/// A 64-bit number of an answer: `UnsignedInt64` is a string of digits; plain JSON numbers
/// are accepted too. Panics on anything else.
pub fn u64_of(value: &Value) -> u64 {
    match value {
        Value::String(text) => text.parse().unwrap_or_else(|_| panic!("not a u64: {value}")),
        _ => value.as_u64().unwrap_or_else(|| panic!("not a u64: {value}")),
    }
}

/// The `code` of the first `userErrors` entry of a mutation payload.
pub fn user_code(payload: &Value) -> String {
    payload["userErrors"][0]["code"].as_str().unwrap_or("<none>").to_owned()
}

/// The (code, message) of an answer's error wherever it is: the first top-level error, else
/// the first `userErrors` entry of the first mutation payload. `("<none>", "")` when neither.
pub fn any_error(answer: &Value) -> (String, String) {
    if answer.get("errors").is_some() {
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
        return (first_code(answer), message);
    }
    let payload = answer["data"].as_object().and_then(|d| d.values().next()).cloned();
    let user = payload.map(|p| p["userErrors"][0].clone()).unwrap_or_default();
    let code = user["code"].as_str().unwrap_or("<none>").to_owned();
    (code, user["message"].as_str().unwrap_or_default().to_owned())
}
