//! Helpers: an engine over a temp store, a loopback webhook receiver that verifies every
//! signature, and waits bounded in time.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tally_engine::{Engine, EngineConfig, Submission};
use tally_outbox::{Delivery, EndpointSpec, Origin, Secret, Start, SystemClock, WebhooksConfig};
use tokio::sync::watch;

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Longest any test waits for a delivery.
pub const WAIT: Duration = Duration::from_secs(30);

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub body: serde_json::Value,
    pub raw: String,
    pub verified: bool,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    pub fn seq(&self) -> u64 {
        self.body["data"]["seq"].as_u64().expect("seq")
    }
    pub fn event_type(&self) -> &str {
        self.body["type"].as_str().expect("type")
    }
}

/// How the receiver answers.
#[derive(Debug, Default)]
pub struct Behaviour {
    /// Answer 500 to the next this many requests.
    pub fail_next: u32,
    /// Answer 500 to every request with one of these ids.
    pub fail_ids: BTreeSet<String>,
    /// Answer this status to every request (before the rules above).
    pub status: Option<u16>,
}

#[derive(Clone)]
struct Shared {
    /// TLS handshakes that failed (an https receiver whose certificate the client refused).
    handshake_failures: Arc<std::sync::atomic::AtomicUsize>,
    log: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    count: Arc<watch::Sender<usize>>,
    secret: Secret,
}

/// A webhook receiver on 127.0.0.1:0.
pub struct Receiver {
    pub url: String,
    shared: Shared,
    count: watch::Receiver<usize>,
}

async fn receive(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header =
        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let id = header("webhook-id");
    let now_s = chrono::Utc::now().timestamp();
    let verified = s
        .secret
        .verify(&id, &header("webhook-timestamp"), &body, &header("webhook-signature"), now_s)
        .is_ok();
    let status = {
        let mut b = s.behaviour.lock().unwrap();
        if let Some(status) = b.status {
            status
        } else if b.fail_next > 0 {
            b.fail_next -= 1;
            500
        } else if b.fail_ids.contains(&id) {
            500
        } else {
            204
        }
    };
    let raw = String::from_utf8_lossy(&body).into_owned();
    let parsed = serde_json::from_str(&raw).unwrap_or(serde_json::Value::Null);
    s.log.lock().unwrap().push(Received { id, body: parsed, raw, verified, status });
    s.count.send_modify(|n| *n += 1);
    StatusCode::from_u16(status).unwrap()
}

/// A TLS listener for axum: accepts TCP, then the handshake (bounded in time); a failed
/// handshake is counted and the next connection accepted.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    failures: Arc<std::sync::atomic::AtomicUsize>,
    count: Arc<watch::Sender<usize>>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else { continue };
            let handshake = self.acceptor.accept(tcp);
            match tokio::time::timeout(Duration::from_secs(5), handshake).await {
                Ok(Ok(tls)) => return (tls, addr),
                _ => {
                    self.failures.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    self.count.send_modify(|_| {});
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A private CA and a server certificate it signed for 127.0.0.1 and localhost, made now.
pub struct TestPki {
    /// The CA's certificate, PEM.
    pub ca_pem: String,
    /// A TLS server configuration presenting the server certificate.
    pub server: Arc<tokio_rustls::rustls::ServerConfig>,
}

impl TestPki {
    pub fn generate(name: &str) -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        use tokio_rustls::rustls;
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, format!("{name} test CA"));
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut leaf =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        leaf.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
        let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()),
        );
        // The process's provider: ring, the only one this build enables.
        let mut server = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key_der)
            .unwrap();
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self { ca_pem: ca_cert.pem(), server: Arc::new(server) }
    }
}

impl Receiver {
    pub async fn start() -> Self {
        Self::serve(None).await
    }

    /// An https receiver on 127.0.0.1:0 presenting `pki`'s server certificate.
    pub async fn start_tls(pki: &TestPki) -> Self {
        Self::serve(Some(Arc::clone(&pki.server))).await
    }

    /// TLS handshakes that failed so far.
    pub fn handshake_failures(&self) -> usize {
        self.shared.handshake_failures.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn serve(tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>) -> Self {
        let (count, rx) = watch::channel(0);
        let shared = Shared {
            handshake_failures: Arc::default(),
            log: Arc::default(),
            behaviour: Arc::default(),
            count: Arc::new(count),
            secret: Secret::parse(SECRET).unwrap(),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let url = if let Some(config) = tls {
            let listener = TlsListener {
                tcp: listener,
                acceptor: tokio_rustls::TlsAcceptor::from(config),
                failures: Arc::clone(&shared.handshake_failures),
                count: Arc::clone(&shared.count),
            };
            tokio::spawn(async move { axum::serve(listener, app).await });
            format!("https://{address}/hook")
        } else {
            tokio::spawn(async move { axum::serve(listener, app).await });
            format!("http://{address}/hook")
        };
        Self { url, shared, count: rx }
    }

    pub fn behave(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.shared.behaviour.lock().unwrap());
    }

    /// Every request so far.
    pub fn all(&self) -> Vec<Received> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The requests answered with a 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.status < 300).collect()
    }

    /// Waits (bounded) until `done` holds for the handshake failures.
    pub async fn wait_for_handshake_failures(&self, n: usize) {
        let mut count = self.count.clone();
        let wait = async {
            while self.handshake_failures() < n {
                count.changed().await.unwrap();
            }
        };
        if tokio::time::timeout(WAIT, wait).await.is_err() {
            panic!(
                "timed out waiting for {n} failed handshakes; got {}",
                self.handshake_failures()
            );
        }
    }

    /// Waits (bounded) until `done` holds for the requests received.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&[Received]) -> bool) {
        let mut count = self.count.clone();
        let wait = async {
            loop {
                if done(&self.all()) {
                    return;
                }
                count.changed().await.unwrap();
            }
        };
        if tokio::time::timeout(WAIT, wait).await.is_err() {
            panic!(
                "timed out waiting for {what}; received: {:#?}",
                self.all().iter().map(|r| (&r.id, r.status)).collect::<Vec<_>>()
            );
        }
    }
}

