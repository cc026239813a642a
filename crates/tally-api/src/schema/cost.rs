//! The requested cost of an operation, computed from its document before validation, reported
//! in every response as `extensions.cost` and refused over a maximum (like Shopify's
//! `extensions.cost`).
//!
//! The rule is generic; it names no field of ours:
//!
//! - every field costs 1;
//! - a field with an integer `first` or `last` argument (a literal, or a variable from the
//!   request or its default) multiplies the cost of its selection set by that value (by the
//!   larger one when both are given; a negative value counts 0);
//! - a field without either, whose definition in the schema has a `first` or `last`
//!   argument, multiplies by that argument's default in the schema, or, when the schema has
//!   none, by the page size the resolvers use for a missing `first` (`page_default`);
//! - fragments and inline fragments are expanded (each fragment is measured once, so the walk
//!   is linear in the document; a fragment cycle, which validation refuses, adds nothing);
//!   `@skip`/`@include` are not evaluated: a skipped field still counts.
//!
//! Field definitions come from the schema's SDL ([`Shapes::from_sdl`]): async-graphql exposes
//! its registry to extensions only through items it marks `#[doc(hidden)]`. A field that the
//! SDL does not define (introspection's `__schema`/`__type`, or a field validation will
//! refuse) multiplies only by an explicit `first`/`last`, and its selection is measured
//! without field definitions.
//!
//! Only the operation that will run is measured (`operationName`, or the only operation); a
//! request where none would run (async-graphql refuses it) is not measured. Responses to queries and
//! mutations carry `extensions.cost` with `requestedQueryCost` (null when the document was not
//! measured: it did not parse, or an earlier check refused it) and `maximumAvailable`. A
//! subscription is refused over the maximum the same way; its events carry no cost.

use super::size::NESTING_MAX;
use crate::error::code;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest,
};
use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet, Type,
    TypeKind, TypeSystemDefinition,
};
// async-graphql names the constant value `Value` (the parser's `Value`, which may hold
// variables, is not re-exported: arguments are resolved with `into_const_with`).
use async_graphql::{
    Name, Number, Request, Response, ServerError, ServerResult, Value as ConstValue, Variables,
};
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::{Arc, OnceLock};

/// The arguments whose integer value multiplies the cost of a field's selection set.
pub const PAGE_ARGUMENTS: [&str; 2] = ["first", "last"];

/// What the cost walk needs of a schema: the root types, and each object or interface type's
/// fields with their types and page arguments.
#[derive(Debug, Clone)]
pub struct Shapes {
    query: String,
    mutation: String,
    subscription: String,
    types: HashMap<String, HashMap<String, FieldShape>>,
}

#[derive(Debug, Clone)]
struct FieldShape {
    /// The field's type with its list and non-null wrappers taken off.
    ty: String,
    /// `None` when the field has no `first`/`last` argument; else the schema's default of
    /// one of them, when it has an integer one.
    pages: Option<Option<u64>>,
}

impl Default for Shapes {
    /// No field definitions: every field multiplies only by an explicit `first`/`last`.
    fn default() -> Self {
        Self {
            query: "Query".to_owned(),
            mutation: "Mutation".to_owned(),
            subscription: "Subscription".to_owned(),
            types: HashMap::new(),
        }
    }
}

impl Shapes {
    /// Reads the shapes from a schema's SDL (e.g. `Schema::sdl()`).
    ///
    /// # Errors
    ///
    /// When `sdl` does not parse as a GraphQL schema document.
    pub fn from_sdl(sdl: &str) -> Result<Self, async_graphql::parser::Error> {
        let document = async_graphql::parser::parse_schema(sdl)?;
        let mut shapes = Self::default();
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    if let Some(name) = schema.query {
                        shapes.query = name.node.to_string();
                    }
                    if let Some(name) = schema.mutation {
                        shapes.mutation = name.node.to_string();
                    }
                    if let Some(name) = schema.subscription {
                        shapes.subscription = name.node.to_string();
                    }
                }
                TypeSystemDefinition::Type(ty) => {
                    let ty = ty.node;
                    let fields = match ty.kind {
                        TypeKind::Object(object) => object.fields,
                        TypeKind::Interface(interface) => interface.fields,
                        _ => continue,
                    };
                    // `extend type` adds to the same entry.
                    let entry = shapes.types.entry(ty.name.node.to_string()).or_default();
                    for field in fields {
                        let field = field.node;
                        let mut pages = None;
                        for argument in &field.arguments {
                            let argument = &argument.node;
                            if PAGE_ARGUMENTS.contains(&argument.name.node.as_str()) {
                                let default = argument
                                    .default_value
                                    .as_ref()
                                    .and_then(|value| const_integer(&value.node));
                                pages = Some(pages.flatten().max(default));
                            }
                        }
                        let shape = FieldShape { ty: named_type(&field.ty.node).to_owned(), pages };
                        entry.insert(field.name.node.to_string(), shape);
                    }
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        Ok(shapes)
    }

