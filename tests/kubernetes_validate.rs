//! Independent proof that every manifest kompile emits is valid Kubernetes.
//!
//! Every golden case and example (found and run exactly as `tests/golden.rs` does) that exits 0
//! with manifests on stdout is checked by `tests/support/validate.py`, which uses tools that
//! share no code with kompile, from PyPI:
//!
//! * A. the strict JSON schemas of `kubernetes-validate` (unknown fields rejected, a kind with
//!   no schema is an error) for Kubernetes 1.33 and 1.37, plus the API-server rules a schema
//!   cannot express (names, labels, selectors, container names, volume mounts, port names);
//! * B. a YAML 1.1 round trip: the case is run again with `--json` appended, and PyYAML's
//!   `yaml.safe_load_all` must read the YAML back as exactly the JSON List's items, type for
//!   type (so `"yes"` stays a string);
//! * C. a self-check that the validator rejects deliberately broken manifests, so that this
//!   test cannot pass vacuously.
//!
//! The tools live in a Python venv under the target directory (`target/kv-venv`), created on
//! first use with `python3 -m venv` and pinned versions from PyPI, and reused afterwards.
//! When it cannot be set up (no `python3`, no network), the tests print why and return, unless
//! the `CI` environment variable is set: then that is a failure.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use support::{case_args, case_dirs, run_case, Out, Scratch};

/// The Kubernetes versions whose schemas every manifest must satisfy.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.33", "1.37"];

/// Installed into the venv. `validate.py` imports all four directly.
const REQUIREMENTS: [&str; 4] =
    ["kubernetes-validate==1.37.0", "PyYAML==6.0.3", "jsonschema==4.26.0", "referencing==0.37.0"];

/// Fewest output files the golden run must validate (guards against discovering nothing).
const MIN_FILES: u64 = 20;

// ---------------------------------------------------------------------------------------------
// The golden cases, discovered and run as tests/golden.rs does.

/// `cases__ports-udp`, `examples__fastapi`: unique across both case folders.
fn case_name(dir: &Path) -> String {
    let parent = dir.parent().and_then(Path::file_name).unwrap().to_string_lossy();
    format!("{parent}__{}", dir.file_name().unwrap().to_string_lossy())
}

fn is_json_flag(arg: &str) -> bool {
    arg == "--json" || arg == "-j"
}

// ---------------------------------------------------------------------------------------------
// The Python venv with the independent tools.

/// The venv's interpreter; `None` (with a message on stderr) when it cannot be set up and
/// `CI` is unset. With `CI` set, a setup problem fails the test.
fn python_or_skip(test: &str) -> Option<PathBuf> {
    support::python_or_skip(test, "kv-venv", &REQUIREMENTS)
}

// ---------------------------------------------------------------------------------------------
// Running the validator.

/// A fresh scratch directory under the target's tmp dir, kept when the test fails.
fn scratch_dir(tag: &str) -> Scratch {
    let scratch = Scratch::in_target_tmp(tag, true);
    std::fs::create_dir_all(scratch.path("manifests")).unwrap();
    std::fs::create_dir_all(scratch.path("roundtrip")).unwrap();
    scratch
}

