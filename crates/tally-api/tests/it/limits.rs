//! Argument limits: every string argument of every root query field (found by introspection,
//! so a new field is covered without editing this file) answers `INVALID_INPUT` past its
//! documented maximum, never HTTP 500 or `INTERNAL`.

use crate::support::{TestServer, token};
use serde_json::{Map, Value, json};
use tally_api::Role;

/// Longer than every documented maximum, and past fjall's key limit (65 536 bytes).
const LONG_BYTES: usize = 70_000;

const INTROSPECTION: &str = r"{
  __schema {
    queryType { name }
    types {
      name kind
      enumValues { name }
      inputFields { name type { ...T } }
      fields { name args { name type { ...T } } type { ...T } }
    }
  }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

struct Schema {
    types: Map<String, Value>,
}

/// (kind, name) of a type with its wrappers taken off, and whether the outer one is NON_NULL.
fn named(ty: &Value) -> (String, String, bool) {
    let required = ty["kind"] == "NON_NULL";
    let mut t = ty;
    while t["name"].is_null() {
        t = &t["ofType"];
    }
    (t["kind"].as_str().unwrap().to_owned(), t["name"].as_str().unwrap().to_owned(), required)
}

/// Where a long string goes: an argument, or a field of an input-object argument.
type Path = Vec<String>;

impl Schema {
    fn ty(&self, name: &str) -> &Value {
        &self.types[name]
    }

    /// A valid value of a type (for required arguments and input fields).
    fn valid(&self, kind: &str, name: &str) -> Value {
        match (kind, name) {
            ("SCALAR", "Int") => json!(1),
            ("SCALAR", "Boolean") => json!(false),
            ("SCALAR", "NaiveDate" | "Date") => json!("2026-01-01"),
            ("SCALAR", "UnsignedInt64" | "Decimal") => json!("1"),
            ("SCALAR", "Duration") => json!("PT1S"),
            ("SCALAR", "DateTime") => json!("2026-01-01T00:00:00Z"),
            ("SCALAR", "JSON") => json!({}),
            ("SCALAR", _) => json!("x"),
            ("ENUM", _) => self.ty(name)["enumValues"][0]["name"].clone(),
            ("INPUT_OBJECT", _) => {
                let mut object = Map::new();
                for f in self.ty(name)["inputFields"].as_array().unwrap() {
                    let (k, n, required) = named(&f["type"]);
                    if required {
                        object.insert(f["name"].as_str().unwrap().to_owned(), self.valid(&k, &n));
                    }
                }
                Value::Object(object)
            }
            _ => panic!("no valid value for {kind} {name}"),
        }
    }

    /// Every path from an argument of this type to a String or ID leaf.
    fn string_paths(&self, kind: &str, name: &str, prefix: &Path, out: &mut Vec<Path>) {
        match (kind, name) {
            ("SCALAR", "String" | "ID") => out.push(prefix.clone()),
            ("INPUT_OBJECT", _) => {
                for f in self.ty(name)["inputFields"].as_array().unwrap() {
                    let (k, n, _) = named(&f["type"]);
                    let mut p = prefix.clone();
                    p.push(f["name"].as_str().unwrap().to_owned());
                    self.string_paths(&k, &n, &p, out);
                }
            }
            _ => {}
        }
    }
}

fn set_path(value: &mut Value, path: &[String], leaf: Value) {
    match path {
        [] => *value = leaf,
        [head, rest @ ..] => {
            if !value.is_object() {
                *value = json!({});
            }
            let slot = value.as_object_mut().unwrap().entry(head.clone()).or_insert(Value::Null);
            set_path(slot, rest, leaf);
        }
    }
}

