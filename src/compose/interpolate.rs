//! `${VAR}` interpolation, with compose-go's exact grammar and operators.
//!
//! [`substitute`] handles one string; [`interpolate_tree`] walks a parsed file and replaces
//! every string value (never a key), reporting errors and unset variables with positions.
//! Lookup is a closure, so the caller decides where variables come from.
//!
//! Each `${` is matched and its operator found in time proportional to its own text, and
//! defaults nested in defaults are expanded at most [`MAX_NESTING`] levels deep, so a hostile
//! string costs time linear in its length.

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::yaml::{Node, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    /// `${` that does not fit the grammar.
    Syntax,
    /// `${VAR:?msg}` / `${VAR?msg}` with the variable missing: the message.
    Required { name: String, message: String },
    /// `${A:-${B:-...}}` expanded more than [`MAX_NESTING`] levels deep.
    TooDeep,
}

/// How deep `${...}` expressions may be expanded inside one another's arguments.
pub const MAX_NESTING: usize = 64;

impl InterpolationError {
    /// The problem in words; never the text it was found in (that may be a secret).
    pub fn describe(&self) -> String {
        match self {
            InterpolationError::Syntax => {
                "invalid interpolation format: a `${` does not start a valid `${VAR}` expression".to_string()
            }
            InterpolationError::Required { name, message } if message.is_empty() => {
                format!("required variable {name} is missing a value")
            }
            InterpolationError::Required { name, message } => {
                format!("required variable {name} is missing a value: {message}")
            }
            InterpolationError::TooDeep => {
                format!("`${{...}}` expressions are nested more than {MAX_NESTING} levels deep")
            }
        }
    }
}

/// Result of one substitution: the text and the names of unset variables used plainly.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Substituted {
    pub text: String,
    pub unset: Vec<String>,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Substitute every `$VAR`, `${VAR}`, `${VAR<op>arg}` and `$$` in `template`.
pub fn substitute(template: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Substituted, InterpolationError> {
    let mut out = Substituted::default();
    substitute_into(template, lookup, &mut out, 0)?;
    Ok(out)
}

/// `depth` is how many `${...}` arguments `template` lies inside.
fn substitute_into(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut Substituted,
    depth: usize,
) -> Result<(), InterpolationError> {
    let bytes = template.as_bytes();
    let mut i = 0;
    let mut literal_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        out.text.push_str(&template[literal_start..i]);
        let next = bytes.get(i + 1).copied();
        match next {
            Some(b'$') => {
                out.text.push('$');
                i += 2;
            }
            Some(c) if is_name_start(c) => {
                let mut end = i + 1;
                while end < bytes.len() && is_name_char(bytes[end]) {
                    end += 1;
                }
                let name = &template[i + 1..end];
                match lookup(name) {
                    Some(value) => out.text.push_str(&value),
                    None => out.unset.push(name.to_string()),
                }
                i = end;
            }
            Some(b'{') => {
                let close = matching_brace(bytes, i + 2).ok_or(InterpolationError::Syntax)?;
                let inner = &template[i + 2..close];
                expand_braced(inner, lookup, out, depth)?;
                i = close + 1;
            }
            _ => {
                out.text.push('$');
                i += 1;
            }
        }
        literal_start = i;
    }
    out.text.push_str(&template[literal_start..]);
    Ok(())
}

