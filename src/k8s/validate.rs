//! The validator: every object is checked the way the API server would check it before we
//! emit anything. It reads the serialised JSON (what will really be written), not the
//! builder's types, so a mapper bug cannot hide from it. A violation is an error diagnostic,
//! never a silent fix.

use super::names::*;
use super::storage::quantity_value;
use super::{Mapped, Object};
use crate::diag::{Code, Diagnostic, Diagnostics, MAX_OBJECT_BYTES};
use crate::value::{Map, Value};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

struct Check<'a> {
    object: &'a Object,
    diags: &'a mut Diagnostics,
}

impl Check<'_> {
    fn error(&mut self, code: Code, message: String) {
        self.diags.push(Diagnostic::new(
            code,
            self.object.origin,
            format!("{} `{}`: {message}", self.object.kind, self.object.name),
        ));
    }
}

static EMPTY: Map = Map::new();

fn as_map(value: Option<&Value>) -> &Map {
    value.and_then(Value::as_object).unwrap_or(&EMPTY)
}

/// The string entries of a map (labels, a selector) in key order; others are skipped.
fn strings(map: &Map) -> impl Iterator<Item = (&str, &str)> {
    map.iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s)))
}

fn get_str<'a>(map: &'a Map, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

fn items(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// Objects in the output and declared external objects, by kind and name.
type Present<'a> = HashSet<(&'a str, &'a str)>;

/// Pod label sets, indexed by label pair so a selector is checked without scanning them all.
struct PodLabels<'a> {
    sets: Vec<&'a Map>,
    /// Most pairs (a service's own label) are in one set: no list of their own.
    by_pair: HashMap<(&'a str, &'a str), super::Positions>,
}

