//! Reading one `services.<name>` mapping into a [`Service`]: every short syntax turned into
//! the long form, files it names (env files, bind-mounted files) read through the
//! [`FileSystem`](super::FileSystem), every key either converted, reported as not
//! converted, or rejected as unknown.

use super::command::{split_command, SplitError};
use super::fields::{self, index_path, key_path};
use super::keys;
use super::model::*;
use super::volumes::{self, MountType};
use super::{dotenv, ports, units, Loader};
use crate::diag::{Code, Diagnostic, Pos, MAX_OBJECT_BYTES};
use crate::yaml::{Node, Value};
use indexmap::IndexMap;

/// A key, whether it must be an integer, and its range.
type NumericCast = (&'static str, bool, Option<(f64, f64)>);

/// Keys kompile does not convert whose string values compose-go casts to numbers after
/// interpolation (`loader/interpolate.go`), with the range the schema then checks: a value
/// that is not a number (or out of range) makes Docker Compose refuse the file.
const NUMERIC_CASTS: &[NumericCast] = &[
    ("cpu_count", true, Some((0.0, f64::MAX))),
    ("cpu_percent", false, Some((0.0, 100.0))),
    ("cpu_period", true, None),
    ("cpu_quota", true, None),
    ("cpu_shares", true, None),
    ("oom_score_adj", true, Some((-1000.0, 1000.0))),
    ("pids_limit", true, None),
];

fn numeric_casts(f: &mut super::fields::Fields<'_>, entries: &[(crate::yaml::Key, Node)], path: &str) {
    for (key, value) in entries {
        let Some(&(_, integer, range)) = NUMERIC_CASTS.iter().find(|(k, ..)| *k == key.name) else { continue };
        let Value::Str(text) = &value.value else { continue };
        let number = if integer { text.parse::<i64>().ok().map(|n| n as f64) } else { text.parse::<f64>().ok() };
        let kind = if integer { "an integer" } else { "a number" };
        match number {
            None => f.invalid(
                value.pos,
                format!("`{}`: `{text}` is not {kind}, which Docker Compose requires here", key_path(path, &key.name)),
            ),
            Some(n) if range.is_some_and(|(lo, hi)| n < lo || n > hi) => {
                let (lo, hi) = range.unwrap_or_default();
                let hi = if hi == f64::MAX { String::new() } else { format!(" and at most {hi}") };
                f.invalid(value.pos, format!("`{}`: {text} must be at least {lo}{hi}", key_path(path, &key.name)));
            }
            Some(_) => {}
        }
    }
}

impl Loader<'_> {
    pub(super) fn read_service(&mut self, name: &str, pos: Pos, node: &Node) -> Service {
        let path = key_path("services", name);
        let provider = node.get("provider").is_some();
        let mut service = Service { name: name.to_string(), pos, provider, ..Service::default() };
        let mut f = fields!(self);
        let entries = f.map(node, &path);
        let converted = f.check_keys(entries, keys::SERVICE_KEYS, &path);
        numeric_casts(&mut f, entries, &path);
        // Each key's path (`services.<name>.<key>`) in one buffer, rewritten for the next key.
        let mut p = String::with_capacity(path.len() + 32);
        for (key, value) in converted {
            p.clear();
            p.push_str(&path);
            p.push('.');
            p.push_str(&key.name);
            self.read_service_key(&mut service, &key.name, value, &p);
        }
        self.check_consistency(&path, node, &service);
        self.read_env_files(&mut service);
        // `labels` wins over the label files.
        for (key, value) in std::mem::take(&mut service.file_labels) {
            service.labels.entry(key).or_insert(value);
        }
        service
    }

    /// Settings Docker Compose refuses together (compose-go's consistency check): one limit
    /// written twice with different values, `scale` against `deploy.replicas`, one
    /// `container_name` for several replicas, `network_mode` beside `networks`.
    fn check_consistency(&mut self, path: &str, node: &Node, service: &Service) {
        fn number(n: &Node) -> Option<f64> {
            match &n.value {
                Value::Int(i) => Some(*i as f64),
                Value::Float(f) => Some(*f),
                Value::Str(s) => s.trim().parse().ok(),
                _ => None,
            }
        }
        fn bytes(n: &Node) -> Option<f64> {
            match &n.value {
                Value::Int(i) => Some(*i as f64),
                Value::Str(s) => units::parse_bytes(s).ok().map(|b| b as f64),
                _ => None,
            }
        }
        let deploy = node.get("deploy");
        let resources = deploy.and_then(|d| d.get("resources"));
        let limits = resources.and_then(|r| r.get("limits"));
        let reservations = resources.and_then(|r| r.get("reservations"));
        type Parse = fn(&Node) -> Option<f64>;
        // (short key, long key, the mapping the long key belongs in, its name there, parser),
        // compared as compose-go's consistency check compares them: a short value of 0 is
        // "not set"; once the mapping exists, a long value left out counts as 0 (so
        // `mem_limit: 1g` beside `limits: {cpus: ...}` is refused too). `scale` is compared
        // with `deploy.replicas` only when both are written.
        let pairs: [(&str, &str, Option<&Node>, &str, Parse); 5] = [
            ("cpus", "deploy.resources.limits.cpus", limits, "cpus", number),
            ("mem_limit", "deploy.resources.limits.memory", limits, "memory", bytes),
            ("mem_reservation", "deploy.resources.reservations.memory", reservations, "memory", bytes),
            ("pids_limit", "deploy.resources.limits.pids", limits, "pids", number),
            ("scale", "deploy.replicas", deploy, "replicas", number),
        ];
        for (short, long, parent, field, parse) in pairs {
            let (Some(a), Some(parent)) = (node.get(short), parent.filter(|p| matches!(p.value, Value::Map(_)))) else {
                continue;
            };
            let b = parent.get(field);
            let Some(x) = parse(a) else { continue };
            let y = match b {
                Some(b) => parse(b),
                None if short != "scale" => Some(0.0),
                None => None,
            };
            let Some(y) = y else { continue };
            if (x != 0.0 || short == "scale") && x != y {
                let text = |n: &Node| n.scalar_string().unwrap_or_default();
                let long_text = b.map_or_else(|| "(not set)".to_string(), text);
                self.diags.push(
                    Diagnostic::at(
                        Code::InvalidValue,
                        a.pos,
                        format!(
                            "`{path}.{short}: {}` and `{long}: {long_text}` differ: Docker Compose refuses distinct values",
                            text(a),
                        ),
                    )
                    .with_help(format!("keep one of them; `{long}` is the one Compose documents")),
                );
            }
        }
        if let (Some(name), Some(replicas)) = (&service.container_name, &service.replicas) {
            if replicas.value > 1 {
                self.diags.push(
                    Diagnostic::at(
                        Code::InvalidValue,
                        name.pos,
                        format!(
                            "`container_name: {}` names one container, but the service asks for {} replicas: Docker Compose refuses this",
                            name.value, replicas.value
                        ),
                    )
                    .with_help("remove `container_name`: each replica needs its own name"),
                );
            }
        }
        if let (Some(mode), false) = (&service.network_mode, service.networks.is_empty()) {
            self.diags.push(
                Diagnostic::at(
                    Code::InvalidValue,
                    mode.pos,
                    format!("`{path}` sets both `network_mode` and `networks`, which exclude each other"),
                )
                .with_help("keep one of them, as Docker Compose requires"),
            );
        }
    }

    fn read_service_key(&mut self, s: &mut Service, key: &str, v: &Node, p: &str) {
        let mut f = fields!(self);
        match key {
            "image" => {
                // An empty image is no image, as compose-go reads it (then `build` names it).
                s.image = f.string(v, p).filter(|i| !i.is_empty()).map(|i| Spanned::new(i, v.pos));
                // A `$` left by `--no-interpolate` is for a later templating step to fill in.
                if let Some(image) = s.image.as_ref().filter(|i| !i.value.contains('$')) {
                    if let Some(problem) = super::image::problem(&image.value) {
                        // Spaces around it: the API server refuses such a pod outright.
                        let code = if image.value.trim() != image.value {
                            Code::InvalidValue
                        } else {
                            Code::BadImageReference
                        };
                        f.diags.push(
                            Diagnostic::at(
                                code,
                                v.pos,
                                format!("`{p}`: `{}` is not an image reference Docker can pull: {problem}", image.value),
                            )
                            .with_help("Docker refuses it, and a kubelet cannot pull it either (`InvalidImageName`): correct the name, or set the variables it is built from"),
                        );
                    }
                }
            }
            "build" => {
                s.has_build = !v.is_null();
                // Refused only when both are non-empty, as compose-go checks them.
                let set = |key: &str| v.get(key).filter(|n| n.scalar_string().is_none_or(|t| !t.is_empty()));
                if let (Some(_), Some(inline)) = (set("dockerfile"), set("dockerfile_inline")) {
                    f.invalid(
                        inline.pos,
                        format!("`{p}` sets both `dockerfile` and `dockerfile_inline`, which exclude each other"),
                    );
                }
            }
            "container_name" => s.container_name = f.string(v, p).map(|n| Spanned::new(n, v.pos)),
            "command" | "entrypoint" => {
                let args = self.command(v, p);
                if key == "command" {
                    s.command = args;
                } else {
                    s.entrypoint = args;
                }
            }
            "working_dir" => {
                s.working_dir = f.string(v, p);
                // Docker refuses a relative working directory when it creates the container.
                let absolute = |d: &str| {
                    let b = d.as_bytes();
                    d.starts_with('/')
                        || (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'/' | b'\\'))
                };
                if let Some(dir) = s.working_dir.as_deref().filter(|d| !d.is_empty() && !absolute(d)) {
                    f.invalid(v.pos, format!("`{p}: {dir}` must be an absolute path (Docker refuses a relative one)"));
                }
            }
            "hostname" => s.hostname = f.string(v, p).map(|h| Spanned::new(h, v.pos)),
            "domainname" => s.domainname = f.string(v, p).map(|d| Spanned::new(d, v.pos)),
            "user" => s.user = f.scalar(v, p).map(|u| Spanned::new(u, v.pos)),
            "privileged" => s.privileged = f.bool(v, p).unwrap_or(false),
            "read_only" => s.read_only = f.bool(v, p).unwrap_or(false),
            "stdin_open" => s.stdin_open = f.bool(v, p).unwrap_or(false),
            "tty" => s.tty = f.bool(v, p).unwrap_or(false),
            "cap_add" | "cap_drop" => {
                let caps: Vec<String> =
                    f.list(v, p).iter().enumerate().filter_map(|(i, c)| f.string(c, &index_path(p, i))).collect();
                if key == "cap_add" {
                    s.cap_add = caps;
                } else {
                    s.cap_drop = caps;
                }
            }
            "security_opt" => {
                s.security_opt = f
                    .list(v, p)
                    .iter()
                    .enumerate()
                    .filter_map(|(i, o)| {
                        f.string(o, &index_path(p, i)).map(|t| Spanned::new(SecurityOpt::parse(&t), o.pos))
                    })
                    .collect()
            }
            "gpus" => {
                if let Value::Str(text) = &v.value {
                    if text == "all" {
                        s.device_requests.push(DeviceRequest {
                            pos: v.pos,
                            driver: None,
                            capabilities: Vec::new(),
                            count: DeviceCount::All,
                        });
                    } else {
                        f.invalid(v.pos, format!("`{p}` must be `all` or a list of device requests"));
                    }
                } else {
                    let requests = self.device_requests(v, p);
                    s.device_requests.extend(requests);
                }
            }
            "restart" => s.restart = f.string(v, p).map(|r| Spanned::new(r, v.pos)),
            "pull_policy" => s.pull_policy = f.string(v, p).map(|r| Spanned::new(r, v.pos)),
            "stop_grace_period" => {
                if let Some(text) = f.string(v, p) {
                    match units::parse_duration(&text) {
                        Ok(ns) => s.stop_grace_period_ns = Some(ns),
                        Err(e) => f.invalid(v.pos, format!("`{p}`: {e}")),
                    }
                }
            }
            "scale" => {
                if let Some(n) = f.int(v, p) {
                    s.replicas.get_or_insert(Spanned::new(n, v.pos));
                }
            }
            "cpus" => {
                let cpus = f.float(v, p);
                if cpus.is_some_and(|c| c < 0.0) {
                    f.invalid(v.pos, format!("`{p}` must not be negative"));
                }
                s.limits.cpus = cpus.filter(|c| *c >= 0.0).map(|c| Spanned::new(c, v.pos));
            }
            "mem_limit" => s.limits.memory = self.bytes(v, p).map(|m| Spanned::new(m, v.pos)),
            "mem_reservation" => s.reservations.memory = self.bytes(v, p).map(|m| Spanned::new(m, v.pos)),
            "environment" => {
                // compose-go refuses a trailing space in the list form only (`"A =1"`).
                let list = matches!(v.value, Value::Seq(_));
                for (name, value, pos) in f.list_or_map(v, p, '=') {
                    if list && name.ends_with(char::is_whitespace) {
                        f.invalid(
                            pos,
                            format!("environment variable `{}` is declared with a trailing space", name.trim_end()),
                        );
                        continue;
                    }
                    let value = value.or_else(|| (self.lookup)(&name));
                    s.environment.retain(|e| e.name != name);
                    s.environment.push(EnvVar { name, value, pos });
                }
            }
            "env_file" => self.env_files(s, v, p),
            "labels" => {
                for (name, value, pos) in f.list_or_map(v, p, '=') {
                    s.labels.insert(name, Spanned::new(value.unwrap_or_default(), pos));
                }
            }
            "annotations" => {
                for (name, value, pos) in f.list_or_map(v, p, '=') {
                    s.annotations.insert(name, Spanned::new(value.unwrap_or_default(), pos));
                }
            }
            "extra_hosts" => self.extra_hosts(s, v, p),
            "post_start" | "pre_stop" => {
                let hooks = self.hooks(v, p);
                if key == "post_start" {
                    s.post_start = hooks;
                } else {
                    s.pre_stop = hooks;
                }
            }
            "label_file" => {
                for (path, node) in f.string_or_list(v, p) {
                    let pos = node.pos;
                    match self.read_project_file(&path, pos, "label_file") {
                        Ok(Some(bytes)) => {
                            let text = String::from_utf8_lossy(&bytes).into_owned();
                            let mut vars = IndexMap::new();
                            let none = |_: &str| None;
                            match dotenv::parse_into(&text, &mut vars, &none) {
                                Ok(()) => {
                                    s.file_labels.extend(vars.into_iter().map(|(k, v)| (k, Spanned::new(v, pos))))
                                }
                                Err(e) => self.diags.push(Diagnostic::at(
                                    e.code(),
                                    pos,
                                    format!("label file `{path}` line {}: {}", e.line, e.message),
                                )),
                            }
                        }
                        Ok(None) => self.diags.push(Diagnostic::at(
                            Code::FileRead,
                            pos,
                            format!("label file `{path}` not found"),
                        )),
                        Err(()) => {}
                    }
                }
            }
            "ports" => self.ports(s, v, p),
            "expose" => {
                for (i, item) in f.list(v, p).iter().enumerate() {
                    let ip = index_path(p, i);
                    let Some(text) = f.scalar(item, &ip) else {
                        continue;
                    };
                    match ports::parse_expose(&text) {
                        Ok(list) => s.expose.extend(list.into_iter().map(|(port, protocol)| Expose {
                            port,
                            protocol,
                            pos: item.pos,
                        })),
                        Err(e) => f.invalid(item.pos, format!("`{ip}`: {e}")),
                    }
                }
            }
            "volumes" => self.mounts(s, v, p),
            "tmpfs" => {
                for (text, node) in f.string_or_list(v, p) {
                    let (target, options) = text.split_once(':').unwrap_or((&text, ""));
                    let mut size = None;
                    let mut dropped = Vec::new();
                    for option in options.split(',').filter(|o| !o.is_empty()) {
                        match option.strip_prefix("size=") {
                            Some(n) => match units::parse_bytes(n) {
                                Ok(n) if n >= 0 => size = Some(n),
                                // The kernel's tmpfs takes a share of memory; an emptyDir
                                // limit is a size.
                                _ if n.strip_suffix('%').is_some_and(|p| p.parse::<f64>().is_ok()) => {
                                    dropped.push(option)
                                }
                                _ => f.invalid(node.pos, format!("`{p}`: `{option}` is not a size such as `size=64m`")),
                            },
                            None => dropped.push(option),
                        }
                    }
                    if !dropped.is_empty() {
                        f.diags.push(Diagnostic::at(
                            Code::NotConverted,
                            node.pos,
                            format!(
                                "the tmpfs options `{}` of `{target}` are not converted: a memory-backed emptyDir has only a size",
                                dropped.join(",")
                            ),
                        ));
                    }
                    s.tmpfs.push((Spanned::new(target.to_string(), node.pos), size));
                }
            }
            "secrets" | "configs" => {
                let refs = self.file_refs(v, p);
                if key == "secrets" {
                    s.secrets = refs;
                } else {
                    s.configs = refs;
                }
            }
            "healthcheck" => s.healthcheck = self.healthcheck(v, p),
            "deploy" => self.deploy(s, v, p),
            "depends_on" => {
                s.depends_on = match &v.value {
                    Value::Map(entries) => {
                        for (k, long) in entries {
                            if long.get("required").is_some_and(|r| matches!(r.value, Value::Bool(false))) {
                                s.optional_depends_on.push(k.name.clone());
                            }
                        }
                        entries.iter().map(|(k, _)| Spanned::new(k.name.clone(), k.pos)).collect()
                    }
                    _ => f
                        .list(v, p)
                        .iter()
                        .enumerate()
                        .filter_map(|(i, d)| f.string(d, &index_path(p, i)).map(|n| Spanned::new(n, d.pos)))
                        .collect(),
                }
            }
            "links" => {
                s.links = f
                    .list(v, p)
                    .iter()
                    .enumerate()
                    .filter_map(|(i, d)| {
                        let text = f.string(d, &index_path(p, i))?;
                        let (target, alias) = text.split_once(':').unwrap_or((&text, ""));
                        if !alias.is_empty() && alias != target {
                            f.diags.push(
                                Diagnostic::at(
                                    Code::NotConverted,
                                    d.pos,
                                    format!(
                                        "the alias `{alias}` of `links: {text}` is not converted: pods reach the service by its name, `{target}`"
                                    ),
                                )
                                .with_help(format!("connect to `{target}` instead of `{alias}`")),
                            );
                        }
                        Some(Spanned::new(target.to_string(), d.pos))
                    })
                    .collect();
            }
            "networks" => s.networks = self.networks(v, p, &mut s.network_aliases),
            "volumes_from" => {
                for (i, item) in f.list(v, p).iter().enumerate() {
                    let Some(text) = f.string(item, &index_path(p, i)) else { continue };
                    let (name, mode) =
                        text.rsplit_once(':').filter(|(_, m)| matches!(*m, "ro" | "rw")).unwrap_or((&text, "rw"));
                    if let Some(container) = name.strip_prefix("container:") {
                        f.diags.push(
                            Diagnostic::at(
                                Code::NotConverted,
                                item.pos,
                                format!("`volumes_from: {text}` is not converted: the container `{container}` is not part of the project"),
                            )
                            .with_help("mount the same named volume in both"),
                        );
                        continue;
                    }
                    s.volumes_from.push((Spanned::new(name.to_string(), item.pos), mode == "ro"));
                }
            }
            "profiles" => {
                for (i, item) in f.list(v, p).iter().enumerate() {
                    f.string(item, &index_path(p, i));
                }
            }
            "group_add" => {
                s.group_add = f
                    .list(v, p)
                    .iter()
                    .enumerate()
                    .filter_map(|(i, g)| f.scalar(g, &index_path(p, i)).map(|g2| Spanned::new(g2, g.pos)))
                    .collect()
            }
            "dns" | "dns_search" | "dns_opt" => {
                let mut list: Vec<Spanned<String>> = Vec::new();
                for (entry, node) in f.string_or_list(v, p) {
                    if entry.is_empty() {
                        f.diags.push(Diagnostic::at(
                            Code::NotConverted,
                            node.pos,
                            format!("an empty `{key}` entry is not converted: it names nothing"),
                        ));
                    } else {
                        list.push(Spanned::new(entry, node.pos));
                    }
                }
                match key {
                    "dns" => s.dns = list,
                    "dns_search" => s.dns_search = list,
                    _ => s.dns_opt = list,
                }
            }
            "sysctls" => {
                s.sysctls = f
                    .list_or_map(v, p, '=')
                    .into_iter()
                    .map(|(k, val, pos)| (k, val.unwrap_or_default(), pos))
                    .collect()
            }
            "shm_size" => s.shm_size = self.bytes(v, p).map(|n| Spanned::new(n, v.pos)),
            "pid" | "ipc" | "network_mode" => {
                let value = f.string(v, p).map(|x| Spanned::new(x, v.pos));
                match key {
                    "pid" => s.pid = value,
                    "ipc" => s.ipc = value,
                    _ => s.network_mode = value,
                }
            }
            _ => {}
        }
    }

    /// `post_start` / `pre_stop`: a list of hooks; each hook's `command` in exec form.
    fn hooks(&mut self, v: &Node, p: &str) -> Vec<Spanned<Vec<String>>> {
        let mut out = Vec::new();
        let items: Vec<Node> = fields!(self).list(v, p).to_vec();
        for (i, item) in items.iter().enumerate() {
            let ip = index_path(p, i);
            let entries = fields!(self).map(item, &ip).to_vec();
            let mut command = None;
            for (k, val) in &entries {
                let kp = key_path(&ip, &k.name);
                match k.name.as_str() {
                    "command" => command = self.command(val, &kp),
                    "user" | "privileged" | "working_dir" | "environment" => self.not_converted.push(NotConverted {
                        path: kp,
                        pos: k.pos,
                        reason:
                            "a Kubernetes lifecycle hook runs with the container's own user, directory and environment",
                        help: None,
                    }),
                    name if name.starts_with("x-") => {}
                    _ => self.diags.push(fields::unknown_key(
                        k,
                        &ip,
                        &["command", "environment", "privileged", "user", "working_dir"],
                    )),
                }
            }
            match command {
                Some(cmd) if !cmd.is_empty() => out.push(Spanned::new(cmd, item.pos)),
                _ => self.diags.push(Diagnostic::at(Code::InvalidValue, item.pos, format!("`{ip}` needs a `command`"))),
            }
        }
        out
    }

    /// The entries of a `devices` reservation or of `gpus`.
    fn device_requests(&mut self, v: &Node, p: &str) -> Vec<DeviceRequest> {
        let mut f = fields!(self);
        let mut out = Vec::new();
        for (i, item) in f.list(v, p).iter().enumerate() {
            let ip = index_path(p, i);
            let entries = f.map(item, &ip);
            let mut request =
                DeviceRequest { pos: item.pos, driver: None, capabilities: Vec::new(), count: DeviceCount::All };
            let mut count = None;
            let mut ids = None;
            for (k, val) in f.check_keys(entries, keys::DEVICE_REQUEST_KEYS, &ip) {
                let kp = key_path(&ip, &k.name);
                match k.name.as_str() {
                    "driver" => request.driver = f.string(val, &kp),
                    "capabilities" => {
                        request.capabilities = f
                            .list(val, &kp)
                            .iter()
                            .enumerate()
                            .filter_map(|(j, c)| f.string(c, &index_path(&kp, j)))
                            .collect()
                    }
                    "device_ids" => {
                        ids = Some(
                            f.list(val, &kp)
                                .iter()
                                .enumerate()
                                .filter_map(|(j, d)| f.scalar(d, &index_path(&kp, j)))
                                .collect::<Vec<_>>(),
                        )
                    }
                    "count" => {
                        // As compose-go reads it: a number, a numeric string, or `all` (-1).
                        let n = match &val.value {
                            Value::Str(t) if t.eq_ignore_ascii_case("all") => Some(-1),
                            Value::Str(t) => t.parse::<i64>().ok(),
                            Value::Int(n) => Some(*n),
                            _ => None,
                        };
                        match n {
                            Some(-1) => count = Some(DeviceCount::All),
                            Some(n) if n >= 0 => count = Some(DeviceCount::Count(n)),
                            _ => f.invalid(val.pos, format!("`{kp}` must be a number of devices or `all`")),
                        }
                    }
                    _ => {}
                }
            }
            if let (Some(_), Some(_)) = (&count, &ids) {
                f.invalid(item.pos, format!("`{ip}` sets both `count` and `device_ids`, which exclude each other"));
            }
            request.count = match (count, ids) {
                (_, Some(ids)) => DeviceCount::Ids(ids),
                (Some(count), None) => count,
                (None, None) => DeviceCount::All,
            };
            out.push(request);
        }
        out
    }

    fn bytes(&mut self, v: &Node, p: &str) -> Option<i64> {
        let mut f = fields!(self);
        let n = match &v.value {
            Value::Int(i) => *i,
            Value::Str(text) => match units::parse_bytes(text) {
                Ok(n) => n,
                Err(e) => {
                    f.invalid(v.pos, format!("`{p}`: {e}"));
                    return None;
                }
            },
            // The schema allows any number, but compose-go reads only integers and strings
            // into a byte size and leaves a float unset.
            Value::Float(_) => {
                let written = v.raw().map(str::to_string).unwrap_or_else(|| v.scalar_string().unwrap_or_default());
                f.diags.push(
                    Diagnostic::at(
                        Code::NotConverted,
                        v.pos,
                        format!("`{p}: {written}` is not converted: Docker Compose ignores a byte size written as a fraction or with an exponent"),
                    )
                    .with_help("write an integer number of bytes or a size such as `1g`"),
                );
                return None;
            }
            _ => {
                f.wrong_type(v, p, "a byte size such as `512m`");
                return None;
            }
        };
        if n < 0 {
            f.invalid(v.pos, format!("`{p}` must not be negative"));
            return None;
        }
        Some(n)
    }

    fn command(&mut self, v: &Node, p: &str) -> Option<Vec<String>> {
        let mut f = fields!(self);
        match &v.value {
            Value::Null => None,
            Value::Str(text) => match split_command(text) {
                Ok(split) => {
                    if let Some(dropped) = split.dropped {
                        f.diags.push(
                            Diagnostic::at(
                                Code::NotConverted,
                                v.pos,
                                format!("`{p}` is not run by a shell: Compose drops `{dropped}`, and so does kompile"),
                            )
                            .with_help(format!(
                                "to run it through a shell, write `{}: [\"sh\", \"-c\", ...]`",
                                p.rsplit('.').next().unwrap_or("command")
                            )),
                        );
                    }
                    Some(split.args)
                }
                Err(SplitError::Invalid(e)) => {
                    f.invalid(v.pos, format!("`{p}`: {e}"));
                    None
                }
                Err(SplitError::TooLarge) => {
                    f.diags.push(
                        Diagnostic::at(
                            Code::ObjectTooLarge,
                            v.pos,
                            format!(
                                "`{p}` splits into arguments of more than {MAX_OBJECT_BYTES} bytes, more than a \
                                 cluster stores in one object"
                            ),
                        )
                        .with_help("put a long script in a file (in the image or a volume) and run that"),
                    );
                    None
                }
            },
            Value::Seq(items) => {
                Some(items.iter().enumerate().filter_map(|(i, a)| f.scalar(a, &index_path(p, i))).collect())
            }
            _ => {
                f.wrong_type(v, p, "a string or a list");
                None
            }
        }
    }

    fn env_files(&mut self, s: &mut Service, v: &Node, p: &str) {
        let mut entries: Vec<(String, bool, bool, Pos)> = Vec::new();
        let mut f = fields!(self);
        match &v.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let ip = index_path(p, i);
                    match &item.value {
                        Value::Map(_) => {
                            let fields = f.map(item, &ip);
                            let mut path = None;
                            let mut required = true;
                            let mut raw = false;
                            for (k, val) in fields {
                                match k.name.as_str() {
                                    "path" => path = f.string(val, &key_path(&ip, "path")),
                                    "required" => required = f.bool(val, &key_path(&ip, "required")).unwrap_or(true),
                                    "format" => {
                                        if let Some(fmt) = f.string(val, &key_path(&ip, "format")) {
                                            raw = fmt == "raw";
                                            // `""` and `.env` name the default dotenv format.
                                            if !matches!(fmt.as_str(), "raw" | "" | ".env") {
                                                f.invalid(val.pos, format!("unsupported env_file format `{fmt}`"));
                                            }
                                        }
                                    }
                                    _ => f.diags.push(fields::unknown_key(k, &ip, &["format", "path", "required"])),
                                }
                            }
                            if let Some(path) = path {
                                entries.push((path, required, raw, item.pos));
                            }
                        }
                        _ => {
                            if let Some(path) = f.string(item, &ip) {
                                entries.push((path, true, false, item.pos));
                            }
                        }
                    }
                }
            }
            _ => {
                for (path, node) in f.string_or_list(v, p) {
                    entries.push((path, true, false, node.pos));
                }
            }
        }
        for (path, required, raw, pos) in entries {
            s.env_files.push(EnvFile { path, pos, vars: None, required, raw });
        }
    }

    /// Read the service's env files, after its `environment` is known: `${VAR}` inside them
    /// looks at the project environment, then the service's `environment`, then earlier
    /// definitions.
    fn read_env_files(&mut self, s: &mut Service) {
        let environment: IndexMap<String, String> =
            s.environment.iter().filter_map(|e| e.value.clone().map(|v| (e.name.clone(), v))).collect();
        for i in 0..s.env_files.len() {
            let (path, required, raw, pos) = {
                let e = &s.env_files[i];
                (e.path.clone(), e.required, e.raw, e.pos)
            };
            s.env_files[i].vars = self.read_env_file(&path, required, raw, pos, &environment);
        }
    }

    fn read_env_file(
        &mut self,
        path: &str,
        required: bool,
        raw: bool,
        pos: Pos,
        environment: &IndexMap<String, String>,
    ) -> Option<IndexMap<String, String>> {
        let bytes = match self.read_project_file(path, pos, "env_file") {
            Ok(Some(bytes)) => bytes,
            Ok(None) if !required => return None,
            Ok(None) => {
                self.diags.push(
                    Diagnostic::at(Code::FileRead, pos, format!("env file `{path}` not found"))
                        .with_help("create it, or mark it optional: `env_file: [{path: ..., required: false}]`"),
                );
                return None;
            }
            Err(()) => return None,
        };
        let Ok(text) = String::from_utf8(bytes) else {
            self.diags.push(Diagnostic::at(Code::FileRead, pos, format!("env file `{path}` is not valid UTF-8")));
            return None;
        };
        let file = self.sources.add(&super::display_path(&self.resolve(path)));
        let mut vars = IndexMap::new();
        if raw {
            // `docker run --env-file` format: `KEY=VALUE` taken literally.
            for line in text.lines() {
                let line = line.trim_start();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                match line.split_once('=') {
                    Some((k, v)) => {
                        vars.insert(k.to_string(), v.to_string());
                    }
                    None => {
                        if let Some(v) = (self.lookup)(line.trim_end()) {
                            vars.insert(line.trim_end().to_string(), v);
                        }
                    }
                }
            }
            return Some(vars);
        }
        let project = self.lookup;
        let lookup = |name: &str| project(name).or_else(|| environment.get(name).cloned());
        match dotenv::parse_into(&text, &mut vars, &lookup) {
            Ok(()) => Some(vars),
            Err(e) => {
                self.diags.push(Diagnostic::at(e.code(), Pos::new(file, e.line as u32, e.col as u32), e.message));
                None
            }
        }
    }

    fn extra_hosts(&mut self, s: &mut Service, v: &Node, p: &str) {
        let mut f = fields!(self);
        match &v.value {
            Value::Map(entries) => {
                for (k, val) in entries {
                    let ips: Vec<String> = match &val.value {
                        Value::Seq(items) => items.iter().filter_map(|i| f.scalar(i, p)).collect(),
                        _ => f.scalar(val, p).into_iter().collect(),
                    };
                    for ip in ips {
                        s.extra_hosts.push((k.name.clone(), strip_brackets(&ip), k.pos));
                    }
                }
            }
            _ => {
                for (i, item) in f.list(v, p).iter().enumerate() {
                    let ip_path = index_path(p, i);
                    let Some(text) = f.string(item, &ip_path) else {
                        continue;
                    };
                    let split = text.split_once('=').or_else(|| text.split_once(':'));
                    match split {
                        // Several IPs for one host, comma-separated, as compose-go splits them.
                        Some((host, ips)) if !ips.is_empty() => {
                            for ip in ips.split(',') {
                                s.extra_hosts.push((host.to_string(), strip_brackets(ip), item.pos))
                            }
                        }
                        _ => f.invalid(item.pos, format!("`{ip_path}`: `{text}` must be `host=ip` or `host:ip`")),
                    }
                }
            }
        }
    }

    fn ports(&mut self, s: &mut Service, v: &Node, p: &str) {
        let mut f = fields!(self);
        for (i, item) in f.list(v, p).iter().enumerate() {
            let ip = index_path(p, i);
            match &item.value {
                Value::Map(entries) => {
                    let converted = f.check_keys(entries, keys::PORT_KEYS, &ip);
                    let mut port = Port {
                        target: 0,
                        published: None,
                        host_ip: None,
                        protocol: "tcp".into(),
                        name: None,
                        app_protocol: None,
                        pos: item.pos,
                    };
                    let mut has_target = false;
                    for (k, val) in converted {
                        let kp = key_path(&ip, &k.name);
                        match k.name.as_str() {
                            "target" => {
                                if let Some(t) = f.int(val, &kp) {
                                    if !(0..=65535).contains(&t) {
                                        f.invalid(val.pos, format!("`{kp}` must be a port from 0 to 65535, found {t}"));
                                    } else {
                                        port.target = t as u16;
                                        has_target = true;
                                    }
                                }
                            }
                            "published" => {
                                port.published = f.scalar(val, &kp);
                                if let Some(published) = port.published.as_deref() {
                                    if !ports::valid_published(published) {
                                        f.invalid(
                                            val.pos,
                                            format!(
                                                "`{kp}` must be a port from 0 to 65535 or a range such as \
                                                 `8000-8010`, found `{published}`"
                                            ),
                                        );
                                    }
                                }
                            }
                            "host_ip" => {
                                if let Some(h) = f.string(val, &kp) {
                                    if h.parse::<std::net::IpAddr>().is_err() {
                                        f.invalid(val.pos, format!("`{kp}`: invalid ip address: {h}"));
                                    }
                                    port.host_ip = Some(h);
                                }
                            }
                            "protocol" => {
                                if let Some(proto) = f.string(val, &kp) {
                                    match ports::valid_protocol(&proto) {
                                        Some(pr) => port.protocol = pr,
                                        None => f.invalid(val.pos, format!("`{kp}`: invalid protocol `{proto}`")),
                                    }
                                }
                            }
                            "name" => port.name = f.string(val, &kp),
                            "app_protocol" => port.app_protocol = f.string(val, &kp),
                            _ => {}
                        }
                    }
                    if !has_target {
                        f.diags.push(Diagnostic::at(
                            Code::InvalidValue,
                            item.pos,
                            format!("`{ip}` needs a `target` port"),
                        ));
                        continue;
                    }
                    s.ports.push(port);
                }
                _ => {
                    let Some(text) = f.scalar(item, &ip) else {
                        continue;
                    };
                    match ports::parse_short(&text) {
                        Ok(list) => s.ports.extend(list.into_iter().map(|spec| Port {
                            target: spec.target,
                            published: spec.published,
                            host_ip: spec.host_ip,
                            protocol: spec.protocol,
                            name: None,
                            app_protocol: None,
                            pos: item.pos,
                        })),
                        Err(e) => f.diags.push(
                            Diagnostic::at(Code::InvalidValue, item.pos, format!("`{ip}`: {e}"))
                                .with_help("write `[[IP:]HOST:]CONTAINER[/PROTOCOL]`, e.g. \"8080:80\""),
                        ),
                    }
                }
            }
        }
    }

    fn mounts(&mut self, s: &mut Service, v: &Node, p: &str) {
        let mut f = fields!(self);
        let mut mounts = Vec::new();
        for (i, item) in f.list(v, p).iter().enumerate() {
            let ip = index_path(p, i);
            match &item.value {
                Value::Map(entries) => {
                    let converted = f.check_keys(entries, keys::VOLUME_MOUNT_KEYS, &ip);
                    let mut kind = None;
                    let mut source = None;
                    let mut target = None;
                    let mut read_only = false;
                    let mut subpath = None;
                    let mut size = None;
                    for (k, val) in converted {
                        let kp = key_path(&ip, &k.name);
                        match k.name.as_str() {
                            "type" => {
                                if let Some(t) = f.string(val, &kp) {
                                    kind = MountType::parse(&t);
                                    if kind.is_none() {
                                        f.invalid(val.pos, format!("`{kp}` must be one of bind, volume, tmpfs, npipe, cluster, image; found `{t}`"));
                                    }
                                }
                            }
                            "source" => source = f.string(val, &kp),
                            "target" => target = f.string(val, &kp),
                            "read_only" => read_only = f.bool(val, &kp).unwrap_or(false),
                            "volume" | "tmpfs" => {
                                for (sub, sv) in f.map(val, &kp) {
                                    let allowed: &[&str] = if k.name == "volume" {
                                        &["nocopy", "subpath", "labels"]
                                    } else {
                                        &["size", "mode"]
                                    };
                                    if sub.name.starts_with("x-") {
                                        continue;
                                    }
                                    if !allowed.contains(&sub.name.as_str()) {
                                        f.diags.push(fields::unknown_key(sub, &kp, allowed));
                                    } else {
                                        let sp = key_path(&kp, &sub.name);
                                        match sub.name.as_str() {
                                            "subpath" => subpath = f.string(sv, &sp),
                                            "size" => {
                                                size = match &sv.value {
                                                    Value::Int(n) if *n >= 0 => Some(*n),
                                                    Value::Str(t) => units::parse_bytes(t).ok().filter(|n| *n >= 0),
                                                    _ => None,
                                                };
                                                if size.is_none() {
                                                    f.invalid(sv.pos, format!("`{sp}` must be a size such as `64m`"));
                                                }
                                            }
                                            "nocopy" => {}
                                            _ => f.not_converted.push(NotConverted {
                                                path: sp,
                                                pos: sub.pos,
                                                reason: "this mount option has no Kubernetes equivalent",
                                                help: None,
                                            }),
                                        }
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    let (Some(kind), Some(target)) = (kind, target) else {
                        if kind.is_some() || item.get("type").is_none() {
                            f.diags.push(Diagnostic::at(
                                Code::InvalidValue,
                                item.pos,
                                format!("`{ip}` needs `type` and `target`"),
                            ));
                        }
                        continue;
                    };
                    if kind == MountType::Bind && source.as_deref().unwrap_or_default().is_empty() {
                        f.invalid(item.pos, format!("`{ip}`: a bind mount needs a `source`"));
                        continue;
                    }
                    mounts.push((kind, source, target, read_only, item.pos, subpath, size));
                }
                _ => {
                    let Some(text) = f.string(item, &ip) else {
                        continue;
                    };
                    match volumes::parse_short(&text) {
                        Ok(spec) => {
                            // `:z`/`:Z` need nothing: the container runtime labels every volume of
                            // a pod for the pod's SELinux context, as Docker does for the mount.
                            for option in spec.dropped_options.iter().filter(|o| !o.eq_ignore_ascii_case("z")) {
                                f.not_converted.push(NotConverted {
                                    path: format!("the option `:{option}` of `{ip}`"),
                                    pos: item.pos,
                                    reason: "propagation between host and container has no meaning for the claim or ConfigMap the mount becomes",
                                    help: None,
                                });
                            }
                            mounts.push((spec.kind, spec.source, spec.target, spec.read_only, item.pos, None, None));
                        }
                        Err(e) => f.invalid(item.pos, format!("`{ip}`: {e}")),
                    }
                }
            }
        }
        for (kind, source, target, read_only, pos, subpath, tmpfs_size) in mounts {
            let host = match (kind, &source) {
                (MountType::Bind, Some(src)) => self.host_path(src, "a ConfigMap"),
                _ => HostPath::NotABind,
            };
            let target = volumes::clean_path(&target);
            s.volumes.push(Mount { kind, source, target, read_only, pos, host, subpath, tmpfs_size });
        }
    }

    fn file_refs(&mut self, v: &Node, p: &str) -> Vec<FileRef> {
        let mut f = fields!(self);
        let mut out = Vec::new();
        for (i, item) in f.list(v, p).iter().enumerate() {
            let ip = index_path(p, i);
            match &item.value {
                Value::Map(entries) => {
                    let mut r = FileRef { source: String::new(), target: None, mode: None, pos: item.pos };
                    for (k, val) in entries {
                        let kp = key_path(&ip, &k.name);
                        match k.name.as_str() {
                            "source" => r.source = f.string(val, &kp).unwrap_or_default(),
                            "target" => r.target = f.string(val, &kp),
                            "mode" => {
                                r.mode = match &val.value {
                                    Value::Int(m) if (0..=0o7777).contains(m) => Some(*m as u32),
                                    Value::Str(m) => u32::from_str_radix(m, 8).ok().filter(|m| *m <= 0o7777),
                                    _ => None,
                                };
                                if r.mode.is_none() {
                                    f.invalid(val.pos, format!("`{kp}` must be a file mode such as 0440"));
                                }
                            }
                            "uid" | "gid" => f.not_converted.push(NotConverted {
                                path: kp,
                                pos: k.pos,
                                reason: "file ownership of mounted secrets and configs follows the pod's fsGroup",
                                help: None,
                            }),
                            name if name.starts_with("x-") => {}
                            _ => f.diags.push(fields::unknown_key(k, &ip, &["gid", "mode", "source", "target", "uid"])),
                        }
                    }
                    if r.source.is_empty() {
                        f.invalid(item.pos, format!("`{ip}` needs a `source`"));
                    } else {
                        out.push(r);
                    }
                }
                _ => {
                    if let Some(source) = f.string(item, &ip) {
                        out.push(FileRef { source, target: None, mode: None, pos: item.pos });
                    }
                }
            }
        }
        out
    }

    fn healthcheck(&mut self, v: &Node, p: &str) -> Option<Healthcheck> {
        let mut f = fields!(self);
        let entries = f.map(v, p);
        let converted = f.check_keys(entries, keys::HEALTHCHECK_KEYS, p);
        let mut h = Healthcheck {
            test: HealthTest::Inherit,
            interval_ns: None,
            timeout_ns: None,
            start_period_ns: None,
            retries: None,
            pos: v.pos,
        };
        let mut disabled = false;
        for (k, val) in converted {
            let kp = key_path(p, &k.name);
            match k.name.as_str() {
                "test" => match &val.value {
                    Value::Str(s) => h.test = HealthTest::Shell(s.clone()),
                    Value::Seq(items) => {
                        let words: Vec<String> = items.iter().filter_map(|i| f.scalar(i, &kp)).collect();
                        h.test = match words.first().map(String::as_str) {
                            Some("NONE") => HealthTest::Disabled,
                            Some("CMD") => HealthTest::Exec(words[1..].to_vec()),
                            Some("CMD-SHELL") => HealthTest::Shell(words[1..].join(" ")),
                            // An empty list keeps the image's own check, as compose-go reads it.
                            None => HealthTest::Inherit,
                            _ => {
                                f.invalid(
                                    val.pos,
                                    format!("`{kp}` must start with \"CMD\", \"CMD-SHELL\" or \"NONE\""),
                                );
                                HealthTest::Inherit
                            }
                        };
                    }
                    _ => f.wrong_type(val, &kp, "a string or a list"),
                },
                "disable" => disabled = f.bool(val, &kp).unwrap_or(false),
                "retries" => {
                    h.retries = f.int(val, &kp);
                    if h.retries.is_some_and(|r| r < 0) {
                        f.invalid(val.pos, format!("`{kp}` must not be negative (Docker refuses it)"));
                    }
                }
                "interval" | "timeout" | "start_period" => {
                    let Some(text) = f.string(val, &kp) else {
                        continue;
                    };
                    match units::parse_duration(&text) {
                        Ok(ns) if ns < 0 => {
                            f.invalid(val.pos, format!("`{kp}` must not be negative (Docker refuses it)"))
                        }
                        Ok(ns) => match k.name.as_str() {
                            "interval" => h.interval_ns = Some(ns),
                            "timeout" => h.timeout_ns = Some(ns),
                            _ => h.start_period_ns = Some(ns),
                        },
                        Err(e) => f.invalid(val.pos, format!("`{kp}`: {e}")),
                    }
                }
                _ => {}
            }
        }
        if disabled {
            h.test = HealthTest::Disabled;
        }
        Some(h)
    }

    fn deploy(&mut self, s: &mut Service, v: &Node, p: &str) {
        let mut f = fields!(self);
        let entries = f.map(v, p);
        let converted = f.check_keys(entries, keys::DEPLOY_KEYS, p);
        for (k, val) in converted {
            let kp = key_path(p, &k.name);
            match k.name.as_str() {
                "replicas" => s.replicas = f.int(val, &kp).map(|r| Spanned::new(r, val.pos)),
                "mode" => {
                    if let Some(mode) = f.string(val, &kp) {
                        match mode.as_str() {
                            "replicated" => {}
                            "global" => s.global = true,
                            "replicated-job" => s.job = Some(Spanned::new(false, val.pos)),
                            "global-job" => s.job = Some(Spanned::new(true, val.pos)),
                            other => f.not_converted.push(NotConverted {
                                path: format!("{kp} ({other})"),
                                pos: val.pos,
                                reason: "it is not a mode Compose knows; the service runs as a Deployment",
                                help: Some("use replicated, global, replicated-job or global-job"),
                            }),
                        }
                    }
                }
                "labels" => {
                    s.deploy_labels = f
                        .list_or_map(val, &kp, '=')
                        .into_iter()
                        .map(|(k, v, pos)| (k, v.unwrap_or_default(), pos))
                        .collect()
                }
                "endpoint_mode" => s.endpoint_mode = f.string(val, &kp).map(|m| Spanned::new(m, val.pos)),
                "update_config" => {
                    let mut uc = UpdateConfig { pos: val.pos, ..UpdateConfig::default() };
                    for (uk, uv) in f.map(val, &kp) {
                        let ukp = key_path(&kp, &uk.name);
                        match uk.name.as_str() {
                            "parallelism" => uc.parallelism = f.int(uv, &ukp),
                            "order" => uc.order = f.string(uv, &ukp),
                            "delay" | "failure_action" | "monitor" | "max_failure_ratio" => {
                                f.not_converted.push(NotConverted {
                                    path: ukp,
                                    pos: uk.pos,
                                    reason: "Kubernetes rolling updates have no such setting",
                                    help: None,
                                })
                            }
                            name if name.starts_with("x-") => {}
                            _ => f.diags.push(fields::unknown_key(
                                uk,
                                &kp,
                                &["delay", "failure_action", "max_failure_ratio", "monitor", "order", "parallelism"],
                            )),
                        }
                    }
                    s.update_config = Some(uc);
                }
                "placement" => {
                    for (pk, pv) in f.map(val, &kp) {
                        let pkp = key_path(&kp, &pk.name);
                        match pk.name.as_str() {
                            "constraints" => {
                                s.placement.constraints = f
                                    .list(pv, &pkp)
                                    .iter()
                                    .enumerate()
                                    .filter_map(|(i, c)| {
                                        f.string(c, &index_path(&pkp, i)).map(|t| Spanned::new(t, c.pos))
                                    })
                                    .collect()
                            }
                            "preferences" => {
                                for (i, pref) in f.list(pv, &pkp).iter().enumerate() {
                                    let ip = index_path(&pkp, i);
                                    match pref.get("spread") {
                                        Some(spread) => {
                                            if let Some(t) = f.string(spread, &key_path(&ip, "spread")) {
                                                s.placement.spread.push(Spanned::new(t, spread.pos));
                                            }
                                        }
                                        // The schema allows an empty preference; it spreads nothing.
                                        None if matches!(&pref.value, Value::Map(m) if m.is_empty()) => {}
                                        None => f.wrong_type(pref, &ip, "a mapping with `spread`"),
                                    }
                                }
                            }
                            "max_replicas_per_node" => f.not_converted.push(NotConverted {
                                path: pkp,
                                pos: pk.pos,
                                reason: "use pod anti-affinity or topology spread constraints in Kubernetes",
                                help: None,
                            }),
                            name if name.starts_with("x-") => {}
                            _ => f.diags.push(fields::unknown_key(
                                pk,
                                &kp,
                                &["constraints", "max_replicas_per_node", "preferences"],
                            )),
                        }
                    }
                }
                "restart_policy" => {
                    let rp = f.map(val, &kp);
                    for (rk, rv) in f.check_keys(rp, keys::RESTART_POLICY_KEYS, &kp) {
                        match rk.name.as_str() {
                            "condition" => {
                                s.restart_condition =
                                    f.string(rv, &key_path(&kp, "condition")).map(|c| Spanned::new(c, rv.pos));
                            }
                            "max_attempts" => {
                                let path = key_path(&kp, "max_attempts");
                                s.restart_max_attempts = match f.int(rv, &path) {
                                    Some(n) if n < 0 => {
                                        f.invalid(rv.pos, format!("`{path}` must not be negative"));
                                        None
                                    }
                                    n => n.map(|n| Spanned::new(n, rk.pos)),
                                };
                            }
                            _ => {}
                        }
                    }
                }
                "resources" => {
                    let res = f.map(val, &kp);
                    for (rk, rv) in res {
                        let rkp = key_path(&kp, &rk.name);
                        match rk.name.as_str() {
                            "limits" | "reservations" => {
                                let inner = f.map(rv, &rkp);
                                let items: Vec<_> =
                                    f.check_keys(inner, keys::RESOURCE_KEYS, &rkp).into_iter().cloned().collect();
                                let mut res = Resources::default();
                                for (ik, iv) in &items {
                                    let ikp = key_path(&rkp, &ik.name);
                                    match ik.name.as_str() {
                                        "cpus" => {
                                            let mut f2 = fields!(self);
                                            res.cpus = f2
                                                .float(iv, &ikp)
                                                .filter(|c| {
                                                    if *c < 0.0 {
                                                        f2.invalid(iv.pos, format!("`{ikp}` must not be negative"));
                                                    }
                                                    *c >= 0.0
                                                })
                                                .map(|c| Spanned::new(c, iv.pos));
                                        }
                                        "memory" => res.memory = self.bytes(iv, &ikp).map(|m| Spanned::new(m, iv.pos)),
                                        "devices" => {
                                            let requests = self.device_requests(iv, &ikp);
                                            s.device_requests.extend(requests);
                                        }
                                        _ => {}
                                    }
                                }
                                let target = if rk.name == "limits" { &mut s.limits } else { &mut s.reservations };
                                if res.cpus.is_some() {
                                    target.cpus = res.cpus;
                                }
                                if res.memory.is_some() {
                                    target.memory = res.memory;
                                }
                                f = fields!(self);
                            }
                            name if name.starts_with("x-") => {}
                            _ => f.diags.push(fields::unknown_key(rk, &kp, &["limits", "reservations"])),
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn networks(&mut self, v: &Node, p: &str, aliases: &mut Vec<Spanned<String>>) -> Vec<String> {
        let mut f = fields!(self);
        let mut names = Vec::new();
        match &v.value {
            Value::Map(entries) => {
                for (k, val) in entries {
                    names.push(k.name.clone());
                    let np = key_path(p, &k.name);
                    for (sub, sv) in f.map(val, &np) {
                        if sub.name.starts_with("x-") {
                            continue;
                        }
                        if sub.name == "aliases" {
                            let ap = key_path(&np, "aliases");
                            for (i, item) in f.list(sv, &ap).iter().enumerate() {
                                if let Some(alias) = f.string(item, &index_path(&ap, i)) {
                                    if !aliases.iter().any(|a| a.value.eq_ignore_ascii_case(&alias)) {
                                        aliases.push(Spanned::new(alias, item.pos));
                                    }
                                }
                            }
                            continue;
                        }
                        f.not_converted.push(NotConverted {
                            path: format!("{p}.{}.{}", k.name, sub.name),
                            pos: sub.pos,
                            reason: "every pod reaches every Service by name on the cluster network",
                            help: None,
                        });
                    }
                }
            }
            _ => {
                for (i, item) in f.list(v, p).iter().enumerate() {
                    if let Some(n) = f.string(item, &index_path(p, i)) {
                        names.push(n);
                    }
                }
            }
        }
        names
    }
}

fn strip_brackets(ip: &str) -> String {
    ip.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(ip).to_string()
}
