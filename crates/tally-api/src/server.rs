//! HTTP: the routes, the GraphQL handlers, health and metrics, and graceful shutdown.

use crate::auth::{Auth, METRICS_ROLES};
use crate::config::MetricsAccess;
use crate::error::code;
use crate::graphiql;
use crate::schema::{self, TallySchema, subscriptions::ConnectionSlots};
use crate::state::AppState;
use crate::telemetry;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{BatchRequest, Data};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

#[derive(Clone)]
struct Shared {
    state: AppState,
    schema: TallySchema,
    /// Slots for GraphQL POSTs being read and executed (`graphql_concurrency_max`).
    executions: Arc<Semaphore>,
    /// Held by every WebSocket task; `serve` waits until all are dropped.
    connections: Option<mpsc::Sender<()>>,
}

/// The routes: `POST /graphql`, `GET /graphql` (GraphiQL), `GET /graphql/ws` (graphql-ws and
/// graphql-transport-ws), `GET /graphiql/{file}` (GraphiQL's embedded assets, public),
/// `/healthz`, `/readyz`, `/metrics`, `GET /operations/{id}/bundle/{file}` (an exported
/// bundle's files, see [`crate::operations`]).
pub fn router(state: AppState) -> Router {
    router_with(state, None)
}

fn router_with(state: AppState, connections: Option<mpsc::Sender<()>>) -> Router {
    let config = state.config().clone();
    let schema = schema::build(&state);
    let executions = Arc::new(Semaphore::new(config.graphql_concurrency_max.max(1)));
    // Install the metrics recorder before the first request records anything.
    let _ = telemetry::handle();
    let origins = config.cors_origins.clone();
    Router::new()
        .route("/graphql", get(graphiql::page).post(graphql_post).options(graphql_options))
        .route("/graphql/ws", get(graphql_ws))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/intake/shopify/{channel}", axum::routing::post(shopify_webhook))
        .route("/operations/{id}/bundle/{file}", get(bundle_file))
        .route("/exports/{kind}", get(export_file))
        .layer(DefaultBodyLimit::max(config.request_body_bytes_max))
        .layer(RequestBodyLimitLayer::new(config.request_body_bytes_max))
        .layer(axum::middleware::from_fn(move |request, next| cors(origins.clone(), request, next)))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout(),
        ))
        // Spans name the method and path only: a query string (where a careless client may
        // put a token) and the headers are never recorded.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
        }))
        .with_state(Shared { state, schema, executions, connections })
}

/// `POST /intake/shopify/{channel}`: a Shopify order webhook (see [`crate::shopify_webhook`]).
async fn shopify_webhook(
    State(shared): State<Shared>,
    axum::extract::Path(channel): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    crate::shopify_webhook::receive(shared.state.clone(), channel, headers, body).await
}

/// Whether the request's token may read what `field` (a row of `auth::FIELD_ROLES`) guards:
/// `None` when it may, else the 401 (no or unknown token) or 403 (another role) response.
fn refusal(shared: &Shared, headers: &HeaderMap, field: &str) -> Option<Response> {
    let auth = shared.state.auth().resolve(authorization(headers));
    auth.check(field).err().map(|e| {
        let status = if e.code == code::FORBIDDEN {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNAUTHORIZED
        };
        (status, [(header::WWW_AUTHENTICATE, "Bearer")], format!("{}\n", e.message)).into_response()
    })
}

