//! Query cost: every response carries `extensions.cost { requestedQueryCost maximumAvailable }`,
//! computed from the document (each field 1, `first`/`last` multiply their selection), and an
//! operation over `query_cost_max` is refused with `LIMIT_EXCEEDED` before anything runs.

use crate::support::{TestServer, first_code, token};
use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use serde_json::{Value, json};
use std::num::NonZeroU64;
use std::sync::Arc;
use tally_api::schema::cost::{QueryCost, Shapes};
use tally_api::{ApiConfig, Role};

/// `{ head { seq } }`: head 1 + seq 1.
const HEAD: &str = "{ head { seq } }";
/// `events(first: 5)`: 1 + 5 × (edges 1 + node 1 + seq 1) = 16; with `head { seq }`, 18.
const KNOWN: &str = "{ head { seq } events(first: 5) { edges { node { seq } } } }";

fn cost(answer: &Value) -> (Value, Value) {
    let cost = &answer["extensions"]["cost"];
    (cost["requestedQueryCost"].clone(), cost["maximumAvailable"].clone())
}

#[tokio::test]
async fn a_known_query_costs_the_hand_computed_number_and_runs() {
    let server = TestServer::start().await;
    server.master_data().await;
    let admin = token(Role::Admin);
    let answer = server.gql_as(Some(&admin), KNOWN, json!({})).await;
    assert!(answer.get("errors").is_none(), "{answer:#}");
    assert_eq!(answer["data"]["head"]["seq"], "4", "{answer:#}");
    assert_eq!(answer["data"]["events"]["edges"].as_array().unwrap().len(), 4, "{answer:#}");
    assert_eq!(cost(&answer), (json!(18), json!(10_000)), "{answer:#}");
    // Without `first`, `events` counts the page size used for a missing `first` (50).
    let answer =
        server.gql_as(Some(&admin), "{ events { edges { node { seq } } } }", json!({})).await;
    assert_eq!(cost(&answer), (json!(1 + 50 * 3), json!(10_000)), "{answer:#}");
    // Fragments and inline fragments are expanded.
    let fragments = "{ ...H events(first: 2) { edges { ... on EventEdge { node { ...S } } } } }
        fragment H on Query { head { seq } }
        fragment S on Event { seq }";
    let answer = server.gql_as(Some(&admin), fragments, json!({})).await;
    assert!(answer.get("errors").is_none(), "{answer:#}");
    assert_eq!(cost(&answer).0, json!(2 + 1 + 2 * 3), "{answer:#}");
    server.stop().await;
}

#[tokio::test]
async fn a_variable_first_is_used() {
    let server = TestServer::start().await;
    let admin = token(Role::Admin);
    let query = "query($n: Int) { events(first: $n) { edges { node { seq } } } }";
    let answer = server.gql_as(Some(&admin), query, json!({ "n": 7 })).await;
    assert!(answer.get("errors").is_none(), "{answer:#}");
    assert_eq!(cost(&answer).0, json!(1 + 7 * 3), "{answer:#}");
    let answer = server.gql_as(Some(&admin), query, json!({ "n": 300 })).await;
    assert_eq!(cost(&answer).0, json!(1 + 300 * 3), "{answer:#}");
    // The variable's default when the request gives none.
    let defaulted = "query($n: Int = 11) { events(first: $n) { edges { node { seq } } } }";
    let answer = server.gql_as(Some(&admin), defaulted, json!({})).await;
    assert_eq!(cost(&answer).0, json!(1 + 11 * 3), "{answer:#}");
    server.stop().await;
}

#[tokio::test]
async fn over_the_maximum_is_limit_exceeded_with_no_data_and_nothing_runs() {
    let max = NonZeroU64::new(3).unwrap();
    let server =
        TestServer::start_with(ApiConfig { query_cost_max: max, ..ApiConfig::default() }).await;
    let admin = token(Role::Admin);
    // A cheap query still runs, and says what it cost.
    let answer = server.gql_as(Some(&admin), HEAD, json!({})).await;
    assert!(answer.get("errors").is_none(), "{answer:#}");
    assert_eq!(answer["data"]["head"]["seq"], "0");
    assert_eq!(cost(&answer), (json!(2), json!(3)));

    let answer = server.gql_as(Some(&admin), KNOWN, json!({})).await;
    assert_eq!(first_code(&answer), "LIMIT_EXCEEDED", "{answer:#}");
    assert!(answer["data"].is_null(), "{answer:#}");
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("18") && message.contains(" 3 "), "{message}");
    assert_eq!(cost(&answer), (json!(18), json!(3)), "{answer:#}");

    // A mutation over the maximum appends nothing; the same command with a cheaper selection
    // is taken.
    let input = json!({ "input": { "idempotencyKey": "c1", "json":
        {"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"} } });
    let costly =
        "mutation($input: SubmitInput!) { submit(input: $input) { lastSeq events { seq } } }";
    let answer = server.gql_as(Some(&admin), costly, input.clone()).await;
    assert_eq!(first_code(&answer), "LIMIT_EXCEEDED", "{answer:#}");
    assert!(answer["data"].is_null(), "{answer:#}");
    assert_eq!(cost(&answer).0, json!(4), "{answer:#}");
    assert_eq!(server.head(), 0, "the refused mutation ran");
    let cheap = "mutation($input: SubmitInput!) { submit(input: $input) { lastSeq } }";
    let answer = server.gql_as(Some(&admin), cheap, input).await;
    assert!(answer.get("errors").is_none(), "{answer:#}");
    assert_eq!(server.head(), 1);
    server.stop().await;
}

