//! `extends`: a service built on another one, from the same file or another file. The base is
//! resolved recursively (cycles and chains of more than 32 services are errors; each file is
//! read once and each base resolved once), then the extending service is merged on top
//! with the same per-key rules as multi-file merging; relative paths of a base from another
//! directory are rebased so they still point at the same files.

use super::{merge, Loader};
use crate::diag::{Code, Diagnostic, Pos};
use crate::yaml::{Node, Value};
use foldhash::{HashMap, HashMapExt};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

/// The most services one `extends` chain may hold, the extending service included.
const MAX_CHAIN: usize = 32;

/// One service of a chain: its name and the file it is defined in (`None`: the project's own
/// services), which identify it; and the source id of its node, for messages.
type Link = ((String, Option<PathBuf>), u32);

/// A `services` mapping with its entries indexed by name.
struct Services {
    node: Node,
    index: HashMap<String, usize>,
}

impl Services {
    fn new(node: Node) -> Services {
        let mut index = HashMap::new();
        if let Value::Map(entries) = &node.value {
            for (i, (key, _)) in entries.iter().enumerate() {
                index.entry(key.name.clone()).or_insert(i);
            }
        }
        Services { node, index }
    }

    fn get(&self, name: &str) -> Option<&Node> {
        let Value::Map(entries) = &self.node.value else { return None };
        self.index.get(name).map(|&i| &entries[i].1)
    }
}

/// What one `resolve_extends` has already read and resolved, so each file is read once and
/// each base merged once, however many services extend it.
#[derive(Default)]
struct Resolved {
    /// The `services` of each `extends.file` read, or `None` when it could not be.
    files: HashMap<PathBuf, Option<Rc<Services>>>,
    /// Each service resolved without an error, with how many bases its chain has below it.
    /// The result does not depend on the chain a service is reached through: a cycle or a too
    /// deep chain below it would have been an error.
    services: HashMap<(String, Option<PathBuf>), (Node, usize)>,
}

