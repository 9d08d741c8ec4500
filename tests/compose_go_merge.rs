//! Conformance with compose-go's multi-file merge: every `merge` and `merge+unicity` row of
//! `testdata/compose-go/merge.json` (compose-go's own `override` test tables, with the
//! expectations produced by running compose-go's `override.Merge` + `EnforceUnicity`; see
//! the README there) is run through `kompile::compose::merge_documents(base, override)` and
//! compared with the row's `expected_json`. Rows where kompile deliberately or currently
//! differs are listed in `testdata/compose-go/merge-differences.txt` with the reason; any
//! other disagreement fails, and so does a listed row that now agrees.
//!
//! `unicity` rows (compose-go's `EnforceUnicity` alone, on a single file) are skipped:
//! kompile applies de-duplication only while it merges a file into another, never to a
//! file on its own, so there is no kompile function to run them against.
//!
//! Normalisation, applied to both sides before comparing (see `normalise`): compose-go
//! rewrites every `KEY=value` attribute into a list of `"KEY=value"` strings (a mapping
//! becomes a sorted list), while kompile merges these attributes as mappings (a list
//! `KEY=value` becomes `{KEY: value}`, a bare `KEY` becomes `{KEY: null}`). Both sides are
//! therefore turned into mappings before comparing, so only the merged content counts, not
//! its spelling or the order of keys.

mod support;

use serde_json::{Map, Value};
use support::{assert_only_documented_differences, compose_go_table};

/// Service attributes kompile merges by key (`src/compose/merge.rs` `KEYED`).
const SERVICE_KEYED: [&str; 5] = ["environment", "labels", "annotations", "sysctls", "extra_hosts"];

/// Nested attributes compose-go also merges as `KEY=value` lists (compose-spec.md §2.2):
/// (path below the service, attribute).
const SERVICE_NESTED_KEYED: [(&str, &str); 5] = [
    ("deploy", "labels"),
    ("build", "args"),
    ("build", "labels"),
    ("build", "additional_contexts"),
    ("build", "extra_hosts"),
];

/// `extra_hosts` may name one host several times (compose-go drops exact duplicates only,
/// and a host may have several addresses): its values are kept, in order, as a list.
/// Every other attribute is unique by key, and a later entry replaces an earlier one,
/// which is what compose-go's unicity does.
fn keeps_repeated_keys(attribute: &str) -> bool {
    attribute == "extra_hosts"
}

/// A scalar as the string compose-go writes after `KEY=` (`1` → `"1"`, `true` → `"true"`);
/// null stays null (a bare `KEY`); lists (`extra_hosts: {host: [ip, ip]}`) item by item.
fn value_text(value: Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(items) => Value::Array(items.into_iter().map(value_text).collect()),
        other => other,
    }
}

/// `["A=1", "B"]` or `{A: 1, B: null}` → `{A: "1", B: null}`. The text is split at the
/// first `=`; text without `=` is a key with a null value. For `extra_hosts`, a repeated key
/// collects its values into a list (`{host: [ip1, ip2]}`), as the mapping form writes them.
fn keyed(value: Value, attribute: &str) -> Value {
    let mut out: Map<String, Value> = Map::new();
    let mut put = |key: String, v: Value| {
        let v = value_text(v);
        match out.get_mut(&key) {
            Some(existing) if keeps_repeated_keys(attribute) => {
                let mut all = match existing.take() {
                    Value::Array(items) => items,
                    one => vec![one],
                };
                match v {
                    Value::Array(items) => all.extend(items),
                    one => all.push(one),
                }
                *existing = Value::Array(all);
            }
            _ => {
                out.insert(key, v);
            }
        }
    };
    match value {
        Value::Array(items) => {
            for item in items {
                let text = match item {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                match text.split_once('=') {
                    Some((k, v)) => put(k.to_string(), Value::String(v.to_string())),
                    None => put(text, Value::Null),
                }
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                put(k, v);
            }
        }
        other => return other,
    }
    Value::Object(out)
}

fn normalise_at(map: &mut Map<String, Value>, attribute: &str) {
    if let Some(v) = map.get_mut(attribute) {
        *v = keyed(v.take(), attribute);
    }
}

/// Turn every `KEY=value` attribute of the project into a mapping (see the module comment).
fn normalise(mut project: Value) -> Value {
    if let Some(services) = project.get_mut("services").and_then(Value::as_object_mut) {
        for service in services.values_mut().filter_map(Value::as_object_mut) {
            for attribute in SERVICE_KEYED {
                normalise_at(service, attribute);
            }
            for (parent, attribute) in SERVICE_NESTED_KEYED {
                if let Some(parent) = service.get_mut(parent).and_then(Value::as_object_mut) {
                    normalise_at(parent, attribute);
                }
            }
        }
    }
    for kind in ["networks", "volumes"] {
        if let Some(defs) = project.get_mut(kind).and_then(Value::as_object_mut) {
            for def in defs.values_mut().filter_map(Value::as_object_mut) {
                normalise_at(def, "labels");
            }
        }
    }
    project
}

/// (id, expected, actual) for every merge row that disagrees.
fn run_all() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut merged_rows = 0;
    for row in compose_go_table("merge.json") {
        let op = row["op"].as_str().unwrap();
        if op == "unicity" {
            // kompile applies de-duplication only during merges (see the module comment).
            continue;
        }
        assert!(op == "merge" || op == "merge+unicity", "{}: unknown op {op}", row["id"]);
        merged_rows += 1;
        let actual =
            match kompile::compose::merge_documents(row["base"].as_str().unwrap(), row["override"].as_str().unwrap()) {
                Ok(v) => normalise(v),
                Err(e) => Value::String(format!("error: {e}")),
            };
        let expected = normalise(row["expected_json"].clone());
        if expected != actual {
            out.push((row["id"].as_str().unwrap().to_string(), expected.to_string(), actual.to_string()));
        }
    }
    assert_eq!(merged_rows, 67, "merge.json should have 67 merge rows");
    out
}

#[test]
fn normalisation_examples() {
    let v = keyed(serde_json::json!(["A=1", "B=", "C", "A=2"]), "environment");
    assert_eq!(v, serde_json::json!({"A": "2", "B": "", "C": null}));
    let v = keyed(serde_json::json!({"A": 1, "B": true, "C": null}), "labels");
    assert_eq!(v, serde_json::json!({"A": "1", "B": "true", "C": null}));
    let v = keyed(serde_json::json!(["h=1.2.3.4", "h=4.3.2.1"]), "extra_hosts");
    assert_eq!(v, serde_json::json!({"h": ["1.2.3.4", "4.3.2.1"]}));
}

#[test]
fn merge_agrees_with_compose_go() {
    assert_only_documented_differences(&run_all(), "merge-differences.txt", "merge rows");
}
