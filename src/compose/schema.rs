//! Validation against the Compose Specification's JSON schema: `compose-spec.json` is the
//! copy compose-go embeds and validates with (carried unchanged; compose-spec, Apache-2.0),
//! so kompile accepts exactly what Docker Compose accepts. It is applied after merging. The reader already checks every key it converts; the schema adds
//! the rest: unknown keys and wrong types inside keys kompile does not convert (`logging`,
//! `ulimits`, `build`, ...). It supports the subset of JSON Schema draft-07 the file uses:
//! `type`, `properties`, `patternProperties`, `additionalProperties`, `items`, `oneOf`,
//! `$ref` (to `$defs` or `definitions`), `required`, `enum`, `minimum`, `maximum`,
//! `uniqueItems`, `pattern`.

use crate::diag::{Code, Diagnostic, Pos};
use crate::yaml::{Key, Node, Value};
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const SPEC: &str = include_str!("compose-spec.json");

/// One schema of the file, with only the keywords the checker uses: everything else
/// (`description`, `$comment`, `default`, ...) is skipped while reading, never stored.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Schema {
    #[serde(rename = "$ref")]
    reference: Option<String>,
    #[serde(rename = "type")]
    types: Option<Types>,
    #[serde(rename = "oneOf")]
    one_of: Vec<Schema>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<Json>>,
    pattern: Option<String>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    properties: BTreeMap<String, Schema>,
    #[serde(rename = "patternProperties")]
    pattern_properties: BTreeMap<String, Schema>,
    #[serde(rename = "additionalProperties")]
    additional: Option<BoolOrSchema>,
    required: Vec<String>,
    items: Option<BoolOrSchema>,
    #[serde(rename = "uniqueItems")]
    unique_items: bool,
    #[serde(rename = "$defs")]
    defs: BTreeMap<String, Schema>,
    definitions: BTreeMap<String, Schema>,
}

/// `type`: one name or a list of names.
enum Types {
    One(String),
    Many(Vec<String>),
}

/// `additionalProperties` or `items`: a schema, `true`/`false`, or (for `items`) a list of
/// schemas, which draft-07 checks position by position and this checker does not.
enum BoolOrSchema {
    Bool(bool),
    Schema(Box<Schema>),
    Other,
}

