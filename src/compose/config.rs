//! `kompile config`: the resolved project in canonical long syntax, in the shape of
//! `docker compose config --format json`: environment as a map with env files folded in,
//! ports and volumes in long form, durations as Go duration strings, byte sizes as numbers,
//! command and entrypoint as lists, device request counts as numbers (-1 for `all`), paths
//! absolute, resource names filled in. Values of variables whose names look secret are
//! masked unless asked for.

use super::model::{HealthTest, Service};
use super::{volumes::MountType, Resolved};
use crate::yaml::{Node, Value};
use serde_json::{json, Map, Value as Json};
use std::path::Path;

/// Service names as `docker compose config --services` lists them: by name, each after the
/// services it depends on.
pub fn service_order(project: &super::Project) -> Vec<String> {
    let mut names: Vec<&str> = project.services.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    let deps = |name: &str| -> Vec<String> {
        let mut d: Vec<String> = project
            .services
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.depends_on.iter().map(|d| d.value.clone()).collect())
            .unwrap_or_default();
        d.sort();
        d
    };
    let mut out: Vec<String> = Vec::new();
    let mut visiting: Vec<String> = Vec::new();
    fn visit(
        name: &str,
        deps: &dyn Fn(&str) -> Vec<String>,
        out: &mut Vec<String>,
        visiting: &mut Vec<String>,
        known: &[&str],
    ) {
        if out.iter().any(|o| o == name) || visiting.iter().any(|v| v == name) || !known.contains(&name) {
            return;
        }
        visiting.push(name.to_string());
        for dep in deps(name) {
            visit(&dep, deps, out, visiting, known);
        }
        visiting.pop();
        out.push(name.to_string());
    }
    for name in &names {
        visit(name, &deps, &mut out, &mut visiting, &names);
    }
    out
}

/// Escape `$` as `$$` in every string, so the printed project loads back unchanged.
fn escape_dollars(value: &mut Json) {
    match value {
        Json::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Json::Array(items) => items.iter_mut().for_each(escape_dollars),
        Json::Object(map) => map.values_mut().for_each(escape_dollars),
        _ => {}
    }
}

/// Whether an environment variable's name suggests it holds a secret.
pub fn looks_secret(name: &str) -> bool {
    const WORDS: [&[u8]; 9] = [
        b"PASSWORD",
        b"PASSWD",
        b"SECRET",
        b"TOKEN",
        b"PRIVATE_KEY",
        b"API_KEY",
        b"APIKEY",
        b"ACCESS_KEY",
        b"CREDENTIAL",
    ];
    // This runs for every environment variable of every service: one pass over the name,
    // comparing words only where one could start.
    let b = name.as_bytes();
    let at = |i: usize, w: &[u8]| b.len() - i >= w.len() && b[i..i + w.len()].eq_ignore_ascii_case(w);
    let ends = |w: &[u8]| b.len() >= w.len() && at(b.len() - w.len(), w);
    // `POSTGRES_PASSWORD_FILE=/run/secrets/db`: the name of a file holding the secret (the
    // convention of Docker's official images), not the secret.
    if ends(b"_FILE") || ends(b"_PATH") || ends(b"_DIR") {
        return false;
    }
    // `IDP_TOKEN_ENDPOINT`, `AWS_CREDENTIALS_PROVIDER`, `JWT_REFRESH_TOKEN_ENABLED`: settings
    // about a secret, not the secret.
    const ABOUT: [&[u8]; 16] = [
        b"_ENDPOINT",
        b"_URL",
        b"_URI",
        b"_ENABLED",
        b"_ENABLE",
        b"_PROVIDER",
        b"_PROVIDERS",
        b"_SOURCE",
        b"_LOCATION",
        b"_SERVERS",
        b"_TYPE",
        b"_MODE",
        b"_TTL",
        b"_EXPIRY",
        b"_LIFETIME",
        b"_TIMEOUT",
    ];
    if ABOUT.iter().any(|w| ends(w)) {
        return false;
    }
    (0..b.len()).any(|i| {
        let first = b[i].to_ascii_uppercase();
        matches!(first, b'P' | b'S' | b'T' | b'A' | b'C') && WORDS.iter().any(|w| w[0] == first && at(i, w))
    }) || ends(b"_KEY")
        || ends(b"_PASS")
        || ends(b"_PWD")
}

