//! Conformance with compose-go: every row of the tables in `testdata/compose-go/` (produced
//! by compose-go's own code and the libraries it uses; see the README there) is run through
//! kompile's loader functions. Rows where kompile deliberately differs are listed in
//! `testdata/compose-go/differences.txt` with the reason; any other disagreement fails.

mod support;

use indexmap::IndexMap;
use kompile::compose;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use support::{assert_only_documented_differences, compose_go_table};

fn lookup_from(env: &Value) -> impl Fn(&str) -> Option<String> + '_ {
    move |name: &str| env.get(name).and_then(Value::as_str).map(String::from)
}

/// (id, expected, actual) for every row that disagrees.
fn run_all() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut check = |row: &Value, expected: Value, actual: Value| {
        if expected != actual {
            out.push((row["id"].as_str().unwrap().to_string(), expected.to_string(), actual.to_string()));
        }
    };
    let expected_or_error = |row: &Value, key: &str| -> Value {
        if row.get("error").is_some() {
            json!({"error": true})
        } else {
            row[key].clone()
        }
    };
    for row in compose_go_table("interpolation.json") {
        let lookup = lookup_from(&row["env"]);
        let actual = match compose::substitute(row["template"].as_str().unwrap(), &lookup) {
            Ok(s) => json!(s.text),
            Err(_) => json!({"error": true}),
        };
        check(&row, expected_or_error(&row, "expected"), actual);
    }
    for row in compose_go_table("dotenv.json") {
        let lookup = lookup_from(&row["lookup"]);
        let mut vars = IndexMap::new();
        let mut result = Ok(());
        for file in row["files"].as_array().unwrap() {
            result = result.and_then(|()| compose::parse_dotenv(file.as_str().unwrap(), &mut vars, &lookup));
        }
        let actual = match result {
            Ok(()) => json!(vars.into_iter().collect::<BTreeMap<_, _>>()),
            Err(_) => json!({"error": true}),
        };
        let expected = match row.get("error") {
            Some(_) => json!({"error": true}),
            None => json!(serde_json::from_value::<BTreeMap<String, String>>(row["expected"].clone()).unwrap()),
        };
        check(&row, expected, actual);
    }
    for row in compose_go_table("ports.json") {
        let input = match &row["input"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let actual = match compose::parse_port(&input) {
            Ok(ports) => json!(ports
                .iter()
                .map(|p| {
                    let mut port = json!({"target": p.target, "protocol": p.protocol, "mode": "ingress"});
                    if let Some(published) = &p.published {
                        port["published"] = json!(published);
                    }
                    if let Some(ip) = &p.host_ip {
                        port["host_ip"] = json!(ip);
                    }
                    port
                })
                .collect::<Vec<_>>()),
            Err(_) => json!({"error": true}),
        };
        check(&row, expected_or_error(&row, "expected"), actual);
    }
    for row in compose_go_table("volumes.json") {
        let actual = match compose::parse_volume(row["input"].as_str().unwrap()) {
            Ok(v) => {
                json!({"type": v.kind.as_str(), "source": v.source, "target": v.target, "read_only": v.read_only})
            }
            Err(_) => json!({"error": true}),
        };
        let expected = match row.get("error") {
            Some(_) => json!({"error": true}),
            None => {
                let e = &row["expected"];
                json!({"type": e["type"], "source": e.get("source").cloned().unwrap_or(Value::Null), "target": e["target"], "read_only": e["read_only"]})
            }
        };
        check(&row, expected, actual);
    }
    for row in compose_go_table("durations.json") {
        let actual = match compose::parse_duration(row["input"].as_str().unwrap()) {
            Ok(ns) => json!(ns),
            Err(_) => json!({"error": true}),
        };
        check(&row, expected_or_error(&row, "expected_ns"), actual);
    }
    for row in compose_go_table("byte_sizes.json") {
        let actual = match compose::parse_bytes(row["input"].as_str().unwrap()) {
            Ok(n) => json!(n),
            Err(_) => json!({"error": true}),
        };
        check(&row, expected_or_error(&row, "expected_bytes"), actual);
    }
    for row in compose_go_table("project_names.json") {
        let input = row["input"].as_str().unwrap();
        let normalized = compose::normalize_project_name(input);
        check(&row, row["normalized"].clone(), json!(normalized));
        let valid = compose::validate_project_name(input).is_ok();
        check(&row, row["valid_if_explicit"].clone(), json!(valid));
    }
    for row in compose_go_table("command.json") {
        let actual = match compose::split_command(row["input"].as_str().unwrap()) {
            Ok(split) => json!(split.args),
            Err(_) => json!({"error": true}),
        };
        check(&row, expected_or_error(&row, "expected"), actual);
    }
    out
}

#[test]
fn loader_agrees_with_compose_go() {
    assert_only_documented_differences(&run_all(), "differences.txt", "rows");
}