    fn field(&self, parent: &str, name: &str) -> Option<&FieldShape> {
        self.types.get(parent)?.get(name)
    }

    fn root(&self, ty: OperationType) -> &str {
        match ty {
            OperationType::Query => &self.query,
            OperationType::Mutation => &self.mutation,
            OperationType::Subscription => &self.subscription,
        }
    }
}

/// The name of a type without its wrappers (`[Event!]!` is `Event`).
fn named_type(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named_type(inner),
    }
}

/// A non-negative integer (a negative one is 0); `None` for anything else.
fn number(n: &Number) -> Option<u64> {
    n.as_u64().or_else(|| n.as_i64().map(|_| 0))
}

fn const_integer(value: &ConstValue) -> Option<u64> {
    match value {
        ConstValue::Number(n) => number(n),
        _ => None,
    }
}

/// The requested cost of the operation of `document` that runs for `operation_name`; `None`
/// when none would run (an unknown name, or several operations and no name: async-graphql
/// refuses the request).
///
/// # Errors
///
/// A `LIMIT_EXCEEDED` error when selections and fragments nest more than [`NESTING_MAX`] deep
/// (the walk is bounded; the schema's `ExpandedSize` check refuses such documents earlier).
pub fn requested_cost(
    shapes: &Shapes,
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    page_default: u64,
) -> Result<Option<u64>, ServerError> {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()
        }
        (DocumentOperations::Multiple(_), None) => None,
    };
    let Some(operation) = operation.map(|operation| &operation.node) else {
        return Ok(None);
    };
    let defaults = operation
        .variable_definitions
        .iter()
        .filter_map(|definition| {
            let definition = &definition.node;
            Some((definition.name.node.as_str(), definition.default_value()?))
        })
        .collect();
    let mut walk =
        Walk { shapes, document, variables, defaults, page_default, memo: HashMap::new() };
    let root = shapes.root(operation.ty);
    walk.set_cost(&operation.selection_set.node, Some(root), 0).map(Some)
}

struct Walk<'a> {
    shapes: &'a Shapes,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    /// The operation's variable defaults, for variables the request does not give.
    defaults: HashMap<&'a str, &'a ConstValue>,
    page_default: u64,
    /// Cost of each fragment; `None` while it is being measured (a cycle).
    memo: HashMap<&'a str, Option<u64>>,
}

impl<'a> Walk<'a> {
    /// The cost of `set`, selected on type `parent` (`None`: a type the schema does not have).
    fn set_cost(
        &mut self,
        set: &'a SelectionSet,
        parent: Option<&'a str>,
        depth: usize,
    ) -> Result<u64, ServerError> {
        if depth > NESTING_MAX {
            return Err(limit_error(format!(
                "the query nests selections and fragments more than {NESTING_MAX} deep"
            )));
        }
        let mut cost: u64 = 0;
        for selection in &set.items {
            let more = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let shape = parent.and_then(|p| self.shapes.field(p, &field.name.node));
                    let given = PAGE_ARGUMENTS
                        .iter()
                        .filter_map(|name| field.get_argument(name))
                        .filter_map(|value| {
                            let resolved = value.node.clone().into_const_with(|name| {
                                Ok::<_, std::convert::Infallible>(self.variable(&name))
                            });
                            const_integer(&resolved.ok()?)
                        })
                        .max();
                    let multiplier = match (given, shape.and_then(|s| s.pages)) {
                        (Some(n), _) => n,
                        (None, Some(default)) => default.unwrap_or(self.page_default),
                        (None, None) => 1,
                    };
                    let child = shape.map(|s| s.ty.as_str());
                    let selected = self.set_cost(&field.selection_set.node, child, depth + 1)?;
                    1_u64.saturating_add(multiplier.saturating_mul(selected))
                }
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    let on = match &inline.type_condition {
                        Some(condition) => Some(condition.node.on.node.as_str()),
                        None => parent,
                    };
                    self.set_cost(&inline.selection_set.node, on, depth + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment_cost(&spread.node.fragment_name.node, depth)?
                }
            };
            cost = cost.saturating_add(more);
        }
        Ok(cost)
    }

    /// The cost of a named fragment: the same wherever it is spread (its type condition and
    /// the request's variables decide it), so it is measured once.
    fn fragment_cost(&mut self, name: &Name, depth: usize) -> Result<u64, ServerError> {
        match self.memo.get(name.as_str()) {
            Some(Some(known)) => Ok(*known),
            // A fragment cycle: validation refuses it; it adds nothing here.
            Some(None) => Ok(0),
            None => match self.document.fragments.get_key_value(name) {
                // An unknown fragment: validation refuses it.
                None => Ok(0),
                Some((key, fragment)) => {
                    self.memo.insert(key.as_str(), None);
                    let on = fragment.node.type_condition.node.on.node.as_str();
                    let cost =
                        self.set_cost(&fragment.node.selection_set.node, Some(on), depth + 1)?;
                    self.memo.insert(key.as_str(), Some(cost));
                    Ok(cost)
                }
            },
        }
    }

    /// A variable's value when it is a number (from the request, else the operation's
    /// default); null otherwise. Only numbers are copied: a large variable named in many
    /// `first:` arguments costs nothing to look at.
    fn variable(&self, name: &Name) -> ConstValue {
        let given = self.variables.get(name);
        match given.or_else(|| self.defaults.get(name.as_str()).copied()) {
            Some(ConstValue::Number(n)) => ConstValue::Number(n.clone()),
            _ => ConstValue::Null,
        }
    }
}

