//! Diagnostics for people and for machines: `human` (colour when wanted), `json` (versioned,
//! documented in docs/ci.md), `github` (workflow commands that annotate the compose file in
//! a pull request), `sarif` (2.1.0, for code-scanning uploads) and `gitlab` (a Code Quality
//! report for merge requests). Machine formats never contain colour codes.

use kompile::diag::{escape_control, Code, Diagnostic, Severity, Sources};
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Github,
    Sarif,
    Gitlab,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Whether human diagnostics on stderr get colour: the flag, then `NO_COLOR`,
/// `CLICOLOR_FORCE`, `CLICOLOR=0`, `TERM=dumb`, then whether stderr is a terminal.
pub fn use_color(choice: ColorChoice, stderr_is_tty: bool) -> bool {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if var("NO_COLOR").is_some() {
                false
            } else if var("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                true
            } else if var("CLICOLOR").as_deref() == Some("0") || var("TERM").as_deref() == Some("dumb") {
                false
            } else {
                stderr_is_tty
            }
        }
    }
}

pub fn human(diagnostics: &[Diagnostic], sources: &Sources, color: bool, quiet: bool) -> String {
    let mut out = String::new();
    for d in diagnostics {
        if quiet && d.severity != Severity::Error {
            continue;
        }
        let text = d.render(sources);
        if color {
            let paint = match d.severity {
                Severity::Error => "\x1b[1;31m",
                Severity::Warning => "\x1b[1;33m",
                Severity::Info => "\x1b[1;36m",
            };
            out.push_str(&format!("{paint}{text}\x1b[0m\n"));
        } else {
            out.push_str(&text);
            out.push('\n');
        }
    }
    out
}

fn location(d: &Diagnostic, sources: &Sources) -> (Option<String>, Option<u32>, Option<u32>) {
    match d.pos {
        Some(pos) => (Some(sources.name(pos.file).to_string()), Some(pos.line), Some(pos.col)),
        None => (None, None, None),
    }
}

/// The `json` format, version 1: `{"version": 1, "diagnostics": [...], "summary": {...}}`.
pub fn json(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let items: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let (file, line, column) = location(d, sources);
            json!({
                "code": d.code.id(),
                "severity": d.severity.as_str(),
                "message": d.message,
                "help": d.help,
                "file": file,
                "line": line,
                "column": column,
            })
        })
        .collect();
    let count = |s: Severity| diagnostics.iter().filter(|d| d.severity == s).count();
    let doc = json!({
        "version": 1,
        "diagnostics": items,
        "summary": {"errors": count(Severity::Error), "warnings": count(Severity::Warning), "infos": count(Severity::Info)},
    });
    json_text(&doc)
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands, one per diagnostic.
pub fn github(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        let (file, line, col) = location(d, sources);
        if let Some(file) = file {
            props.push(format!("file={}", escape_property(&escape_control(&file))));
        }
        if let Some(line) = line {
            props.push(format!("line={line}"));
        }
        if let Some(col) = col {
            props.push(format!("col={col}"));
        }
        props.push(format!("title={}", escape_property(d.code.id())));
        // Control characters are escaped first, so the only line break is the one before
        // `help:` (which GitHub shows as a line break).
        let mut message = escape_control(&d.message).into_owned();
        if let Some(help) = &d.help {
            message.push_str(&format!("\nhelp: {}", escape_control(help)));
        }
        out.push_str(&format!("::{command} {}::{}\n", props.join(","), escape_data(&message)));
    }
    out
}

/// SARIF 2.1.0 with one rule per code that occurs.
pub fn sarif(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let used: BTreeSet<Code> = diagnostics.iter().map(|d| d.code).collect();
    let rules: Vec<Value> = used
        .iter()
        .map(|c| {
            json!({
                "id": c.id(),
                "name": c.id(),
                "shortDescription": {"text": c.title()},
                "help": {"text": format!("See docs/diagnostics.md, section {}, or run `kompile explain {}`.", c.id(), c.id())},
                "defaultConfiguration": {"level": level(c.severity())},
            })
        })
        .collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str(&format!("\nhelp: {help}"));
            }
            let mut result = json!({
                "ruleId": d.code.id(),
                "ruleIndex": used.iter().position(|c| *c == d.code),
                "level": level(d.severity),
                "message": {"text": text},
            });
            if let (Some(file), Some(line), Some(col)) = location(d, sources) {
                result["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&file)},
                        "region": {"startLine": line, "startColumn": col},
                    }
                }]);
            }
            result
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kompile",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    json_text(&doc)
}