impl Loader<'_> {
    /// Resolve every `extends` in `root.services`.
    pub(super) fn resolve_extends(&mut self, root: &mut Node) {
        let has_extends = root
            .get("services")
            .and_then(Node::as_map)
            .is_some_and(|e| e.iter().any(|(_, s)| s.get("extends").is_some()));
        if !has_extends {
            return;
        }
        let Some(services) = root.get("services").cloned() else { return };
        let services = Rc::new(Services::new(services));
        let Value::Map(entries) = &services.node.value else { return };
        let mut cache = Resolved::default();
        let mut resolved: Vec<(usize, Node)> = Vec::new();
        for (i, (key, node)) in entries.iter().enumerate() {
            if node.get("extends").is_none() {
                continue;
            }
            let mut chain = vec![((key.name.clone(), None::<PathBuf>), node.pos.file)];
            let dir = self.project_dir.clone();
            if let Some((result, _)) = self.extend(&mut cache, &services, node, &key.name, &dir, &mut chain) {
                resolved.push((i, result));
            }
        }
        if let Some(Value::Map(entries)) = root.as_map_mut_services() {
            for (i, node) in resolved {
                if let Some((_, slot)) = entries.get_mut(i) {
                    *slot = node;
                }
            }
        }
    }

    /// The service `node` with its base merged in (recursively), and how many bases its chain
    /// has. `services` is the mapping the name of a same-file base is looked up in; `dir` is
    /// where `file:` paths start; `chain` ends with `node` itself.
    fn extend(
        &mut self,
        cache: &mut Resolved,
        services: &Rc<Services>,
        node: &Node,
        name: &str,
        dir: &Path,
        chain: &mut Vec<Link>,
    ) -> Option<(Node, usize)> {
        let Some(ext) = node.get("extends") else { return Some((node.clone(), 0)) };
        let (base_name, file, pos) = match &ext.value {
            Value::Str(s) => (s.clone(), None, ext.pos),
            Value::Map(_) => {
                let service = ext.get("service").and_then(Node::scalar_string);
                let file = ext.get("file").and_then(Node::scalar_string);
                for (k, _) in ext.as_map().unwrap_or_default() {
                    if !matches!(k.name.as_str(), "service" | "file") {
                        self.diags.push(super::fields::unknown_key(k, "extends", &["file", "service"]));
                    }
                }
                let Some(service) = service else {
                    self.diags.push(Diagnostic::at(
                        Code::InvalidValue,
                        ext.pos,
                        format!("`services.{name}.extends` needs `service`"),
                    ));
                    return None;
                };
                (service, file, ext.pos)
            }
            _ => {
                self.diags.push(Diagnostic::at(
                    Code::WrongType,
                    ext.pos,
                    format!("`services.{name}.extends` must be a service name or a mapping"),
                ));
                return None;
            }
        };
        // The base's own services mapping (this file's, or the other file's) and its directory.
        let (base_services, base_dir) = match &file {
            None => {
                if services.get(&base_name).is_none() {
                    self.diags.push(Diagnostic::at(
                        Code::UndefinedReference,
                        pos,
                        format!("`{name}` extends `{base_name}`, which is not a service in this file"),
                    ));
                    return None;
                }
                (Rc::clone(services), dir.to_path_buf())
            }
            Some(file) if super::include::is_remote(file) => {
                self.diags.push(super::include::remote_resource(pos, "extends.file", file));
                return None;
            }
            Some(file) => {
                let path = join_clean(dir, file);
                let base_services = self.file_services(cache, &path, pos)?;
                if base_services.get(&base_name).is_none() {
                    self.diags.push(Diagnostic::at(
                        Code::UndefinedReference,
                        pos,
                        format!("service `{base_name}` not found in `{}`", super::display_path(&path)),
                    ));
                    return None;
                }
                (base_services, path.parent().map(Path::to_path_buf).unwrap_or_default())
            }
        };
        let base = base_services.get(&base_name).expect("the base was looked up above");
        let file_path = file.as_ref().map(|f| join_clean(dir, f));
        let key = (base_name.clone(), file_path.or_else(|| chain.last().and_then(|c| c.0 .1.clone())));
        if chain.iter().any(|(k, _)| *k == key) {
            let mut key_names: Vec<String> = chain.iter().map(|c| c.0 .0.clone()).chain([base_name.clone()]).collect();
            key_names.sort();
            key_names.dedup();
            if !self.reported_cycles.insert(key_names) {
                return None;
            }
            let message = self.cycle(chain, &base_name, base.pos.file);
            self.diags.push(Diagnostic::at(Code::UndefinedReference, pos, format!("`extends` cycle: {message}")));
            return None;
        }
        chain.push((key.clone(), base.pos.file));
        if chain.len() > MAX_CHAIN {
            self.diags.push(Diagnostic::at(
                Code::YamlLimit,
                pos,
                format!("`extends` chains deeper than {MAX_CHAIN} services"),
            ));
            return None;
        }
        // A base already resolved is reused when its chain fits below this one; otherwise it
        // is walked again, to report the chain's depth where this chain passes the limit.
        let reuse = cache.services.get(&key).filter(|(_, height)| chain.len() + height <= MAX_CHAIN).cloned();
        let (mut base_node, height) = match reuse {
            Some(done) => done,
            None => {
                let done = self.extend(cache, &base_services, base, &base_name, &base_dir, chain)?;
                cache.services.insert(key, done.clone());
                done
            }
        };
        chain.pop();
        if base_dir != self.project_dir {
            rebase_paths(&mut base_node, &base_dir, &self.project_dir);
        }
        let mut own = node.clone();
        if let Value::Map(entries) = &mut own.value {
            entries.retain(|(k, _)| k.name != "extends");
        }
        let mut merged = merge::strip_tags(base_node);
        if let Value::Map(entries) = &mut merged.value {
            entries.retain(|(k, _)| k.name != "extends");
        }
        merge::merge(&mut merged, own, &mut vec!["services".to_string(), name.to_string()]);
        merged.pos = node.pos;
        Some((merged, height + 1))
    }

    /// `a -> b -> a`, or with each service's file when they are not all in one file:
    /// `web (compose.yaml) -> web (other.yaml) -> web (compose.yaml)`.
    fn cycle(&self, chain: &[Link], base_name: &str, base_file: u32) -> String {
        let steps: Vec<(&str, &str)> = chain
            .iter()
            .map(|((name, _), file)| (name.as_str(), self.sources.name(*file)))
            .chain([(base_name, self.sources.name(base_file))])
            .collect();
        let one_file = steps.iter().all(|(_, file)| *file == steps[0].1);
        let shown: Vec<String> = steps
            .iter()
            .map(|(name, file)| if one_file { name.to_string() } else { format!("{name} ({file})") })
            .collect();
        shown.join(" -> ")
    }

    /// The `services` of an `extends.file`, read once per file.
    fn file_services(&mut self, cache: &mut Resolved, path: &Path, pos: Pos) -> Option<Rc<Services>> {
        if let Some(known) = cache.files.get(path) {
            return known.clone();
        }
        let services = self.load_file_services(path, pos).map(|node| Rc::new(Services::new(node)));
        cache.files.insert(path.to_path_buf(), services.clone());
        services
    }

    fn load_file_services(&mut self, path: &Path, pos: Pos) -> Option<Node> {
        let doc = self.load_compose_file(path, pos, "extends.file", None)?;
        match doc.get("services") {
            Some(s) => Some(s.clone()),
            None => {
                let display = super::display_path(path);
                self.diags.push(Diagnostic::at(
                    Code::UndefinedReference,
                    pos,
                    format!("`{display}` has no services section"),
                ));
                None
            }
        }
    }
}

