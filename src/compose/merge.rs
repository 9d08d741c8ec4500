//! Merging compose files (and the documents of one file) in order, on the YAML tree:
//! mappings merge by key, scalars and most lists are replaced, the lists Compose appends
//! (`ports`, `volumes`, `expose`, ...) are appended without duplicates, `environment` and
//! `labels` merge by variable name whatever their syntax, and `!reset` / `!override` tags
//! remove or replace a value.

use crate::yaml::{Key, Node, Value};

/// Service keys whose lists are appended (then de-duplicated) rather than replaced.
const APPENDED: &[&str] = &[
    "cap_add",
    "cap_drop",
    "configs",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "env_file",
    "expose",
    "external_links",
    "extra_hosts",
    "group_add",
    "links",
    "ports",
    "profiles",
    "secrets",
    "security_opt",
    "tmpfs",
    "volumes",
    "volumes_from",
];

/// Service keys whose `KEY=value` lists merge by key.
const KEYED: &[&str] = &["environment", "labels", "annotations", "sysctls"];

/// `KEY=value` maps below a service (`deploy.labels`, `build.args`, ...) or a top-level object.
fn is_nested_keyed(path: &[String]) -> bool {
    match path {
        [s, _, a, b] if s == "services" => {
            matches!(
                (a.as_str(), b.as_str()),
                ("deploy", "labels") | ("build", "labels" | "args" | "additional_contexts")
            )
        }
        [top, _, l] => matches!(top.as_str(), "networks" | "volumes" | "secrets" | "configs") && l == "labels",
        _ => false,
    }
}

/// The identity of an appended list item: a later item with the same identity replaces the
/// earlier one in place (a mount target, a published port, a secret's target, ...).
fn item_key(list: &str, item: &Node) -> Option<String> {
    let text = item.scalar_string();
    match list {
        "volumes" => match (&item.value, text) {
            (Value::Map(_), _) => item.get("target").and_then(Node::scalar_string),
            (_, Some(t)) => super::volumes::parse_short(&t).ok().map(|v| super::volumes::clean_path(&v.target)),
            _ => None,
        },
        "ports" => {
            let (ip, published, target, proto) = match (&item.value, text) {
                (Value::Map(_), _) => (
                    item.get("host_ip").and_then(Node::scalar_string).unwrap_or_default(),
                    item.get("published").and_then(Node::scalar_string).unwrap_or_default(),
                    item.get("target").and_then(Node::scalar_string)?,
                    item.get("protocol").and_then(Node::scalar_string).unwrap_or_else(|| "tcp".into()),
                ),
                (_, Some(t)) => {
                    let specs = super::ports::parse_short(&t).ok()?;
                    let [spec] = specs.as_slice() else { return None };
                    (
                        spec.host_ip.clone().unwrap_or_default(),
                        spec.published.clone().unwrap_or_default(),
                        spec.target.to_string(),
                        spec.protocol.clone(),
                    )
                }
                _ => return None,
            };
            Some(format!("{ip}:{published}:{target}/{proto}"))
        }
        "secrets" | "configs" => {
            let source = item.get("source").and_then(Node::scalar_string).or(text)?;
            let default = if list == "secrets" { format!("/run/secrets/{source}") } else { format!("/{source}") };
            Some(item.get("target").and_then(Node::scalar_string).unwrap_or(default))
        }
        "devices" => {
            let t = item.get("target").and_then(Node::scalar_string).or(text)?;
            let parts: Vec<&str> = t.split(':').collect();
            Some(parts.get(1).unwrap_or(&parts[0]).to_string())
        }
        "env_file" => item.get("path").and_then(Node::scalar_string).or(text),
        "config" => item.get("subnet").and_then(Node::scalar_string),
        "links" => text.map(|t| t.split([':', '=']).next().unwrap_or_default().to_string()),
        _ => None,
    }
}

/// A string where Compose accepts a string or a list, as a one-item list.
fn as_list(node: Node) -> Node {
    match node.value {
        Value::Str(_) => {
            let pos = node.pos;
            let mut item = node;
            item.set_tag(None);
            Node::new(Value::Seq(vec![item]), pos)
        }
        _ => node,
    }
}

