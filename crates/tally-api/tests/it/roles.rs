//! The field → roles table, enforced: every root field × every role, over HTTP (queries and
//! mutations) and through the schema (subscriptions).

use crate::support::{TestServer, first_code, token};
use async_graphql::Request;
use futures_util::StreamExt as _;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;
use tally_api::Role;
use tally_api::auth::{Auth, COMMAND_MUTATIONS, COMMAND_ROLES, Caller, FIELD_ROLES};

/// Root fields answered from the projections.
const PROJECTION_QUERIES: &[&str] = &[
    "Query.stock",
    "Query.stockBySku",
    "Query.stockByLocation",
    "Query.ats",
    "Query.atsByChannel",
    "Query.order",
    "Query.orders",
    "Query.exceptions",
    "Query.raisedExceptions",
    "Query.workflowStages",
    "Query.ordersInStage",
    "Query.workflowRules",
    "Query.backorders",
    "Query.fillRate",
    "Query.releaseTimes",
    "Query.returnCycleTimes",
    "Query.recordAccuracy",
    "Query.auditTrail",
    "Query.lotTrace",
    "Query.trialBalance",
    "Query.journalEntries",
    "Query.accountSubledger",
    "Query.settlement",
    "Query.settlements",
    "Query.settlementExport",
    "Query.goodsReceivedNotInvoiced",
    "Query.payables",
    "Query.inventoryValuation",
    "Query.settlementLines",
    "Query.stockLevels",
    "Query.receivablesAging",
    "Query.openInvoices",
];

/// Rows of `FIELD_ROLES` for nested fields (guarded on their own, stricter than their root).
const NESTED: &[&str] = &["AtsChange.event", "ViewMeta.checkpoint"];