// Written out rather than `#[serde(untagged)]`, which buffers every value it tries.
impl<'de> Deserialize<'de> for Types {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Types, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Types;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a type name or a list of them")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Types, E> {
                Ok(Types::One(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Types, A::Error> {
                Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(Types::Many)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl<'de> Deserialize<'de> for BoolOrSchema {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<BoolOrSchema, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = BoolOrSchema;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a schema, a boolean or a list of schemas")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<BoolOrSchema, E> {
                Ok(BoolOrSchema::Bool(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<BoolOrSchema, A::Error> {
                Schema::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|s| BoolOrSchema::Schema(Box::new(s)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<BoolOrSchema, A::Error> {
                serde::de::IgnoredAny::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(|_| BoolOrSchema::Other)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

fn spec() -> &'static Schema {
    static PARSED: OnceLock<Schema> = OnceLock::new();
    PARSED.get_or_init(|| serde_json::from_str(SPEC).expect("the embedded Compose schema is valid JSON"))
}

/// One schema violation: where, the dotted path, and what is wrong.
#[derive(Clone)]
struct Violation {
    pos: Pos,
    code: Code,
    depth: usize,
    message: String,
}

/// Validate a merged compose tree; one diagnostic per violation, most specific first.
pub fn validate(root: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    check(root, 0, &mut Vec::new(), &mut out, None);
    diagnostics(out)
}

/// The schema check in parts, which two threads share for a large project: [`Apart::rest`]
/// checks the tree without the entries of `services`, [`Apart::service`] one of those
/// entries. Together they find what [`validate`] finds.
pub struct Apart<'a> {
    root: &'a Node,
    /// The `services` mapping and its rule, when its entries can be checked apart.
    services: Option<(&'a Node, usize)>,
}

impl<'a> Apart<'a> {
    pub fn new(root: &'a Node) -> Apart<'a> {
        let rules = rules();
        let services = match (&root.value, rules[0].properties.iter().find(|(name, _)| *name == "services")) {
            // Only the rule of `services` applies to it, and checks its entries one by one.
            (Value::Map(_), Some(&(_, rule)))
                if rules[0].one_of.is_empty()
                    && rules[rule].one_of.is_empty()
                    && !rules[0].pattern_properties.iter().any(|(p, _)| pattern_matches(p, "services")) =>
            {
                root.get("services").filter(|s| matches!(s.value, Value::Map(_))).map(|s| (s, rule))
            }
            _ => None,
        };
        Apart { root, services }
    }

    /// The entries of `services` that [`Apart::service`] checks (none when the tree is
    /// checked whole by [`Apart::rest`]).
    pub fn services(&self) -> &'a [(Key, Node)] {
        match self.services.map(|(s, _)| &s.value) {
            Some(Value::Map(entries)) => entries,
            _ => &[],
        }
    }

    /// Everything but the entries of `services`.
    pub fn rest(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        check(self.root, 0, &mut Vec::new(), &mut out, self.services.map(|(s, _)| s));
        diagnostics(out)
    }

    /// One entry of `services`.
    pub fn service(&self, (key, value): &'a (Key, Node)) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if let Some((_, rule)) = self.services {
            check_entry(&rules()[rule], key, value, &mut vec![Step::Key("services")], &mut out, None);
        }
        diagnostics(out)
    }
}

fn diagnostics(violations: Vec<Violation>) -> Vec<Diagnostic> {
    violations
        .into_iter()
        .map(|v| Diagnostic::at(v.code, v.pos, v.message).with_help("see the Compose Specification for this key"))
        .collect()
}

use super::interpolate::Step;

fn dotted(path: &[Step]) -> String {
    match super::interpolate::dotted(path) {
        p if p.is_empty() => "the top level".into(),
        p => p,
    }
}

fn resolve(schema: &'static Schema) -> &'static Schema {
    let mut s = schema;
    for _ in 0..16 {
        let Some(reference) = s.reference.as_deref() else { break };
        let target = if let Some(name) = reference.strip_prefix("#/$defs/") {
            spec().defs.get(name)
        } else if let Some(name) = reference.strip_prefix("#/definitions/") {
            spec().definitions.get(name)
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
            text.as_bytes().windows(2).any(|w| w[0].is_ascii_alphanumeric() && name_chars(char::from(w[1])))
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

/// One schema with its `$ref`s resolved, compiled once from the JSON so that checking a
/// node looks nothing up by name.
#[derive(Default)]
struct Rule {
    one_of: Vec<usize>,
    types: Vec<&'static str>,
    enum_values: Option<&'static [Json]>,
    pattern: Option<&'static str>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    /// Sorted by name, as the JSON object is.
    properties: Vec<(&'static str, usize)>,
    pattern_properties: Vec<(&'static str, usize)>,
    additional: Additional,
    required: Vec<&'static str>,
    items: Option<usize>,
    unique_items: bool,
}

#[derive(Default, Clone, Copy)]
enum Additional {
    #[default]
    Allowed,
    Forbidden,
    Rule(usize),
}

/// Every rule of the embedded schema; rule 0 is the root.
fn rules() -> &'static [Rule] {
    static COMPILED: OnceLock<Vec<Rule>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let mut rules = Vec::new();
        compile(spec(), &mut rules, &mut foldhash::HashMap::default());
        rules
    })
}

/// Compile `schema` (after its `$ref`s) into `rules`, returning its index. `seen` maps a
/// schema's address to its rule, so shared and recursive definitions are compiled once.
fn compile(schema: &'static Schema, rules: &mut Vec<Rule>, seen: &mut foldhash::HashMap<usize, usize>) -> usize {
    let schema = resolve(schema);
    let address = schema as *const Schema as usize;
    if let Some(&index) = seen.get(&address) {
        return index;
    }
    let index = rules.len();
    rules.push(Rule::default());
    seen.insert(address, index);
    let mut rule = Rule {
        types: match &schema.types {
            Some(Types::One(t)) => vec![t.as_str()],
            Some(Types::Many(ts)) => ts.iter().map(String::as_str).collect(),
            None => vec![],
        },
        enum_values: schema.enum_values.as_deref(),
        pattern: schema.pattern.as_deref(),
        minimum: schema.minimum,
        maximum: schema.maximum,
        required: schema.required.iter().map(String::as_str).collect(),
        unique_items: schema.unique_items,
        ..Rule::default()
    };
    rule.one_of = schema.one_of.iter().map(|b| compile(b, rules, seen)).collect();
    rule.properties = schema.properties.iter().map(|(name, sub)| (name.as_str(), compile(sub, rules, seen))).collect();
    rule.pattern_properties =
        schema.pattern_properties.iter().map(|(name, sub)| (name.as_str(), compile(sub, rules, seen))).collect();
    rule.additional = match &schema.additional {
        Some(BoolOrSchema::Bool(false)) => Additional::Forbidden,
        Some(BoolOrSchema::Schema(sub)) => Additional::Rule(compile(sub, rules, seen)),
        _ => Additional::Allowed,
    };
    rule.items = match &schema.items {
        Some(BoolOrSchema::Schema(sub)) => Some(compile(sub, rules, seen)),
        _ => None,
    };
    rules[index] = rule;
    index
}

/// Check `node` against rule `index`, adding what is wrong to `out`. The entries of `skip`
/// (a mapping in the tree) are left out: [`Apart`] checks them on their own.
fn check<'a>(node: &'a Node, index: usize, path: &mut Vec<Step<'a>>, out: &mut Vec<Violation>, skip: Option<&Node>) {
    let rules = rules();
    let rule = &rules[index];
    let here =
        |code: Code, message: String, path: &[Step]| Violation { pos: node.pos, code, depth: path.len(), message };
    // oneOf: valid when some branch is; otherwise report the errors of the branch that got
    // furthest (the most specific, as compose-go does).
    if !rule.one_of.is_empty() {
        // Most nodes are valid, and pass a branch whose type fits them: trying those first
        // finds that without writing the messages of the branches that do not fit.
        for &branch in &rule.one_of {
            let types = &rules[branch].types;
            if types.is_empty() || types.iter().any(|t| matches_type(node, t)) {
                let mut errors = Vec::new();
                check(node, branch, path, &mut errors, skip);
                if errors.is_empty() {
                    return;
                }
            }
        }
        let mut best: Option<Vec<Violation>> = None;
        // A branch whose type fits and whose value does not (`oom_score_adj: 5000` against
        // an integer from -1000 to 1000): its own message says more than the list of types.
        let mut type_fits: Option<Vec<Violation>> = None;
        for &branch in &rule.one_of {
            let mut errors = Vec::new();
            check(node, branch, path, &mut errors, skip);
            if errors.is_empty() {
                best = None;
                type_fits = None;
                break;
            }
            if type_fits.is_none() && errors.iter().all(|e| e.code != Code::WrongType) {
                type_fits = Some(errors.clone());
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
            } else if let Some(errors) = type_fits {
                out.extend(errors);
            } else {
                let kinds: Vec<&str> =
                    rule.one_of.iter().flat_map(|&b| rules[b].types.iter().copied()).map(type_name).collect();
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
    if !rule.types.is_empty() && !rule.types.iter().any(|t| matches_type(node, t)) {
        let expected: Vec<&str> = rule.types.iter().map(|t| type_name(t)).collect();
        out.push(here(
            Code::WrongType,
            format!("`{}` must be {}, found {}", dotted(path), expected.join(" or "), node.kind_name()),
            path,
        ));
        return;
    }
    if let Some(allowed) = rule.enum_values {
        let text = node.scalar_string();
        let ok = allowed.iter().any(|a| match (a, &text) {
            (Json::String(s), Some(t)) => s == t,
            (Json::Null, None) => node.is_null(),
            (Json::Number(n), Some(t)) => t.parse::<f64>().ok() == n.as_f64(),
            (Json::Bool(b), Some(t)) => t.parse::<bool>().ok() == Some(*b),
            _ => false,
        });
        if !ok {
            let list: Vec<String> = allowed.iter().map(|a| a.as_str().map_or(a.to_string(), String::from)).collect();
            out.push(here(Code::InvalidValue, format!("`{}` must be one of {}", dotted(path), list.join(", ")), path));
        }
    }
    if let (Some(pattern), Value::Str(text)) = (rule.pattern, &node.value) {
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
        if let Some(min) = rule.minimum {
            if n < min {
                out.push(here(Code::InvalidValue, format!("`{}` must be at least {min}", dotted(path)), path));
            }
        }
        if let Some(max) = rule.maximum {
            if n > max {
                out.push(here(Code::InvalidValue, format!("`{}` must be at most {max}", dotted(path)), path));
            }
        }
    }
    match &node.value {
        Value::Map(entries) => {
            if !skip.is_some_and(|skip| std::ptr::eq(skip, node)) {
                for (key, value) in entries {
                    check_entry(rule, key, value, path, out, skip);
                }
            }
            for name in &rule.required {
                if !entries.iter().any(|(k, _)| k.name == *name) {
                    out.push(here(Code::InvalidValue, format!("`{}` needs `{name}`", dotted(path)), path));
                }
            }
        }
        Value::Seq(items) => {
            if let Some(sub) = rule.items {
                for (i, item) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    check(item, sub, path, out, skip);
                    path.pop();
                }
            }
            if rule.unique_items {
                // A short list item by item; a long one by canonical form, so that it is
                // checked in linear time. (The two agree: `canonical_forms_agree_with_same_as`.)
                let short = items.len() <= 16;
                let mut seen = foldhash::HashSet::with_capacity_and_hasher(
                    if short { 0 } else { items.len() },
                    Default::default(),
                );
                for (i, item) in items.iter().enumerate() {
                    let repeats = if short {
                        items[..i].iter().any(|earlier| earlier.same_as(item))
                    } else {
                        let mut form = String::new();
                        canonical(item, &mut form) && !seen.insert(form)
                    };
                    if repeats {
                        path.push(Step::Index(i));
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

/// Check one entry of a mapping that `rule` describes: against the rule of its key, of the
/// patterns its key matches, or the rule for other keys (an unknown key when there is none).
fn check_entry<'a>(
    rule: &Rule,
    key: &'a Key,
    value: &'a Node,
    path: &mut Vec<Step<'a>>,
    out: &mut Vec<Violation>,
    skip: Option<&Node>,
) {
    path.push(Step::Key(&key.name));
    let mut matched = false;
    if let Ok(i) = rule.properties.binary_search_by(|(name, _)| (*name).cmp(key.name.as_str())) {
        matched = true;
        check(value, rule.properties[i].1, path, out, skip);
    }
    for &(pattern, sub) in &rule.pattern_properties {
        if pattern_matches(pattern, &key.name) {
            matched = true;
            check(value, sub, path, out, skip);
        }
    }
    if !matched {
        match rule.additional {
            Additional::Forbidden => {
                path.pop();
                out.push(Violation {
                    pos: key.pos,
                    code: Code::UnknownKey,
                    depth: path.len() + 1,
                    message: if key.name.is_empty() {
                        format!("`{}` has an empty key", dotted(path))
                    } else {
                        format!("`{}` has no key `{}`", dotted(path), key.name)
                    },
                });
                return;
            }
            Additional::Rule(sub) => check(value, sub, path, out, skip),
            Additional::Allowed => {}
        }
    }
    path.pop();
}

/// A text that two nodes share exactly when they are [`Node::same_as`] each other. Returns
/// false for a value equal to nothing (NaN), which is then never a repeat.
fn canonical(node: &Node, out: &mut String) -> bool {
    use std::fmt::Write as _;
    match &node.value {
        Value::Null => out.push('~'),
        Value::Bool(b) => out.push(if *b { 'T' } else { 'F' }),
        Value::Int(i) => {
            let _ = write!(out, "i{i};");
        }
        Value::Float(f) if f.is_nan() => return false,
        // `-0.0 == 0.0`; otherwise the bits tell floats apart exactly.
        Value::Float(f) => {
            let _ = write!(out, "f{};", if *f == 0.0 { 0 } else { f.to_bits() });
        }
        Value::Str(s) => {
            let _ = write!(out, "s{}:{s}", s.len());
        }
        Value::Seq(items) => {
            let _ = write!(out, "[{}:", items.len());
            for item in items {
                if !canonical(item, out) {
                    return false;
                }
            }
        }
        Value::Map(entries) => {
            let _ = write!(out, "{{{}:", entries.len());
            for (key, value) in entries {
                let _ = write!(out, "{}:{}", key.name.len(), key.name);
                if !canonical(value, out) {
                    return false;
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse, Limits};

    fn errors(text: &str) -> Vec<String> {
        let doc = parse(text, 0, Limits::default()).unwrap().remove(0);
        validate(&doc).into_iter().map(|d| d.message).collect()
    }

    /// What [`Apart`]'s parts find, sorted as diagnostics are for output.
    fn found_apart(doc: &Node) -> Vec<(Option<Pos>, Code, String)> {
        let apart = Apart::new(doc);
        let mut found = apart.rest();
        for entry in apart.services() {
            found.extend(apart.service(entry));
        }
        let mut found: Vec<_> = found.into_iter().map(|d| (d.pos, d.code, d.message)).collect();
        found.sort();
        found
    }

    #[test]
    fn checked_apart_the_services_give_what_the_whole_check_gives() {
        let mut texts: Vec<String> = [
            "services:\n  web:\n    image: 1\n    build: {nope: 1}\n  db:\n    ports: {a: 1}\nvolumes:\n  v: {driver: [x]}\nnope: 1\n",
            "services: [a, b]\nvolumes: {}\n",
            "services: ~\n",
            "services:\n  'bad name!': {image: x}\n  ok: {image: x, unknown: 1}\n",
            "x-a: 1\nservices:\n  a:\n    image: x\n    depends_on: {b: {condition: nope}}\n",
            "[1, 2]\n",
        ]
        .map(String::from)
        .into();
        let cases = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cases");
        for case in std::fs::read_dir(cases).unwrap() {
            for name in ["compose.yaml", "compose.override.yaml"] {
                texts.extend(std::fs::read_to_string(case.as_ref().unwrap().path().join(name)));
            }
        }
        let mut split = 0;
        for text in &texts {
            for doc in parse(text, 0, Limits::default()).unwrap_or_default() {
                let mut whole: Vec<_> = validate(&doc).into_iter().map(|d| (d.pos, d.code, d.message)).collect();
                whole.sort();
                assert_eq!(found_apart(&doc), whole, "{text}");
                split += usize::from(!Apart::new(&doc).services().is_empty());
            }
        }
        assert!(split > 50, "most cases have services to check apart: {split}");
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
        let e = errors("services:\n  web:\n    image: nginx\n    cap_add: [A, B, \"A\", B1]\n");
        assert_eq!(e.iter().filter(|m| m.contains("repeats")).count(), 1, "{e:?}");
        assert!(e.iter().any(|m| m.contains("services.web.cap_add[2]` repeats")), "{e:?}");
    }

    #[test]
    fn canonical_forms_agree_with_same_as() {
        let doc = parse(
            "[a, 'a', 1, '1', 1.0, -0.0, 0.0, .nan, [1], ['1'], {k: 1}, {k: '1'}, ~, null, true]",
            0,
            Limits::default(),
        )
        .unwrap()
        .remove(0);
        let crate::yaml::Value::Seq(items) = &doc.value else { panic!() };
        for x in items {
            for y in items {
                let (mut a, mut b) = (String::new(), String::new());
                let same = canonical(x, &mut a) && canonical(y, &mut b) && a == b;
                assert_eq!(same, x.same_as(y), "{x:?} vs {y:?}");
            }
        }
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
