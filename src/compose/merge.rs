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
            Node { value: Value::Seq(vec![Node { tag: None, ..node }]), pos, tag: None, plain: false, raw: None }
        }
        _ => node,
    }
}

/// A service's `networks: [a, b]` as `{a: null, b: null}`.
fn networks_map(node: Node) -> Node {
    let Value::Seq(items) = node.value else { return node };
    let entries = items
        .into_iter()
        .filter_map(|i| i.scalar_string().map(|n| (Key { name: n, pos: i.pos }, Node::new(Value::Null, i.pos))))
        .collect();
    Node { value: Value::Map(entries), pos: node.pos, tag: node.tag, plain: false, raw: None }
}

/// Remove `!reset` values and drop the tags of a file that is merged into nothing.
pub fn strip_tags(mut node: Node) -> Node {
    strip_in_place(&mut node);
    node
}

fn strip_in_place(node: &mut Node) {
    match &mut node.value {
        Value::Map(entries) => {
            if entries.iter().any(|(_, v)| v.tag.as_deref() == Some("!reset")) {
                entries.retain(|(_, v)| v.tag.as_deref() != Some("!reset"));
            }
            for (_, v) in entries.iter_mut() {
                strip_in_place(v);
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(strip_in_place),
        _ => {}
    }
    node.tag = None;
}

fn is_service_key(path: &[String], names: &[&str]) -> bool {
    path.len() == 3 && path[0] == "services" && names.contains(&path[2].as_str())
}

/// A `KEY=value` list as a mapping, so both syntaxes merge by key.
fn keyed_map(node: Node) -> Node {
    let Value::Seq(items) = node.value else {
        return node;
    };
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
    Node { value: Value::Map(entries), pos: node.pos, tag: node.tag, plain: false, raw: None }
}

/// Merge `over` into `base`. `path` is the key path of `base`.
pub fn merge(base: &mut Node, over: Node, path: &mut Vec<String>) {
    if over.tag.as_deref() == Some("!override") {
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
    match (&mut base.value, over.value) {
        (Value::Map(base_entries), Value::Map(over_entries)) => {
            for (key, value) in over_entries {
                if value.tag.as_deref() == Some("!reset") {
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
            *base = strip_tags(Node { value, pos: over.pos, tag: over.tag, plain: over.plain, raw: over.raw });
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
