//! `extends`: a service built on another one, from the same file or another file. The base is
//! resolved recursively (cycles are errors), then the extending service is merged on top
//! with the same per-key rules as multi-file merging; relative paths of a base from another
//! directory are rebased so they still point at the same files.

use super::{merge, Loader};
use crate::diag::{Code, Diagnostic, Pos};
use crate::yaml::{Node, Value};
use std::path::{Component, Path, PathBuf};

/// Where a base service comes from: its node and the directory its paths are relative to.
struct Base {
    node: Node,
    dir: PathBuf,
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
        let Value::Map(entries) = &services.value else { return };
        let mut resolved: Vec<(String, Node)> = Vec::new();
        for (key, node) in entries {
            if node.get("extends").is_none() {
                continue;
            }
            let mut chain = vec![(key.name.clone(), None::<PathBuf>)];
            if let Some(result) = self.extend(&services, node, &key.name, &self.project_dir.clone(), &mut chain) {
                resolved.push((key.name.clone(), result));
            }
        }
        if let Some(Value::Map(entries)) = root.as_map_mut_services() {
            for (name, node) in resolved {
                if let Some((_, slot)) = entries.iter_mut().find(|(k, _)| k.name == name) {
                    *slot = node;
                }
            }
        }
    }

    /// The service `node` with its base merged in (recursively). `services` is the mapping
    /// the name of a same-file base is looked up in; `dir` is where `file:` paths start.
    fn extend(
        &mut self,
        services: &Node,
        node: &Node,
        name: &str,
        dir: &Path,
        chain: &mut Vec<(String, Option<PathBuf>)>,
    ) -> Option<Node> {
        let Some(ext) = node.get("extends") else { return Some(node.clone()) };
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
        let base = match &file {
            None => match services.get(&base_name) {
                Some(b) => Base { node: b.clone(), dir: dir.to_path_buf() },
                None => {
                    self.diags.push(Diagnostic::at(
                        Code::UndefinedReference,
                        pos,
                        format!("`{name}` extends `{base_name}`, which is not a service in this file"),
                    ));
                    return None;
                }
            },
            Some(file) => self.base_from_file(file, &base_name, dir, pos)?,
        };
        let file_path = file.as_ref().map(|f| dir.join(f));
        let link = (base_name.clone(), file_path.clone().or_else(|| chain.last().and_then(|c| c.1.clone())));
        if chain.contains(&link) {
            let names: Vec<String> = chain.iter().map(|c| c.0.clone()).chain([base_name.clone()]).collect();
            let mut key = names.clone();
            key.sort();
            key.dedup();
            if !self.reported_cycles.insert(key) {
                return None;
            }
            self.diags.push(Diagnostic::at(
                Code::UndefinedReference,
                pos,
                format!("`extends` cycle: {}", names.join(" -> ")),
            ));
            return None;
        }
        chain.push(link);
        if chain.len() > 32 {
            self.diags.push(Diagnostic::at(Code::YamlLimit, pos, "`extends` chains deeper than 32 services"));
            return None;
        }
        // The base's own services mapping: this file's, or the other file's.
        let base_services = match &file {
            None => services.clone(),
            Some(f) => {
                self.load_file_services(&dir.join(f), pos).unwrap_or_else(|| Node::new(Value::Map(Vec::new()), pos))
            }
        };
        let mut base_node = self.extend(&base_services, &base.node, &base_name, &base.dir, chain)?;
        chain.pop();
        if base.dir != self.project_dir {
            rebase_paths(&mut base_node, &base.dir, &self.project_dir);
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
        Some(merged)
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

    fn base_from_file(&mut self, file: &str, base_name: &str, dir: &Path, pos: Pos) -> Option<Base> {
        let path = dir.join(file);
        let services = self.load_file_services(&path, pos)?;
        match services.get(base_name) {
            Some(node) => {
                Some(Base { node: node.clone(), dir: path.parent().map(Path::to_path_buf).unwrap_or_default() })
            }
            None => {
                self.diags.push(Diagnostic::at(
                    Code::UndefinedReference,
                    pos,
                    format!("service `{base_name}` not found in `{}`", super::display_path(&path)),
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

pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Rebase the relative paths a service names (env files, bind-mount sources).
pub(super) fn rebase_paths(service: &mut Node, from: &Path, to: &Path) {
    let Value::Map(entries) = &mut service.value else { return };
    for (key, value) in entries.iter_mut() {
        match key.name.as_str() {
            "env_file" => rebase_env_files(value, from, to),
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
    fn rebasing() {
        assert_eq!(rebase("./web.env", Path::new("proj/common"), Path::new("proj")), "./common/web.env");
        assert_eq!(rebase("../x.env", Path::new("proj/common"), Path::new("proj")), "./x.env");
        assert_eq!(rebase("/abs", Path::new("a"), Path::new("b")), "/abs");
        assert_eq!(rebase("./x", Path::new("a"), Path::new("b")), "../a/x");
    }
}
