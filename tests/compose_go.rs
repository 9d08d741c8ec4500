//! Conformance with compose-go: every row of the tables in `testdata/compose-go/` (produced
//! by compose-go's own code and the libraries it uses; see the README there) is run through
//! kompile's loader functions. Rows where kompile deliberately differs are listed in
//! `testdata/compose-go/differences.txt` with the reason; any other disagreement fails.

use indexmap::IndexMap;
use kompile::compose;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

fn table(name: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/compose-go").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

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
    for row in table("interpolation.json") {
        let lookup = lookup_from(&row["env"]);
        let actual = match compose::substitute(row["template"].as_str().unwrap(), &lookup) {
            Ok(s) => json!(s.text),
            Err(_) => json!({"error": true}),
        };
        check(&row, expected_or_error(&row, "expected"), actual);
    }
    for row in table("dotenv.json") {
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
    for row in table("ports.json") {
        let input = match &row["input"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let actual = match compose::parse_port(&input) {
            Ok(ports) => json!(ports
                .iter()
                .map(|p| {
                    let mut m = serde_json::Map::new();
                    m.insert("target".into(), json!(p.target));
                    if let Some(pb) = &p.published {
                        m.insert("published".into(), json!(pb));
                    }
                    if let Some(ip) = &p.host_ip {
                        m.insert("host_ip".into(), json!(ip));
                    }
                    m.insert("protocol".into(), json!(p.protocol));
                    m.insert("mode".into(), json!("ingress"));
                    Value::Object(m)
                })
                .collect::<Vec<_>>()),
            Err(_) => json!({"error": true}),
        };
        check(&row, expected_or_error(&row, "expected"), actual);
    }
    for row in table("volumes.json") {
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
    for row in table("durations.json") {
        let actual = match compose::parse_duration(row["input"].as_str().unwrap()) {
            Ok(ns) => json!(ns),
            Err(_) => json!({"error": true}),
        };
        check(&row, expected_or_error(&row, "expected_ns"), actual);
    }
    for row in table("byte_sizes.json") {
        let actual = match compose::parse_bytes(row["input"].as_str().unwrap()) {
            Ok(n) => json!(n),
            Err(_) => json!({"error": true}),
        };
        check(&row, expected_or_error(&row, "expected_bytes"), actual);
    }
    for row in table("project_names.json") {
        let input = row["input"].as_str().unwrap();
        let normalized = compose::normalize_project_name(input);
        check(&row, row["normalized"].clone(), json!(normalized));
        let valid = compose::validate_project_name(input).is_ok();
        check(&row, row["valid_if_explicit"].clone(), json!(valid));
    }
    for row in table("command.json") {
        let actual = match compose::split_command(row["input"].as_str().unwrap()) {
            Ok(split) => json!(split.args),
            Err(_) => json!({"error": true}),
        };
        check(&row, expected_or_error(&row, "expected"), actual);
    }
    out
}

fn documented() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/compose-go/differences.txt");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, why) = l.split_once(' ').unwrap_or((l, ""));
            (id.to_string(), why.trim().to_string())
        })
        .collect()
}

#[test]
fn loader_agrees_with_compose_go() {
    let documented = documented();
    let mismatches = run_all();
    let undocumented: Vec<String> = mismatches
        .iter()
        .filter(|(id, _, _)| !documented.contains_key(id))
        .map(|(id, e, a)| format!("{id}: expected {e}, kompile gives {a}"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "{} rows disagree with compose-go:\n{}",
        undocumented.len(),
        undocumented.join("\n")
    );
    // A documented difference that no longer differs must be removed from the list.
    for id in documented.keys() {
        assert!(mismatches.iter().any(|(m, _, _)| m == id), "{id} is listed in differences.txt but now agrees");
    }
}