fn spawn_validator(python: &Path, version: &str, scratch: &Path, roundtrip: bool) -> Child {
    let script = support::root().join("tests/support/validate.py");
    let mut cmd = Command::new(python);
    // -I: ignore PYTHON* variables and the user's site-packages; -B: write no .pyc into tests/.
    cmd.args(["-I", "-B"]).arg(script).args(["--kube-version", version]);
    cmd.arg("--manifests").arg(scratch.join("manifests"));
    if roundtrip {
        cmd.arg("--roundtrip").arg(scratch.join("roundtrip"));
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().expect("the venv's python starts")
}

struct Report {
    version: String,
    code: i32,
    /// The `ERROR ...` lines.
    errors: Vec<String>,
    summary: Value,
    output: String,
}

/// One validator process per Kubernetes version, all at once; the round trip runs in the last.
fn validate_all(python: &Path, scratch: &Path) -> Vec<Report> {
    let children: Vec<(&str, Child)> = KUBERNETES_VERSIONS
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, spawn_validator(python, v, scratch, i + 1 == KUBERNETES_VERSIONS.len())))
        .collect();
    children
        .into_iter()
        .map(|(version, child)| {
            let out = child.wait_with_output().expect("the validator runs");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let code = out.status.code().unwrap_or(-1);
            let summary = stdout
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("SUMMARY "))
                .and_then(|s| serde_json::from_str(s).ok());
            let Some(summary) = summary else {
                panic!("validate.py for Kubernetes {version} crashed (exit {code}):\n{stdout}\n{stderr}")
            };
            assert!(code == 0 || code == 1, "validate.py for Kubernetes {version}: exit {code}\n{stdout}\n{stderr}");
            let errors = stdout.lines().filter(|l| l.starts_with("ERROR ")).map(String::from).collect();
            Report { version: version.to_string(), code, errors, summary, output: format!("{stdout}{stderr}") }
        })
        .collect()
}

fn count(summary: &Value, key: &str) -> u64 {
    summary[key].as_u64().unwrap_or_else(|| panic!("SUMMARY has no count {key}: {summary}"))
}

fn names(summary: &Value, key: &str) -> Vec<String> {
    summary[key].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect()
}

// ---------------------------------------------------------------------------------------------
// A and B: the golden outputs.