pub const MASK: &str = "********";

/// Where the password of a URL with credentials (`postgres://app:s3cret@db/app`) is in
/// `value`: the byte range of `s3cret`. Any variable may hold one, whatever its name
/// (`DATABASE_URL`, `CELERY_BROKER`). A password written as a variable reference left
/// for the container (`$DB_PASSWORD`) is not one.
pub fn url_password(value: &str) -> Option<std::ops::Range<usize>> {
    let scheme_end = value.find("://")?;
    let scheme = &value[..scheme_end];
    let scheme_ok = scheme.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return None;
    }
    let start = scheme_end + 3;
    let rest = &value[start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    let colon = userinfo.find(':')?;
    let password = &userinfo[colon + 1..];
    (!password.is_empty() && !password.starts_with('$')).then(|| start + colon + 1..start + colon + 1 + password.len())
}

/// `value` with its URL password, if any, replaced by [`MASK`].
pub fn mask_url_password(value: &str) -> Option<String> {
    let range = url_password(value)?;
    Some(format!("{}{MASK}{}", &value[..range.start], &value[range.end..]))
}

/// Go's `time.Duration.String()`.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, scale) = if u < 1_000 {
            ("ns", 1u64)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&fraction(u, scale));
        out.push_str(unit);
    } else {
        let hours = u / 3_600_000_000_000;
        let minutes = (u / 60_000_000_000) % 60;
        let secs = u % 60_000_000_000;
        if hours > 0 {
            out.push_str(&format!("{hours}h"));
        }
        if hours > 0 || minutes > 0 {
            out.push_str(&format!("{minutes}m"));
        }
        out.push_str(&fraction(secs, 1_000_000_000));
        out.push('s');
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

fn fraction(value: u64, scale: u64) -> String {
    let whole = value / scale;
    let rest = value % scale;
    if rest == 0 {
        return whole.to_string();
    }
    let digits = scale.to_string().len() - 1;
    let frac = format!("{rest:0digits$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// A YAML node as JSON, tags dropped.
pub fn to_json(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Float(f) if f.is_finite() => json!(f),
        Value::Float(f) => json!(crate::yaml::format_float(*f)),
        Value::Str(s) => json!(s),
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(entries.iter().map(|(k, v)| (k.name.clone(), to_json(v))).collect()),
    }
}

fn absolute(dir: &Path, path: &str) -> String {
    if Path::new(path).is_absolute() {
        return path.to_string();
    }
    super::display_path(&dir.join(path))
}

/// Sizes as compose-go writes its byte counts (a string of the number of bytes), and strings
/// where compose-go holds a list of strings.
fn canonical_sizes_and_lists(service: &mut Map<String, Json>) {
    fn bytes(value: &mut Json) {
        let text = match value {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            _ => return,
        };
        if let Ok(n) = super::parse_bytes(&text) {
            *value = json!(n.to_string());
        }
    }
    fn at<'m>(map: &'m mut Map<String, Json>, path: &[&str]) -> Option<&'m mut Json> {
        let (last, parents) = path.split_last()?;
        let parent = parents.iter().try_fold(map, |m, key| m.get_mut(*key).and_then(Json::as_object_mut))?;
        parent.get_mut(*last)
    }
    for path in [
        &["mem_limit"][..],
        &["mem_reservation"],
        &["memswap_limit"],
        &["mem_swappiness"],
        &["shm_size"],
        &["build", "shm_size"],
        &["deploy", "resources", "limits", "memory"],
        &["deploy", "resources", "reservations", "memory"],
    ] {
        if let Some(value) = at(service, path) {
            bytes(value);
        }
    }
    for volume in service.get_mut("volumes").and_then(Json::as_array_mut).into_iter().flatten() {
        if let Some(size) = volume.get_mut("tmpfs").and_then(|t| t.get_mut("size")) {
            bytes(size);
        }
    }
    if let Some(blkio) = service.get_mut("blkio_config").and_then(Json::as_object_mut) {
        for (key, list) in blkio.iter_mut() {
            if key.ends_with("_bps") {
                for rate in list.as_array_mut().into_iter().flatten().filter_map(|d| d.get_mut("rate")) {
                    bytes(rate);
                }
            }
        }
    }
    // Numbers compose-go casts strings to.
    for key in ["cpu_count", "cpu_period", "cpu_quota", "cpu_shares", "oom_score_adj", "pids_limit", "scale"] {
        if let Some(value) = service.get_mut(key) {
            if let Some(n) = value.as_str().and_then(|t| t.parse::<i64>().ok()) {
                *value = json!(n);
            }
        }
    }
    for key in ["cpu_percent", "cpus"] {
        if let Some(value) = service.get_mut(key) {
            if let Some(n) = value.as_str().and_then(|t| t.parse::<f64>().ok()).filter(|n| n.is_finite()) {
                *value = json!(n);
            }
        }
    }
    for key in ["dns", "dns_search", "tmpfs"] {
        if let Some(value) = service.get_mut(key).filter(|v| v.is_string()) {
            *value = Json::Array(vec![value.take()]);
        }
    }
}