impl<'a> PodLabels<'a> {
    fn new(sets: Vec<&'a Map>) -> PodLabels<'a> {
        let mut by_pair: HashMap<(&'a str, &'a str), super::Positions> = HashMap::new();
        by_pair.reserve(sets.len());
        for (i, set) in sets.iter().enumerate() {
            for pair in strings(set) {
                by_pair.entry(pair).and_modify(|sets| sets.push(i)).or_insert(super::Positions::One(i));
            }
        }
        PodLabels { sets, by_pair }
    }

    fn matches(&self, selector: &Map) -> bool {
        let Some(first) = strings(selector).next() else { return true };
        self.by_pair.get(&first).is_some_and(|candidates| {
            candidates.as_slice().iter().any(|&i| strings(selector).all(|(k, v)| get_str(self.sets[i], k) == Some(v)))
        })
    }
}

/// Validate every object; references must resolve to objects in `mapped` or to declared
/// external objects.
pub fn validate(mapped: &Mapped) -> Diagnostics {
    let mut diags = Diagnostics::default();
    // The shared indexes and each object's size, on two threads for a large project.
    let objects = &mapped.objects;
    // Each object's size: the mapper measured those it added; any other is measured here,
    // in chunks by whichever thread is free. The writer splits the objects by it too.
    let chunks = crate::par::Chunks::new(objects, 64);
    let measure = || chunks.take(Object::size);
    let ((pod_labels, some), (present, repeated, others)) = crate::par::join(
        objects.len() >= crate::par::LARGE,
        || {
            let pod_labels = PodLabels::new(objects.iter().filter_map(|o| pod_template(o).map(|(_, l)| l)).collect());
            (pod_labels, measure())
        },
        || {
            // An object is repeated when one of the objects before it has its kind and name.
            let mut present: Present = HashSet::with_capacity(objects.len() + mapped.external.len());
            let repeated: Vec<bool> = objects.iter().map(|o| !present.insert((&o.kind, &o.name))).collect();
            present.extend(mapped.external.iter().map(|(k, n)| (k.as_str(), n.as_str())));
            (present, repeated, measure())
        },
    );
    let sizes = chunks.merge([some, others]);
    // Each object is checked on its own against the shared indexes, in chunks by whichever
    // thread is free (checking a Deployment takes longer than a claim of the same size), the
    // findings joined in object order; the node ports Services ask for are gathered on the
    // way and checked against each other after.
    let checked: Vec<(&Object, bool, (usize, usize))> =
        objects.iter().zip(repeated).zip(sizes).map(|((o, r), size)| (o, r, size)).collect();
    let to_check = crate::par::Chunks::new(&checked, 256);
    let check = || {
        to_check.take(|&(object, repeated, (_, bytes))| {
            let mut diags = Diagnostics::default();
            check_object(object, repeated, &present, &pod_labels, &mut diags);
            if bytes > MAX_OBJECT_BYTES {
                Check { object, diags: &mut diags }.error(
                    Code::ObjectTooLarge,
                    format!(
                        "holds {bytes} bytes of text, more than the {MAX_OBJECT_BYTES} bytes a cluster \
                         stores in one object"
                    ),
                );
            }
            (diags, own_node_ports(object))
        })
    };
    let (some, others) = crate::par::join(objects.len() >= crate::par::LARGE, check, check);
    let mut ports = Vec::new();
    for (object, (found, own)) in objects.iter().zip(to_check.merge([some, others])) {
        diags.0.extend(found.0);
        if !own.is_empty() {
            ports.push((object, own));
        }
    }
    node_ports(ports.into_iter(), &mut diags);
    diags
}

/// The most data a ConfigMap or a Secret holds (`core.MaxSecretSize`).
const MAX_DATA_BYTES: usize = 1024 * 1024;

/// The node ports a Service asks for, each once (one Service may use a node port for TCP and
/// for UDP); none for other objects.
fn own_node_ports(object: &Object) -> Vec<i64> {
    let mut own = Vec::new();
    if object.kind == "Service" {
        let mut seen = HashSet::new();
        for port in items(object.value.pointer("/spec/ports")) {
            let Some(node_port) = port.get("nodePort").and_then(Value::as_i64) else { continue };
            if seen.insert(node_port) {
                own.push(node_port);
            }
        }
    }
    own
}

/// A node port is allocated to one Service in the cluster: the API server refuses a second
/// Service asking for it (`provided port is already allocated`). `services` are the Services
/// with node ports, in output order, each with its own ([`own_node_ports`]).
fn node_ports<'a>(services: impl Iterator<Item = (&'a Object, Vec<i64>)>, diags: &mut Diagnostics) {
    let mut taken: HashMap<i64, &str> = HashMap::new();
    for (object, own) in services {
        for node_port in own {
            if let Some(&other) = taken.get(&node_port) {
                Check { object, diags }.error(
                    Code::InvalidPort,
                    format!("node port {node_port} is already taken by Service `{other}`; each node port belongs to one Service"),
                );
            } else {
                taken.insert(node_port, &object.name);
            }
        }
    }
}