#[tokio::test]
async fn errors_carry_the_cost_too() {
    let server = TestServer::start().await;
    let admin = token(Role::Admin);
    // Measured, then refused by validation.
    let answer = server.gql_as(Some(&admin), "{ head { seq nope } }", json!({})).await;
    assert_eq!(first_code(&answer), "INVALID_INPUT", "{answer:#}");
    assert_eq!(cost(&answer), (json!(3), json!(10_000)), "{answer:#}");
    // Not measured: the document does not parse.
    let answer = server.gql_as(Some(&admin), "{ head { ", json!({})).await;
    assert_eq!(first_code(&answer), "INVALID_INPUT", "{answer:#}");
    assert_eq!(cost(&answer), (Value::Null, json!(10_000)), "{answer:#}");
    assert!(answer["extensions"]["cost"].get("requestedQueryCost").is_some(), "{answer:#}");
    server.stop().await;
}

/// The extension knows no field of ours: on another schema, nested connections multiply.
mod nested {
    use super::*;

    pub struct Root;

    #[Object]
    impl Root {
        async fn authors(&self, first: Option<i32>) -> Vec<Author> {
            let n = first.unwrap_or(2).max(0);
            (0..n).map(|i| Author { name: format!("author {i}") }).collect()
        }
    }

    pub struct Author {
        name: String,
    }

    #[Object]
    impl Author {
        async fn name(&self) -> &str {
            &self.name
        }
        async fn books(&self, last: Option<i32>) -> Vec<Book> {
            let n = last.unwrap_or(2).max(0);
            (0..n).map(|i| Book { title: format!("{} book {i}", self.name) }).collect()
        }
    }

    pub struct Book {
        title: String,
    }

    #[Object]
    impl Book {
        async fn title(&self) -> &str {
            &self.title
        }
    }

    type Library = Schema<Root, EmptyMutation, EmptySubscription>;

    fn library(max: u64) -> Library {
        let sdl = Schema::build(Root, EmptyMutation, EmptySubscription).finish().sdl();
        let shapes = Arc::new(Shapes::from_sdl(&sdl).unwrap());
        let cost = QueryCost::new(shapes, NonZeroU64::new(max).unwrap(), 20);
        Schema::build(Root, EmptyMutation, EmptySubscription).extension(cost).finish()
    }

    fn answer(response: async_graphql::Response) -> Value {
        serde_json::to_value(response).unwrap()
    }

    #[tokio::test]
    async fn nested_connections_multiply() {
        let schema = library(1000);
        let query = "{ authors(first: 3) { name books(last: 4) { title } } }";
        let response = answer(schema.execute(query).await);
        assert!(response.get("errors").is_none(), "{response:#}");
        // authors: 1 + 3 × (name 1 + books (1 + 4 × title 1)) = 1 + 3 × 6
        assert_eq!(cost(&response), (json!(19), json!(1000)), "{response:#}");
        assert_eq!(response["data"]["authors"][2]["books"][3]["title"], "author 2 book 3");
        // Missing pages count the configured default (20): 1 + 20 × (1 + (1 + 20 × 1)).
        let response = answer(schema.execute("{ authors { name books { title } } }").await);
        assert_eq!(cost(&response).0, json!(1 + 20 * 22), "{response:#}");
        // One level deeper in the count is past the maximum: refused, nothing resolved.
        let response = answer(
            library(18).execute("{ authors(first: 3) { name books(last: 4) { title } } }").await,
        );
        assert_eq!(response["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED", "{response:#}");
        assert!(response["data"].is_null(), "{response:#}");
        assert_eq!(cost(&response), (json!(19), json!(18)), "{response:#}");
    }
}