pub fn open_engine(dir: &Path) -> Engine {
    Engine::open(dir, EngineConfig::default(), tally_projections::all()).unwrap()
}

pub fn sub(key: &str, json: serde_json::Value) -> Submission {
    let mut s = Submission::new(key, serde_json::from_value(json).unwrap());
    s.actor = "test".to_owned();
    s.source = "test/outbox".to_owned();
    s.occurred_at_ms = Some(1_772_355_600_000); // 2026-03-01T09:00:00Z
    s
}

pub async fn submit(engine: &Engine, key: &str, json: serde_json::Value) {
    engine.submit(sub(key, json)).await.unwrap();
}

/// Channels web (standard) and b2b (contract), WH1 serving both, SKU A with `stock` units.
pub async fn seed(engine: &Engine, stock: u64) {
    let steps = [
        serde_json::json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}),
        serde_json::json!({"type": "define_channel", "channel": "b2b", "priority": "contract", "kind": "direct", "currency": "USD"}),
        serde_json::json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["web", "b2b"]}),
        serde_json::json!({"type": "define_sku", "sku": "A", "lot_tracked": false, "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "B"}),
        serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": stock}),
    ];
    for (i, step) in steps.into_iter().enumerate() {
        submit(engine, &format!("seed-{i}"), step).await;
    }
}

/// Closes the engine from async code (its close joins threads).
pub fn close(engine: &tally_engine::Engine) {
    tokio::task::block_in_place(|| engine.close());
}

/// Receives and validates an order (allocation is a separate command).
pub async fn place(engine: &Engine, id: &str, channel: &str, qty: u64) {
    submit(engine, &format!("receive-{id}"), order(id, channel, qty)).await;
    submit(
        engine,
        &format!("validate-{id}"),
        serde_json::json!({"type": "validate_order", "order": id}),
    )
    .await;
}

pub fn order(id: &str, channel: &str, qty: u64) -> serde_json::Value {
    serde_json::json!({"type": "receive_order", "order": id, "channel": channel,
        "placed_at": "2026-03-01T10:00:00Z", "currency": "USD",
        "lines": [{"sku": "A", "qty": qty, "unit_price": {"amount": "15.00", "currency": "USD"}}],
        "shipping": {"amount": "0.00", "currency": "USD"}, "tax_rate": "0"})
}

/// Fast retries for tests: 5 ms doubling to 40 ms, `attempts` attempts.
pub fn fast(attempts: u32) -> Delivery {
    Delivery {
        max_attempts: attempts,
        backoff_initial_ms: 5,
        backoff_max_ms: 40,
        request_timeout_ms: 5_000,
        ats_coalesce_ms: 20,
        jitter_seed: 15,
        ..Delivery::default()
    }
}

pub fn endpoint(name: &str, url: &str, types: &[&str], start: Start) -> EndpointSpec {
    tally_outbox::EndpointText {
        name: name.to_owned(),
        url: url.to_owned(),
        types: types.iter().map(|t| (*t).to_owned()).collect(),
        channels: Vec::new(),
        skus: Vec::new(),
        secret: SECRET.to_owned(),
        start,
        ca_file: None,
    }
    .into_spec(Origin::Config)
    .unwrap()
}

pub fn start(
    dir: &Path,
    engine: &Engine,
    delivery: Delivery,
    endpoints: Vec<EndpointSpec>,
) -> tally_outbox::Outbox {
    tally_outbox::Outbox::start(
        dir,
        WebhooksConfig { delivery, endpoints },
        engine.log().clone(),
        engine.views().clone(),
        Arc::new(SystemClock),
    )
    .unwrap()
}

pub fn start_with_clock(
    dir: &Path,
    engine: &Engine,
    delivery: Delivery,
    endpoints: Vec<EndpointSpec>,
    clock: Arc<dyn tally_outbox::Clock>,
) -> tally_outbox::Outbox {
    tally_outbox::Outbox::start(
        dir,
        WebhooksConfig { delivery, endpoints },
        engine.log().clone(),
        engine.views().clone(),
        clock,
    )
    .unwrap()
}

/// A clock the test moves: the system time plus an offset in milliseconds.
#[derive(Debug, Default)]
pub struct ShiftedClock(pub std::sync::atomic::AtomicI64);

impl tally_outbox::Clock for ShiftedClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
