//! `include`: other compose files pulled into the project, as compose-go does it. Each entry
//! is loaded on its own (its own directory for relative paths, its own `env_file`s, which
//! the including project's environment overrides), its nested includes and `extends`
//! resolved, its relative paths rebased onto this project's directory, and it is merged
//! underneath the including file: definitions in the including file win.

use super::extends::{join_clean, rebase, rebase_paths};
use super::{dotenv, merge, Loader};
use crate::diag::{Code, Diagnostic, Pos};
use crate::yaml::{Node, Value};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

struct Entry {
    paths: Vec<String>,
    project_directory: Option<String>,
    env_files: Vec<String>,
    pos: Pos,
}

impl Loader<'_> {
    /// Replace `root` by the merge of its includes (in order) with itself on top.
    pub(super) fn resolve_includes(&mut self, root: &mut Node, dir: &Path, chain: &mut Vec<PathBuf>) {
        let Some(include) = root.get("include").cloned() else { return };
        if let Value::Map(entries) = &mut root.value {
            entries.retain(|(k, _)| k.name != "include");
        }
        let entries = self.include_entries(&include);
        let mut base: Option<Node> = None;
        for entry in entries {
            if let Some(url) = entry.paths.iter().find(|p| is_remote(p)) {
                self.diags.push(remote_resource(entry.pos, "include", url));
                continue;
            }
            let Some(first) = entry.paths.first() else { continue };
            let first_path = join_clean(dir, first);
            let included_dir = match &entry.project_directory {
                Some(d) => join_clean(dir, d),
                None => first_path.parent().map(Path::to_path_buf).unwrap_or_else(|| dir.to_path_buf()),
            };
            // The included project's environment: ours wins over its env files.
            let mut extra = IndexMap::new();
            let env_files: Vec<PathBuf> = if entry.env_files.is_empty() {
                let default = included_dir.join(".env");
                if self.fs.kind(&default).is_some() {
                    vec![default]
                } else {
                    Vec::new()
                }
            } else {
                entry.env_files.iter().map(|f| join_clean(dir, f)).collect()
            };
            for file in env_files {
                if !self.may_read(&file) {
                    self.outside(entry.pos, "include.env_file", &super::display_path(&file));
                    continue;
                }
                let regular = self.fs.kind(&file) == Some(crate::fs::FileKind::File)
                    && self.fs.size(&file).is_some_and(|n| n <= self.options.max_file_bytes);
                match self.fs.read(&file).ok().filter(|_| regular).and_then(|b| String::from_utf8(b).ok()) {
                    Some(text) => {
                        let outer = self.lookup;
                        if let Err(e) = dotenv::parse_into(&text, &mut extra, outer) {
                            self.diags.push(Diagnostic::at(
                                e.code(),
                                entry.pos,
                                format!("`{}` line {}: {}", super::display_path(&file), e.line, e.message),
                            ));
                        }
                    }
                    None => self.diags.push(Diagnostic::at(
                        Code::FileRead,
                        entry.pos,
                        format!("env file `{}` of an `include` cannot be read", super::display_path(&file)),
                    )),
                }
            }
            let mut included: Option<Node> = None;
            for path in &entry.paths {
                let full = join_clean(dir, path);
                let key = full.clone();
                if chain.contains(&key) {
                    let names: Vec<String> = chain.iter().chain([&key]).map(|p| super::display_path(p)).collect();
                    self.diags.push(Diagnostic::at(
                        Code::UndefinedReference,
                        entry.pos,
                        format!("`include` cycle: {}", names.join(" -> ")),
                    ));
                    return;
                }
                let Some(mut doc) = self.load_included(&full, entry.pos, &extra) else { continue };
                chain.push(key);
                self.resolve_includes(&mut doc, &included_dir, chain);
                chain.pop();
                rebase_project(&mut doc, &included_dir, &self.project_dir);
                // An included project is loaded whole before it is merged, as compose-go loads
                // it: its services extend its own services, never the including file's.
                self.resolve_extends(&mut doc);
                included = Some(match included {
                    None => doc,
                    Some(mut acc) => {
                        merge::merge(&mut acc, doc, &mut Vec::new());
                        acc
                    }
                });
            }
            if let Some(doc) = included {
                base = Some(match base {
                    None => doc,
                    Some(mut acc) => {
                        merge::merge(&mut acc, doc, &mut Vec::new());
                        acc
                    }
                });
            }
        }
        if let Some(mut base) = base {
            let own = std::mem::replace(root, Node::new(Value::Null, root.pos));
            let pos = own.pos;
            merge::merge(&mut base, own, &mut Vec::new());
            base.pos = pos;
            *root = base;
        }
    }

    fn include_entries(&mut self, include: &Node) -> Vec<Entry> {
        let mut out = Vec::new();
        let Value::Seq(items) = &include.value else {
            self.diags.push(Diagnostic::at(Code::WrongType, include.pos, "`include` must be a list"));
            return out;
        };
        let strings = |node: &Node| -> Vec<String> {
            match &node.value {
                Value::Str(s) => vec![s.clone()],
                Value::Seq(items) => items.iter().filter_map(Node::scalar_string).collect(),
                _ => Vec::new(),
            }
        };
        for item in items {
            match &item.value {
                Value::Str(s) => out.push(Entry {
                    paths: vec![s.clone()],
                    project_directory: None,
                    env_files: Vec::new(),
                    pos: item.pos,
                }),
                Value::Map(entries) => {
                    let mut entry =
                        Entry { paths: Vec::new(), project_directory: None, env_files: Vec::new(), pos: item.pos };
                    for (k, v) in entries {
                        match k.name.as_str() {
                            "path" => entry.paths = strings(v),
                            "project_directory" => entry.project_directory = v.scalar_string(),
                            "env_file" => entry.env_files = strings(v),
                            // The schema closes include entries: not even `x-` keys.
                            other => self.diags.push(
                                Diagnostic::at(
                                    Code::UnknownKey,
                                    k.pos,
                                    format!("`include` entries have no key `{other}`"),
                                )
                                .with_help("an entry takes `path`, `project_directory` and `env_file` only"),
                            ),
                        }
                    }
                    if entry.paths.is_empty() {
                        self.diags.push(Diagnostic::at(
                            Code::InvalidValue,
                            item.pos,
                            "an `include` entry needs `path`",
                        ));
                    } else {
                        out.push(entry);
                    }
                }
                _ => self.diags.push(Diagnostic::at(
                    Code::WrongType,
                    item.pos,
                    "an `include` entry must be a path or a mapping with `path`",
                )),
            }
        }
        out
    }

    fn load_included(&mut self, path: &Path, pos: Pos, extra: &IndexMap<String, String>) -> Option<Node> {
        self.load_compose_file(path, pos, "include", Some(extra))
    }
}