/// A service's `networks: [a, b]` as `{a: null, b: null}`.
fn networks_map(node: Node) -> Node {
    if !matches!(node.value, Value::Seq(_)) {
        return node;
    }
    let (value, pos, tag, _, _) = node.into_parts();
    let items = if let Value::Seq(items) = value { items } else { Vec::new() };
    let entries = items
        .into_iter()
        .filter_map(|i| i.scalar_string().map(|n| (Key { name: n, pos: i.pos }, Node::new(Value::Null, i.pos))))
        .collect();
    Node::with_parts(Value::Map(entries), pos, tag, false, None)
}

/// Remove `!reset` values and drop the tags of a file that is merged into nothing.
pub fn strip_tags(mut node: Node) -> Node {
    strip_in_place(&mut node);
    node
}

fn strip_in_place(node: &mut Node) {
    match &mut node.value {
        Value::Map(entries) => {
            if entries.iter().any(|(_, v)| v.tag() == Some("!reset")) {
                entries.retain(|(_, v)| v.tag() != Some("!reset"));
            }
            for (_, v) in entries.iter_mut() {
                strip_in_place(v);
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(strip_in_place),
        _ => {}
    }
    if node.tag().is_some() {
        node.set_tag(None);
    }
}

fn is_service_key(path: &[String], names: &[&str]) -> bool {
    path.len() == 3 && path[0] == "services" && names.contains(&path[2].as_str())
}

/// A `KEY=value` list as a mapping, so both syntaxes merge by key.
fn keyed_map(node: Node) -> Node {
    if !matches!(node.value, Value::Seq(_)) {
        return node;
    }
    let (value, pos, tag, _, _) = node.into_parts();
    let items = if let Value::Seq(items) = value { items } else { Vec::new() };
    let entries = items
        .into_iter()
        .filter_map(|item| {
            let text = item.scalar_string()?;
            let (k, v) = match text.split_once('=') {
                Some((k, v)) => (k.to_string(), Value::Str(v.to_string())),
                None => (text, Value::Null),
            };
            Some((Key { name: k, pos: item.pos }, Node::new(v, item.pos)))
        })
        .collect();
    Node::with_parts(Value::Map(entries), pos, tag, false, None)
}

/// Merge `over` into `base`. `path` is the key path of `base`.
pub fn merge(base: &mut Node, over: Node, path: &mut Vec<String>) {
    if over.tag() == Some("!override") {
        *base = strip_tags(over);
        return;
    }
    let keyed = is_service_key(path, KEYED) || is_nested_keyed(path);
    let appended = is_service_key(path, APPENDED);
    let service_list = |name: &str| path.len() == 3 && path[0] == "services" && path[2] == name;
    let mut over = over;
    if keyed {
        over = keyed_map(over);
        let taken = std::mem::replace(base, Node::new(Value::Null, base.pos));
        *base = keyed_map(taken);
    } else if appended {
        over = as_list(over);
        let taken = std::mem::replace(base, Node::new(Value::Null, base.pos));
        *base = as_list(taken);
    } else if service_list("networks") || service_list("models") {
        over = networks_map(over);
        let taken = std::mem::replace(base, Node::new(Value::Null, base.pos));
        *base = networks_map(taken);
    }
    // `logging` with another driver, and each `ulimits` entry, are replaced whole.
    let replace_whole = (service_list("logging")
        && over.get("driver").is_some()
        && over.get("driver").and_then(Node::scalar_string) != base.get("driver").and_then(Node::scalar_string))
        || (path.len() == 4 && path[0] == "services" && path[2] == "ulimits");
    if replace_whole {
        *base = strip_tags(over);
        return;
    }
    let (over_value, over_pos, over_tag, over_plain, over_raw) = over.into_parts();
    match (&mut base.value, over_value) {
        (Value::Map(base_entries), Value::Map(over_entries)) => {
            for (key, value) in over_entries {
                if value.tag() == Some("!reset") {
                    base_entries.retain(|(k, _)| k.name != key.name);
                    continue;
                }
                match base_entries.iter_mut().find(|(k, _)| k.name == key.name) {
                    Some((_, existing)) => {
                        path.push(key.name.clone());
                        merge(existing, value, path);
                        path.pop();
                    }
                    None => base_entries.push((key, strip_tags(value))),
                }
            }
        }
        (Value::Seq(base_items), Value::Seq(over_items)) if appended || is_appended_nested(path) => {
            let list = path.last().cloned().unwrap_or_default();
            for item in over_items {
                let item = strip_tags(item);
                if let Some(key) = item_key(&list, &item) {
                    if let Some(slot) =
                        base_items.iter_mut().find(|b| item_key(&list, b).as_deref() == Some(key.as_str()))
                    {
                        if list == "config" {
                            // IPAM pools with one subnet are merged deeply.
                            path.push("0".into());
                            merge(slot, item, path);
                            path.pop();
                        } else {
                            *slot = item;
                        }
                        continue;
                    }
                }
                if !base_items.iter().any(|b| b.same_as(&item)) {
                    base_items.push(item);
                }
            }
        }
        (_, value) => {
            *base = strip_tags(Node::with_parts(value, over_pos, over_tag, over_plain, over_raw));
        }
    }
}

/// Lists below a service that are appended too (`build.tags`, network aliases, ...).
fn is_appended_nested(path: &[String]) -> bool {
    match path {
        [s, _, a, b] if s == "services" => matches!(
            (a.as_str(), b.as_str()),
            ("build", "tags" | "platforms" | "platform" | "extra_hosts" | "cache_from" | "cache_to")
        ),
        [s, _, n, _, l] if s == "services" && n == "networks" => matches!(l.as_str(), "aliases" | "link_local_ips"),
        [n, _, i, c] => n == "networks" && i == "ipam" && c == "config",
        _ => false,
    }
}

/// Lists of a service whose entries are unique by a key, and how the key is read: compose-go
/// (`override/uncity.go`) keeps one entry per key after loading each file, the later one in
/// the earlier one's place. `KeyValue` is the text before `=` (the whole text without one).
/// `Merged` lists are unique by the identity merging gives their items ([`item_key`]).
#[derive(Clone, Copy)]
enum Unique {
    KeyValue,
    Volume,
    Merged(&'static str),
    Expose,
    Port,
}

const UNIQUE_SERVICE_LISTS: &[(&str, Unique)] = &[
    ("annotations", Unique::KeyValue),
    ("cap_add", Unique::KeyValue),
    ("cap_drop", Unique::KeyValue),
    ("configs", Unique::Merged("configs")),
    ("devices", Unique::Merged("devices")),
    ("dns", Unique::KeyValue),
    ("dns_opt", Unique::KeyValue),
    ("dns_search", Unique::KeyValue),
    ("env_file", Unique::Merged("env_file")),
    ("environment", Unique::KeyValue),
    ("expose", Unique::Expose),
    ("labels", Unique::KeyValue),
    ("links", Unique::KeyValue),
    ("ports", Unique::Port),
    ("profiles", Unique::KeyValue),
    ("secrets", Unique::Merged("secrets")),
    ("sysctls", Unique::KeyValue),
    ("tmpfs", Unique::KeyValue),
    ("volumes", Unique::Volume),
];

/// Lists one level further down a service (`build.args`, `deploy.labels`).
const UNIQUE_NESTED_LISTS: &[(&str, &str)] = &[
    ("build", "args"),
    ("build", "additional_contexts"),
    ("build", "tags"),
    ("build", "labels"),
    ("deploy", "labels"),
];

fn unique_key(how: Unique, item: &Node) -> Option<String> {
    let text = item.scalar_string();
    match how {
        Unique::KeyValue => match &item.value {
            Value::Str(s) => Some(s.split_once('=').map_or(s.as_str(), |(k, _)| k).to_string()),
            _ => None,
        },
        // Unlike merging, compose-go compares a short syntax's target as written here.
        Unique::Volume => match (&item.value, text) {
            (Value::Map(_), _) => item.get("target").and_then(Node::scalar_string),
            (_, Some(t)) => super::volumes::parse_short(&t).ok().map(|v| v.target),
            _ => None,
        },
        Unique::Merged(list) => item_key(list, item),
        Unique::Expose => match &item.value {
            Value::Str(_) | Value::Int(_) => text,
            _ => None,
        },
        Unique::Port => match &item.value {
            Value::Map(_) => {
                let field = |k: &str| item.get(k).and_then(Node::scalar_string);
                Some(format!(
                    "{}:{}:{}/{}",
                    field("host_ip").unwrap_or_else(|| "0.0.0.0".into()),
                    field("published").unwrap_or_default(),
                    field("target")?,
                    field("protocol").unwrap_or_else(|| "tcp".into())
                ))
            }
            Value::Str(_) | Value::Int(_) => text,
            _ => None,
        },
    }
}

/// An entry of a list as a message shows it: its text, or a mapping in flow style.
fn shown(item: &Node, key: &str) -> String {
    match &item.value {
        Value::Map(entries) => {
            let fields: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", k.name, v.scalar_string().unwrap_or_else(|| "...".into())))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        _ => item.scalar_string().unwrap_or_else(|| key.to_string()),
    }
}

/// `path` gives the list's key path, for a message (built only when one is needed).
fn unique_list(list: &mut Node, how: Unique, path: &dyn Fn() -> String, diags: &mut crate::diag::Diagnostics) {
    let Value::Seq(items) = &mut list.value else { return };
    if items.len() < 2 {
        return;
    }
    let mut kept: Vec<Node> = Vec::with_capacity(items.len());
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for item in std::mem::take(items) {
        let Some(key) = unique_key(how, &item) else {
            kept.push(item);
            continue;
        };
        match at.get(&key) {
            Some(&j) => {
                let earlier = &kept[j];
                if !same_value(earlier, &item) {
                    diags.push(
                        crate::diag::Diagnostic::at(
                            crate::diag::Code::NotConverted,
                            earlier.pos,
                            format!(
                                "`{}`: `{}` is replaced by `{}` (line {}), which Docker Compose keeps instead: both are `{key}`",
                                path(),
                                shown(earlier, &key),
                                shown(&item, &key),
                                item.pos.line
                            ),
                        )
                        .with_help("remove one of the two entries"),
                    );
                }
                kept[j] = item;
            }
            None => {
                at.insert(key, kept.len());
                kept.push(item);
            }
        }
    }
    *items = kept;
}

/// Whether two nodes hold the same value, wherever they are written.
fn same_value(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((kx, vx), (ky, vy))| kx.name == ky.name && same_value(vx, vy))
        }
        (Value::Seq(x), Value::Seq(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q)),
        _ => {
            a.scalar_string() == b.scalar_string()
                && std::mem::discriminant(&a.value) == std::mem::discriminant(&b.value)
        }
    }
}

/// Keep one entry per key in the lists compose-go makes unique (see [`Unique`]), reporting
/// an entry that replaces a different one (K201).
pub fn enforce_unicity(root: &mut Node, diags: &mut crate::diag::Diagnostics) {
    if let Some(Value::Map(services)) = root_get_mut(root, "services").map(|s| &mut s.value) {
        // Each service on its own: a large project's halves on two threads, their findings
        // joined in order.
        let large = services.len() >= crate::par::LARGE;
        let half = services.len() / 2;
        let (first, second) = services.split_at_mut(half);
        let (more, ()) = crate::par::join(
            large,
            || {
                let mut diags = crate::diag::Diagnostics::default();
                unique_in_services(second, &mut diags);
                diags
            },
            || unique_in_services(first, diags),
        );
        diags.0.extend(more.0);
    }
    if let Some(Value::Map(networks)) = root_get_mut(root, "networks").map(|s| &mut s.value) {
        for (name, network) in networks.iter_mut() {
            if let Some(labels) = root_get_mut(network, "labels") {
                unique_list(labels, Unique::KeyValue, &|| format!("networks.{}.labels", name.name), diags);
            }
            if let Some(options) = root_get_mut(network, "ipam").and_then(|ipam| root_get_mut(ipam, "options")) {
                unique_list(options, Unique::KeyValue, &|| format!("networks.{}.ipam.options", name.name), diags);
            }
        }
    }
}

/// [`enforce_unicity`] in the lists of these services.
fn unique_in_services(services: &mut [(Key, Node)], diags: &mut crate::diag::Diagnostics) {
    for (name, service) in services.iter_mut() {
        let Value::Map(keys) = &mut service.value else { continue };
        for (key, value) in keys.iter_mut() {
            if let Some(&(_, how)) = UNIQUE_SERVICE_LISTS.iter().find(|(k, _)| *k == key.name) {
                unique_list(value, how, &|| format!("services.{}.{}", name.name, key.name), diags);
            } else if key.name == "networks" {
                if let Value::Map(networks) = &mut value.value {
                    for (network, settings) in networks.iter_mut() {
                        let Value::Map(fields) = &mut settings.value else { continue };
                        for (field, list) in
                            fields.iter_mut().filter(|(f, _)| f.name == "aliases" || f.name == "link_local_ips")
                        {
                            let path = || format!("services.{}.networks.{}.{}", name.name, network.name, field.name);
                            unique_list(list, Unique::KeyValue, &path, diags);
                        }
                    }
                }
            } else if let Value::Map(fields) = &mut value.value {
                for (field, list) in fields.iter_mut() {
                    if UNIQUE_NESTED_LISTS.iter().any(|(p, f)| *p == key.name && *f == field.name) {
                        let path = || format!("services.{}.{}.{}", name.name, key.name, field.name);
                        unique_list(list, Unique::KeyValue, &path, diags);
                    }
                }
            }
        }
    }
}

fn root_get_mut<'n>(node: &'n mut Node, key: &str) -> Option<&'n mut Node> {
    match &mut node.value {
        Value::Map(entries) => entries.iter_mut().find(|(k, _)| k.name == key).map(|(_, v)| v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse, Limits};

    fn merged(a: &str, b: &str) -> Node {
        let mut base = strip_tags(parse(a, 0, Limits::default()).unwrap().remove(0));
        let over = parse(b, 1, Limits::default()).unwrap().remove(0);
        merge(&mut base, over, &mut Vec::new());
        base
    }

    fn strings(node: &Node) -> Vec<String> {
        match &node.value {
            Value::Seq(items) => items.iter().filter_map(Node::scalar_string).collect(),
            Value::Map(entries) => {
                entries.iter().map(|(k, v)| format!("{}={}", k.name, v.scalar_string().unwrap_or_default())).collect()
            }
            _ => vec![],
        }
    }

    #[test]
    fn per_key_rules() {
        let m = merged(
            "services:\n  web:\n    image: a\n    ports: ['80']\n    command: [x]\n    environment: [A=1, B=2]\n",
            "services:\n  web:\n    image: b\n    ports: ['80', '443']\n    command: [y]\n    environment: {B: 3}\n",
        );
        let web = m.get("services").unwrap().get("web").unwrap();
        assert_eq!(web.get("image").unwrap().scalar_string().unwrap(), "b");
        assert_eq!(strings(web.get("ports").unwrap()), ["80", "443"]);
        assert_eq!(strings(web.get("command").unwrap()), ["y"]);
        assert_eq!(strings(web.get("environment").unwrap()), ["A=1", "B=3"]);
    }

    #[test]
    fn reset_and_override() {
        let m = merged(
            "services:\n  web:\n    image: a\n    ports: ['80']\n    labels: {a: '1'}\n",
            "services:\n  web:\n    ports: !reset []\n    labels: !override {b: '2'}\n",
        );
        let web = m.get("services").unwrap().get("web").unwrap();
        assert!(web.get("ports").is_none());
        assert_eq!(strings(web.get("labels").unwrap()), ["b=2"]);
    }
}
