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
const KEYED: &[&str] = &["environment", "labels", "annotations", "sysctls", "extra_hosts"];

/// Remove `!reset` values and drop the tags of a file that is merged into nothing.
pub fn strip_tags(mut node: Node) -> Node {
    if let Value::Map(entries) = &mut node.value {
        entries.retain(|(_, v)| v.tag.as_deref() != Some("!reset"));
        for (_, v) in entries.iter_mut() {
            *v = strip_tags(std::mem::replace(v, Node::new(Value::Null, v.pos)));
        }
    } else if let Value::Seq(items) = &mut node.value {
        for item in items.iter_mut() {
            *item = strip_tags(std::mem::replace(item, Node::new(Value::Null, item.pos)));
        }
    }
    node.tag = None;
    node
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
    Node { value: Value::Map(entries), pos: node.pos, tag: node.tag, raw: None }
}

/// Merge `over` into `base`. `path` is the key path of `base`.
pub fn merge(base: &mut Node, over: Node, path: &mut Vec<String>) {
    if over.tag.as_deref() == Some("!override") {
        *base = strip_tags(over);
        return;
    }
    let over = if is_service_key(path, KEYED) { keyed_map(over) } else { over };
    if is_service_key(path, KEYED) {
        let taken = std::mem::replace(base, Node::new(Value::Null, base.pos));
        *base = keyed_map(taken);
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
        (Value::Seq(base_items), Value::Seq(over_items)) if is_service_key(path, APPENDED) => {
            for item in over_items {
                let item = strip_tags(item);
                if !base_items.iter().any(|b| same(b, &item)) {
                    base_items.push(item);
                }
            }
        }
        (_, value) => {
            *base = strip_tags(Node { value, pos: over.pos, tag: over.tag, raw: over.raw });
        }
    }
}

/// Structural equality, ignoring positions.
fn same(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Seq(x), Value::Seq(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((kp, p), (kq, q))| kp.name == kq.name && same(p, q))
        }
        (x, y) => x == y,
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