/// Rebase an included project's relative paths (services, secrets, configs) onto `to`.
/// A path that names a remote resource (`https://...`, `oci://...`, `git@host:repo`), which
/// Docker Compose fetches with its remote loaders.
pub(super) fn is_remote(path: &str) -> bool {
    path.contains("://") || path.starts_with("git@")
}

/// The error for a remote `include` or `extends.file`: kompile reads local files only.
pub(super) fn remote_resource(pos: Pos, key: &str, url: &str) -> Diagnostic {
    Diagnostic::at(
        Code::FileRead,
        pos,
        format!("`{key}`: `{url}` is a remote resource; kompile reads local files only and fetches nothing"),
    )
    .with_help("clone or download it beside the project and name the local copy")
}

fn rebase_project(root: &mut Node, from: &Path, to: &Path) {
    if from == to {
        return;
    }
    let Value::Map(entries) = &mut root.value else { return };
    for (key, value) in entries.iter_mut() {
        match key.name.as_str() {
            "services" => {
                if let Value::Map(services) = &mut value.value {
                    for (_, service) in services.iter_mut() {
                        rebase_paths(service, from, to);
                    }
                }
            }
            "secrets" | "configs" => {
                if let Value::Map(defs) = &mut value.value {
                    for (_, def) in defs.iter_mut() {
                        if let Value::Map(fields) = &mut def.value {
                            for (k, v) in fields.iter_mut() {
                                if k.name == "file" {
                                    if let Value::Str(s) = &mut v.value {
                                        *s = rebase(s, from, to);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
