//! The GraphQL schema: root types, limits, and the extension that gives every error a code.

pub mod args;
pub mod audit;
pub mod connection;
pub mod cost;
pub mod event_type;
pub mod finance;
pub mod inputs;
pub mod intake;
pub mod inventory;
pub mod kpis;
pub mod ledger;
pub mod log;
pub mod node;

pub mod mutations;
pub mod operations;
pub mod orders;
pub mod proofs;
pub mod purchasing;
pub mod receivables;
pub mod size;
pub mod subscriptions;
pub mod typed;
pub mod values;
pub mod views;
pub mod webhooks;

use crate::error::code;
use crate::state::AppState;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextRequest, NextSubscribe,
};
use async_graphql::{MergedObject, Response, ServerError};
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use std::sync::{Arc, LazyLock};

pub use connection::PageInfo;

/// The query root. Projection queries are added here as further members (see `views`).
#[derive(MergedObject, Default, Debug)]
pub struct Query(
    log::LogQuery,
    proofs::AuditQuery,
    views::ViewsQuery,
    inventory::InventoryQuery,
    orders::OrdersQuery,
    kpis::KpisQuery,
    audit::AuditTrailQuery,
    finance::FinanceQuery,
    ledger::LedgerQuery,
    purchasing::PurchasingQuery,
    receivables::ReceivablesQuery,
    node::NodeQuery,
    webhooks::WebhooksQuery,
    operations::OperationsQuery,
);

/// The mutation root: generic and typed mutations, and imports.
#[derive(MergedObject, Default, Debug)]
pub struct Mutation(
    mutations::CoreMutation,
    typed::TypedMutation,
    webhooks::WebhooksMutation,
    intake::IntakeMutation,
    operations::OperationsMutation,
);

/// The schema type.
pub type TallySchema = async_graphql::Schema<Query, Mutation, subscriptions::Subscription>;

/// Builds the schema over `state`, with the configured limits.
#[must_use]
pub fn build(state: &AppState) -> TallySchema {
    builder().data(state.clone()).finish_with_limits(state)
}

/// The schema without state: for printing the SDL.
#[must_use]
pub fn sdl() -> String {
    builder().finish().sdl()
}

type Builder = async_graphql::SchemaBuilder<Query, Mutation, subscriptions::Subscription>;

fn builder() -> Builder {
    async_graphql::Schema::build(Query::default(), Mutation::default(), subscriptions::Subscription)
        .extension(ErrorCodes)
}

/// The field definitions the query cost reads, from this schema's own SDL (built once).
static SHAPES: LazyLock<Arc<cost::Shapes>> = LazyLock::new(|| {
    match cost::Shapes::from_sdl(&sdl()) {
        Ok(shapes) => Arc::new(shapes),
        Err(e) => {
            // Not reachable while async-graphql prints SDL that its own parser reads (a unit test
            // checks it); costs then count only explicit `first`/`last`.
            tracing::error!(error = %e, "the schema's SDL does not parse: query costs use no field definitions");
            Arc::new(cost::Shapes::default())
        }
    }
});

trait FinishWithLimits {
    fn finish_with_limits(self, state: &AppState) -> TallySchema;
}

impl FinishWithLimits for Builder {
    fn finish_with_limits(self, state: &AppState) -> TallySchema {
        let config = state.config();
        let fields_max = u64::try_from(config.limit_complexity).unwrap_or(u64::MAX);
        let query_bytes_max = config.query_bytes_max;
        let page_default = u64::try_from(config.page_size_default).unwrap_or(u64::MAX);
        let cost = cost::QueryCost::new(SHAPES.clone(), config.query_cost_max, page_default);
        // After ExpandedSize: the cost walk runs only on documents of a bounded size.
        self.extension(size::ExpandedSize { query_bytes_max, fields_max })
            .extension(cost)
            .limit_depth(config.limit_depth)
            .limit_complexity(config.limit_complexity)
            .finish()
    }
}

/// Gives every error without a `code` extension one: limit errors `LIMIT_EXCEEDED`, other
/// parse/validation/coercion errors `INVALID_INPUT`.
#[derive(Debug, Clone, Copy)]
struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

fn add_code(error: &mut ServerError) {
    let has_code = error.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
    if has_code {
        return;
    }
    let code = if error.message.contains("nested too deep") || error.message.contains("too complex")
    {
        code::LIMIT_EXCEEDED
    } else {
        code::INVALID_INPUT
    };
    error.extensions.get_or_insert_with(Default::default).set("code", code);
}

fn add_codes(mut response: Response) -> Response {
    let outcome = if response.errors.is_empty() { "ok" } else { "error" };
    metrics::counter!(crate::telemetry::GRAPHQL_REQUESTS, "outcome" => outcome).increment(1);
    for error in &mut response.errors {
        add_code(error);
    }
    response
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        add_codes(next.run(ctx).await)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream).map(add_codes).boxed()
    }
}
