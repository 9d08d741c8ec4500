//! The YAML writer: a JSON value (a serialised Kubernetes object) in, YAML text out.
//!
//! Written for two readers at once: YAML 1.2 (the API server's sigs.k8s.io/yaml) and
//! YAML 1.1 (kubectl's older go-yaml, PyYAML). Any string either of them could read as
//! something else (`yes`, `on`, `y`, `0755`, `12:30`, `1_000`, `.inf`, `2001-12-14`, `=`,
//! `<<`, ...) is quoted. Keys are sorted (`apiVersion`, `kind`, `metadata` first at the top),
//! so output is byte-stable whatever order the objects were built in. Sequences are indented
//! under their key, as Kompose writes them.

use crate::value::{Key, Map, Value};
use std::fmt::Write as _;

/// Write one object as a YAML document (no `---`), `indent` spaces per level.
pub fn to_yaml(value: &Value, indent: usize) -> String {
    let mut out = String::new();
    write_yaml(&mut out, value, indent);
    out
}

/// [`to_yaml`], appending to `out`.
pub fn write_yaml(out: &mut String, value: &Value, indent: usize) {
    let indent = indent.max(1);
    match value {
        Value::Object(map) if !map.is_empty() => emit_map(out, map, 0, false, indent, true),
        Value::Array(items) if !items.is_empty() => emit_seq(out, items, 0, false, indent),
        scalar => {
            emit_scalar(out, scalar, 0);
            out.push('\n');
        }
    }
}

const TOP_FIRST: [&str; 3] = ["apiVersion", "kind", "metadata"];

fn pad(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > SPACES.len() {
        out.push_str(SPACES);
        n -= SPACES.len();
    }
    out.push_str(&SPACES[..n]);
}

fn emit_map(out: &mut String, map: &Map, col: usize, first_inline: bool, indent: usize, top: bool) {
    // Maps are sorted by key; at the top of a document `apiVersion`, `kind` and `metadata`
    // come first.
    let mut first = true;
    let mut entry = |out: &mut String, key: &Key, value: &Value| {
        if !first || !first_inline {
            pad(out, col);
        }
        first = false;
        emit_string(out, key, col, true);
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push_str(":\n");
                emit_map(out, inner, col + indent, false, indent, false);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push_str(":\n");
                emit_seq(out, items, col + indent, false, indent);
            }
            scalar => {
                out.push_str(": ");
                emit_scalar(out, scalar, col + indent);
                out.push('\n');
            }
        }
    };
    if top {
        for first in TOP_FIRST {
            if let Some((key, value)) = map.entries().iter().find(|(k, _)| k == first) {
                entry(out, key, value);
            }
        }
        for (key, value) in map.entries().iter().filter(|(k, _)| !TOP_FIRST.contains(&k.as_ref())) {
            entry(out, key, value);
        }
    } else {
        for (key, value) in map.entries() {
            entry(out, key, value);
        }
    }
}

fn emit_seq(out: &mut String, items: &[Value], col: usize, first_inline: bool, indent: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !first_inline {
            pad(out, col);
        }
        out.push_str("- ");
        match item {
            Value::Object(inner) if !inner.is_empty() => emit_map(out, inner, col + 2, true, indent, false),
            Value::Array(inner) if !inner.is_empty() => emit_seq(out, inner, col + 2, true, indent),
            scalar => {
                emit_scalar(out, scalar, col + 2);
                out.push('\n');
            }
        }
    }
}

/// A scalar (or an empty collection) on the current line; block scalars continue on the
/// following lines at `content_col`.
fn emit_scalar(out: &mut String, value: &Value, content_col: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        // Written as JSON writes it (`1.0`, `1e+20`), which YAML reads as the same float.
        Value::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => {
                let _ = write!(out, "{n}");
            }
            None => out.push_str("null"),
        },
        Value::String(s) => emit_string(out, s, content_col, false),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