fn check_object(object: &Object, repeated: bool, present: &Present, pod_labels: &PodLabels, diags: &mut Diagnostics) {
    let mut check = Check { object, diags };
    if repeated {
        check.error(Code::DuplicateName, "two different objects of this kind have this name".into());
    }
    let meta = object.value.get("metadata");
    let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or_default();
    let name_ok = match object.kind.as_str() {
        "Service" => is_dns1035_label(name),
        "Namespace" => is_dns1123_label(name),
        "Pod" | "Deployment" | "DaemonSet" | "StatefulSet" | "Job" | "CronJob" => {
            is_dns1123_subdomain(name) && (object.kind != "CronJob" || name.len() <= 52)
        }
        _ => is_dns1123_subdomain(name),
    };
    if !name_ok {
        check.error(Code::InvalidName, format!("`{name}` is not a valid {} name", object.kind));
    }
    labels(&mut check, meta.and_then(|m| m.get("labels")), "metadata.labels");
    annotations(&mut check, meta.and_then(|m| m.get("annotations")));
    if let Some((pod, template_labels)) = pod_template(object) {
        let selector = as_map(object.value.pointer("/spec/selector/matchLabels"));
        if object.kind != "Pod" && object.kind != "CronJob" && object.kind != "Job" {
            if selector.is_empty() {
                check.error(Code::SelectorMismatch, "has no selector".into());
            }
            for (k, v) in strings(selector) {
                if get_str(template_labels, k) != Some(v) {
                    check.error(
                        Code::SelectorMismatch,
                        format!("selector `{k}={v}` does not match the pod template labels"),
                    );
                }
            }
        }
        labels(&mut check, object.value.pointer("/spec/template/metadata/labels"), "pod template labels");
        let restart = pod.get("restartPolicy").and_then(Value::as_str);
        let allowed: &[&str] = match object.kind.as_str() {
            "Job" | "CronJob" => &["Never", "OnFailure"],
            "Pod" => &["Always", "Never", "OnFailure"],
            _ => &["Always"],
        };
        match restart {
            Some(policy) if !allowed.contains(&policy) => check.error(
                Code::InvalidValue,
                format!("restartPolicy `{policy}` is not allowed: use {}", allowed.join(" or ")),
            ),
            None if matches!(object.kind.as_str(), "Job" | "CronJob") => {
                check.error(Code::InvalidValue, "a Job's pods need restartPolicy Never or OnFailure".into())
            }
            _ => {}
        }
        let templates = items(object.value.pointer("/spec/volumeClaimTemplates"))
            .iter()
            .filter_map(|t| t.pointer("/metadata/name").and_then(Value::as_str));
        pod_spec(&mut check, pod, present, templates);
    }
    let claims = match object.kind.as_str() {
        "PersistentVolumeClaim" => std::slice::from_ref(&object.value),
        _ => items(object.value.pointer("/spec/volumeClaimTemplates")),
    };
    for claim in claims {
        if let Some(class) = claim.pointer("/spec/storageClassName").and_then(Value::as_str) {
            if !class.is_empty() && !is_dns1123_subdomain(class) {
                check.error(Code::InvalidName, format!("storage class `{class}` is not a valid DNS-1123 subdomain"));
            }
        }
        let storage = claim.pointer("/spec/resources/requests/storage").and_then(Value::as_str).unwrap_or_default();
        if !super::storage::is_storage_size(storage) {
            check.error(
                Code::InvalidValue,
                format!("claim storage request `{storage}` is not a quantity greater than zero"),
            );
        }
    }
    match object.kind.as_str() {
        "Service" => service(&mut check, pod_labels),
        "ConfigMap" | "Secret" => {
            // The API server's limit on the data itself (keys not counted): 1 MiB.
            let mut total = 0usize;
            for field in ["data", "binaryData", "stringData"] {
                let base64 = field == "binaryData" || (field == "data" && object.kind == "Secret");
                if let Some(map) = object.value.get(field).and_then(Value::as_object) {
                    for (key, value) in map.iter() {
                        if !is_config_key(key) {
                            check.error(Code::InvalidName, format!("data key `{key}` is not valid"));
                        }
                        let text = value.as_str().unwrap_or_default();
                        total += if base64 {
                            (text.len() / 4 * 3).saturating_sub(text.bytes().rev().take_while(|b| *b == b'=').count())
                        } else {
                            text.len()
                        };
                    }
                }
            }
            if total > MAX_DATA_BYTES {
                check.error(
                    Code::ObjectTooLarge,
                    format!("holds {total} bytes of data; the API server accepts at most {MAX_DATA_BYTES} (1 MiB)"),
                );
            }
        }
        "Ingress" => ingress(&mut check, &object.value),
        _ => {}
    }
}

/// Ingress rules: a DNS name (or `*.` and one) for each host, never an IP address, and `Prefix`
/// paths without `//`, `/./`, `/../` or an ending `/.`, as the API server checks them.
fn ingress(check: &mut Check, ingress: &Value) {
    let rules = items(ingress.pointer("/spec/rules"));
    if rules.is_empty() && ingress.pointer("/spec/defaultBackend").is_none() {
        check.error(Code::InvalidValue, "an Ingress needs rules or a default backend".into());
    }
    for rule in rules {
        if let Some(host) = rule.get("host").and_then(Value::as_str) {
            let name = host.strip_prefix("*.").unwrap_or(host);
            if !is_dns1123_subdomain(name) || super::ingress::is_ip_address(host) {
                check.error(Code::InvalidName, format!("Ingress host `{host}` is not a DNS name"));
            }
        }
        for path in items(rule.pointer("/http/paths")) {
            let text = path.get("path").and_then(Value::as_str).unwrap_or_default();
            let prefix = matches!(path.get("pathType").and_then(Value::as_str), Some("Prefix" | "Exact"));
            if !text.starts_with('/') {
                check.error(Code::InvalidValue, format!("Ingress path `{text}` must start with `/`"));
            } else if let Some(why) = super::ingress::prefix_path_error(text).filter(|_| prefix) {
                check.error(Code::InvalidValue, format!("Ingress path `{text}` must not {why}"));
            }
        }
    }
}