fn limit_error(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", code::LIMIT_EXCEEDED);
    error
}

/// The extension: measures each operation, refuses one over `max` with `LIMIT_EXCEEDED`
/// before it is validated or run, and adds `extensions.cost` to the response.
#[derive(Debug, Clone)]
pub struct QueryCost {
    shapes: Arc<Shapes>,
    max: NonZeroU64,
    page_default: u64,
}

impl QueryCost {
    /// Measures with the field definitions of `shapes`; refuses a requested cost over `max`;
    /// counts a missing `first`/`last` without a schema default as `page_default`.
    #[must_use]
    pub fn new(shapes: Arc<Shapes>, max: NonZeroU64, page_default: u64) -> Self {
        Self { shapes, max, page_default }
    }
}

impl ExtensionFactory for QueryCost {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Measure { cost: self.clone(), requested: OnceLock::new() })
    }
}

/// One request's measurement: created for each request, so `requested` is that request's.
struct Measure {
    cost: QueryCost,
    requested: OnceLock<u64>,
}

impl Measure {
    fn summary(&self) -> ConstValue {
        let requested = self.requested.get().map_or(ConstValue::Null, |n| ConstValue::from(*n));
        let mut cost = async_graphql::indexmap::IndexMap::new();
        cost.insert(Name::new("requestedQueryCost"), requested);
        cost.insert(Name::new("maximumAvailable"), ConstValue::from(self.cost.max.get()));
        ConstValue::Object(cost)
    }
}

#[async_trait::async_trait]
impl Extension for Measure {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        response.extensions.insert("cost".to_owned(), self.summary());
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // Taken out while the parsed document borrows the request, then put back.
        let variables = std::mem::take(&mut request.variables);
        let operation_name = request.operation_name.take();
        let QueryCost { shapes, max, page_default } = &self.cost;
        // Parsed once and kept in the request; a document that does not parse is left for
        // async-graphql to report.
        let measured = request.parsed_query().ok().map(|document| {
            requested_cost(shapes, document, operation_name.as_deref(), &variables, *page_default)
        });
        request.variables = variables;
        request.operation_name = operation_name;
        if let Some(requested) = measured.transpose()?.flatten() {
            let _ = self.requested.set(requested);
            if requested > max.get() {
                return Err(limit_error(format!(
                    "the query's requested cost is {requested}, more than the maximum of {max} \
                     (each field costs 1; `first`/`last` multiply the cost of a field's \
                     selection)"
                )));
            }
        }
        next.run(ctx, request).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    const SDL: &str = r"
        type Query { head: Head!  events(first: Int, after: String): EventConnection!
                     authors(first: Int = 7): [Author!]!  node(id: ID!): Node }
        type Head { seq: Int! }
        type EventConnection { edges: [EventEdge!]!  pageInfo: PageInfo! }
        type EventEdge { cursor: String!  node: Event! }
        type Event implements Node { id: ID!  seq: Int! }
        type PageInfo { hasNextPage: Boolean! }
        type Author implements Node { id: ID!  books(last: Int): [Book!]! }
        type Book { title: String! }
        interface Node { id: ID! }
        type Mutation { touch(first: Int): Head! }
        schema { query: Query mutation: Mutation }
    ";

    fn cost_with(query: &str, variables: serde_json::Value) -> u64 {
        let shapes = Shapes::from_sdl(SDL).unwrap();
        let document = parse_query(query).unwrap();
        let variables = Variables::from_json(variables);
        requested_cost(&shapes, &document, None, &variables, 50).unwrap().unwrap()
    }

    fn cost(query: &str) -> u64 {
        cost_with(query, serde_json::json!({}))
    }