/// `GET /operations/{id}/bundle/{file}`: one file of the audit bundle an `EXPORT_BUNDLE`
/// operation wrote, streamed, for a token of the roles of `Query.operation` (401 without a
/// valid token, 403 for another role, 404 for an unknown operation, a file a bundle does not
/// have, or a bundle no longer kept).
async fn bundle_file(
    State(shared): State<Shared>,
    axum::extract::Path((id, file)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refusal(&shared, &headers, "Query.operation") {
        return refused;
    }
    let not_found = |what: String| (StatusCode::NOT_FOUND, format!("{what}\n")).into_response();
    let Some(op) = shared.state.operations().get(&id) else {
        return not_found(format!("no operation '{}'", id.escape_debug()));
    };
    let Some(bundle) = op.bundle() else {
        return not_found(format!(
            "operation '{id}' holds no bundle (not an export, not finished, or no longer kept)"
        ));
    };
    let Some(path) = bundle.file(&file) else {
        return not_found(format!("a bundle has no file '{}'", file.escape_debug()));
    };
    let reader = match tokio::fs::File::open(&path).await {
        Ok(reader) => reader,
        Err(e) => {
            tracing::warn!(error = %e, "bundle file unreadable");
            return not_found(format!("operation '{id}' holds no file '{file}' any more"));
        }
    };
    let length = reader.metadata().await.map(|m| m.len()).ok();
    // The bundle's directory lives as long as this `Arc`: the stream holds it to the end.
    let stream = futures_util::stream::unfold(
        (reader, bundle, vec![0u8; 64 * 1024]),
        |(mut reader, bundle, mut buffer)| async move {
            use tokio::io::AsyncReadExt as _;
            match reader.read(&mut buffer).await {
                Ok(0) => None,
                Ok(n) => {
                    let chunk = Bytes::copy_from_slice(&buffer[..n]);
                    Some((Ok::<_, std::io::Error>(chunk), (reader, bundle, buffer)))
                }
                Err(e) => Some((Err(e), (reader, bundle, buffer))),
            }
        },
    );
    let mut response = axum::body::Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/octet-stream"),
    );
    if let Some(length) = length {
        headers.insert(header::CONTENT_LENGTH, axum::http::HeaderValue::from(length));
    }
    response
}

/// The query of `GET /exports/{settlement|journal}`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    channel: Option<String>,
    processor: Option<bool>,
    from: String,
    to: String,
    format: Option<String>,
}

/// How long an export waits for the views to reach the head before answering from where they
/// are (the `Tally-View-Seq` header says which seq the file reflects).
const EXPORT_VIEW_WAIT_MS: u64 = 5_000;

