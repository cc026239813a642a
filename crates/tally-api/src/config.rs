//! The server's limits, all in one place, each with its documented default.

use std::num::NonZeroU64;
use std::time::Duration;

/// Who may read `/metrics` (`metrics_access` in `tally.toml`, `tally serve --metrics-access`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricsAccess {
    /// Anyone connecting from a loopback address (127.0.0.0/8, `::1`); from any other address
    /// a bearer token of a [`METRICS_ROLES`](crate::auth::METRICS_ROLES) role (the default).
    /// Behind a reverse proxy on the same host every request comes from loopback: use
    /// [`MetricsAccess::Token`] there, or block `/metrics` at the proxy.
    #[default]
    Loopback,
    /// A bearer token of a metrics role, from any address.
    Token,
    /// Anyone, from anywhere (when something in front controls access).
    Anonymous,
}

impl MetricsAccess {
    /// The lowercase name used in configuration.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loopback => "loopback",
            Self::Token => "token",
            Self::Anonymous => "anonymous",
        }
    }
}

impl std::str::FromStr for MetricsAccess {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Loopback, Self::Token, Self::Anonymous]
            .into_iter()
            .find(|access| access.as_str() == text)
            .ok_or_else(|| {
                format!("unknown metrics access '{text}': expected loopback, token or anonymous")
            })
    }
}

impl std::fmt::Display for MetricsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits and timeouts of the GraphQL server. Every limit is set explicitly here; nothing
/// relies on a library default (async-graphql has no depth or complexity limit of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// Deepest selection set a query may nest (async-graphql `limit_depth`). Default 12.
    pub limit_depth: usize,
    /// Most work a query may ask for (async-graphql `limit_complexity`): each field counts 1,
    /// a connection counts `first` (default 50) × its selection. Default 10 000 (a full
    /// page of 500 events with about 20 fields each). The same number also bounds the
    /// fields of a query with its fragments expanded, counted before validation
    /// (`schema::size`), so fragment tricks cannot make validation itself expensive.
    pub limit_complexity: usize,
    /// Page size when a connection's `first` is absent. Default 50. The query cost
    /// (`query_cost_max`) counts a missing `first`/`last` as this many.
    pub page_size_default: usize,
    /// Largest `first` a connection accepts. Default 500.
    pub page_size_max: usize,
    /// Largest request body; larger ones get HTTP 413. Default 4 MiB.
    pub request_body_bytes_max: usize,
    /// Most operations in one batched POST (a JSON array of requests); a larger batch gets
    /// HTTP 400 with `LIMIT_EXCEEDED`. Each operation is held to the depth and complexity
    /// limits on its own, so without this a 4 MiB batch could ask for thousands of times the
    /// work of one query. Default 16.
    pub batch_operations_max: usize,
    /// Most GraphQL POSTs read and executed at once; more wait (their bodies unread) for a
    /// slot. Bounds the memory of a flood (each holds up to `request_body_bytes_max`).
    /// Execution runs on the blocking pool, so parsing and validating big documents never
    /// holds a runtime thread that `/healthz` or another request needs. Default 32.
    pub graphql_concurrency_max: usize,
    /// Longest GraphQL document text (the `query` string; data belongs in variables),
    /// refused with `LIMIT_EXCEEDED` before it is parsed. Parsing is synchronous CPU work on a
    /// runtime thread, about 10 ms per 100 KiB in a release build. Default 256 KiB.
    pub query_bytes_max: usize,
    /// Most requested cost of one operation (`schema::cost`), computed from its document
    /// before it is validated or run: each field costs 1, and a field's `first`/`last`
    /// (its schema default, else `page_size_default`, when absent) multiplies the cost of its
    /// selection. A costlier operation is refused with `LIMIT_EXCEEDED`, and nothing of it
    /// runs. Every query and mutation response reports
    /// `extensions.cost { requestedQueryCost maximumAvailable }`, the latter being this
    /// number. Greater than 0 by its type (0 would refuse every query). Default 10 000.
    pub query_cost_max: NonZeroU64,
    /// Whole-request timeout (HTTP 408 after it). Default 30 000 ms.
    pub request_timeout_ms: u64,
    /// Most commands in one `submitMany`. Default 1000.
    pub submit_many_commands_max: usize,
    /// Most concurrent subscriptions on one WebSocket connection. Default 16.
    pub subscriptions_per_connection_max: usize,
    /// Most events a subscription reads from the log at once (its buffer). Default 256.
    pub subscription_batch_events_max: usize,
    /// How long `waitForViews` waits for the views to reach a mutation's last seq.
    /// Default 5000 ms (below the request timeout).
    pub wait_for_views_timeout_ms: u64,
    /// `/readyz` fails while the views are more than this many events behind the head.
    /// Default 100 000.
    pub ready_view_lag_events_max: u64,
    /// Who may read `/metrics`. Default [`MetricsAccess::Loopback`].
    pub metrics_access: MetricsAccess,
    /// Most `source` label values a metric shows: the sources with the largest counts get
    /// their own series, all others are summed under `source="other"`, so a client cannot
    /// grow the scrape by inventing sources. Default 20.
    pub metrics_sources_max: usize,
    /// Web origins whose pages may call `/graphql` from a browser (CORS). Default: none.
    pub cors_origins: crate::cors::CorsOrigins,
    /// Whether a request without a valid token may introspect the schema (`__schema`,
    /// `__type`). Default false: the schema is shown to callers with a token only.
    pub introspection_anonymous: bool,
    /// Each channel's Shopify webhook secret, for `POST /intake/shopify/{channel}`
    /// (`TALLY_SHOPIFY_WEBHOOK_SECRETS`). Default: none (the endpoint answers 404).
    pub shopify_webhook_secrets: crate::shopify_webhook::WebhookSecrets,
}

/// The default of [`ApiConfig::query_cost_max`]: 10 000.
pub const QUERY_COST_MAX_DEFAULT: NonZeroU64 = NonZeroU64::MIN.saturating_add(9_999);

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            limit_depth: 12,
            limit_complexity: 10_000,
            page_size_default: 50,
            page_size_max: 500,
            request_body_bytes_max: 4 << 20,
            batch_operations_max: 16,
            query_bytes_max: 256 << 10,
            query_cost_max: QUERY_COST_MAX_DEFAULT,
            graphql_concurrency_max: 32,
            request_timeout_ms: 30_000,
            submit_many_commands_max: 1000,
            subscriptions_per_connection_max: 16,
            subscription_batch_events_max: 256,
            wait_for_views_timeout_ms: 5000,
            ready_view_lag_events_max: 100_000,
            metrics_access: MetricsAccess::Loopback,
            metrics_sources_max: 20,
            cors_origins: crate::cors::CorsOrigins::default(),
            introspection_anonymous: false,
            shopify_webhook_secrets: crate::shopify_webhook::WebhookSecrets::new(),
        }
    }
}

impl ApiConfig {
    /// The request timeout.
    #[must_use]
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The read-your-writes wait.
    #[must_use]
    pub fn wait_for_views_timeout(&self) -> Duration {
        Duration::from_millis(self.wait_for_views_timeout_ms)
    }
}