fn emit_string(out: &mut String, s: &str, content_col: usize, is_key: bool) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if !is_key && literal_block_ok(s) {
        let body = s.trim_end_matches('\n');
        let trailing = s.len() - body.len();
        out.push_str(match trailing {
            0 => "|-",
            1 => "|",
            _ => "|+",
        });
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                pad(out, content_col);
                out.push_str(line);
            }
        }
        for _ in 1..trailing {
            out.push('\n');
        }
    } else {
        double_quoted(out, s);
    }
}

fn double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let code = c as u32;
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02X}"));
                } else if code <= 0xffff {
                    out.push_str(&format!("\\u{code:04X}"));
                } else {
                    out.push_str(&format!("\\U{code:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// A multi-line string that a literal block (`|`) reproduces exactly.
fn literal_block_ok(s: &str) -> bool {
    s.contains('\n')
        && !s.chars().any(|c| c != '\n' && c != '\t' && needs_escape(c))
        && !s.starts_with([' ', '\t', '\n'])
        && s.trim_end_matches('\n')
            .split('\n')
            .all(|line| line.is_empty() || (!line.ends_with([' ', '\t']) && !line.trim().is_empty()))
        && !s.trim_end_matches('\n').is_empty()
}

/// Words a YAML 1.1 or 1.2 reader takes for a boolean, a null or a merge key.
fn is_yaml11_word(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | "null"
            | "Null"
            | "NULL"
            | "~"
            | "="
            | "<<"
    )
}

/// Whether `s` can be written without quotes and still be read back as this exact string by
/// both YAML 1.1 and YAML 1.2 readers. Conservative: when in doubt, quote.
pub fn is_plain_safe(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    if b.len() <= 5 && is_yaml11_word(s) {
        return false;
    }
    // The common case, names and paths: a letter, then letters, digits and `-_./`. No
    // indicator, no number, no date, no comment or mapping can be written that way.
    if first.is_ascii_alphabetic()
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/'))
    {
        return true;
    }
    if b"-?:,[]{}#&*!|>'\"%@` \t\n\r\x0b\x0c".contains(&first) || b" \t\n\r\x0b\x0c:".contains(&last) {
        return false;
    }
    if looks_like_number_or_date(s) {
        return false;
    }
    // One pass: `: ` and ` #` would start a mapping or a comment, and ASCII control
    // characters (tab and newline included) need escapes.
    let mut previous = 0u8;
    let mut ascii = true;
    for &c in b {
        if c < 0x20 || c == 0x7f || (previous == b':' && c == b' ') || (previous == b' ' && c == b'#') {
            return false;
        }
        ascii &= c < 0x80;
        previous = c;
    }
    // Outside ASCII: no other white space at either end, no escapes needed.
    ascii
        || !(s.starts_with(char::is_whitespace)
            || s.ends_with(char::is_whitespace)
            || s.chars().any(|c| needs_escape(c) || c == '\t' || c == '\n'))
}

/// Whether a YAML 1.1 or 1.2 reader could take `s` for a number, a base-60 number or a
/// timestamp. Conservative: any string made only of digits, `_`, `.` and `:` counts.
fn looks_like_number_or_date(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let b = body.as_bytes();
    // Most strings start with a letter that no number, date or special float starts with.
    match b.first() {
        None => return false,
        Some(c) if !(c.is_ascii_digit() || *c == b'.') => return false,
        _ => {}
    }
    if body.eq_ignore_ascii_case(".inf") || body.eq_ignore_ascii_case(".nan") {
        return true;
    }
    let is = |set: &[u8], text: &[u8]| !text.is_empty() && text.iter().all(|c| set.contains(&c.to_ascii_lowercase()));
    if b.len() > 2 && b[0] == b'0' {
        match b[1].to_ascii_lowercase() {
            b'x' => return is(b"0123456789abcdef_", &b[2..]),
            b'o' => return is(b"01234567_", &b[2..]),
            b'b' => return is(b"01_", &b[2..]),
            _ => {}
        }
    }
    if b.iter().any(u8::is_ascii_digit) && is(b"0123456789_.:", b) {
        return true;
    }
    // Exponent forms: `1e3`, `1.5E-2`.
    if let Some(e) = b.iter().position(|c| c.eq_ignore_ascii_case(&b'e')) {
        let (mantissa, exponent) = (&b[..e], &b[e + 1..]);
        let exponent = exponent.strip_prefix(b"+").or_else(|| exponent.strip_prefix(b"-")).unwrap_or(exponent);
        if mantissa.iter().any(u8::is_ascii_digit) && is(b"0123456789_.", mantissa) && is(b"0123456789", exponent) {
            return true;
        }
    }
    // Timestamps: `2001-12-14`, `2001-12-14t21:59:43.10-05:00`.
    b.len() >= 8
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5].is_ascii_digit()
        && (b[6] == b'-' || (b[6].is_ascii_digit() && b[7] == b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_yaml(doc: &serde_json::Value, indent: usize) -> String {
        super::to_yaml(&Value::from_serialize(doc).unwrap(), indent)
    }

    macro_rules! json {
        ($($t:tt)*) => { serde_json::json!($($t)*) };
    }

    #[test]
    fn yaml11_lookalikes_are_quoted() {
        for s in [
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            "Y",
            "NO",
            "~",
            "null",
            "true",
            "0755",
            "08",
            "12:30",
            "1_000",
            "1e3",
            ".inf",
            "-",
            "- x",
            "a: b",
            "#c",
            "",
            " lead",
            "0x1F",
            "+1",
            ".5",
            "=",
            "<<",
            "2001-12-14",
            "trail ",
            "a #b",
            "x:",
            "1:30:00",
            "190:20:30",
            "1.2.3",
            "6379",
            "2001-12-14t21:59:43.10-05:00",
            "1E+3",
        ] {
            assert!(!is_plain_safe(s), "{s:?} must be quoted");
        }
        for s in [
            "nginx:1.25",
            "web",
            "a-b_c",
            "http://x/y",
            "/bin/sh",
            "yesterday",
            "n1",
            "a:b",
            "100Mi",
            "500m",
            "1.25-alpine",
            "3rd",
        ] {
            assert!(is_plain_safe(s), "{s:?} can be plain");
        }
    }

    #[test]
    fn top_level_keys_come_first_then_sorted() {
        let doc = json!({"spec": {"b": 1, "a": [1, 2]}, "metadata": {"name": "x"}, "kind": "K", "apiVersion": "v1", "data": {"k": "v"}});
        assert_eq!(
            to_yaml(&doc, 2),
            "apiVersion: v1\nkind: K\nmetadata:\n  name: x\ndata:\n  k: v\nspec:\n  a:\n    - 1\n    - 2\n  b: 1\n"
        );
    }

    #[test]
    fn sequences_of_maps_and_empty_collections() {
        let doc = json!({"c": [{"name": "a", "args": ["x", "yes"]}, {"emptyDir": {}, "name": "b"}], "e": []});
        assert_eq!(
            to_yaml(&doc, 2),
            "c:\n  - args:\n      - x\n      - \"yes\"\n    name: a\n  - emptyDir: {}\n    name: b\ne: []\n"
        );
    }

    #[test]
    fn multi_line_strings_use_literal_blocks() {
        let doc = json!({"a": "line1\nline2\n", "b": "x\ny", "c": "x\n\n", "d": " lead\nx", "e": "p\n\nq\n"});
        assert_eq!(
            to_yaml(&doc, 2),
            "a: |\n  line1\n  line2\nb: |-\n  x\n  y\nc: |+\n  x\n\nd: \" lead\\nx\"\ne: |\n  p\n\n  q\n"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let doc = json!({"a": "bell\u{7}", "b": "tab\there"});
        assert_eq!(to_yaml(&doc, 2), "a: \"bell\\x07\"\nb: \"tab\\there\"\n");
    }
}