#[test]
fn every_golden_output_is_valid_kubernetes_and_reads_back_as_yaml_1_1() {
    let Some(python) = python_or_skip("every_golden_output_is_valid_kubernetes_and_reads_back_as_yaml_1_1") else {
        return;
    };
    let started = std::time::Instant::now();
    let scratch = scratch_dir("golden");
    let (mut files, mut pairs) = (0u64, 0u64);
    let mut problems = Vec::new();
    for dir in case_dirs() {
        let name = case_name(&dir);
        let args = case_args(&dir);
        let run = Out::lossy(run_case(&dir, &args));
        assert!(!run.stderr.contains("panicked"), "{name}: kompile panicked:\n{}", run.stderr);
        // Manifests on stdout: a successful `convert` that printed something (`-o FILE` prints
        // nothing, `--check` prints diffs, other subcommands print no manifests).
        let converts = args.iter().any(|a| a == "convert")
            && !args.iter().any(|a| ["--check", "--help", "-h"].contains(&a.as_str()));
        if run.code != 0 || !converts || run.stdout.trim().is_empty() {
            continue;
        }
        let json = args.iter().any(|a| is_json_flag(a));
        let ext = if json { "json" } else { "yaml" };
        std::fs::write(scratch.path("manifests").join(format!("{name}.{ext}")), &run.stdout).unwrap();
        files += 1;
        if json {
            continue; // B compares the YAML with a --json run: nothing to compare here
        }
        let mut json_args = args.clone();
        json_args.push("--json".into());
        let json_run = Out::lossy(run_case(&dir, &json_args));
        if json_run.code != 0 || json_run.stdout.trim().is_empty() {
            problems.push(format!(
                "{name}: `kompile {}` exited {} with no JSON on stdout:\n{}",
                json_args.join(" "),
                json_run.code,
                json_run.stderr
            ));
            continue;
        }
        let roundtrip = scratch.path("roundtrip");
        std::fs::write(roundtrip.join(format!("{name}.yaml")), &run.stdout).unwrap();
        std::fs::write(roundtrip.join(format!("{name}.json")), &json_run.stdout).unwrap();
        pairs += 1;
    }
    assert!(files >= MIN_FILES, "only {files} golden outputs to validate; expected at least {MIN_FILES}");

    let reports = validate_all(&python, &scratch.dir);
    let mut failures: Vec<String> = problems;
    for r in &reports {
        let (seen, resources) = (count(&r.summary, "files"), count(&r.summary, "resources"));
        eprintln!(
            "kubernetes_validate: Kubernetes {}: {seen} files, {resources} objects checked (strict schemas{}); \
             {} invalid",
            r.version,
            if count(&r.summary, "roundtrip_pairs") > 0 { ", YAML 1.1 round trip" } else { "" },
            r.errors.len()
        );
        assert_eq!(seen, files, "Kubernetes {}: the validator saw {seen} of {files} files", r.version);
        assert!(resources >= files, "Kubernetes {}: only {resources} objects in {files} files", r.version);
        failures.extend(r.errors.iter().cloned());
        assert_eq!(r.code == 0, r.errors.is_empty(), "Kubernetes {}: exit {} but\n{}", r.version, r.code, r.output);
    }
    let last = reports.last().unwrap();
    assert_eq!(count(&last.summary, "roundtrip_pairs"), pairs, "round-trip pairs seen by the validator");
    assert!(pairs >= MIN_FILES, "only {pairs} YAML/JSON pairs to compare; expected at least {MIN_FILES}");
    eprintln!("kubernetes_validate: {files} outputs, {pairs} YAML/JSON pairs, {:.1}s", started.elapsed().as_secs_f64());
    assert!(
        failures.is_empty(),
        "kompile emitted manifests that Kubernetes would reject (files kept in {}):\n{}",
        scratch.dir.display(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// C: the validator itself rejects what it must, and accepts what it must.

const VALID: &str = r#"---
apiVersion: v1
kind: Service
metadata:
  labels:
    io.kompose.service: web
  name: web
spec:
  ports:
    - name: http
      port: 80
      targetPort: 8080
    - name: "443"
      port: 443
  selector:
    io.kompose.service: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    io.kompose.service: web
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      io.kompose.service: web
  template:
    metadata:
      labels:
        io.kompose.network/default: "true"
        io.kompose.service: web
    spec:
      containers:
        - env:
            - name: ENABLED
              value: "yes"
          image: nginx:1.27
          name: web
          volumeMounts:
            - mountPath: /data
              name: data
      volumes:
        - emptyDir: {}
          name: data
"#;

/// Each object breaks one rule; `EXPECTED` lists the message each must produce.
const INVALID: &str = r#"---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: unknown-field
spec:
  replicass: 2
  selector:
    matchLabels:
      app: x
  template:
    metadata:
      labels:
        app: x
    spec:
      containers:
        - image: nginx
          name: web
---
apiVersion: v1
kind: Service
metadata:
  name: a_b
spec:
  ports:
    - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: wrong-types
spec:
  replicas: "3"
  selector:
    matchLabels:
      app: x
  template:
    metadata:
      labels:
        app: x
    spec:
      containers:
        - image: nginx
          name: web
          env:
            - name: ENABLED
              value: yes
---
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    tier: -bad-
  name: pod-rules
spec:
  selector:
    matchLabels:
      app: x
  template:
    metadata:
      labels:
        app: y
    spec:
      containers:
        - image: nginx
          name: Web_1
          volumeMounts:
            - mountPath: /data
              name: missing
        - image: nginx
          name: twin
        - image: nginx
          name: twin
---
apiVersion: v1
kind: Service
metadata:
  name: ports
spec:
  ports:
    - port: 80
    - port: 81
    - name: dup
      port: 82
    - name: dup
      port: 83
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: dup-key
  name: dup-key-again
"#;

/// (file, Kubernetes versions ("" = all), text the ERROR line must contain).
const EXPECTED: &[(&str, &str, &str)] = &[
    ("invalid.yaml", "", "Deployment/unknown-field [schema"),
    ("invalid.yaml", "", "'replicass' was unexpected"),
    ("invalid.yaml", "", "'a_b' is not a DNS-1035 label"),
    ("invalid.yaml", "", "spec.replicas: '3' is not of type 'integer'"),
    ("invalid.yaml", "", "env.0.value: True is not of type 'string'"),
    ("invalid.yaml", "", "invalid value '-bad-' of label 'tier'"),
    ("invalid.yaml", "", "`selector` does not match template `labels`"),
    ("invalid.yaml", "", "'Web_1' is not a DNS-1123 label"),
    ("invalid.yaml", "", "duplicate container name 'twin'"),
    ("invalid.yaml", "", "no pod volume named 'missing'"),
    ("invalid.yaml", "", "spec.ports.0.name: required when a Service has more than one port"),
    ("invalid.yaml", "", "duplicate port name 'dup'"),
    ("invalid.yaml", "", "duplicate key 'name'"),
    ("no-schema.yaml", "", "no schema for kind 'Frobnicator' with apiVersion 'v1'"),
    ("no-schema.yaml", "", "no schema for kind 'Deployment' with apiVersion 'extensions/v1beta1'"),
    // A field that only exists in newer schemas: validation is per version, not "latest".
    ("too-new.yaml", "1.33", "'hostnameOverride' was unexpected"),
    ("bad", "1.37", "[YAML 1.1 round trip] [0].data.flag: YAML gives bool True, JSON gives str 'yes'"),
    ("bad", "1.37", "[YAML 1.1 round trip] [0].data.mode: YAML gives int 493, JSON gives str '0755'"),
];

#[test]
fn the_validator_rejects_invalid_manifests() {
    let Some(python) = python_or_skip("the_validator_rejects_invalid_manifests") else { return };
    let scratch = scratch_dir("selfcheck");
    let write = |sub: &str, name: &str, text: &str| std::fs::write(scratch.dir.join(sub).join(name), text).unwrap();
    write("manifests", "valid.yaml", VALID);
    write("manifests", "invalid.yaml", INVALID);
    write(
        "manifests",
        "no-schema.yaml",
        "apiVersion: v1\nkind: Frobnicator\nmetadata:\n  name: x\n---\n\
         apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: x\n",
    );
    // PodSpec.hostnameOverride is new in Kubernetes 1.34: 1.33's schema must reject it.
    let too_new =
        VALID.replace("    spec:\n      containers:", "    spec:\n      hostnameOverride: web\n      containers:");
    assert_ne!(too_new, VALID);
    write("manifests", "too-new.yaml", &too_new);
    let list = |items: &str| format!(r#"{{"apiVersion": "v1", "kind": "List", "items": [{items}]}}"#);
    let cm = |data: &str| {
        format!(r#"{{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {{"name": "c"}}, "data": {data}}}"#)
    };
    write(
        "roundtrip",
        "good.yaml",
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  flag: \"yes\"\n  mode: \"0755\"\n",
    );
    write("roundtrip", "good.json", &list(&cm(r#"{"flag": "yes", "mode": "0755"}"#)));
    write(
        "roundtrip",
        "bad.yaml",
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  flag: yes\n  mode: 0755\n",
    );
    write("roundtrip", "bad.json", &list(&cm(r#"{"flag": "yes", "mode": "0755"}"#)));

    for r in validate_all(&python, &scratch.dir) {
        let v = &r.version;
        assert_eq!(r.code, 1, "Kubernetes {v}: the validator must fail on the broken manifests:\n{}", r.output);
        for (file, only, text) in EXPECTED {
            if only.is_empty() || only == v {
                let hit = r.errors.iter().any(|l| l.starts_with(&format!("ERROR {file}")) && l.contains(text));
                assert!(hit, "Kubernetes {v}: no error containing {text:?} for {file}:\n{}", r.output);
            }
        }
        let mut invalid = vec!["invalid.yaml", "no-schema.yaml"];
        if v == "1.33" {
            invalid.push("too-new.yaml");
        }
        assert_eq!(names(&r.summary, "invalid_files"), invalid, "Kubernetes {v}:\n{}", r.output);
        if v == KUBERNETES_VERSIONS.last().unwrap() {
            assert_eq!(names(&r.summary, "roundtrip_failures"), ["bad"], "Kubernetes {v}:\n{}", r.output);
        }
    }
}