/// Lists, per typed command mutation, its field, its input type's name and the input value
/// of the command's example in the domain (`tally_domain::examples`).
macro_rules! command_samples {
    ($($(#[doc = $doc:literal])* $variant:ident($payload:ident) $tag:ident $field:literal;)*) => {
        fn command_samples() -> Vec<(&'static str, String, serde_json::Value)> {
            let examples = tally_domain::examples::commands();
            let mut out = Vec::new();
            $(
                let example = examples
                    .iter()
                    .find_map(|c| match c {
                        tally_domain::Command::$variant(p) => Some(p.clone()),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    })
                    .expect(concat!("the domain has an example of ", stringify!($tag)));
                let ty = <tally_domain::command::$payload as async_graphql::InputType>::type_name();
                let value = async_graphql::InputType::to_value(&example).into_json().unwrap();
                out.push(($field, ty.into_owned(), value));
            )*
            out
        }
    };
}

tally_domain::for_each_command!(command_samples);

/// Every row of the roles table: `FIELD_ROLES` and one per typed command mutation.
fn all_rows() -> Vec<(&'static str, &'static [Role])> {
    let mut rows: Vec<_> = FIELD_ROLES.to_vec();
    rows.extend(COMMAND_MUTATIONS.iter().map(|f| (*f, COMMAND_ROLES)));
    rows
}

/// A valid operation (and its variables) that uses `field` and nothing else guarded. A typed
/// command mutation submits the domain's example of its command.
fn sample(field: &str) -> (String, serde_json::Value) {
    if let Some((name, ty, input)) =
        command_samples().into_iter().find(|(f, _, _)| format!("Mutation.{f}") == field)
    {
        let query = format!(
            "mutation($input: {ty}!) {{ {name}(envelope: {{idempotencyKey: \"p-{name}\"}}, input: $input) {{ lastSeq userErrors {{ code }} }} }}"
        );
        return (query, json!({ "input": input }));
    }
    (static_sample(field).to_owned(), json!({}))
}

/// The sample operation of a field that is not a typed command mutation.
fn static_sample(field: &str) -> &'static str {
    match field {
        "Query.head" => "{ head { seq } }",
        "Query.events" => "{ events(first: 1) { edges { cursor } } }",
        "Query.stream" => "{ stream(stream: \"order:X\", first: 1) { edges { cursor } } }",
        "Query.event" => "{ event(id: \"0000000000000000000000000000000a\") { seq } }",
        "Query.verify" => "{ verify { ok } }",
        "Query.checkpoints" => "{ checkpoints { nodes { size } } }",
        "Query.latestCheckpoint" => "{ latestCheckpoint { size } }",
        "Query.inclusionProof" => "{ inclusionProof(seq: 1) { root } }",
        "Query.consistencyProof" => "{ consistencyProof(from: 1) { newRoot } }",
        "Query.views" => "{ views { meta { seq } } }",
        "Query.quarantined" => "{ quarantined(view: \"event_count\") { totalCount } }",
        "Query.submissionStats" => "{ submissionStats { rows { source } } }",
        "Query.whoami" => "{ whoami { role } }",
        "Query.stock" => "{ stock(location: \"WH1\", sku: \"SKU-A\") { total { onHand } } }",
        "Query.stockBySku" => "{ stockBySku(sku: \"SKU-A\") { nodes { location } } }",
        "Query.stockByLocation" => "{ stockByLocation(location: \"WH1\") { nodes { sku } } }",
        "Query.stockLevels" => "{ stockLevels(filter: {location: \"WH1\"}) { totalCount } }",
        "Query.ats" => "{ ats(sku: \"SKU-A\", channel: \"web\") { ats } }",
        "Query.atsByChannel" => "{ atsByChannel(sku: \"SKU-A\") { network } }",
        "Query.order" => "{ order(id: \"NOPE\") { order { id } } }",
        "Query.orders" => "{ orders(filter: {status: [RECEIVED]}, first: 1) { edges { cursor } } }",
        "Query.exceptions" => "{ exceptions { totalCount } }",
        "Query.raisedExceptions" => "{ raisedExceptions { totalCount } }",
        "Query.workflowStages" => "{ workflowStages { stages { stage orders } } }",
        "Query.ordersInStage" => "{ ordersInStage(stage: HELD) { orders { orderId } } }",
        "Query.workflowRules" => "{ workflowRules { channels { channel } } }",
        "Query.backorders" => "{ backorders { totalCount } }",
        "Query.fillRate" => {
            "{ fillRate(groupBy: CHANNEL, fromDay: \"2026-03-01\", toDay: \"2026-03-31\") { groups { group } } }"
        }
        "Query.releaseTimes" => {
            "{ releaseTimes(fromDay: \"2026-03-01\", toDay: \"2026-03-31\") { orders } }"
        }
        "Query.returnCycleTimes" => {
            "{ returnCycleTimes(fromDay: \"2026-03-01\", toDay: \"2026-03-31\") { rows { day } } }"
        }
        "Query.recordAccuracy" => {
            "{ recordAccuracy(fromDay: \"2026-03-01\", toDay: \"2026-03-31\") { accuracy { bps } } }"
        }
        "Query.auditTrail" => {
            "{ auditTrail(entity: {kind: ORDER, id: \"NOPE\"}, first: 1) { edges { cursor } } }"
        }
        "Query.lotTrace" => "{ lotTrace(sku: \"SKU-A\", lot: \"L1\") { trace { lot } } }",
        "Query.trialBalance" => "{ trialBalance { totals { balanced } } }",
        "Query.accountSubledger" => {
            "{ accountSubledger(account: CUSTOMER_DEPOSITS, currencyCode: USD) { totalCount } }"
        }
        "Query.journalEntries" => {
            "{ journalEntries(account: BANK, from: \"2026-03-01\", to: \"2026-03-31\") { nodes { entryId } } }"
        }
        "Query.goodsReceivedNotInvoiced" => {
            "{ goodsReceivedNotInvoiced { totals { currencyCode } } }"
        }
        "Query.payables" => "{ payables { totals { currencyCode } } }",
        "Query.inventoryValuation" => "{ inventoryValuation { totals { currencyCode } } }",
        "Query.settlement" => "{ settlement(id: \"NOPE\") { settlement { settlementId } } }",
        "Query.settlementLines" => "{ settlementLines(id: \"NOPE\") { totalCount } }",
        "Query.receivablesAging" => {
            "{ receivablesAging(asOfDay: \"2026-03-31\") { totals { currencyCode } } }"
        }
        "Query.openInvoices" => "{ openInvoices(first: 1) { totalCount } }",
        "Query.node" => "{ node(id: \"gid://tally/Nope/1\") { id } }",
        "Query.nodes" => "{ nodes(ids: []) { id } }",
        "Node.Order" => "{ node(id: \"gid://tally/Order/NOPE\") { id } }",
        "Node.Settlement" => "{ node(id: \"gid://tally/Settlement/NOPE\") { id } }",
        "Node.Lot" => "{ node(id: \"gid://tally/Lot/SKU-A/L1\") { id } }",
        "Node.Sku" => "{ node(id: \"gid://tally/Sku/SKU-A\") { id } }",
        "Node.Location" => "{ node(id: \"gid://tally/Location/WH1\") { id } }",
        "Node.Return" => "{ node(id: \"gid://tally/Return/NOPE\") { id } }",
        "Node.JournalEntry" => "{ node(id: \"gid://tally/JournalEntry/NOPE\") { id } }",
        "Query.settlements" => {
            "{ settlements(channel: \"web\", from: \"2026-03-01T00:00:00Z\", to: \"2026-03-31T00:00:00Z\") { nodes { settlementId } } }"
        }
        "Query.settlementExport" => {
            "{ settlementExport(channel: \"web\", fromDay: \"2026-03-01\", toDay: \"2026-03-31\") { totals { net { amount } } } }"
        }
        "Mutation.submit" => {
            "mutation { submit(input: {idempotencyKey: \"p-submit\", json: {type: \"validate_order\", order: \"NOPE\"}}) { lastSeq } }"
        }
        "Mutation.submitMany" => "mutation { submitMany(inputs: []) { lastSeq } }",
        "Mutation.importRecords" => {
            "mutation { importRecords(format: STOCK_SNAPSHOT_CSV, location: \"WH1\", content: \"sku,lot,expiry,quantity,as_of\\n\") { records } }"
        }
        "Mutation.cutCheckpoint" => "mutation { cutCheckpoint { size } }",
        "Mutation.rebuildView" => "mutation { rebuildView(name: \"no-such-view\") { started } }",
        "Mutation.startOperation" => "mutation { startOperation(kind: VERIFY) { id running } }",
        "Query.operation" => "{ operation(id: \"no-such-operation\") { id } }",
        "Query.webhookEndpoints" => "{ webhookEndpoints { name lag deadLetters } }",
        "Query.webhookDeadLetters" => "{ webhookDeadLetters(endpoint: \"erp\") { messageId } }",
        "Mutation.addWebhookEndpoint" => {
            "mutation { addWebhookEndpoint(input: {name: \"erp\", url: \"http://127.0.0.1:9/hooks\", types: [\"order.*\"]}) { secret } }"
        }
        "Mutation.removeWebhookEndpoint" => {
            "mutation { removeWebhookEndpoint(name: \"erp\") { name } }"
        }
        "Mutation.pauseWebhookEndpoint" => {
            "mutation { pauseWebhookEndpoint(name: \"erp\") { paused } }"
        }
        "Mutation.replayWebhookDeadLetters" => {
            "mutation { replayWebhookDeadLetters(endpoint: \"erp\") { queued } }"
        }
        "Subscription.events" => "subscription { events { seq } }",
        "Subscription.atsChanged" => "subscription { atsChanged(sku: \"SKU-A\") { seq } }",
        "ViewMeta.checkpoint" => "{ views { meta { seq checkpoint { size text } } } }",
        "AtsChange.event" => {
            "subscription { atsChanged(sku: \"SKU-A\") { seq event { seq actor } } }"
        }
        other => panic!("no sample operation for {other}: add one"),
    }
}

/// Root fields of the schema, as `Type.field`, asked of the schema itself by introspection
/// (introspection needs no token): a new field without a row in `FIELD_ROLES` fails below.
async fn introspected_root_fields() -> BTreeSet<String> {
    let server = TestServer::start().await;
    let schema = tally_api::schema::build(&server.state);
    let answer = schema
        .execute(
            "{ __schema { queryType { name fields { name } } mutationType { name fields { name } }
               subscriptionType { name fields { name } } } }",
        )
        .await;
    assert!(answer.errors.is_empty(), "{:?}", answer.errors);
    let data = answer.data.into_json().unwrap();
    let mut fields = BTreeSet::new();
    for root in ["queryType", "mutationType", "subscriptionType"] {
        let root = &data["__schema"][root];
        let owner = root["name"].as_str().unwrap();
        for field in root["fields"].as_array().unwrap() {
            fields.insert(format!("{owner}.{}", field["name"].as_str().unwrap()));
        }
    }
    // Each nested row names a real field.
    for nested in NESTED {
        let (owner, field) = nested.split_once('.').unwrap();
        let query = format!("{{ __type(name: \"{owner}\") {{ fields {{ name }} }} }}");
        let answer = schema.execute(query.as_str()).await.data.into_json().unwrap();
        let names = answer["__type"]["fields"].as_array().unwrap();
        assert!(names.iter().any(|n| n["name"] == field), "{nested} is not in the schema");
    }
    server.stop().await;
    fields
}