/// The pod spec and pod labels of an object that runs pods.
fn pod_template(object: &Object) -> Option<(&Value, &Map)> {
    match object.kind.as_str() {
        "Pod" => Some((object.value.get("spec")?, as_map(object.value.pointer("/metadata/labels")))),
        "Deployment" | "DaemonSet" | "StatefulSet" | "Job" => Some((
            object.value.pointer("/spec/template/spec")?,
            as_map(object.value.pointer("/spec/template/metadata/labels")),
        )),
        "CronJob" => Some((
            object.value.pointer("/spec/jobTemplate/spec/template/spec")?,
            as_map(object.value.pointer("/spec/jobTemplate/spec/template/metadata/labels")),
        )),
        _ => None,
    }
}

fn labels(check: &mut Check, value: Option<&Value>, what: &str) {
    for (k, v) in strings(as_map(value)) {
        if !is_qualified_name(k) {
            check.error(Code::InvalidObjectLabel, format!("{what}: `{k}` is not a valid label key"));
        }
        if !is_label_value(v) {
            check.error(Code::InvalidObjectLabel, format!("{what}: `{v}` is not a valid value for label `{k}`"));
        }
    }
}

fn annotations(check: &mut Check, value: Option<&Value>) {
    let map = as_map(value);
    let total: usize = strings(map).map(|(k, v)| k.len() + v.len()).sum();
    for (k, _) in strings(map) {
        if !is_qualified_name(k) {
            check.error(Code::InvalidObjectLabel, format!("`{k}` is not a valid annotation key"));
        }
    }
    if total > 256 * 1024 {
        check.error(Code::InvalidObjectLabel, "annotations exceed 256 KiB in total".into());
    }
}

