//! Case counts and hostile values shared by the properties.

use proptest::prelude::*;
use serde_json::Value;

/// Cases per property: `TALLY_FUZZ_CASES`, or `default`.
pub fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("TALLY_FUZZ_CASES").ok().and_then(|v| v.parse().ok());
    ProptestConfig {
        cases: cases.unwrap_or(default),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A JSON value nested `depth` arrays deep.
pub fn nested_array(depth: usize) -> Value {
    let mut value = Value::from(1);
    for _ in 0..depth {
        value = Value::Array(vec![value]);
    }
    value
}

/// Values chosen to break parsers and arithmetic: integer edges, floats, long and odd
/// strings, deep nesting, wrong types.
pub fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::from(u64::MAX)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(i64::MAX)),
        Just(Value::from(-1)),
        Just(Value::from(0)),
        Just(serde_json::json!(1e308)),
        Just(serde_json::json!(-0.0)),
        Just(serde_json::json!(1.5)),
        Just(Value::String("18446744073709551616".into())),
        Just(Value::String("99999999999999999999999999.99".into())),
        Just(Value::String("-0.001".into())),
        Just(Value::String("x".repeat(100_000))),
        Just(Value::String(String::new())),
        Just(Value::String("\u{202e}名前🙂\u{0}\u{feff}".into())),
        Just(Value::String("9999-12-31T23:59:59Z".into())),
        Just(Value::String("-262144-01-01T00:00:00Z".into())),
        Just(Value::Null),
        Just(Value::Bool(true)),
        Just(nested_array(40)),
        Just(nested_array(200)),
        Just(serde_json::json!({"amount": "1e9999", "currency": "USD"})),
        Just(serde_json::json!({"amount": "184467440737095516.15", "currency": "USD"})),
        Just(serde_json::json!([{}, {}, {}])),
        ".{0,40}".prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
    ]
}

/// Every leaf path of a JSON value (object keys and array indexes).
pub fn paths(value: &Value) -> Vec<Vec<PathStep>> {
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

/// One step into a JSON value.
#[derive(Debug, Clone)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

fn walk(value: &Value, at: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                at.push(PathStep::Key(k.clone()));
                walk(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(PathStep::Index(i));
                walk(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// A structural change to a JSON value.
#[derive(Debug, Clone)]
pub enum JsonMutation {
    Replace(usize, Value),
    Remove(usize),
    AddKey(usize, String, Value),
}

pub fn json_mutation() -> impl Strategy<Value = JsonMutation> {
    prop_oneof![
        4 => (any::<usize>(), hostile_value()).prop_map(|(p, v)| JsonMutation::Replace(p, v)),
        1 => any::<usize>().prop_map(JsonMutation::Remove),
        1 => (any::<usize>(), "[a-z_]{1,12}", hostile_value())
            .prop_map(|(p, k, v)| JsonMutation::AddKey(p, k, v)),
    ]
}

fn get_mut<'v>(value: &'v mut Value, path: &[PathStep]) -> Option<&'v mut Value> {
    let mut at = value;
    for step in path {
        at = match step {
            PathStep::Key(k) => at.get_mut(k.as_str())?,
            PathStep::Index(i) => at.get_mut(*i)?,
        };
    }
    Some(at)
}

/// Applies `mutation` to `value` (path indexes wrap around the paths that exist).
pub fn apply(value: &mut Value, mutation: &JsonMutation) {
    let all = paths(value);
    let pick = |p: usize| all[p % all.len()].clone();
    match mutation {
        JsonMutation::Replace(p, v) => {
            if let Some(slot) = get_mut(value, &pick(*p)) {
                *slot = v.clone();
            }
        }
        JsonMutation::Remove(p) => {
            let path = pick(*p);
            if let Some((last, parent)) = path.split_last()
                && let Some(parent) = get_mut(value, parent)
            {
                match (parent, last) {
                    (Value::Object(map), PathStep::Key(k)) => {
                        map.remove(k);
                    }
                    (Value::Array(items), PathStep::Index(i)) if *i < items.len() => {
                        items.remove(*i);
                    }
                    _ => {}
                }
            }
        }
        JsonMutation::AddKey(p, k, v) => {
            if let Some(Value::Object(map)) = get_mut(value, &pick(*p)) {
                map.insert(k.clone(), v.clone());
            }
        }
    }
}

/// A byte-level change: what a fuzzer does to text.
#[derive(Debug, Clone)]
pub enum ByteMutation {
    FlipBit(usize, u8),
    SetByte(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Duplicate(usize, usize),
}

pub fn byte_mutation() -> impl Strategy<Value = ByteMutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(p, b)| ByteMutation::FlipBit(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| ByteMutation::SetByte(p, b)),
        any::<usize>().prop_map(ByteMutation::Truncate),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..12))
            .prop_map(|(p, b)| ByteMutation::Insert(p, b)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| ByteMutation::Duplicate(p, n)),
    ]
}

/// Applies `mutation` to `bytes` (positions wrap around the length).
pub fn mutate_bytes(bytes: &mut Vec<u8>, mutation: &ByteMutation) {
    let len = bytes.len().max(1);
    match mutation {
        ByteMutation::FlipBit(p, bit) => {
            if let Some(b) = bytes.get_mut(p % len) {
                *b ^= 1 << bit;
            }
        }
        ByteMutation::SetByte(p, v) => {
            if let Some(b) = bytes.get_mut(p % len) {
                *b = *v;
            }
        }
        ByteMutation::Truncate(p) => bytes.truncate(p % len),
        ByteMutation::Insert(p, more) => {
            let at = (p % len).min(bytes.len());
            bytes.splice(at..at, more.iter().copied());
        }
        ByteMutation::Duplicate(p, n) => {
            let at = (p % len).min(bytes.len());
            let end = (at + n).min(bytes.len());
            let chunk = bytes[at..end].to_vec();
            bytes.splice(end..end, chunk);
        }
    }
}