#[tokio::test]
async fn every_root_field_has_exactly_one_row_in_the_table() {
    let rows = all_rows();
    let table: BTreeSet<String> = rows.iter().map(|(f, _)| (*f).to_owned()).collect();
    assert_eq!(table.len(), rows.len(), "a field has two rows");
    assert_eq!(COMMAND_MUTATIONS.len(), tally_domain::Command::TAGS.len());
    let fields = introspected_root_fields().await;
    assert!(fields.len() > 70, "introspection found every root field: {fields:?}");
    let roots: BTreeSet<String> = table
        .iter()
        .filter(|f| !NESTED.contains(&f.as_str()) && !f.starts_with("Node."))
        .cloned()
        .collect();
    assert_eq!(fields, roots, "FIELD_ROLES and the schema's root fields differ");
    // The HTTP test below has a sample operation for each, so each is also exercised.
    for field in &fields {
        let _ = sample(field);
    }
    for (field, roles) in &rows {
        assert!(roles.contains(&Role::Admin), "admin may not use {field}");
    }
}

/// The named type a field returns, lists and non-null unwrapped.
fn named_type(mut reference: &serde_json::Value) -> String {
    while reference["name"].is_null() {
        reference = &reference["ofType"];
    }
    reference["name"].as_str().unwrap().to_owned()
}

