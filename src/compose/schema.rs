//! Validation against the Compose Specification's JSON schema: `compose-spec.json` is the
//! copy compose-go embeds and validates with (carried unchanged; compose-spec, Apache-2.0),
//! so kompile accepts exactly what Docker Compose accepts. It is applied after merging. The reader already checks every key it converts; the schema adds
//! the rest: unknown keys and wrong types inside keys kompile does not convert (`logging`,
//! `ulimits`, `build`, ...). It supports the subset of JSON Schema draft-07 the file uses:
//! `type`, `properties`, `patternProperties`, `additionalProperties`, `items`, `oneOf`,
//! `$ref` (to `$defs` or `definitions`), `required`, `enum`, `minimum`, `maximum`,
//! `uniqueItems`, `pattern`.

use crate::diag::{Code, Diagnostic, Pos};
use crate::yaml::{Node, Value};
use serde_json::Value as Schema;
use std::sync::OnceLock;

const SPEC: &str = include_str!("compose-spec.json");

fn spec() -> &'static Schema {
    static PARSED: OnceLock<Schema> = OnceLock::new();
    PARSED.get_or_init(|| serde_json::from_str(SPEC).expect("the embedded Compose schema is valid JSON"))
}

/// One schema violation: where, the dotted path, and what is wrong.
struct Violation {
    pos: Pos,
    code: Code,
    depth: usize,
    message: String,
}

/// Validate a merged compose tree; one diagnostic per violation, most specific first.
pub fn validate(root: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    check(root, spec(), &mut Vec::new(), &mut out);
    out.into_iter()
        .map(|v| Diagnostic::at(v.code, v.pos, v.message).with_help("see the Compose Specification for this key"))
        .collect()
}

fn dotted(path: &[String]) -> String {
    match super::interpolate::dotted(path) {
        p if p.is_empty() => "the top level".into(),
        p => p,
    }
}

fn resolve(schema: &Schema) -> &Schema {
    let mut s = schema;
    for _ in 0..16 {
        let Some(reference) = s.get("$ref").and_then(Schema::as_str) else { break };
        let target = if let Some(name) = reference.strip_prefix("#/$defs/") {
            spec().pointer(&format!("/$defs/{name}"))
        } else if let Some(name) = reference.strip_prefix("#/definitions/") {
            spec().pointer(&format!("/definitions/{name}"))
        } else {
            None
        };
        match target {
            Some(target) => s = target,
            None => break,
        }
    }
    s
}

fn type_name(t: &str) -> &str {
    match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean",
        "null" => "null",
        other => other,
    }
}

fn matches_type(node: &Node, t: &str) -> bool {
    match (t, &node.value) {
        ("object", Value::Map(_)) | ("array", Value::Seq(_)) | ("string", Value::Str(_)) => true,
        ("boolean", Value::Bool(_)) | ("null", Value::Null) => true,
        ("integer", Value::Int(_)) => true,
        ("integer", Value::Float(f)) => f.fract() == 0.0,
        ("number", Value::Int(_) | Value::Float(_)) => true,
        _ => false,
    }
}

/// The patterns the Compose schema uses, matched without a regex engine. An unknown pattern
/// matches (the check is then left to compose-go's other rules and to kompile's reader).
fn pattern_matches(pattern: &str, text: &str) -> bool {
    let name_chars = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    match pattern {
        "^x-" => text.starts_with("x-"),
        ".+" | "^.+$" => !text.is_empty(),
        "^[a-z]+$" => !text.is_empty() && text.chars().all(|c| c.is_ascii_lowercase()),
        "^[a-zA-Z0-9._-]+$" => !text.is_empty() && text.chars().all(name_chars),
        // Unanchored: somewhere an alphanumeric followed by at least one name character.
        "[a-zA-Z0-9][a-zA-Z0-9_.-]+" => {
            let chars: Vec<char> = text.chars().collect();
            chars.windows(2).any(|w| w[0].is_ascii_alphanumeric() && name_chars(w[1]))
        }
        p if p.starts_with("always|never|build") => {
            ["always", "never", "build", "if_not_present", "missing", "refresh", "daily", "weekly"]
                .iter()
                .any(|w| text.contains(w))
                || text.find("every_").is_some_and(|i| {
                    let rest = &text[i + 6..];
                    rest.starts_with(|c: char| c.is_ascii_digit())
                })
        }
        _ => true,
    }
}