/// A GitLab Code Quality report: a JSON array, one issue per diagnostic, with a fingerprint
/// that stays the same while the diagnostic does (GitLab compares reports by it).
pub fn gitlab(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    // A diagnostic without a position (a missing file, an empty project) is shown on the
    // first line of the first compose file read.
    let fallback = (0..)
        .map(|i| sources.name(i))
        .take_while(|name| *name != "<input>")
        .find(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
        .unwrap_or("compose.yaml")
        .to_string();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let issues: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let (file, line, col) = location(d, sources);
            let path = file.unwrap_or_else(|| fallback.clone());
            let mut description = d.message.clone();
            if let Some(help) = &d.help {
                description.push_str(&format!(" (help: {help})"));
            }
            let key = format!("{}\0{path}\0{}\0{}\0{}", d.code.id(), line.unwrap_or(0), col.unwrap_or(0), d.message);
            // Two identical diagnostics still need two fingerprints.
            let mut fingerprint = fnv1a(&key);
            while !seen.insert(fingerprint.clone()) {
                fingerprint = fnv1a(&format!("{fingerprint}{key}"));
            }
            json!({
                "description": description,
                "check_name": d.code.id(),
                "fingerprint": fingerprint,
                "severity": match d.severity {
                    Severity::Error => "major",
                    Severity::Warning => "minor",
                    Severity::Info => "info",
                },
                "location": {"path": path, "lines": {"begin": line.unwrap_or(1)}},
            })
        })
        .collect();
    json_text(&Value::Array(issues))
}

/// Pretty JSON with a final newline. serde_json escapes C0 control characters in strings; DEL
/// and C1 (such as U+009B, a one-character CSI for some terminals) are valid raw in JSON but
/// reach the terminal of whoever prints the report, so they are written as `\u007f`-style
/// escapes too: a JSON reader gets the same string. Outside strings JSON text is ASCII, so
/// every such character is inside a string.
fn json_text(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).expect("JSON values serialise");
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '\u{7f}'..='\u{9f}') {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out.push('\n');
    out
}

/// A 128-bit FNV-1a hash as 32 hex digits: stable across runs, machines and versions.
fn fnv1a(text: &str) -> String {
    let mut hash: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in text.bytes() {
        hash ^= u128::from(b);
        hash = hash.wrapping_mul(0x0000000001000000000000000000013B);
    }
    format!("{hash:032x}")
}

/// A file path as a URI reference: relative paths percent-encoded (`my app` → `my%20app`),
/// absolute ones as `file://` URIs.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if path.starts_with('/') {
        format!("file://{out}")
    } else {
        out
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sarif_uris() {
        assert_eq!(uri("my app/100%/compose.yaml"), "my%20app/100%25/compose.yaml");
        assert_eq!(uri("/abs/compose.yaml"), "file:///abs/compose.yaml");
        assert_eq!(uri("dir\\c.yaml"), "dir/c.yaml");
    }

    fn forged() -> (Vec<Diagnostic>, Sources) {
        let mut sources = Sources::default();
        let file = sources.add("compose.yaml");
        let d = Diagnostic::at(
            Code::UnknownKey,
            kompile::diag::Pos::new(file, 6, 5),
            "`services.web` has no key `\x1b[2Jx\ncompose.yaml:1:1: error[K101]: forged\x7f\u{9b}`",
        )
        .with_help("\x1b[31m");
        (vec![d], sources)
    }

    #[test]
    fn github_escapes_control_characters() {
        let (diagnostics, sources) = forged();
        let out = github(&diagnostics, &sources);
        assert_eq!(
            out,
            "::error file=compose.yaml,line=6,col=5,title=K107::`services.web` has no key \
             `\\u{1b}[2Jx\\ncompose.yaml:1:1: error[K101]: forged\\u{7f}\\u{9b}`%0Ahelp: \\u{1b}[31m\n"
        );
    }

    #[test]
    fn json_formats_escape_every_control_character_and_keep_the_text() {
        let (diagnostics, sources) = forged();
        for out in [json(&diagnostics, &sources), sarif(&diagnostics, &sources), gitlab(&diagnostics, &sources)] {
            assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out}");
            assert!(out.contains("\\u001b[2Jx\\ncompose.yaml:1:1: error[K101]: forged\\u007f\\u009b"), "{out}");
            let value: Value = serde_json::from_str(&out).unwrap();
            assert!(value.to_string().contains("forged\u{7f}\u{9b}"), "the reader gets the text back: {value}");
        }
    }

    #[test]
    fn github_escapes_data_and_properties() {
        assert_eq!(escape_data("50%\nx"), "50%25%0Ax");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