/// `GET /exports/{settlement|journal}?from=DAY&to=DAY[&channel=C|&processor=true][&format=csv|json]`:
/// the file `tally export settlement|journal` writes, from a snapshot of the view once it has
/// reached the head, for the roles of `Query.settlementExport` (401/403 otherwise). A bad
/// argument is 400 with the reason; `Tally-View-Seq` names the seq the file reflects, and
/// `Tally-Quarantined: <count> <first seq>` is set when the view left events out.
async fn export_file(
    State(shared): State<Shared>,
    axum::extract::Path(kind): axum::extract::Path<String>,
    headers: HeaderMap,
    query: Result<axum::extract::Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    use crate::exports::{Export, Format};
    use tally_domain::time::Date;
    if let Some(refused) = refusal(&shared, &headers, "Query.settlementExport") {
        return refused;
    }
    let bad = |message: String| (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response();
    let query = match query {
        Ok(axum::extract::Query(query)) => query,
        Err(e) => return bad(format!("the query string: {e}")),
    };
    let day = |name: &str, text: &str| {
        Date::parse(text).map_err(|e| format!("{name} '{}': {e}", text.escape_debug()))
    };
    let (from, to) = match (day("from", &query.from), day("to", &query.to)) {
        (Ok(from), Ok(to)) if to >= from => (from, to),
        (Ok(from), Ok(to)) => return bad(format!("to {to} is before from {from}")),
        (Err(e), _) | (_, Err(e)) => return bad(e),
    };
    let Some(format) = Format::parse(query.format.as_deref().unwrap_or("csv")) else {
        return bad("format: give csv or json".to_owned());
    };
    let export = match (kind.as_str(), query.channel, query.processor.unwrap_or(false)) {
        ("settlement", Some(channel), false) => {
            if let Err(e) = tally_domain::ids::ChannelId::parse(&channel) {
                return bad(format!("channel: {e}"));
            }
            Export::Settlement { channel, from, to }
        }
        ("settlement", None, true) => Export::Processor { from, to },
        ("settlement", _, _) => return bad("give channel=<CHANNEL> or processor=true".to_owned()),
        ("journal", None, false) => Export::Journal { from, to },
        ("journal", _, _) => return bad("the journal takes no channel or processor".to_owned()),
        _ => {
            return (StatusCode::NOT_FOUND, "exports are settlement and journal\n").into_response();
        }
    };
    let engine = shared.state.engine().clone();
    let head = engine.log().head().seq;
    // Answer from where the views are if they do not reach the head in time.
    let _ =
        engine.wait_for_views(head, std::time::Duration::from_millis(EXPORT_VIEW_WAIT_MS)).await;
    let written = tokio::task::spawn_blocking(move || {
        let reader = engine.views().reader(export.view()).map_err(|e| e.to_string())?;
        let mut body = Vec::new();
        crate::exports::write(&reader, &export, format, &mut body).map_err(|e| e.to_string())?;
        let quarantined = reader.quarantine_summary().map_err(|e| e.to_string())?;
        Ok::<_, String>((body, reader.applied(), quarantined))
    })
    .await;
    let (body, seq, quarantined) = match written {
        Ok(Ok(written)) => written,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "export failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Err(e) => {
            tracing::error!(error = %e, "export task failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut response = ([(header::CONTENT_TYPE, format.media_type())], body).into_response();
    let headers = response.headers_mut();
    headers.insert("tally-view-seq", axum::http::HeaderValue::from(seq));
    if let (count, Some(first)) = quarantined
        && let Ok(value) = axum::http::HeaderValue::from_str(&format!("{count} {first}"))
    {
        headers.insert("tally-quarantined", value);
    }
    response
}

/// `OPTIONS /graphql`: a CORS preflight (see [`crate::cors`]).
async fn graphql_options(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    shared.state.config().cors_origins.preflight(&headers)
}

/// Adds the CORS headers to every answer to an allowed origin.
async fn cors(
    origins: crate::cors::CorsOrigins,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if origins.is_empty() {
        return next.run(request).await;
    }
    let mut origin = HeaderMap::new();
    if let Some(value) = request.headers().get(header::ORIGIN) {
        origin.insert(header::ORIGIN, value.clone());
    }
    let mut response = next.run(request).await;
    origins.decorate(&origin, &mut response);
    response
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then stops accepting,
/// ends subscriptions and waits for in-flight requests. Every acknowledged command was durable
/// before its answer was sent; closing the engine afterwards is the caller's job.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // WebSocket connections live in their own tasks after the upgrade: each holds a sender,
    // and serving is over only when every one of them has ended.
    let (connections, mut connections_done) = mpsc::channel::<()>(1);
    // Views built by another version of their projection are rebuilt in the background while
    // the old generation answers.
    state.rebuild_stale_views();
    let app = router_with(state.clone(), Some(connections));
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving GraphQL at http://{addr}/graphql");
    }
    // The peer address decides who may read `/metrics` without a token.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections, finishing in-flight requests");
            state.begin_shutdown();
        })
        .await;
    // Every sender has been dropped once `recv` answers `None`.
    while connections_done.recv().await.is_some() {}
    served
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""))
}