fn pod_spec<'a>(check: &mut Check, pod: &'a Value, present: &Present, claim_templates: impl Iterator<Item = &'a str>) {
    let has = |kind: &str, name: &str| present.contains(&(kind, name));
    let mut volume_names: HashSet<&str> = claim_templates.collect();
    for volume in items(pod.get("volumes")) {
        let name = volume.get("name").and_then(Value::as_str).unwrap_or_default();
        if !is_dns1123_label(name) {
            check.error(Code::InvalidName, format!("volume name `{name}` is not a valid DNS-1123 label"));
        }
        if !volume_names.insert(name) {
            check.error(Code::DuplicateName, format!("two pod volumes are named `{name}`"));
        }
        let refs = [
            ("ConfigMap", volume.pointer("/configMap/name")),
            ("Secret", volume.pointer("/secret/secretName")),
            ("PersistentVolumeClaim", volume.pointer("/persistentVolumeClaim/claimName")),
        ];
        for (kind, target) in refs {
            if let Some(target) = target.and_then(Value::as_str) {
                if !has(kind, target) {
                    check.error(
                        Code::DanglingReference,
                        format!("volume `{name}` refers to {kind} `{target}`, which is not in the output"),
                    );
                }
            }
        }
        // Where each key goes inside a ConfigMap or Secret volume: a relative path that does
        // not climb and does not start with `..` (the kubelet's own `..data` entries).
        for pointer in ["/configMap/defaultMode", "/secret/defaultMode"] {
            if let Some(mode) = volume.pointer(pointer).and_then(Value::as_i64).filter(|m| !(0..=0o777).contains(m)) {
                check.error(Code::InvalidValue, format!("volume `{name}`: file mode {mode:#o} is outside 0-0777"));
            }
        }
        let keyed = items(volume.pointer("/configMap/items")).iter().chain(items(volume.pointer("/secret/items")));
        for path in keyed.filter_map(|item| item.get("path").and_then(Value::as_str)) {
            if path.is_empty()
                || path.starts_with('/')
                || path.starts_with("..")
                || path.split(['/', '\\']).any(|step| step == "..")
            {
                check.error(
                    Code::InvalidValue,
                    format!("volume `{name}` puts a key at `{path}`: it must be a relative path that does not start with `..`"),
                );
            }
        }
    }
    if let Some(hostname) = pod.get("hostname").and_then(Value::as_str) {
        if !is_dns1123_label(hostname) {
            check.error(Code::InvalidName, format!("hostname `{hostname}` is not a valid DNS-1123 label"));
        }
    }
    if let Some(subdomain) = pod.get("subdomain").and_then(Value::as_str) {
        if !is_dns1123_label(subdomain) {
            check.error(Code::InvalidName, format!("subdomain `{subdomain}` is not a valid DNS-1123 label"));
        }
    }
    // Node affinity: label keys and values, which the API server checks (values from 1.33).
    let terms = pod.pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms");
    for term in items(terms) {
        for requirement in items(term.get("matchExpressions")) {
            let key = requirement.get("key").and_then(Value::as_str).unwrap_or_default();
            if !is_qualified_name(key) {
                check.error(Code::InvalidObjectLabel, format!("node affinity: `{key}` is not a valid label key"));
            }
            for value in items(requirement.get("values")).iter().filter_map(Value::as_str) {
                if !is_label_value(value) {
                    check.error(
                        Code::InvalidObjectLabel,
                        format!("node affinity: `{value}` is not a valid value for label `{key}`"),
                    );
                }
            }
        }
    }
    for spread in items(pod.get("topologySpreadConstraints")) {
        let key = spread.get("topologyKey").and_then(Value::as_str).unwrap_or_default();
        if !is_qualified_name(key) {
            check.error(Code::InvalidObjectLabel, format!("topology spread: `{key}` is not a valid label key"));
        }
    }
    for alias in items(pod.get("hostAliases")) {
        let ip = alias.get("ip").and_then(Value::as_str).unwrap_or_default();
        if ip.parse::<std::net::IpAddr>().is_err() {
            check.error(Code::InvalidValue, format!("host alias IP `{ip}` is not an IP address"));
        }
        for host in items(alias.get("hostnames")).iter().filter_map(Value::as_str) {
            if !is_dns1123_subdomain(host) {
                check.error(Code::InvalidName, format!("host alias `{host}` is not a valid DNS-1123 subdomain"));
            }
        }
    }
    for option in items(pod.pointer("/dnsConfig/options")) {
        if option.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
            check.error(Code::InvalidValue, "a DNS option has an empty name".into());
        }
    }
    user_ids(check, pod.get("securityContext"), &["runAsUser", "runAsGroup", "fsGroup"]);
    for group in items(pod.pointer("/securityContext/supplementalGroups")) {
        if !group.as_i64().is_some_and(is_user_id) {
            check.error(
                Code::InvalidValue,
                format!("supplemental group {} is outside 0-2147483647", group.as_i64().unwrap_or(-1)),
            );
        }
    }
    for volume in items(pod.get("volumes")) {
        if let Some(path) = volume.pointer("/hostPath/path").and_then(Value::as_str) {
            if path.split(['/', '\\']).any(|step| step == "..") {
                check.error(Code::InvalidValue, format!("host path `{path}` contains `..`"));
            }
        }
    }
    let mut container_names = HashSet::new();
    for group in ["initContainers", "containers"] {
        for container in items(pod.get(group)) {
            let name = container.get("name").and_then(Value::as_str).unwrap_or_default();
            if !is_dns1123_label(name) {
                check.error(Code::InvalidName, format!("container name `{name}` is not a valid DNS-1123 label"));
            }
            if !container_names.insert(name) {
                check.error(Code::DuplicateName, format!("two containers are named `{name}`"));
            }
            if container.get("image").and_then(Value::as_str).is_none_or(str::is_empty) {
                check.error(Code::InvalidValue, format!("container `{name}` has no image"));
            }
            let mut port_keys = HashSet::new();
            for port in items(container.get("ports")) {
                let number = port.get("containerPort").and_then(Value::as_i64).unwrap_or(0);
                if !(1..=65535).contains(&number) {
                    check.error(Code::InvalidPort, format!("container port {number} is outside 1-65535"));
                }
                let protocol = port.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                if !port_keys.insert((number, protocol)) {
                    check.error(Code::InvalidPort, format!("container port {number}/{protocol} is listed twice"));
                }
                if let Some(pname) = port.get("name").and_then(Value::as_str) {
                    if !is_iana_svc_name(pname) {
                        check.error(
                            Code::InvalidPort,
                            format!("container port name `{pname}` is not a valid IANA service name"),
                        );
                    }
                }
            }
            for mount in items(container.get("volumeMounts")) {
                let vname = mount.get("name").and_then(Value::as_str).unwrap_or_default();
                if !volume_names.contains(vname) {
                    check.error(
                        Code::DanglingReference,
                        format!("container `{name}` mounts `{vname}`, which is not a pod volume"),
                    );
                }
                let path = mount.get("mountPath").and_then(Value::as_str).unwrap_or_default();
                let b = path.as_bytes();
                let windows = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
                if path.is_empty() || (!path.starts_with('/') && !windows) {
                    check.error(
                        Code::InvalidValue,
                        format!("mount path `{path}` of `{vname}` is not an absolute container path"),
                    );
                }
            }
            let mut paths = HashSet::new();
            for mount in items(container.get("volumeMounts")) {
                let path = mount.get("mountPath").and_then(Value::as_str).unwrap_or_default();
                if !paths.insert(path) {
                    check.error(Code::DuplicateName, format!("container `{name}` mounts two volumes at `{path}`"));
                }
                if let Some(sub) = mount.get("subPath").and_then(Value::as_str) {
                    if sub.starts_with('/') || sub.split(['/', '\\']).any(|step| step == "..") {
                        check.error(
                            Code::InvalidValue,
                            format!("sub-path `{sub}` at `{path}` must be a relative path without `..`"),
                        );
                    }
                }
            }
            user_ids(check, container.get("securityContext"), &["runAsUser", "runAsGroup"]);
            for side in ["limits", "requests"] {
                if let Some(map) = container.get("resources").and_then(|r| r.get(side)).and_then(Value::as_object) {
                    for (resource, quantity) in map {
                        if quantity.as_str().is_some_and(|q| q.starts_with('-')) {
                            check.error(Code::InvalidValue, format!("container `{name}` {side} a negative {resource}"));
                        }
                    }
                }
            }
            // The API server refuses a request above its limit (an unset request takes the limit).
            let resources = container.get("resources");
            let side = |side: &str| resources.and_then(|r| r.get(side)).and_then(Value::as_object);
            if let (Some(requests), Some(limits)) = (side("requests"), side("limits")) {
                for (resource, request) in requests.iter() {
                    let (Some(request), Some(limit)) = (request.as_str(), limits.get(resource).and_then(Value::as_str))
                    else {
                        continue;
                    };
                    if let (Some(r), Some(l)) = (quantity_value(request), quantity_value(limit)) {
                        if r > l {
                            check.error(
                                Code::InvalidValue,
                                format!("container `{name}` requests {request} of {resource}, more than its limit of {limit}"),
                            );
                        }
                    }
                }
            }
            for env in items(container.get("env")) {
                let ename = env.get("name").and_then(Value::as_str).unwrap_or_default();
                if !is_env_var_name(ename) {
                    check.error(Code::InvalidName, format!("environment variable name `{ename}` is not valid"));
                }
            }
            for from in items(container.get("envFrom")) {
                if let Some(cm) = from.pointer("/configMapRef/name").and_then(Value::as_str) {
                    if !has("ConfigMap", cm) {
                        check.error(
                            Code::DanglingReference,
                            format!("`envFrom` refers to ConfigMap `{cm}`, which is not in the output"),
                        );
                    }
                }
            }
        }
    }
}