/// A list of `key=value` (or a bare `key`, which has no value) as the mapping of strings
/// compose-go holds; in a mapping, numbers and booleans become strings.
fn list_to_mapping(value: &mut Json) {
    if let Json::Object(mapping) = value {
        for v in mapping.values_mut() {
            if matches!(v, Json::Number(_) | Json::Bool(_)) {
                *v = json!(v.to_string());
            }
        }
        return;
    }
    let Json::Array(items) = value else { return };
    let mut mapping = Map::new();
    for item in items.iter() {
        let text = match item {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        match text.split_once('=') {
            Some((k, v)) => mapping.insert(k.to_string(), json!(v)),
            None => mapping.insert(text, Json::Null),
        };
    }
    *value = Json::Object(mapping);
}

/// Device request counts as compose-go holds them: numbers, with -1 for `all`.
fn canonical_device_requests(requests: &mut Json) {
    let Json::Array(items) = requests else { return };
    for item in items.iter_mut().filter_map(Json::as_object_mut) {
        let count = match item.get("count") {
            Some(Json::String(text)) if text.eq_ignore_ascii_case("all") => Some(json!(-1)),
            Some(Json::String(text)) => text.parse::<i64>().ok().map(|n| json!(n)),
            None if !item.contains_key("device_ids") => Some(json!(-1)),
            _ => None,
        };
        if let Some(count) = count {
            item.insert("count".into(), count);
        }
    }
}

/// The canonical project.
pub fn canonical(resolved: &Resolved, project_dir: &Path, show_secrets: bool, interpolated: bool) -> Json {
    let project = &resolved.project;
    let tree = &resolved.tree;
    let mut out = Map::new();
    out.insert("name".into(), json!(project.name));
    let mut services = Map::new();
    let mut uses_default_network = false;
    for service in &project.services {
        let node = tree.get("services").and_then(|s| s.get(&service.name));
        let mut map = match node.map(to_json) {
            Some(Json::Object(m)) => m,
            _ => Map::new(),
        };
        canonical_service(&mut map, service, node, project_dir, show_secrets);
        if map.get("networks").and_then(|n| n.get("default")).is_some() {
            uses_default_network = true;
        }
        services.insert(service.name.clone(), Json::Object(map));
    }
    out.insert("services".into(), Json::Object(services));
    let named = |kind: &str, key: &str, def: Option<&Node>| -> Json {
        let mut m = match def.map(to_json) {
            Some(Json::Object(m)) => m,
            _ => Map::new(),
        };
        let external = m.get("external").is_some_and(|e| e.as_bool() == Some(true) || e.is_object());
        if !m.contains_key("name") {
            let name = if external { key.to_string() } else { format!("{}_{key}", project.name) };
            m.insert("name".into(), json!(name));
        }
        if let Some(labels) = m.get_mut("labels") {
            list_to_mapping(labels);
        }
        if kind == "secrets" || kind == "configs" {
            if let Some(Json::String(file)) = m.get("file").cloned() {
                m.insert("file".into(), json!(absolute(project_dir, &file)));
            }
        }
        Json::Object(m)
    };
    for kind in ["networks", "volumes", "secrets", "configs"] {
        let defs = tree.get(kind);
        let mut map = Map::new();
        if let Some(entries) = defs.and_then(Node::as_map) {
            for (k, v) in entries {
                map.insert(k.name.clone(), named(kind, &k.name, Some(v)));
            }
        }
        if kind == "networks" && uses_default_network && !map.contains_key("default") {
            map.insert("default".into(), named(kind, "default", None));
        }
        if !map.is_empty() {
            out.insert(kind.into(), Json::Object(map));
        }
    }
    if let Some(entries) = tree.as_map() {
        for (k, v) in entries {
            if k.name.starts_with("x-") {
                out.insert(k.name.clone(), to_json(v));
            }
        }
    }
    let mut out = Json::Object(out);
    if interpolated {
        escape_dollars(&mut out);
    }
    out
}

fn canonical_service(map: &mut Map<String, Json>, s: &Service, node: Option<&Node>, dir: &Path, show_secrets: bool) {
    let has = |key: &str| node.and_then(|n| n.get(key)).is_some();
    map.remove("extends");
    // Lists of `key=value` that compose-go holds as mappings.
    for path in [&["sysctls"][..], &["build", "args"], &["build", "labels"], &["deploy", "labels"]] {
        let (last, parents) = path.split_last().expect("paths are not empty");
        let parent = parents.iter().try_fold(&mut *map, |m, key| m.get_mut(*key).and_then(Json::as_object_mut));
        if let Some(value) = parent.and_then(|m| m.get_mut(*last)) {
            list_to_mapping(value);
        }
    }
    // `host=ip` entries, sorted, as compose-go writes them (a mapping becomes such a list).
    if has("extra_hosts") {
        let mut hosts: Vec<String> = s.extra_hosts.iter().map(|(host, ip, _)| format!("{host}={ip}")).collect();
        hosts.sort_unstable();
        map.insert("extra_hosts".into(), json!(hosts));
    }
    if let Some(cmd) = &s.command {
        map.insert("command".into(), json!(cmd));
    }
    if let Some(ep) = &s.entrypoint {
        map.insert("entrypoint".into(), json!(ep));
    }
    // Environment: env files first (in order), then `environment`, which wins.
    if has("environment") || !s.env_files.is_empty() {
        let mut env = Map::new();
        for file in &s.env_files {
            for (k, v) in file.vars.iter().flatten() {
                env.insert(k.clone(), json!(v));
            }
        }
        for var in &s.environment {
            env.insert(var.name.clone(), var.value.as_ref().map_or(Json::Null, |v| json!(v)));
        }
        if !show_secrets {
            for (k, v) in env.iter_mut() {
                if looks_secret(k) && v.is_string() {
                    *v = json!(super::config::MASK);
                } else if let Some(masked) = v.as_str().and_then(mask_url_password) {
                    *v = json!(masked);
                }
            }
        }
        if env.is_empty() {
            map.remove("environment");
        } else {
            map.insert("environment".into(), Json::Object(env));
        }
    }
    if !s.env_files.is_empty() {
        let files: Vec<Json> = s
            .env_files
            .iter()
            .map(|f| {
                let mut m = json!({"path": absolute(dir, &f.path), "required": f.required});
                if f.raw {
                    m["format"] = json!("raw");
                }
                m
            })
            .collect();
        map.insert("env_file".into(), Json::Array(files));
    }
    // GPU and device requests: `gpus: all` is one request for every device, and a count is
    // a number, -1 for `all` (also when neither a count nor device IDs are given).
    if let Some(gpus) = map.get_mut("gpus") {
        if gpus.is_string() {
            *gpus = json!([{}]);
        }
        canonical_device_requests(gpus);
    }
    if let Some(devices) = map
        .get_mut("deploy")
        .and_then(|d| d.get_mut("resources"))
        .and_then(|r| r.get_mut("reservations"))
        .and_then(|r| r.get_mut("devices"))
    {
        canonical_device_requests(devices);
    }
    if has("ports") {
        let ports: Vec<Json> = s
            .ports
            .iter()
            .map(|p| {
                let mut m = Map::new();
                m.insert("mode".into(), json!("ingress"));
                m.insert("target".into(), json!(p.target));
                if let Some(pb) = &p.published {
                    m.insert("published".into(), json!(pb));
                }
                if let Some(ip) = &p.host_ip {
                    m.insert("host_ip".into(), json!(ip));
                }
                m.insert("protocol".into(), json!(p.protocol));
                if let Some(n) = &p.name {
                    m.insert("name".into(), json!(n));
                }
                if let Some(a) = &p.app_protocol {
                    m.insert("app_protocol".into(), json!(a));
                }
                Json::Object(m)
            })
            .collect();
        map.insert("ports".into(), Json::Array(ports));
    }
    if let Some(Json::Array(items)) = map.get_mut("expose") {
        for item in items.iter_mut() {
            if let Json::Number(n) = item {
                *item = json!(n.to_string());
            }
        }
    }
    if has("volumes") {
        let written: Vec<&Node> = match node.and_then(|n| n.get("volumes")).map(|n| &n.value) {
            Some(Value::Seq(items)) => items.iter().collect(),
            _ => Vec::new(),
        };
        // The entry a mount was read from: the one with its target.
        let entry_of = |target: &str| {
            written.iter().copied().find(|n| match &n.value {
                Value::Map(_) => n.get("target").and_then(Node::scalar_string).is_some_and(|t| t == target),
                _ => n
                    .scalar_string()
                    .and_then(|t| super::parse_volume(&t).ok())
                    .is_some_and(|spec| spec.target == target),
            })
        };
        let volumes: Vec<Json> = s
            .volumes
            .iter()
            .map(|v| {
                let entry = entry_of(&v.target);
                // The long syntax keeps the options kompile does not model (bind propagation,
                // SELinux, `nocopy`, tmpfs mode, consistency) as written.
                let (mut m, short) = match entry.map(|n| (to_json(n), n.scalar_string())) {
                    Some((Json::Object(m), _)) => (m, None),
                    Some((_, text)) => (Map::new(), Some(text.unwrap_or_default())),
                    None => (Map::new(), Some(String::new())),
                };
                m.insert("type".into(), json!(v.kind.as_str()));
                if let Some(src) = &v.source {
                    let src = if v.kind == MountType::Bind { absolute(dir, src) } else { src.clone() };
                    m.insert("source".into(), json!(src));
                }
                m.insert("target".into(), json!(v.target));
                if v.read_only {
                    m.insert("read_only".into(), json!(true));
                } else {
                    m.remove("read_only");
                }
                if let Some(spec) = &short {
                    // The short syntax's options, as compose-go's parser sets them.
                    let options: Vec<&str> =
                        spec.rsplit_once(':').map(|(_, o)| o.split(',').collect()).unwrap_or_default();
                    let mut bind = Map::new();
                    if v.kind == MountType::Bind {
                        bind.insert("create_host_path".into(), json!(true));
                    }
                    for option in &options {
                        match *option {
                            "z" | "Z" => bind.insert("selinux".into(), json!(option)),
                            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                                bind.insert("propagation".into(), json!(option))
                            }
                            _ => None,
                        };
                    }
                    if !bind.is_empty() {
                        m.insert("bind".into(), Json::Object(bind));
                    }
                    if v.kind == MountType::Volume {
                        let volume = if options.contains(&"nocopy") { json!({"nocopy": true}) } else { json!({}) };
                        m.insert("volume".into(), volume);
                    }
                } else if v.kind == MountType::Volume && !m.contains_key("volume") {
                    m.insert("volume".into(), json!({}));
                }
                Json::Object(m)
            })
            .collect();
        map.insert("volumes".into(), Json::Array(volumes));
    }
    for (key, refs) in [("secrets", &s.secrets), ("configs", &s.configs)] {
        if has(key) {
            let list: Vec<Json> = refs
                .iter()
                .map(|r| {
                    let mut m = json!({"source": r.source});
                    if let Some(t) = &r.target {
                        m["target"] = json!(t);
                    }
                    if let Some(mode) = r.mode {
                        m["mode"] = json!(mode);
                    }
                    m
                })
                .collect();
            map.insert(key.into(), Json::Array(list));
        }
    }
    if let Some(h) = &s.healthcheck {
        let mut m = Map::new();
        match &h.test {
            HealthTest::Exec(args) => {
                let mut t = vec![json!("CMD")];
                t.extend(args.iter().map(|a| json!(a)));
                m.insert("test".into(), Json::Array(t));
            }
            HealthTest::Shell(script) => {
                m.insert("test".into(), json!(["CMD-SHELL", script]));
            }
            HealthTest::Disabled => {
                m.insert("disable".into(), json!(true));
            }
            HealthTest::Inherit => {}
        }
        for (key, value) in
            [("interval", h.interval_ns), ("timeout", h.timeout_ns), ("start_period", h.start_period_ns)]
        {
            if let Some(ns) = value {
                m.insert(key.into(), json!(go_duration(ns)));
            }
        }
        if let Some(r) = h.retries {
            m.insert("retries".into(), json!(r));
        }
        // Read as compose-go reads it, though kompile converts nothing of it.
        let start_interval = node.and_then(|n| n.get("healthcheck")).and_then(|h| h.get("start_interval"));
        if let Some(ns) = start_interval.and_then(Node::scalar_string).and_then(|t| super::parse_duration(&t).ok()) {
            m.insert("start_interval".into(), json!(go_duration(ns)));
        }
        map.insert("healthcheck".into(), Json::Object(m));
    }
    if let Some(ns) = s.stop_grace_period_ns {
        map.insert("stop_grace_period".into(), json!(go_duration(ns)));
    }
    if let Some(n) = node.and_then(|n| n.get("depends_on")) {
        let mut deps = Map::new();
        match &n.value {
            Value::Seq(items) => {
                for item in items {
                    if let Some(name) = item.scalar_string() {
                        deps.insert(name, json!({"condition": "service_started", "required": true}));
                    }
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    let mut d = match to_json(v) {
                        Json::Object(m) => m,
                        _ => Map::new(),
                    };
                    d.entry("condition").or_insert(json!("service_started"));
                    d.entry("required").or_insert(json!(true));
                    deps.insert(k.name.clone(), Json::Object(d));
                }
            }
            _ => {}
        }
        map.insert("depends_on".into(), Json::Object(deps));
    }
    match node.and_then(|n| n.get("networks")) {
        Some(Node { value: Value::Seq(items), .. }) => {
            let nets: Map<String, Json> =
                items.iter().filter_map(|i| i.scalar_string()).map(|n| (n, Json::Null)).collect();
            map.insert("networks".into(), Json::Object(nets));
        }
        Some(_) => {}
        None if !has("network_mode") => {
            map.insert("networks".into(), json!({"default": null}));
        }
        None => {}
    }
    if has("labels") {
        let labels: Map<String, Json> = s.labels.iter().map(|(k, v)| (k.clone(), json!(v.value))).collect();
        map.insert("labels".into(), Json::Object(labels));
    }
    if has("annotations") {
        let annotations: Map<String, Json> = s.annotations.iter().map(|(k, v)| (k.clone(), json!(v.value))).collect();
        map.insert("annotations".into(), Json::Object(annotations));
    }
    if let Some(m) = &s.limits.memory {
        if has("mem_limit") {
            map.insert("mem_limit".into(), json!(m.value));
        }
    }
    if let Some(Json::Object(deploy)) = map.get_mut("deploy") {
        if let Some(Json::Object(res)) = deploy.get_mut("resources") {
            for (side, model) in [("limits", &s.limits), ("reservations", &s.reservations)] {
                if let Some(Json::Object(r)) = res.get_mut(side) {
                    if let (Some(mem), true) = (&model.memory, r.contains_key("memory")) {
                        r.insert("memory".into(), json!(mem.value));
                    }
                    if let (Some(cpus), true) = (&model.cpus, r.contains_key("cpus")) {
                        r.insert("cpus".into(), json!(cpus.value));
                    }
                }
            }
        }
    }
    canonical_sizes_and_lists(map);
    if let Some(Json::String(ctx)) = map.get("build").cloned() {
        map.insert("build".into(), json!({"context": absolute(dir, &ctx), "dockerfile": "Dockerfile"}));
    } else if let Some(Json::Object(build)) = map.get_mut("build") {
        let ctx = build.get("context").and_then(Json::as_str).unwrap_or(".").to_string();
        if !ctx.contains("://") && !ctx.starts_with("git@") {
            build.insert("context".into(), json!(absolute(dir, &ctx)));
        }
        if !build.contains_key("dockerfile_inline") {
            build.entry("dockerfile").or_insert(json!("Dockerfile"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let s = 1_000_000_000;
        assert_eq!(go_duration(90 * s), "1m30s");
        assert_eq!(go_duration(30 * s), "30s");
        assert_eq!(go_duration(3600 * s), "1h0m0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(500_000_000), "500ms");
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(86400 * s), "24h0m0s");
    }

    #[test]
    fn secret_names() {
        for name in ["DB_PASSWORD", "API_TOKEN", "AWS_SECRET_ACCESS_KEY", "SIGNING_KEY", "github_token"] {
            assert!(looks_secret(name), "{name}");
        }
        for name in [
            "PATH",
            "KEYBOARD",
            "MONKEY",
            "HOSTNAME",
            "POSTGRES_PASSWORD_FILE",
            "TLS_KEY_PATH",
            "SECRETS_DIR",
            "IDP_TOKEN_ENDPOINT",
            "OAUTH_TOKEN_URL",
            "JWT_REFRESH_TOKEN_ENABLED",
            "AWS_CREDENTIALS_PROVIDER",
        ] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn url_passwords() {
        fn found(v: &str) -> Option<&str> {
            url_password(v).map(|r| &v[r])
        }
        assert_eq!(found("postgres://shop:s3cret@db:5432/shop"), Some("s3cret"));
        assert_eq!(found("redis://:pw@cache:6379/0"), Some("pw"));
        assert_eq!(found("amqp://guest:guest@rabbit"), Some("guest"));
        assert_eq!(found("mongodb+srv://u:p%40ss@cluster0.example.net/?retryWrites=true"), Some("p%40ss"));
        // The last `@` ends the user information: a password may hold one unescaped.
        assert_eq!(found("mysql://root:a@b@db/app"), Some("a@b"));
        for none in [
            "postgres://shop@db/shop",
            "postgres://shop:@db/shop",
            "postgres://shop:$DB_PASSWORD@db/shop",
            "http://example.com/a:b@c",
            "http://example.com/?user=a:b@c",
            "not a url: a:b@c",
            "://a:b@c",
            "1http://a:b@c",
            "",
        ] {
            assert_eq!(found(none), None, "{none}");
        }
        assert_eq!(mask_url_password("redis://:pw@cache").as_deref(), Some("redis://:********@cache"));
        // Any text, multi-byte characters around every delimiter included, is read without a
        // panic, and a found password is always a slice of it.
        let parts = ["é://", "://", "a", ":", "@", "/", "?", "#", "ü", "😀", "$", "p+q-r.s"];
        for a in parts {
            for b in parts {
                for c in parts {
                    for d in parts {
                        let text = format!("x{a}{b}{c}{d}");
                        if let Some(range) = url_password(&text) {
                            assert!(text.get(range).is_some_and(|p| !p.is_empty()), "{text}");
                        }
                        mask_url_password(&text);
                    }
                }
            }
        }
    }
}
