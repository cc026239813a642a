//! Every command has every surface, derived from its one definition in the domain: the domain's
//! example of each command is submitted through its typed mutation, through `submitMany`'s
//! typed one-of, and through `submit` as JSON, each on a fresh ledger over the real views; the
//! three ledgers must end identical (same command ids, same events at the same seqs). The
//! documentation's command section (`docs/api.md`) is generated from the same list and checked
//! here for drift.

use crate::support::{TestServer, u64_of};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::PathBuf;
use tally_domain::examples::{commands, time_of};

/// Per command in the domain's list: its mutation field, its input type's name, its tag and
/// the first line of its doc.
macro_rules! command_table {
    ($($(#[doc = $doc:literal])* $variant:ident($payload:ident) $tag:ident $field:literal;)*) => {
        fn command_table() -> Vec<(&'static str, String, &'static str, String)> {
            vec![$((
                $field,
                <tally_domain::command::$payload as async_graphql::InputType>::type_name()
                    .into_owned(),
                stringify!($tag),
                [$($doc),*].first().map_or(String::new(), |d| d.trim().to_owned()),
            )),*]
        }
    };
}

tally_domain::for_each_command!(command_table);

/// The mutation field and input type of a command tag.
fn surface_of(tag: &str) -> (&'static str, String) {
    command_table()
        .into_iter()
        .find(|(_, _, t, _)| *t == tag)
        .map(|(field, ty, _, _)| (field, ty))
        .unwrap_or_else(|| panic!("{tag} has no typed mutation"))
}

/// The example's payload as GraphQL input (`{location: …}`) and the whole command as the
/// `CommandInput` one-of (`{defineLocation: {…}}`).
fn graphql_forms(command: &tally_domain::Command) -> (Value, Value) {
    let one_of = async_graphql::InputType::to_value(command).into_json().unwrap();
    let payload = one_of.as_object().unwrap().values().next().unwrap().clone();
    (payload, one_of)
}

const PAYLOAD: &str =
    "commandId firstSeq lastSeq events { seq stream type } userErrors { field code message }";

/// The answers, as (command id, events).
type Ledger = Vec<(Value, Value)>;

fn accepted(what: &str, payload: &Value) -> (Value, Value) {
    assert_eq!(payload["userErrors"], json!([]), "{what} refused: {payload:#}");
    (payload["commandId"].clone(), payload["events"].clone())
}

async fn through_typed_mutations(server: &TestServer) -> Ledger {
    let mut out = Vec::new();
    for (i, command) in commands().iter().enumerate() {
        let (field, ty) = surface_of(command.kind());
        let (input, _) = graphql_forms(command);
        let query = format!(
            "mutation($input: {ty}!, $envelope: EnvelopeInput!) {{ {field}(input: $input, envelope: $envelope) {{ {PAYLOAD} }} }}"
        );
        let envelope =
            json!({"idempotencyKey": format!("t-{i}"), "occurredAt": time_of(i).to_rfc3339()});
        let data = server.gql(&query, json!({"input": input, "envelope": envelope})).await;
        out.push(accepted(field, &data[field]));
    }
    out
}

async fn through_submit_many(server: &TestServer) -> Ledger {
    let inputs: Vec<Value> = commands()
        .iter()
        .enumerate()
        .map(|(i, command)| {
            json!({"idempotencyKey": format!("m-{i}"), "occurredAt": time_of(i).to_rfc3339(),
                   "command": graphql_forms(command).1})
        })
        .collect();
    let query = format!(
        "mutation($inputs: [SubmitInput!]!) {{ submitMany(inputs: $inputs) {{ {PAYLOAD} }} }}"
    );
    let data = server.gql(&query, json!({ "inputs": inputs })).await;
    let items = data["submitMany"].as_array().unwrap();
    assert_eq!(items.len(), commands().len());
    items.iter().map(|item| accepted("submitMany item", item)).collect()
}

async fn through_json(server: &TestServer) -> Ledger {
    let mut out = Vec::new();
    for (i, command) in commands().iter().enumerate() {
        let input = json!({"idempotencyKey": format!("j-{i}"), "occurredAt": time_of(i).to_rfc3339(),
                           "json": serde_json::to_value(command).unwrap()});
        let query =
            format!("mutation($input: SubmitInput!) {{ submit(input: $input) {{ {PAYLOAD} }} }}");
        let data = server.gql(&query, json!({ "input": input })).await;
        out.push(accepted(command.kind(), &data["submit"]));
    }
    out
}

#[tokio::test]
async fn every_example_is_accepted_alike_through_every_surface() {
    let typed = TestServer::start_with_views().await;
    let by_typed = through_typed_mutations(&typed).await;
    let bulk = TestServer::start_with_views().await;
    let by_bulk = through_submit_many(&bulk).await;
    let json = TestServer::start_with_views().await;
    let by_json = through_json(&json).await;

    assert_eq!(by_typed.len(), commands().len());
    let events: usize = by_typed.iter().map(|(_, e)| e.as_array().unwrap().len()).sum();
    assert!(events > commands().len(), "the story appends events: {events}");
    for (i, ((t, b), j)) in by_typed.iter().zip(&by_bulk).zip(&by_json).enumerate() {
        let kind = commands()[i].kind();
        assert_eq!(t, b, "example {i} ({kind}): typed mutation and submitMany differ");
        assert_eq!(t, j, "example {i} ({kind}): typed mutation and JSON differ");
    }
    let last = by_typed.iter().rev().find_map(|(_, e)| e.as_array().unwrap().last().cloned());
    assert_eq!(u64_of(&last.unwrap()["seq"]), typed.head());
    assert_eq!(typed.head(), bulk.head());
    assert_eq!(typed.head(), json.head());
    for server in [typed, bulk, json] {
        server.stop().await;
    }
}

/// A command with a bad value in its typed input is a GraphQL input error naming the domain's
/// reason, and appends nothing; the same value as JSON is a `userErrors` entry.
#[tokio::test]
async fn bad_values_are_refused_by_the_domain_types_on_every_surface() {
    let server = TestServer::start().await;
    server.master_data().await;
    let head = server.head();
    let typed = server
        .gql_as(
            Some(&crate::support::token(tally_api::Role::Admin)),
            "mutation { receiveInventory(envelope: {idempotencyKey: \"b1\"}, input: {location: \"WH\\t1\", sku: \"SKU-A\", qty: 1}) { lastSeq } }",
            json!({}),
        )
        .await;
    assert_eq!(crate::support::first_code(&typed), "INVALID_INPUT", "{typed:#}");
    let message = typed["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("whitespace"), "the domain's reason: {message}");
    let money = server
        .gql_as(
            Some(&crate::support::token(tally_api::Role::Admin)),
            "mutation { capturePayment(envelope: {idempotencyKey: \"b2\"}, input: {order: \"X\", payment: \"P\", amount: {amount: \"1.005\", currencyCode: USD}}) { lastSeq } }",
            json!({}),
        )
        .await;
    assert_eq!(crate::support::first_code(&money), "INVALID_INPUT", "{money:#}");
    let as_json = server
        .gql(
            "mutation { submit(input: {idempotencyKey: \"b3\", json: {type: \"receive_inventory\", location: \"WH\\t1\", sku: \"SKU-A\", qty: 1}}) { lastSeq userErrors { field code message } } }",
            json!({}),
        )
        .await;
    let error = &as_json["submit"]["userErrors"][0];
    assert_eq!(error["code"], "INVALID_INPUT");
    assert_eq!(error["field"], json!(["input", "json"]));
    assert_eq!(server.head(), head, "nothing was appended");
    server.stop().await;
}

/// The commands section of `docs/api.md`, generated from the domain's list and examples.
fn commands_doc() -> String {
    let mut out = String::from(
        "<!-- commands:begin (generated from tally_domain::for_each_command! and \
         tally_domain::examples; regenerate with TALLY_UPDATE_DOCS=1 cargo test -p tally-api \
         --test it commands_doc) -->\n",
    );
    let examples = commands();
    for (field, ty, tag, doc) in command_table() {
        let example = examples.iter().find(|c| c.kind() == tag).unwrap();
        let (input, _) = graphql_forms(example);
        let json = serde_json::to_string(example).unwrap();
        let _ = write!(
            out,
            "\n### `{field}` (`{tag}`)\n\n{doc}\n\n```graphql\nmutation($input: {ty}!) {{\n  \
             {field}(envelope: {{idempotencyKey: \"…\"}}, input: $input) {{ lastSeq userErrors \
             {{ field code message }} }}\n}}\n```\n\nVariables: `{{\"input\": {}}}`\n\nAs JSON \
             (`submit(input: {{json: …}})`, NDJSON import): `{json}`\n",
            serde_json::to_string(&input).unwrap()
        );
    }
    out.push_str("\n<!-- commands:end -->");
    out
}

#[test]
fn commands_doc_matches_the_domain() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (Some(begin), Some(end)) =
        (text.find("<!-- commands:begin"), text.find("<!-- commands:end -->"))
    else {
        panic!("docs/api.md has no <!-- commands:begin --> … <!-- commands:end --> section");
    };
    let end = end + "<!-- commands:end -->".len();
    let generated = commands_doc();
    if std::env::var_os("TALLY_UPDATE_DOCS").is_some() {
        let updated = format!("{}{generated}{}", &text[..begin], &text[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        text[begin..end] == generated,
        "docs/api.md's command section is out of date with the domain; regenerate it with\n  \
         TALLY_UPDATE_DOCS=1 cargo test -p tally-api --test it commands_doc"
    );
}

/// A payload names the objects its command changed (`changedIds`) and returns those the
/// caller may read as they are after the command (`changed`, with `waitForViews`).
#[tokio::test]
async fn payloads_return_the_changed_objects_the_caller_may_read() {
    let server = TestServer::start_with_views().await;
    server.master_data().await;
    let operator = crate::support::token(tally_api::Role::Operator);
    let order = server
        .gql_as(
            Some(&operator),
            "mutation { receiveOrder(envelope: {idempotencyKey: \"o1\"}, waitForViews: true, input: {
                order: \"W9\", channel: \"web\", placedAt: \"2026-03-01T10:00:00Z\", currencyCode: USD,
                lines: [{sku: \"SKU-A\", qty: 1, unitPrice: {amount: \"30.00\", currencyCode: USD}}],
                shipping: {amount: \"0.00\", currencyCode: USD}, taxRate: \"0\"}) {
              changedIds changed { id ... on Order { orderId status } } userErrors { code } } }",
            json!({}),
        )
        .await;
    let payload = &order["data"]["receiveOrder"];
    assert_eq!(payload["changedIds"], json!(["gid://tally/Order/W9"]), "{order:#}");
    assert_eq!(payload["changed"][0]["orderId"], "W9", "{order:#}");
    assert_eq!(payload["changed"][0]["status"], "RECEIVED", "{order:#}");

    let receipt = server
        .gql_as(
            Some(&operator),
            "mutation { receiveInventory(envelope: {idempotencyKey: \"r1\"}, waitForViews: true,
                input: {location: \"WH1\", sku: \"SKU-A\", qty: 3}) { changedIds changed { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(receipt["data"]["receiveInventory"]["changedIds"], json!(["gid://tally/Sku/SKU-A"]));
    assert_eq!(receipt["data"]["receiveInventory"]["changed"][0]["id"], "gid://tally/Sku/SKU-A");

    // A settlement is finance data: an operator learns its id, not its contents.
    server
        .submit(
            "ch-amz",
            json!({"type": "define_channel", "channel": "amz", "priority": "standard", "kind": "marketplace", "currency": "USD"}),
        )
        .await;
    let opened = server
        .gql_as(
            Some(&operator),
            "mutation { openSettlement(envelope: {idempotencyKey: \"s1\"}, waitForViews: true,
                input: {settlement: \"S9\", channel: \"amz\", currencyCode: USD, periodStart: \"2026-03-01\", periodEnd: \"2026-03-14\"}) {
              changedIds changed { id } userErrors { code } } }",
            json!({}),
        )
        .await;
    let payload = &opened["data"]["openSettlement"];
    assert_eq!(payload["userErrors"], json!([]), "{opened:#}");
    assert_eq!(payload["changedIds"], json!(["gid://tally/Settlement/S9"]), "{opened:#}");
    assert_eq!(payload["changed"], json!([]), "{opened:#}");
    assert!(opened.get("errors").is_none(), "{opened:#}");
    server.stop().await;
}