/// A Linux user or group ID as the API server accepts it.
fn is_user_id(id: i64) -> bool {
    (0..=i64::from(i32::MAX)).contains(&id)
}

fn user_ids(check: &mut Check, context: Option<&Value>, fields: &[&str]) {
    for field in fields {
        if let Some(id) = context.and_then(|c| c.get(field)).and_then(Value::as_i64) {
            if !is_user_id(id) {
                check.error(Code::InvalidValue, format!("`{field}: {id}` is outside 0-2147483647"));
            }
        }
    }
}

fn service(check: &mut Check, pod_labels: &PodLabels) {
    let object = check.object;
    let null = Value::Null;
    let spec = object.value.get("spec").unwrap_or(&null);
    let ports = items(spec.get("ports"));
    let mut names = HashSet::new();
    let mut keys = HashSet::new();
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    if ports.is_empty() && !headless {
        check.error(Code::InvalidPort, "a Service that is not headless needs at least one port".into());
    }
    for port in ports {
        let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
        if !(1..=65535).contains(&number) {
            check.error(Code::InvalidPort, format!("port {number} is outside 1-65535"));
        }
        if let Some(target) = port.get("targetPort").and_then(Value::as_i64) {
            if !(1..=65535).contains(&target) {
                check.error(Code::InvalidPort, format!("target port {target} is outside 1-65535"));
            }
        }
        let protocol = port.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
        if !keys.insert((number, protocol)) {
            check.error(Code::InvalidPort, format!("port {number}/{protocol} is listed twice"));
        }
        if let Some(app) = port.get("appProtocol").and_then(Value::as_str) {
            if !is_qualified_name(app) {
                check.error(
                    Code::InvalidPort,
                    format!("port {number}: app protocol `{app}` is not a valid name (such as `http` or `example.com/proto`)"),
                );
            }
        }
        match port.get("name").and_then(Value::as_str) {
            Some(name) => {
                if !is_dns1123_label(name) {
                    check.error(Code::InvalidPort, format!("port name `{name}` is not a valid DNS-1123 label"));
                }
                if !names.insert(name) {
                    check.error(Code::InvalidPort, format!("port name `{name}` is used twice"));
                }
            }
            None if ports.len() > 1 => {
                check.error(Code::InvalidPort, "every port needs a name when there are several".into())
            }
            None => {}
        }
    }
    let selector = as_map(spec.get("selector"));
    if !selector.is_empty() && !pod_labels.matches(selector) {
        check.error(Code::SelectorMismatch, "its selector matches no pod in the output".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(affinity_value: &str, topology_key: &str) -> Object {
        let text = format!(
            r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "p"}}, "spec": {{
                "containers": [{{"name": "c", "image": "busybox"}}],
                "affinity": {{"nodeAffinity": {{"requiredDuringSchedulingIgnoredDuringExecution": {{
                    "nodeSelectorTerms": [{{"matchExpressions": [
                        {{"key": "kubernetes.io/os", "operator": "In", "values": ["{affinity_value}"]}}]}}]}}}}}},
                "topologySpreadConstraints": [{{"maxSkew": 1, "topologyKey": "{topology_key}",
                    "whenUnsatisfiable": "ScheduleAnyway"}}]}}}}"#
        );
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        Object::new("Pod", "p", &json, None)
    }

    fn messages(object: Object) -> Vec<String> {
        let mapped = Mapped { objects: vec![object], external: Vec::new() };
        validate(&mapped).0.into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn node_affinity_and_topology_keys_are_label_keys_and_values() {
        assert_eq!(messages(pod("linux", "zone")), Vec::<String>::new());
        let found = messages(pod("ubuntu 14.04", "bad key"));
        assert!(found.iter().any(|m| m.contains("`ubuntu 14.04` is not a valid value")), "{found:?}");
        assert!(found.iter().any(|m| m.contains("topology spread: `bad key`")), "{found:?}");
    }

    #[test]
    fn volume_items_stay_inside_the_volume() {
        let pod = |path: &str| {
            let text = format!(
                r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "p"}}, "spec": {{
                    "containers": [{{"name": "c", "image": "busybox"}}],
                    "volumes": [{{"name": "v", "secret": {{"secretName": "s", "items": [{{"key": "k", "path": "{path}"}}]}}}}]}}}}"#
            );
            Object::new("Pod", "p", &serde_json::from_str::<serde_json::Value>(&text).unwrap(), None)
        };
        let key_messages = |path: &str| messages(pod(path)).into_iter().filter(|m| m.contains("puts a key")).count();
        for good in ["k", "a/b", ".env", "a..b"] {
            assert_eq!(key_messages(good), 0, "{good}");
        }
        for bad in ["", "/etc/k", "..k", "..", "a/../b"] {
            assert_eq!(key_messages(bad), 1, "{bad}");
        }
    }

    #[test]
    fn config_data_is_at_most_one_mebibyte() {
        let config = |bytes: usize| {
            let json = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                "data": {"a": "x".repeat(bytes / 2), "b": "x".repeat(bytes - bytes / 2)}});
            Object::new("ConfigMap", "c", &json, None)
        };
        assert!(messages(config(MAX_DATA_BYTES)).is_empty());
        assert_eq!(
            messages(config(MAX_DATA_BYTES + 1)),
            ["ConfigMap `c`: holds 1048577 bytes of data; the API server accepts at most 1048576 (1 MiB)"]
        );
        // Secret data is counted decoded: 4 base64 characters are 3 bytes.
        let encoded = "QUJD".repeat(MAX_DATA_BYTES / 3);
        let json = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": encoded}});
        assert!(messages(Object::new("Secret", "s", &json, None)).is_empty());
    }

    #[test]
    fn containers_need_an_image() {
        let text = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
            "containers": [{"name": "c", "image": ""}, {"name": "d"}]}}"#;
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            messages(Object::new("Pod", "p", &json, None)),
            ["Pod `p`: container `c` has no image", "Pod `p`: container `d` has no image"]
        );
    }

    #[test]
    fn restart_policies_fit_the_workload_kind() {
        let workload = |kind: &str, policy: &str| {
            let restart = if policy.is_empty() { String::new() } else { format!(r#", "restartPolicy": "{policy}""#) };
            let text = format!(
                r#"{{"apiVersion": "apps/v1", "kind": "{kind}", "metadata": {{"name": "w"}}, "spec": {{
                    "selector": {{"matchLabels": {{"app": "w"}}}},
                    "template": {{"metadata": {{"labels": {{"app": "w"}}}},
                        "spec": {{"containers": [{{"name": "c", "image": "busybox"}}]{restart}}}}}}}}}"#
            );
            Object::new(kind, "w", &serde_json::from_str::<serde_json::Value>(&text).unwrap(), None)
        };
        for (kind, policy) in [("Deployment", ""), ("Deployment", "Always"), ("Job", "Never"), ("Job", "OnFailure")] {
            assert_eq!(messages(workload(kind, policy)), Vec::<String>::new(), "{kind} {policy}");
        }
        assert_eq!(
            messages(workload("Deployment", "Never")),
            ["Deployment `w`: restartPolicy `Never` is not allowed: use Always"]
        );
        assert_eq!(
            messages(workload("Job", "Always")),
            ["Job `w`: restartPolicy `Always` is not allowed: use Never or OnFailure"]
        );
        assert_eq!(messages(workload("Job", "")), ["Job `w`: a Job's pods need restartPolicy Never or OnFailure"]);
    }

    #[test]
    fn claims_request_more_than_zero_storage() {
        let claim = |storage: &str| {
            let text = format!(
                r#"{{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {{"name": "c"}},
                    "spec": {{"accessModes": ["ReadWriteOnce"], "resources": {{"requests": {{"storage": "{storage}"}}}}}}}}"#
            );
            Object::new("PersistentVolumeClaim", "c", &serde_json::from_str::<serde_json::Value>(&text).unwrap(), None)
        };
        assert_eq!(messages(claim("100Mi")), Vec::<String>::new());
        for bad in ["0", "0Mi", "lots"] {
            let found = messages(claim(bad));
            assert_eq!(
                found,
                [format!(
                    "PersistentVolumeClaim `c`: claim storage request `{bad}` is not a quantity greater than zero"
                )]
            );
        }
    }
}