    #[test]
    fn fields_count_one_and_pages_multiply_their_selection() {
        assert_eq!(cost("{ head { seq } }"), 2);
        // events: 1 + 5 × (edges: 1 + cursor 1 + node (1 + seq 1)) = 1 + 5 × 4
        assert_eq!(cost("{ events(first: 5) { edges { cursor node { seq } } } }"), 21);
        // Nested pages multiply: authors 1 + 3 × (books: 1 + 4 × title 1) = 1 + 3 × 5
        assert_eq!(cost("{ authors(first: 3) { books(last: 4) { title } } }"), 16);
    }

    #[test]
    fn a_missing_page_argument_counts_the_schema_default_or_the_page_default() {
        // `authors` has `first: Int = 7`; `events` has no default: 50.
        assert_eq!(cost("{ authors { id } }"), 1 + 7);
        assert_eq!(cost("{ events { pageInfo { hasNextPage } } }"), 1 + 50 * 2);
        // Not a paged field: no multiplier; an explicit `first` on an unknown field counts.
        assert_eq!(cost("{ head { seq } }"), 2);
        assert_eq!(cost("{ nope(first: 3) { a b } }"), 1 + 3 * 2);
        assert_eq!(cost("{ __schema { types { name } } }"), 3);
    }

    #[test]
    fn variables_and_their_defaults_are_used() {
        let query = "query($n: Int) { events(first: $n) { edges { cursor } } }";
        assert_eq!(cost_with(query, serde_json::json!({ "n": 9 })), 1 + 9 * 2);
        assert_eq!(cost_with(query, serde_json::json!({})), 1 + 50 * 2);
        // An explicit null is absent: the page default.
        assert_eq!(cost_with(query, serde_json::json!({ "n": null })), 1 + 50 * 2);
        let with_default = "query($n: Int = 4) { events(first: $n) { edges { cursor } } }";
        assert_eq!(cost_with(with_default, serde_json::json!({})), 1 + 4 * 2);
        assert_eq!(cost_with(with_default, serde_json::json!({ "n": 2 })), 1 + 2 * 2);
        // A negative page counts 0 (the resolver refuses it).
        assert_eq!(cost_with(query, serde_json::json!({ "n": -3 })), 1);
    }

    #[test]
    fn fragments_expand_in_their_type_and_cycles_add_nothing() {
        let query =
            "{ events(first: 2) { ...E } node(id: \"x\") { ... on Author { books { title } } } }
            fragment E on EventConnection { edges { node { ...N } } }
            fragment N on Event { seq id }";
        // events: 1 + 2 × (edges 1 + node (1 + 2)) = 9; node: 1 + (books 1 + 50 × 1) = 52
        assert_eq!(cost(query), 9 + 52);
        let cyclic =
            "{ ...A } fragment A on Query { head { seq } ...B } fragment B on Query { ...A }";
        assert_eq!(cost(cyclic), 2);
    }

    #[test]
    fn the_operation_that_runs_is_measured_and_mutations_use_their_root() {
        let shapes = Shapes::from_sdl(SDL).unwrap();
        let document = parse_query(
            "query A { head { seq } } query B { events(first: 3) { edges { cursor } } }",
        )
        .unwrap();
        let none = Variables::default();
        let measure = |name| requested_cost(&shapes, &document, name, &none, 50).unwrap();
        assert_eq!(measure(Some("A")), Some(2));
        assert_eq!(measure(Some("B")), Some(7));
        // None of them would run: not measured.
        assert_eq!(measure(None), None);
        assert_eq!(measure(Some("C")), None);
        let one = parse_query("query A { head { seq } }").unwrap();
        assert_eq!(requested_cost(&shapes, &one, None, &none, 50).unwrap(), Some(2));
        assert_eq!(cost("mutation { touch { seq } }"), 1 + 50);
    }

    #[test]
    fn huge_pages_saturate() {
        let query = "{ events(first: 9999999999999) { edges { node { seq } } } a: events(first: 9999999999999) { edges { node { seq } } } }";
        assert!(cost(query) > 10_000_000_000_000);
        let mut nested = String::from("{ ");
        for _ in 0..8 {
            nested.push_str("nope(first: 1000000) { ");
        }
        nested.push('x');
        nested.push_str(&" }".repeat(9));
        assert_eq!(cost(&nested), u64::MAX);
    }

    #[test]
    fn the_tally_schema_sdl_parses() {
        let shapes = Shapes::from_sdl(&crate::schema::sdl()).unwrap();
        let events = shapes.field("Query", "events").unwrap();
        assert_eq!(events.pages, Some(None));
        assert!(shapes.field("Query", "head").unwrap().pages.is_none());
    }
}