trait ServicesMut {
    fn as_map_mut_services(&mut self) -> Option<&mut Value>;
}

impl ServicesMut for Node {
    fn as_map_mut_services(&mut self) -> Option<&mut Value> {
        let Value::Map(entries) = &mut self.value else { return None };
        entries.iter_mut().find(|(k, _)| k.name == "services").map(|(_, v)| &mut v.value)
    }
}

/// A relative path from `from` rewritten to be relative to `to` (both as the user gave them).
pub(super) fn rebase(path: &str, from: &Path, to: &Path) -> String {
    if Path::new(path).is_absolute() || path.starts_with('~') {
        return path.to_string();
    }
    let joined = normalize(&from.join(path));
    let to = normalize(to);
    match joined.strip_prefix(&to) {
        Ok(rel) => format!("./{}", rel.display()),
        Err(_) => {
            // Walk up from `to` until a common ancestor.
            let mut up = PathBuf::new();
            let mut base = to.clone();
            loop {
                if let Ok(rel) = joined.strip_prefix(&base) {
                    return up.join(rel).display().to_string();
                }
                if !base.pop() {
                    return joined.display().to_string();
                }
                up.push("..");
            }
        }
    }
}

/// `dir/file` with `.` and `..` resolved by text, as compose-go joins paths (`filepath.Join`),
/// so that one file always has one name: in messages, and in the keys that find `extends` and
/// `include` cycles. A relative result keeps its leading `./`, which anchors it at the current
/// directory.
pub(super) fn join_clean(dir: &Path, file: &str) -> PathBuf {
    let joined = normalize(&dir.join(file));
    if joined.is_relative() && !joined.starts_with("..") {
        Path::new(".").join(joined)
    } else {
        joined
    }
}

pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // Nothing is above `/`.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                // A relative path that already climbs keeps climbing.
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Rebase the relative paths a service names (env files, label files, bind-mount sources, the
/// file it extends), as compose-go resolves them against the directory of the file they are
/// written in.
pub(super) fn rebase_paths(service: &mut Node, from: &Path, to: &Path) {
    let Value::Map(entries) = &mut service.value else { return };
    for (key, value) in entries.iter_mut() {
        match key.name.as_str() {
            // Both are strings or lists of strings.
            "env_file" | "label_file" => rebase_env_files(value, from, to),
            "extends" => {
                if let Value::Map(fields) = &mut value.value {
                    for (k, v) in fields.iter_mut() {
                        if let (true, Value::Str(file)) = (k.name == "file", &mut v.value) {
                            *file = rebase(file, from, to);
                        }
                    }
                }
            }
            "volumes" => {
                if let Value::Seq(items) = &mut value.value {
                    for item in items {
                        rebase_volume(item, from, to);
                    }
                }
            }
            _ => {}
        }
    }
}

fn rebase_env_files(node: &mut Node, from: &Path, to: &Path) {
    match &mut node.value {
        Value::Str(s) => *s = rebase(s, from, to),
        Value::Seq(items) => {
            for item in items {
                match &mut item.value {
                    Value::Str(s) => *s = rebase(s, from, to),
                    Value::Map(entries) => {
                        for (k, v) in entries.iter_mut() {
                            if k.name == "path" {
                                if let Value::Str(s) = &mut v.value {
                                    *s = rebase(s, from, to);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn rebase_volume(item: &mut Node, from: &Path, to: &Path) {
    match &mut item.value {
        Value::Str(spec) if spec.starts_with('.') => {
            if let Some((source, rest)) = spec.split_once(':') {
                *spec = format!("{}:{rest}", rebase(source, from, to));
            }
        }
        Value::Map(entries) => {
            let is_bind = entries.iter().any(|(k, v)| k.name == "type" && v.scalar_string().as_deref() == Some("bind"));
            if is_bind {
                for (k, v) in entries.iter_mut() {
                    if k.name == "source" {
                        if let Value::Str(s) = &mut v.value {
                            *s = rebase(s, from, to);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots_by_text() {
        let n = |p: &str| normalize(Path::new(p)).to_string_lossy().into_owned();
        assert_eq!(n("/var/lib/../run/./agent"), "/var/run/agent");
        assert_eq!(n("/a/../../b"), "/b");
        assert_eq!(n("a/./b/../c"), "a/c");
        assert_eq!(n("../../x"), "../../x");
        assert_eq!(n("a/../../x"), "../x");
    }

    #[test]
    fn rebasing() {
        assert_eq!(rebase("./web.env", Path::new("proj/common"), Path::new("proj")), "./common/web.env");
        assert_eq!(rebase("../x.env", Path::new("proj/common"), Path::new("proj")), "./x.env");
        assert_eq!(rebase("/abs", Path::new("a"), Path::new("b")), "/abs");
        assert_eq!(rebase("./x", Path::new("a"), Path::new("b")), "../a/x");
    }
}