fn type_text(ty: &Value) -> String {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" => format!("{}!", type_text(&ty["ofType"])),
        "LIST" => format!("[{}]", type_text(&ty["ofType"])),
        _ => ty["name"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn every_string_argument_of_every_root_query_field_refuses_an_overlong_value() {
    let server = TestServer::start_with_views().await;
    server.master_data().await;
    let admin = token(Role::Admin);
    let answer = server.gql(INTROSPECTION, json!({})).await;
    let mut types = Map::new();
    for t in answer["__schema"]["types"].as_array().unwrap() {
        types.insert(t["name"].as_str().unwrap().to_owned(), t.clone());
    }
    let root = answer["__schema"]["queryType"]["name"].as_str().unwrap().to_owned();
    let schema = Schema { types };
    let long = "x".repeat(LONG_BYTES);

    let mut checked = Vec::new();
    let mut failures = Vec::new();
    for field in schema.ty(&root)["fields"].as_array().unwrap() {
        let field_name = field["name"].as_str().unwrap();
        let args = field["args"].as_array().unwrap();
        let (return_kind, _, _) = named(&field["type"]);
        let selection = match return_kind.as_str() {
            "OBJECT" | "INTERFACE" | "UNION" => " { __typename }",
            _ => "",
        };
        let declarations: Vec<String> = args
            .iter()
            .map(|a| format!("${}: {}", a["name"].as_str().unwrap(), type_text(&a["type"])))
            .collect();
        let uses: Vec<String> =
            args.iter().map(|a| format!("{0}: ${0}", a["name"].as_str().unwrap())).collect();
        let query = if args.is_empty() {
            format!("query {{ {field_name}{selection} }}")
        } else {
            format!(
                "query({}) {{ {field_name}({}){selection} }}",
                declarations.join(", "),
                uses.join(", ")
            )
        };
        for (i, arg) in args.iter().enumerate() {
            let (kind, name, _) = named(&arg["type"]);
            let mut paths = Vec::new();
            schema.string_paths(&kind, &name, &Vec::new(), &mut paths);
            for path in paths {
                let mut variables = Map::new();
                for (j, other) in args.iter().enumerate() {
                    let (k, n, required) = named(&other["type"]);
                    if required || j == i {
                        variables.insert(
                            other["name"].as_str().unwrap().to_owned(),
                            schema.valid(&k, &n),
                        );
                    }
                }
                let slot = variables.get_mut(arg["name"].as_str().unwrap()).unwrap();
                set_path(slot, &path, json!(long));
                let what = format!("{field_name}({}{})", arg["name"].as_str().unwrap(), {
                    path.iter().map(|p| format!(".{p}")).collect::<String>()
                });
                let sent = server
                    .client
                    .post(format!("{}/graphql", server.base))
                    .bearer_auth(&admin)
                    .json(&json!({ "query": query, "variables": variables }))
                    .send()
                    .await;
                let response = match sent {
                    Ok(response) => response,
                    Err(e) => {
                        failures.push(format!("{what}: no answer ({e})"));
                        checked.push(what);
                        continue;
                    }
                };
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let code = body["errors"][0]["extensions"]["code"].as_str().unwrap_or("<none>");
                let message = body["errors"][0]["message"].as_str().unwrap_or_default();
                // Refused for its length (not for another reason), without echoing it.
                let for_length =
                    message.contains(&format!("{LONG_BYTES} bytes")) && message.len() < 1000;
                if status != 200 || code != "INVALID_INPUT" || !for_length {
                    failures.push(format!("{what}: HTTP {status}, code {code}, {message:.200}"));
                }
                checked.push(what);
            }
        }
    }
    // The walk found the string arguments (a broken introspection would check nothing).
    assert!(checked.len() >= 20, "only {} string arguments found: {checked:?}", checked.len());
    assert!(
        failures.is_empty(),
        "{} of {} refused wrongly:\n{}",
        failures.len(),
        checked.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn over_long_strings_in_writes_are_invalid_input_and_append_nothing() {
    let server = TestServer::start().await;
    server.master_data().await;
    let head = server.head();
    let long = "x".repeat(LONG_BYTES);
    let admin = token(Role::Admin);
    let submit = "mutation($input: SubmitInput!) { submit(input: $input) { lastSeq userErrors { code message } } }";
    let receive = json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 1});
    let cases = [
        ("idempotency key", json!({ "idempotencyKey": long, "json": receive })),
        ("source", json!({ "idempotencyKey": "k1", "source": long, "json": receive })),
        (
            "sku",
            json!({ "idempotencyKey": "k2", "json":
                {"type": "receive_inventory", "location": "WH1", "sku": long, "qty": 1} }),
        ),
        (
            "memo",
            json!({ "idempotencyKey": "k3", "json": {"type": "post_journal_entry", "memo": long,
                "postings": [
                    {"account": "bank", "amount": {"amount": "1.00", "currency": "USD"}},
                    {"account": "inventory_write_off", "amount": {"amount": "-1.00", "currency": "USD"}}]} }),
        ),
        (
            "quantity",
            json!({ "idempotencyKey": "k4", "json":
                {"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": i64::MAX} }),
        ),
    ];
    for (what, input) in cases {
        let answer = server.gql_as(Some(&admin), submit, json!({ "input": input })).await;
        let (code, message) = crate::support::any_error(&answer);
        let expected = if what == "quantity" { "INVALID_QUANTITY" } else { "INVALID_INPUT" };
        assert_eq!(code, expected, "{what}: {answer:#}");
        assert!(
            message.len() < 1000,
            "{what}: the message echoes the value ({} bytes)",
            message.len()
        );
        if what == "memo" {
            assert!(message.contains("memo"), "{what}: refused for another reason: {message}");
        }
    }
    assert_eq!(server.head(), head, "nothing was appended");
    server.stop().await;
}