/// Index of the `}` closing a `${` whose content starts at `from`, counting nested braces.
fn matching_brace(bytes: &[u8], from: usize) -> Option<usize> {
    let mut depth = 1usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

const OPERATORS: [&str; 6] = [":?", "?", ":-", "-", ":+", "+"];

fn expand_braced(
    inner: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut Substituted,
    depth: usize,
) -> Result<(), InterpolationError> {
    // compose-go splits at the operator that occurs earliest. No operator character is a name
    // character, so for a valid name that is the operator right after the name; anywhere
    // else, the name before it is invalid either way, so there is no need to search further.
    let name_end = inner.bytes().position(|c| !is_name_char(c)).unwrap_or(inner.len());
    let op = OPERATORS.into_iter().find(|op| inner[name_end..].starts_with(op));
    let (name, op_arg) = match op {
        Some(op) => (&inner[..name_end], Some((op, &inner[name_end + op.len()..]))),
        None => (inner, None),
    };
    let nb = name.as_bytes();
    if nb.is_empty() || !is_name_start(nb[0]) || !nb.iter().all(|&c| is_name_char(c)) {
        return Err(InterpolationError::Syntax);
    }
    let value = lookup(name);
    let Some((op, arg)) = op_arg else {
        match value {
            Some(v) => out.text.push_str(&v),
            None => out.unset.push(name.to_string()),
        }
        return Ok(());
    };
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    if depth >= MAX_NESTING {
        return Err(InterpolationError::TooDeep);
    }
    let nested = |out: &mut Substituted| substitute_into(arg, lookup, out, depth + 1);
    match op {
        ":-" | "-" => {
            let use_default = if op == ":-" { !non_empty } else { !set };
            if use_default {
                nested(out)?;
            } else {
                out.text.push_str(value.as_deref().unwrap_or_default());
            }
        }
        ":?" | "?" => {
            let missing = if op == ":?" { !non_empty } else { !set };
            if missing {
                let mut message = Substituted::default();
                substitute_into(arg, lookup, &mut message, depth + 1)?;
                return Err(InterpolationError::Required { name: name.to_string(), message: message.text });
            }
            out.text.push_str(value.as_deref().unwrap_or_default());
        }
        _ => {
            let use_alt = if op == ":+" { non_empty } else { set };
            if use_alt {
                nested(out)?;
            }
        }
    }
    Ok(())
}

/// One step of a key path, borrowed from the tree: kept while walking it and formatted only
/// when a message needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// `services.web.ports[0]`: keys joined with dots, list indexes in brackets.
pub(crate) fn dotted(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// The keys whose string values compose-go casts to booleans after interpolation, before it
/// checks the schema (`loader/interpolate.go`): the schema allows only a boolean for some of
/// them (`depends_on.*.required`, `secrets.*.external`), so `required: "false"` or
/// `${REQUIRED:-false}` is valid only once cast. `*` is any key, `[]` any list index.
const BOOLEAN_CASTS: &[&[&str]] = &[
    &["services", "*", "init"],
    &["services", "*", "depends_on", "*", "required"],
    &["services", "*", "depends_on", "*", "restart"],
    &["services", "*", "healthcheck", "disable"],
    &["services", "*", "oom_kill_disable"],
    &["services", "*", "privileged"],
    &["services", "*", "read_only"],
    &["services", "*", "stdin_open"],
    &["services", "*", "tty"],
    &["services", "*", "volumes", "[]", "read_only"],
    &["services", "*", "volumes", "[]", "volume", "nocopy"],
    &["networks", "*", "external"],
    &["networks", "*", "internal"],
    &["networks", "*", "attachable"],
    &["networks", "*", "enable_ipv4"],
    &["networks", "*", "enable_ipv6"],
    &["volumes", "*", "external"],
    &["secrets", "*", "external"],
    &["configs", "*", "external"],
];

/// `text` as compose-go's `toBoolean` reads it, when `path` is one it casts.
fn boolean_cast(path: &[Step], text: &str) -> Option<bool> {
    // Most strings are none of these: one match on the last key turns them away.
    let last = match path.last() {
        Some(Step::Key(
            key @ ("init" | "required" | "restart" | "disable" | "oom_kill_disable" | "privileged" | "read_only"
            | "stdin_open" | "tty" | "nocopy" | "external" | "internal" | "attachable" | "enable_ipv4"
            | "enable_ipv6"),
        )) => *key,
        _ => return None,
    };
    let matches = |pattern: &[&str]| {
        pattern.len() == path.len()
            && pattern.iter().zip(path).all(|(p, step)| match (*p, step) {
                ("[]", Step::Index(_)) => true,
                ("*", Step::Key(_)) => true,
                (p, Step::Key(key)) => p == *key,
                _ => false,
            })
    };
    if !BOOLEAN_CASTS.iter().any(|p| p.last() == Some(&last) && matches(p)) {
        return None;
    }
    match text.to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "on" => Some(true),
        "n" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// Interpolate every string value of `node` in place (keys are never touched).
///
/// A large project's last services are walked on a second thread meanwhile.
pub fn interpolate_tree(node: &mut Node, lookup: &(dyn Fn(&str) -> Option<String> + Sync), diags: &mut Diagnostics) {
    let services = match &mut node.value {
        Value::Map(entries) => entries.iter_mut().find(|(k, _)| k.name == "services").map(|(_, v)| &mut v.value),
        _ => None,
    };
    let mut rest = match services {
        Some(Value::Map(entries)) if entries.len() >= crate::par::LARGE && !crate::par::sequential() => {
            entries.split_off(entries.len() / 2)
        }
        _ => Vec::new(),
    };
    if rest.is_empty() {
        walk(node, &mut Vec::new(), lookup, diags);
        return;
    }
    let (more, ()) = crate::par::join(
        true,
        || {
            let mut diags = Diagnostics::default();
            let mut path = vec![Step::Key("services")];
            for (key, value) in rest.iter_mut() {
                path.push(Step::Key(&key.name));
                walk(value, &mut path, lookup, &mut diags);
                path.pop();
            }
            diags
        },
        || walk(node, &mut Vec::new(), lookup, diags),
    );
    diags.0.extend(more.0);
    if let Value::Map(entries) = &mut node.value {
        if let Some((_, Node { value: Value::Map(services), .. })) =
            entries.iter_mut().find(|(k, _)| k.name == "services")
        {
            services.extend(rest);
        }
    }
}

/// `path` is the path of `node`, for messages.
fn walk<'a>(
    node: &'a mut Node,
    path: &mut Vec<Step<'a>>,
    lookup: &dyn Fn(&str) -> Option<String>,
    diags: &mut Diagnostics,
) {
    let pos = node.pos;
    match &mut node.value {
        Value::Str(s) if s.contains('$') => match substitute(s, lookup) {
            Ok(result) => {
                for name in result.unset {
                    diags.push(
                        Diagnostic::at(
                            Code::UnsetVariable,
                            pos,
                            format!("variable `{name}` is not set; `{}` uses an empty string", dotted(path)),
                        )
                        .with_help(format!(
                            "set `{name}` in the environment or in an env file (`.env` or `--env-file`), or give a default: `${{{name}:-value}}`"
                        )),
                    );
                }
                *s = result.text;
            }
            Err(err) => {
                let mut d = Diagnostic::at(Code::Interpolation, pos, format!("`{}`: {}", dotted(path), err.describe()));
                if err == InterpolationError::Syntax {
                    d = d.with_help("escape a literal `$` as `$$`");
                }
                diags.push(d);
            }
        },
        _ => {}
    }
    if let Value::Str(text) = &node.value {
        if let Some(b) = boolean_cast(path, text) {
            node.value = Value::Bool(b);
        }
    }
    match &mut node.value {
        Value::Seq(items) => {
            for (idx, item) in items.iter_mut().enumerate() {
                path.push(Step::Index(idx));
                walk(item, path, lookup, diags);
                path.pop();
            }
        }
        Value::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                path.push(Step::Key(&key.name));
                walk(value, path, lookup, diags);
                path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: foldhash::HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn operators_follow_compose() {
        let lookup = env(&[("S", "v"), ("E", "")]);
        let cases: &[(&str, &str)] = &[
            ("${S}", "v"),
            ("$S-bar", "v-bar"),
            ("$S.x", "v.x"),
            ("${U:-d}", "d"),
            ("${E:-d}", "d"),
            ("${E-d}", ""),
            ("${U-d}", "d"),
            ("${S:+a}", "a"),
            ("${E:+a}", ""),
            ("${E+a}", "a"),
            ("$$S", "$S"),
            ("$$$S", "$v"),
            ("${U-a:-b}", "a:-b"),
            ("${U:-${V:-${S}}}", "v"),
            ("${U:-{\"json\":1}}", "{\"json\":1}"),
            ("$1 a $ b $", "$1 a $ b $"),
            ("${U:-a}:${S:-b}:c", "a:v:c"),
        ];
        for (template, expected) in cases {
            assert_eq!(substitute(template, &lookup).unwrap().text, *expected, "{template}");
        }
    }

    #[test]
    fn every_boolean_cast_path_passes_the_quick_check() {
        // `boolean_cast` turns strings away by their last key before matching the table: a
        // path added to the table must be added there too.
        for pattern in BOOLEAN_CASTS {
            let path: Vec<Step> =
                pattern.iter().map(|p| if *p == "[]" { Step::Index(0) } else { Step::Key(p) }).collect();
            assert_eq!(boolean_cast(&path, "true"), Some(true), "{pattern:?}");
        }
    }

    #[test]
    fn booleans_are_cast_only_where_compose_go_casts_them() {
        let text = "services:\n  web:\n    depends_on:\n      db: {required: \"false\", restart: \"${R:-yes}\"}\n    \
                    environment: {required: \"false\"}\n    tty: \"on\"\nsecrets:\n  s: {external: \"true\"}\n";
        let mut node = crate::yaml::parse(text, 0, crate::yaml::Limits::default()).unwrap().remove(0);
        interpolate_tree(&mut node, &env(&[]), &mut Diagnostics::default());
        let web = node.get("services").and_then(|s| s.get("web")).unwrap();
        let db = web.get("depends_on").and_then(|d| d.get("db")).unwrap();
        assert_eq!(db.get("required").map(|n| &n.value), Some(&Value::Bool(false)));
        assert_eq!(db.get("restart").map(|n| &n.value), Some(&Value::Bool(true)));
        assert_eq!(web.get("tty").map(|n| &n.value), Some(&Value::Bool(true)));
        // An environment variable's value stays the string it is.
        let env_value = web.get("environment").and_then(|e| e.get("required")).unwrap();
        assert_eq!(env_value.value, Value::Str("false".into()));
        let secret = node.get("secrets").and_then(|s| s.get("s")).unwrap();
        assert_eq!(secret.get("external").map(|n| &n.value), Some(&Value::Bool(true)));
    }

    #[test]
    fn errors_and_unset_names() {
        let lookup = env(&[]);
        assert_eq!(substitute("${", &lookup), Err(InterpolationError::Syntax));
        assert_eq!(substitute("${ foo}", &lookup), Err(InterpolationError::Syntax));
        assert_eq!(substitute("${9A}", &lookup), Err(InterpolationError::Syntax));
        assert_eq!(
            substitute("${A:?need ${B:-it}}", &lookup),
            Err(InterpolationError::Required { name: "A".into(), message: "need it".into() })
        );
        assert_eq!(substitute("$A${B}", &lookup).unwrap().unset, ["A", "B"]);
        // Arguments are lazy: an unused default reports nothing.
        assert!(substitute("${A:-${B}}x", &env(&[("A", "1")])).unwrap().unset.is_empty());
        // The first character after the name decides: an operator later on does not help.
        assert_eq!(substitute("${A.B:-x}", &lookup), Err(InterpolationError::Syntax));
        assert_eq!(substitute("${A:x:-y}", &lookup), Err(InterpolationError::Syntax));
        assert_eq!(substitute("${A:}", &lookup), Err(InterpolationError::Syntax));
    }

    #[test]
    fn nested_defaults_are_expanded_up_to_the_nesting_limit() {
        let nested = |levels: usize| format!("{}x{}", "${A:-".repeat(levels), "}".repeat(levels));
        let lookup = env(&[]);
        assert_eq!(substitute(&nested(MAX_NESTING), &lookup).unwrap().text, "x");
        assert_eq!(substitute(&nested(MAX_NESTING + 1), &lookup), Err(InterpolationError::TooDeep));
        // A default that is not used is not expanded, however deep it is.
        assert_eq!(substitute(&nested(10_000), &env(&[("A", "set")])).unwrap().text, "set");
        // Required-variable messages count too.
        let message = format!("${{B:?{}}}", nested(MAX_NESTING));
        assert_eq!(substitute(&message, &lookup), Err(InterpolationError::TooDeep));
    }
}