pub(crate) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "response serialisation failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn graphql_post(State(shared): State<Shared>, request: axum::extract::Request) -> Response {
    // The slot is taken before the body is read: a flood waits with its bodies unread.
    let Ok(slot) = shared.executions.clone().acquire_owned().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let headers = request.headers().clone();
    let body = match <Bytes as axum::extract::FromRequest<()>>::from_request(request, &()).await {
        Ok(body) => body,
        // 413 past the body limit, 400 for a body that could not be read.
        Err(rejection) => return rejection.into_response(),
    };
    // Parsing, validation and execution are CPU work on big documents: run them on the
    // blocking pool, driving the async resolvers from there, so the runtime threads stay free.
    let runtime = tokio::runtime::Handle::current();
    // The slot goes with the work: a request that times out frees it only when its
    // execution has really ended.
    let task = tokio::task::spawn_blocking(move || {
        let response = runtime.block_on(execute_post(shared, headers, body));
        drop(slot);
        response
    });
    match task.await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "GraphQL execution task failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Whether a query text names `__schema` or `__type` (not `__typename`). May see them inside a
/// string too: then an anonymous caller, who could read nothing anyway, is told to bring a
/// token.
fn introspects(query: &str) -> bool {
    ["__schema", "__type"].iter().any(|name| {
        query.match_indices(name).any(|(at, _)| {
            !query[at + name.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    })
}

async fn execute_post(shared: Shared, headers: HeaderMap, body: Bytes) -> Response {
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(e) => {
            let error = serde_json::json!({
                "errors": [{
                    "message": format!("the body is not a GraphQL request: {e}"),
                    "extensions": { "code": code::INVALID_INPUT },
                }]
            });
            return json_response(StatusCode::BAD_REQUEST, &error);
        }
    };
    let batch_max = shared.state.config().batch_operations_max;
    if let BatchRequest::Batch(operations) = &batch
        && operations.len() > batch_max
    {
        let error = serde_json::json!({
            "errors": [{
                "message": format!(
                    "a batch of {} operations is more than {batch_max}",
                    operations.len()
                ),
                "extensions": { "code": code::LIMIT_EXCEEDED },
            }]
        });
        return json_response(StatusCode::BAD_REQUEST, &error);
    }
    let auth = shared.state.auth().resolve(authorization(&headers));
    let batch = if matches!(auth, Auth::Caller(_)) || shared.state.config().introspection_anonymous
    {
        batch
    } else {
        let asks = match &batch {
            BatchRequest::Single(r) => introspects(&r.query),
            BatchRequest::Batch(rs) => rs.iter().any(|r| introspects(&r.query)),
        };
        if asks {
            // async-graphql would answer `null`: say why instead.
            let error = serde_json::json!({
                "errors": [{
                    "message": "introspection (__schema, __type) needs a bearer token",
                    "extensions": { "code": code::UNAUTHENTICATED },
                }]
            });
            return json_response(StatusCode::OK, &error);
        }
        batch.disable_introspection()
    };
    let batch = batch.data(auth);
    let response = shared.schema.execute_batch(batch).await;
    json_response(StatusCode::OK, &response)
}

/// Reads `{"authorization": "Bearer …"}` (or `Authorization`) from a connection_init payload.
fn init_authorization(payload: &serde_json::Value) -> Option<&str> {
    let object = payload.as_object()?;
    object.get("authorization").or_else(|| object.get("Authorization")).and_then(|v| v.as_str())
}

async fn graphql_ws(
    State(shared): State<Shared>,
    protocol: GraphQLProtocol,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header_auth = shared.state.auth().resolve(authorization(&headers));
    let slots_max = shared.state.config().subscriptions_per_connection_max;
    // One WebSocket message is held to the same size as one HTTP body (the library's default
    // is 64 MiB).
    let message_max = shared.state.config().request_body_bytes_max;
    let state = shared.state.clone();
    let mut shutdown = state.shutdown_signal();
    let upgrade = upgrade.max_message_size(message_max).max_frame_size(message_max);
    upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| async move {
        let _connection = shared.connections.clone();
        let connection = GraphQLWebSocket::new(socket, shared.schema.clone(), protocol)
            .on_connection_init(move |payload| async move {
                let auth = match init_authorization(&payload) {
                    Some(value) => state.auth().resolve(Some(value)),
                    None => header_auth,
                };
                if auth == Auth::Invalid {
                    return Err(async_graphql::Error::new("the token is not valid"));
                }
                let mut data = Data::default();
                data.insert(auth);
                data.insert(ConnectionSlots(Arc::new(Semaphore::new(slots_max))));
                Ok(data)
            })
            .serve();
        // At shutdown the subscriptions end; the connection is dropped with them.
        tokio::select! {
            () = connection => {}
            _ = shutdown.wait_for(|stop| *stop) => {}
        }
    })
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(shared): State<Shared>) -> Response {
    let state = &shared.state;
    let engine = state.engine();
    let head = engine.log().head().seq;
    let lag = if engine.views().names().is_empty() {
        0
    } else {
        head.saturating_sub(engine.views().low_water())
    };
    let lag_max = state.config().ready_view_lag_events_max;
    let problem = if state.shutting_down() {
        Some("shutting down".to_owned())
    } else if let Some(reason) = engine.integrity_problem() {
        // Reads are served; writes are refused until an operator acts (docs/operations.md).
        Some(format!("the store refuses writes: {reason}"))
    } else if let Some(reason) = engine.poisoned() {
        tracing::warn!(%reason, "engine poisoned");
        Some("engine stopped by a storage failure".to_owned())
    } else if let Some(reason) = engine.views().failure() {
        tracing::warn!(%reason, "views stopped");
        Some(crate::schema::views::VIEWS_STOPPED.to_owned())
    } else if lag > lag_max {
        Some(format!("views are {lag} events behind the head, over {lag_max}"))
    } else {
        None
    };
    // Views with quarantined events stay ready (their reads answer, flagged incomplete), but
    // they are named here so a probe or an operator sees them.
    let mut quarantined = serde_json::Map::new();
    for name in engine.views().names() {
        let summary = engine.views().reader(name).and_then(|r| r.quarantine_summary());
        if let Ok((count, Some(first_seq))) = summary {
            quarantined.insert(
                name.to_owned(),
                serde_json::json!({ "count": count, "first_seq": first_seq }),
            );
        }
    }
    let body = serde_json::json!({
        "ready": problem.is_none(),
        "head_seq": head,
        "view_lag_events": lag,
        "reason": problem,
        "quarantined_views": quarantined,
    });
    let status = if problem.is_none() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    json_response(status, &body)
}

/// `/metrics`, for whom [`MetricsAccess`] allows: anonymous from loopback by default; else a
/// token of a [`METRICS_ROLES`] role (401 without a valid token, 403 for another role). A
/// request without a peer address (the router served without connect info) is not loopback.
async fn metrics(State(shared): State<Shared>, request: axum::extract::Request) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
    let loopback = peer.is_some_and(|peer| peer.ip().to_canonical().is_loopback());
    let access = shared.state.config().metrics_access;
    let anonymous_ok = match access {
        MetricsAccess::Anonymous => true,
        MetricsAccess::Loopback => loopback,
        MetricsAccess::Token => false,
    };
    if !anonymous_ok {
        let roles = METRICS_ROLES.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
        let refused = match shared.state.auth().resolve(authorization(request.headers())) {
            Auth::Caller(caller) if METRICS_ROLES.contains(&caller.role) => None,
            Auth::Caller(caller) => Some((
                StatusCode::FORBIDDEN,
                format!("role '{}' may not read /metrics (roles: {roles})\n", caller.role.as_str()),
            )),
            Auth::Anonymous | Auth::Invalid => Some((
                StatusCode::UNAUTHORIZED,
                format!(
                    "/metrics needs a bearer token of role {roles} (metrics access '{access}'{})\n",
                    if access == MetricsAccess::Loopback {
                        ", and the peer is not loopback"
                    } else {
                        ""
                    }
                ),
            )),
        };
        if let Some((status, message)) = refused {
            return (status, [(header::WWW_AUTHENTICATE, "Bearer")], message).into_response();
        }
    }
    let text = telemetry::render(&shared.state);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