fn check(node: &Node, schema: &Schema, path: &mut Vec<String>, out: &mut Vec<Violation>) {
    let schema = resolve(schema);
    let here =
        |code: Code, message: String, path: &[String]| Violation { pos: node.pos, code, depth: path.len(), message };
    // oneOf: valid when some branch is; otherwise report the errors of the branch that got
    // furthest (the most specific, as compose-go does).
    if let Some(branches) = schema.get("oneOf").and_then(Schema::as_array) {
        let mut best: Option<Vec<Violation>> = None;
        for branch in branches {
            let mut errors = Vec::new();
            check(node, branch, path, &mut errors);
            if errors.is_empty() {
                best = None;
                break;
            }
            let depth = errors.iter().map(|e| e.depth).max().unwrap_or(0);
            if best.as_ref().is_none_or(|b| b.iter().map(|e| e.depth).max().unwrap_or(0) < depth) {
                best = Some(errors);
            }
        }
        if let Some(errors) = best {
            let depth = errors.iter().map(|e| e.depth).max().unwrap_or(0);
            if depth > path.len() {
                out.extend(errors);
            } else {
                let kinds: Vec<&str> = branches
                    .iter()
                    .filter_map(|b| resolve(b).get("type"))
                    .flat_map(|t| match t {
                        Schema::String(s) => vec![s.as_str()],
                        Schema::Array(a) => a.iter().filter_map(Schema::as_str).collect(),
                        _ => vec![],
                    })
                    .map(type_name)
                    .collect();
                let expected = if kinds.is_empty() { "a valid value".to_string() } else { kinds.join(" or ") };
                out.push(here(
                    Code::WrongType,
                    format!("`{}` must be {expected}, found {}", dotted(path), node.kind_name()),
                    path,
                ));
            }
        }
        return;
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Schema::String(s) => vec![s.as_str()],
            Schema::Array(a) => a.iter().filter_map(Schema::as_str).collect(),
            _ => vec![],
        };
        if !types.is_empty() && !types.iter().any(|t| matches_type(node, t)) {
            let expected: Vec<&str> = types.iter().map(|t| type_name(t)).collect();
            out.push(here(
                Code::WrongType,
                format!("`{}` must be {}, found {}", dotted(path), expected.join(" or "), node.kind_name()),
                path,
            ));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Schema::as_array) {
        let text = node.scalar_string();
        let ok = allowed.iter().any(|a| match (a, &text) {
            (Schema::String(s), Some(t)) => s == t,
            (Schema::Null, None) => node.is_null(),
            (Schema::Number(n), Some(t)) => t.parse::<f64>().ok() == n.as_f64(),
            (Schema::Bool(b), Some(t)) => t.parse::<bool>().ok() == Some(*b),
            _ => false,
        });
        if !ok {
            let list: Vec<String> = allowed.iter().map(|a| a.as_str().map_or(a.to_string(), String::from)).collect();
            out.push(here(Code::InvalidValue, format!("`{}` must be one of {}", dotted(path), list.join(", ")), path));
        }
    }
    if let (Some(pattern), Value::Str(text)) = (schema.get("pattern").and_then(Schema::as_str), &node.value) {
        if !pattern_matches(pattern, text) {
            out.push(here(Code::InvalidValue, format!("`{}` has an invalid value `{text}`", dotted(path)), path));
        }
    }
    let number = match &node.value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    if let Some(n) = number {
        if let Some(min) = schema.get("minimum").and_then(Schema::as_f64) {
            if n < min {
                out.push(here(Code::InvalidValue, format!("`{}` must be at least {min}", dotted(path)), path));
            }
        }
        if let Some(max) = schema.get("maximum").and_then(Schema::as_f64) {
            if n > max {
                out.push(here(Code::InvalidValue, format!("`{}` must be at most {max}", dotted(path)), path));
            }
        }
    }
    match &node.value {
        Value::Map(entries) => {
            let properties = schema.get("properties").and_then(Schema::as_object);
            let patterns = schema.get("patternProperties").and_then(Schema::as_object);
            let additional = schema.get("additionalProperties");
            for (key, value) in entries {
                path.push(key.name.clone());
                let mut matched = false;
                if let Some(sub) = properties.and_then(|p| p.get(&key.name)) {
                    matched = true;
                    check(value, sub, path, out);
                }
                for (pattern, sub) in patterns.into_iter().flatten() {
                    if pattern_matches(pattern, &key.name) {
                        matched = true;
                        check(value, sub, path, out);
                    }
                }
                if !matched {
                    match additional {
                        Some(Schema::Bool(false)) => {
                            path.pop();
                            out.push(Violation {
                                pos: key.pos,
                                code: Code::UnknownKey,
                                depth: path.len() + 1,
                                message: format!("`{}` has no key `{}`", dotted(path), key.name),
                            });
                            continue;
                        }
                        Some(sub @ Schema::Object(_)) => check(value, sub, path, out),
                        _ => {}
                    }
                }
                path.pop();
            }
            for name in
                schema.get("required").and_then(Schema::as_array).into_iter().flatten().filter_map(Schema::as_str)
            {
                if !entries.iter().any(|(k, _)| k.name == name) {
                    out.push(here(Code::InvalidValue, format!("`{}` needs `{name}`", dotted(path)), path));
                }
            }
        }
        Value::Seq(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    path.push(format!("[{i}]"));
                    check(item, sub, path, out);
                    path.pop();
                }
            }
            if schema.get("uniqueItems").and_then(Schema::as_bool) == Some(true) {
                for (i, item) in items.iter().enumerate() {
                    if items[..i].iter().any(|earlier| earlier.same_as(item)) {
                        path.push(format!("[{i}]"));
                        out.push(Violation {
                            pos: item.pos,
                            code: Code::InvalidValue,
                            depth: path.len(),
                            message: format!("`{}` repeats an earlier item", dotted(path)),
                        });
                        path.pop();
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse, Limits};

    fn errors(text: &str) -> Vec<String> {
        let doc = parse(text, 0, Limits::default()).unwrap().remove(0);
        validate(&doc).into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn valid_projects_pass() {
        assert!(errors("services:\n  web:\n    image: nginx\n    ports: ['80:80', 81, {target: 82}]\n    ulimits: {nofile: {soft: 1, hard: 2}}\n    logging: {driver: json-file, options: {max-size: 10m}}\nx-any: {anything: [1]}\n").is_empty());
    }

    #[test]
    fn nested_unknown_keys_and_types_are_caught() {
        let e = errors("services:\n  web:\n    image: nginx\n    logging: {drivr: x}\n    ulimits: {nofile: [1]}\n");
        assert!(e.iter().any(|m| m.contains("`services.web.logging` has no key `drivr`")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("services.web.ulimits.nofile")), "{e:?}");
        let e = errors("services:\n  web:\n    image: nginx\n    cap_add: [A, A]\n");
        assert!(e.iter().any(|m| m.contains("repeats")), "{e:?}");
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("^[a-zA-Z0-9._-]+$", "web_1.a"));
        assert!(!pattern_matches("^[a-zA-Z0-9._-]+$", "web 1"));
        assert!(pattern_matches("[a-zA-Z0-9][a-zA-Z0-9_.-]+", "-my-app"));
        assert!(!pattern_matches("[a-zA-Z0-9][a-zA-Z0-9_.-]+", "a"));
        assert!(pattern_matches(
            "always|never|build|if_not_present|missing|refresh|daily|weekly|every_([0-9]+[wdhms])+",
            "every_12h"
        ));
    }
}