/// Regression (issue 12, item 7b): a viewer read checkpoint text through `meta.checkpoint`,
/// a nested field without a row. The table must cover nested fields: starting from every root
/// field with the roles it allows (narrowed by each nested row on the way), no field may
/// reach a type that root fields give only to fewer roles (`Checkpoint`: AUDIT roles;
/// `Event`: log readers) unless a row on the path narrows it. A new nested field that leaks
/// fails here, naming the path and the row to add.
#[tokio::test]
async fn nested_fields_reach_no_type_beyond_the_roles_of_their_path() {
    use std::collections::{BTreeMap, HashSet};
    let server = TestServer::start().await;
    let schema = tally_api::schema::build(&server.state);
    let answer = schema
        .execute(
            "{ __schema { queryType { name } mutationType { name } subscriptionType { name }
               types { name kind fields { name type { name ofType { name ofType { name
               ofType { name ofType { name } } } } } } } } }",
        )
        .await;
    assert!(answer.errors.is_empty(), "{:?}", answer.errors);
    let data = answer.data.into_json().unwrap();
    server.stop().await;
    let schema = &data["__schema"];
    let roots: Vec<&str> = ["queryType", "mutationType", "subscriptionType"]
        .iter()
        .map(|root| schema[root]["name"].as_str().unwrap())
        .collect();
    // Object type → (field, returned type).
    let mut types: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for t in schema["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        if t["kind"] != "OBJECT" || name.starts_with("__") {
            continue;
        }
        let fields = t["fields"].as_array().unwrap();
        let fields = fields
            .iter()
            .map(|f| (f["name"].as_str().unwrap().to_owned(), named_type(&f["type"])))
            .collect();
        types.insert(name.to_owned(), fields);
    }
    let roles_of = |field: &str| -> BTreeSet<&'static str> {
        tally_api::auth::allowed_roles(field).iter().map(|r| r.as_str()).collect()
    };
    // Who root fields hand each type to.
    let mut type_roles: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for root in &roots {
        for (field, returned) in &types[*root] {
            type_roles
                .entry(returned.clone())
                .or_default()
                .extend(roles_of(&format!("{root}.{field}")));
        }
    }
    let mut leaks = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<(String, BTreeSet<&str>, String)> = Vec::new();
    for root in &roots {
        for (field, returned) in &types[*root] {
            let path = format!("{root}.{field}");
            stack.push((returned.clone(), roles_of(&path), path));
        }
    }
    while let Some((owner, roles, path)) = stack.pop() {
        if !seen.insert((owner.clone(), roles.clone())) {
            continue;
        }
        let Some(fields) = types.get(&owner) else { continue };
        for (field, returned) in fields {
            let row = format!("{owner}.{field}");
            let mut reach = roles.clone();
            if tally_api::auth::FIELD_ROLES.iter().any(|(f, _)| *f == row) {
                reach = reach.intersection(&roles_of(&row)).copied().collect();
            }
            if let Some(owners) = type_roles.get(returned)
                && !reach.is_subset(owners)
            {
                let extra: Vec<_> = reach.difference(owners).collect();
                leaks.push(format!(
                    "{row} (via {path}) gives {returned} to {extra:?}, which no root field \
                     returning {returned} allows: add a row for {row} to FIELD_ROLES"
                ));
            }
            stack.push((returned.clone(), reach, format!("{path} > {field}")));
        }
    }
    leaks.sort();
    leaks.dedup();
    assert!(leaks.is_empty(), "nested fields reach data beyond their roles:\n{}", leaks.join("\n"));
}

#[tokio::test]
async fn queries_and_mutations_enforce_the_table_for_every_role() {
    let server = TestServer::start_with_views().await;
    server.master_data().await;
    for (field, allowed) in all_rows() {
        let (query, variables) = sample(field);
        if field.starts_with("Subscription.") || query.starts_with("subscription") {
            continue;
        }
        let anonymous = server.gql_as(None, &query, variables.clone()).await;
        assert_eq!(first_code(&anonymous), "UNAUTHENTICATED", "{field} without a token");
        for role in Role::ALL {
            let answer = server.gql_as(Some(&token(role)), &query, variables.clone()).await;
            let code = first_code(&answer);
            if role == Role::Admin && field.starts_with("Mutation.") {
                // The typed input reached the domain: it parsed, whatever the decision.
                assert_ne!(code, "INVALID_INPUT", "{field}: {answer:#}");
            }
            if allowed.contains(&role) && PROJECTION_QUERIES.contains(&field) {
                // Every projection query sample is valid against the real views.
                assert!(answer.get("errors").is_none(), "{field} as {role:?}: {answer:#}");
            }
            if allowed.contains(&role) {
                assert!(
                    code != "FORBIDDEN" && code != "UNAUTHENTICATED",
                    "{field} refused to {role:?}: {answer:#}"
                );
            } else {
                assert_eq!(code, "FORBIDDEN", "{field} allowed to {role:?}: {answer:#}");
            }
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn subscriptions_enforce_the_table_for_every_role() {
    let server = TestServer::start().await;
    server.master_data().await;
    let schema = tally_api::schema::build(&server.state);
    let mut n = 0;
    let subscription_rows = FIELD_ROLES
        .iter()
        .filter(|(f, _)| f.starts_with("Subscription.") || f.starts_with("AtsChange."));
    for (field, allowed) in subscription_rows {
        let mut auths = vec![(None, Auth::Anonymous)];
        auths.extend(
            Role::ALL.map(|role| (Some(role), Auth::Caller(Caller { name: "t".to_owned(), role }))),
        );
        for (role, auth) in auths {
            let mut stream = schema.execute_stream(Request::new(sample(field).0).data(auth));
            let mut next = stream.next();
            // One poll: a refused subscription answers at once; an allowed one is now
            // following the head.
            let early = tokio::select! {
                biased;
                item = &mut next => Some(item),
                () = std::future::ready(()) => None,
            };
            let response = match early {
                Some(item) => item.unwrap(),
                None => {
                    n += 1;
                    let command = json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 1});
                    server.submit(&format!("sub-probe-{n}"), command).await;
                    tokio::time::timeout(Duration::from_secs(10), next).await.unwrap().unwrap()
                }
            };
            let code = response
                .errors
                .first()
                .and_then(|e| e.extensions.as_ref())
                .and_then(|x| x.get("code"))
                .and_then(|v| match v {
                    async_graphql::Value::String(s) => Some(s.clone()),
                    _ => None,
                });
            match role {
                None => assert_eq!(code.as_deref(), Some("UNAUTHENTICATED"), "{field}"),
                Some(role) if allowed.contains(&role) => {
                    assert!(
                        response.errors.is_empty(),
                        "{field} refused to {role:?}: {:?}",
                        response.errors
                    );
                }
                Some(role) => {
                    assert_eq!(code.as_deref(), Some("FORBIDDEN"), "{field} allowed to {role:?}");
                }
            }
        }
    }
    server.stop().await;
}
