//! The Compose loader: compose files (as text) plus the environment in, a resolved
//! [`Project`] plus diagnostics out.
//!
//! Order, as Docker Compose does it: parse each file (YAML, positions kept), interpolate its
//! string values, merge the files in order, then read the merged tree into the typed model
//! (short syntax to long form, env files and bind-mounted files read through
//! [`FileSystem`]), apply profiles, and check references. The loader never writes, and it
//! reads only through the `FileSystem` it is handed.

/// Field access for the reader, borrowing only the diagnostics lists so the rest of the
/// loader stays usable alongside.
macro_rules! fields {
    ($loader:expr) => {
        $crate::compose::fields::Fields { diags: &mut $loader.diags, not_converted: &mut $loader.not_converted }
    };
}

mod command;
pub mod config;
mod dotenv;
mod extends;
/// `path` with `.` and `..` steps resolved by their text alone (no file system).
pub(crate) use extends::normalize as normalize_path;
mod fields;
mod image;
mod include;
mod interpolate;
pub mod keys;
mod merge;
pub mod model;
mod ports;
mod schema;
mod service;
mod units;
mod volumes;

pub use command::{split_command, Split, SplitError};
pub use dotenv::parse_into as parse_dotenv;
pub use interpolate::substitute;
pub use model::*;
pub use ports::parse_short as parse_port;
pub use units::{parse_bytes, parse_duration};
pub use volumes::{parse_short as parse_volume, MountType};

use crate::diag::{Code, Diagnostic, Diagnostics, Pos, Sources};
use crate::fs::{FileKind, FileSystem};
use crate::yaml::{self, Limits, Node, Value};
use fields::key_path;
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

/// One compose file, already read by the caller.
#[derive(Debug, Clone)]
pub struct ComposeFile {
    /// The name diagnostics use (as the user gave it, `-` for stdin).
    pub name: String,
    pub contents: Vec<u8>,
}

/// Decode a compose file as compose-go's YAML reader does: UTF-8, or UTF-16 (little or
/// big endian) when the file starts with its byte order mark, as an editor or PowerShell's
/// `>` may save it. Reports the first byte that is not text.
fn decode(bytes: &[u8], file: u32) -> Result<std::borrow::Cow<'_, str>, Diagnostic> {
    let utf16 = match bytes {
        [0xFF, 0xFE, rest @ ..] => Some((rest, u16::from_le_bytes as fn([u8; 2]) -> u16)),
        [0xFE, 0xFF, rest @ ..] => Some((rest, u16::from_be_bytes as fn([u8; 2]) -> u16)),
        _ => None,
    };
    if let Some((rest, unit)) = utf16 {
        return decode_utf16(rest, unit, file).map(std::borrow::Cow::Owned);
    }
    std::str::from_utf8(bytes).map(std::borrow::Cow::Borrowed).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let col = String::from_utf8_lossy(&valid[line_start..]).chars().count() + 1;
        not_text(file, line, col, "UTF-8")
    })
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16, file: u32) -> Result<String, Diagnostic> {
    let mut out = String::with_capacity(bytes.len() / 2);
    let (mut line, mut col) = (1, 1);
    let units = bytes.chunks(2).map(|pair| match pair {
        [a, b] => Ok(unit([*a, *b])),
        _ => Err(()),
    });
    for c in char::decode_utf16(units.map_while(Result::ok)) {
        let Ok(c) = c else { return Err(not_text(file, line, col, "UTF-16")) };
        out.push(c);
        if c == '\n' {
            (line, col) = (line + 1, 1);
        } else {
            col += 1;
        }
    }
    if bytes.len() % 2 == 1 {
        return Err(not_text(file, line, col, "UTF-16"));
    }
    Ok(out)
}

fn not_text(file: u32, line: usize, col: usize, encoding: &str) -> Diagnostic {
    Diagnostic::at(
        Code::YamlSyntax,
        Pos::new(file, line as u32, col as u32),
        format!("the file is not valid {encoding}"),
    )
    .with_help("save the file as UTF-8")
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub interpolate: bool,
    /// Active profiles; when empty, `COMPOSE_PROFILES` from the environment is used.
    pub profiles: Vec<String>,
    pub project_name: Option<String>,
    pub limits: Limits,
    /// Largest file (bind mount, secret, config) read into a manifest, in bytes.
    pub max_file_bytes: u64,
    /// Largest compose file (including `extends` and `include` files), in bytes.
    pub max_input_bytes: u64,
    /// `--env-file`: replaces `<project>/.env` as the source of interpolation variables.
    pub env_files: Vec<PathBuf>,
    /// The project directory's own name, for the default project name when the directory
    /// was given as a relative path such as `.`.
    pub directory_name: Option<String>,
    /// Directories besides the project directory whose files the project may name
    /// (`--allow-path`).
    pub allow_paths: Vec<PathBuf>,
    /// Read files anywhere (`--allow-any-path`).
    pub allow_any_path: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            interpolate: true,
            profiles: Vec::new(),
            project_name: None,
            limits: Limits::default(),
            max_file_bytes: 1024 * 1024,
            max_input_bytes: 16 * 1024 * 1024,
            env_files: Vec::new(),
            directory_name: None,
            allow_paths: Vec::new(),
            allow_any_path: false,
        }
    }
}

/// State shared by the reading functions.
pub(crate) struct Loader<'a> {
    pub diags: Diagnostics,
    pub not_converted: Vec<NotConverted>,
    pub sources: &'a mut Sources,
    pub lookup: &'a (dyn Fn(&str) -> Option<String> + Sync),
    pub fs: &'a dyn FileSystem,
    pub project_dir: PathBuf,
    pub options: &'a LoadOptions,
    /// `extends` cycles already reported (by their members), so each is reported once.
    pub reported_cycles: std::collections::BTreeSet<Vec<String>>,
}

/// The variables interpolation sees: the process environment, then the env files for names
/// the process does not set. The env files are `env_files` (`--env-file`, in order, later
/// ones overriding earlier ones; each must exist) or, when none are given,
/// `<project>/.env` if it exists (unless `COMPOSE_DISABLE_ENV_FILE` is true).
pub fn project_environment(
    process: &IndexMap<String, String>,
    project_dir: &Path,
    env_files: &[PathBuf],
    fs: &dyn FileSystem,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> IndexMap<String, String> {
    let mut env = process.clone();
    let disabled = process
        .get("COMPOSE_DISABLE_ENV_FILE")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"));
    let paths: Vec<PathBuf> = if !env_files.is_empty() {
        env_files.to_vec()
    } else {
        let default = project_dir.join(".env");
        // A directory is skipped, as Compose skips it.
        if disabled || fs.kind(&default) != Some(FileKind::File) {
            return env;
        }
        // A `.env` committed as a symlink must not pull a file from outside the project (a
        // credentials file, say) into the manifests; `--env-file` names one on purpose.
        let inside = match (fs.canonical(&default), fs.canonical(project_dir)) {
            (Some(file), Some(dir)) => file.starts_with(dir),
            _ => true,
        };
        if !inside {
            diags.push(
                Diagnostic::new(
                    Code::FileOutsideProject,
                    None,
                    format!(
                        "`{}` is a link to a file outside the project directory; kompile does not read it",
                        display_path(&default)
                    ),
                )
                .with_help("in CI the compose file may come from an untrusted change; if the file is meant to be read, pass it with `--env-file PATH`"),
            );
            return env;
        }
        vec![default]
    };
    let mut vars = IndexMap::new();
    for path in paths {
        let file = sources.add(&display_path(&path));
        let text = match fs.kind(&path) {
            Some(FileKind::File) => match fs.read(&path).map(String::from_utf8) {
                Ok(Ok(text)) => text,
                _ => {
                    diags.push(Diagnostic::new(
                        Code::FileRead,
                        None,
                        format!("`{}` cannot be read as UTF-8 text", display_path(&path)),
                    ));
                    continue;
                }
            },
            other => {
                let problem = match other {
                    Some(FileKind::Dir) => "is a directory, not a file",
                    Some(_) => "is not a regular file",
                    None => "not found",
                };
                diags.push(Diagnostic::new(
                    Code::FileRead,
                    None,
                    format!("env file `{}` {problem}", display_path(&path)),
                ));
                continue;
            }
        };
        let lookup = |name: &str| process.get(name).cloned();
        if let Err(e) = dotenv::parse_into(&text, &mut vars, &lookup) {
            diags.push(Diagnostic::at(e.code(), Pos::new(file, e.line as u32, e.col as u32), e.message));
        }
    }
    for (k, v) in vars {
        env.entry(k).or_insert(v);
    }
    env
}

/// Load a project. `None` when an error leaves nothing sensible to convert; otherwise the
/// project, possibly with error diagnostics (the caller refuses to emit when there are any).
pub fn load(
    files: &[ComposeFile],
    env: &IndexMap<String, String>,
    project_dir: &Path,
    fs: &dyn FileSystem,
    options: &LoadOptions,
    sources: &mut Sources,
) -> (Option<Project>, Diagnostics) {
    let (resolved, diags) = resolve(files, env, project_dir, fs, options, sources);
    let project = resolved.map(|Resolved { project, tree }| {
        tree.free();
        project
    });
    (project, diags)
}

/// A loaded project together with the resolved YAML tree it was read from (after merging,
/// interpolation, `include` and `extends`), for `kompile config`.
pub struct Resolved {
    pub project: Project,
    pub tree: Node,
}

/// [`load`], keeping the resolved tree.
pub fn resolve(
    files: &[ComposeFile],
    env: &IndexMap<String, String>,
    project_dir: &Path,
    fs: &dyn FileSystem,
    options: &LoadOptions,
    sources: &mut Sources,
) -> (Option<Resolved>, Diagnostics) {
    let lookup = |name: &str| env.get(name).cloned();
    let mut loader = Loader {
        diags: Diagnostics::default(),
        not_converted: Vec::new(),
        sources,
        lookup: &lookup,
        fs,
        project_dir: project_dir.to_path_buf(),
        options,
        reported_cycles: Default::default(),
    };
    let mut root: Option<Node> = None;
    for file in files {
        let id = loader.sources.add(&file.name);
        let text = match decode(&file.contents, id) {
            Ok(text) => text,
            Err(d) => {
                loader.diags.push(d);
                continue;
            }
        };
        // A large file's services are read on two cores.
        let docs = match yaml::parse_split(&text, id, options.limits, "services") {
            Ok(docs) => docs,
            Err(d) => {
                loader.diags.push(d);
                continue;
            }
        };
        for mut doc in docs {
            if doc.is_null() {
                continue;
            }
            if !matches!(doc.value, Value::Map(_)) {
                loader.diags.push(Diagnostic::at(
                    Code::WrongType,
                    doc.pos,
                    format!("a compose file must be a mapping, found {}", doc.kind_name()),
                ));
                continue;
            }
            if options.interpolate {
                interpolate::interpolate_tree(&mut doc, &lookup, &mut loader.diags);
            }
            root = Some(match root {
                // Only `!reset` and `!override` are kept as tags: without them in the text
                // there is nothing to strip, and the walk over the tree is skipped.
                None if text.contains("!reset") || text.contains("!override") => merge::strip_tags(doc),
                None => doc,
                Some(mut base) => {
                    merge::merge(&mut base, doc, &mut Vec::new());
                    base
                }
            });
        }
    }
    if loader.diags.has_errors() {
        return (None, loader.diags);
    }
    let Some(root) = root else {
        let pos = files.first().map(|_| Pos::new(0, 1, 1));
        loader.diags.push(Diagnostic::new(Code::EmptyProject, pos, "the compose file is empty"));
        return (None, loader.diags);
    };
    let mut root = root;
    loader.resolve_includes(&mut root, project_dir, &mut Vec::new());
    loader.resolve_extends(&mut root);
    merge::enforce_unicity(&mut root, &mut loader.diags);
    if loader.diags.has_errors() {
        return (None, loader.diags);
    }
    // The schema check reads the same tree as the reader: for a large project it runs on a
    // second thread meanwhile (see `read_project`).
    let large = matches!(root.get("services").map(|s| &s.value), Some(Value::Map(s)) if s.len() >= crate::par::LARGE);
    let (schema_diags, project) = loader.read_project(&root, &lookup, large);
    // The schema adds what the reader does not check itself; a position the reader already
    // reported is not reported twice.
    let reported: foldhash::HashSet<Pos> = loader.diags.0.iter().filter_map(|d| d.pos).collect();
    for d in schema_diags {
        if d.pos.is_some_and(|p| !reported.contains(&p)) {
            loader.diags.push(d);
        }
    }
    let Loader { mut diags, not_converted, .. } = loader;
    let mut project = project;
    project.not_converted = not_converted;
    if project.services.is_empty() && !diags.has_errors() && !diags.0.iter().any(|d| d.code == Code::NoServiceSelected)
    {
        diags.push(
            Diagnostic::at(Code::EmptyProject, root.pos, "the project has no services to convert")
                .with_help("define `services:`, or check which `--profile` is active"),
        );
    }
    (Some(Resolved { project, tree: root }), diags)
}

/// Merge two compose documents with the multi-file rules and return the result as JSON
/// (for conformance tests against compose-go's merge tables). `KEY=value` lists of
/// `environment`, `labels` and the like come back as mappings.
pub fn merge_documents(base: &str, over: &str) -> Result<serde_json::Value, String> {
    let parse = |text: &str, id: u32| -> Result<Node, String> {
        let mut docs = yaml::parse(text, id, Limits::default()).map_err(|d| d.message)?;
        docs.retain(|d| !d.is_null());
        docs.pop().ok_or_else(|| "empty document".to_string())
    };
    let mut root = merge::strip_tags(parse(base, 0)?);
    merge::merge(&mut root, parse(over, 1)?, &mut Vec::new());
    Ok(config::to_json(&root))
}

/// An explicit project name (`-p`, `COMPOSE_PROJECT_NAME`) must already be normalised.
pub fn validate_project_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("project name must not be empty".into());
    }
    if normalize_project_name(name) != name {
        return Err(format!(
            "invalid project name `{name}`: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"
        ));
    }
    Ok(())
}

/// Docker Compose's project-name normalisation: lowercase, keep `[a-z0-9_-]`, trim leading
/// `_`/`-`.
pub fn normalize_project_name(name: &str) -> String {
    let kept: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

/// How many services one thread checks against the schema before it takes more.
const SCHEMA_CHUNK: usize = 64;

impl<'a> Loader<'a> {
    /// Read the model, and check the tree against the schema: for a `large` project with a
    /// second thread, which reads the last 30% of the services when they read no file of
    /// their own ([`Loader::lane`]) and checks the tree without the services; both threads
    /// then check the services ([`schema::Apart`]). Returns the schema's findings and the
    /// model.
    fn read_project(
        &mut self,
        root: &Node,
        lookup: &dyn Fn(&str) -> Option<String>,
        large: bool,
    ) -> (Vec<Diagnostic>, Project) {
        let mut schema_diags = None;
        let mut project = Project::default();
        let mut f = fields!(self);
        let entries = f.map(root, "the top level");
        let converted: Vec<&(yaml::Key, Node)> = f.check_keys(entries, keys::TOP_LEVEL_KEYS, "");
        // check_keys reports top-level paths as `.key`; fix them up.
        for nc in self.not_converted.iter_mut() {
            if let Some(rest) = nc.path.strip_prefix('.') {
                nc.path = rest.to_string();
            }
        }
        let mut name_from_file = None;
        for (key, value) in &converted {
            match key.name.as_str() {
                "version" => self.diags.push(
                    Diagnostic::at(Code::ObsoleteVersion, key.pos, "`version` is obsolete and ignored")
                        .with_help("remove the `version` line"),
                ),
                "name" => name_from_file = fields!(self).string(value, "name").map(|name| (name, value.pos)),
                _ => {}
            }
        }
        let dir_name = self
            .options
            .directory_name
            .clone()
            .or_else(|| {
                self.fs
                    .canonical(&self.project_dir)
                    .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_string()))
            })
            .or_else(|| self.project_dir.file_name().map(|n| n.to_string_lossy().to_string()));
        // No directory name at all (an in-memory project): Compose's usual default.
        let at_root = self.fs.canonical(&self.project_dir).is_some_and(|d| d.parent().is_none());
        let dir_name = dir_name.unwrap_or_else(|| if at_root { String::new() } else { "default".to_string() });
        let explicit = match &self.options.project_name {
            Some(name) => Some((name.clone(), "-p")),
            None => lookup("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()).map(|n| (n, "COMPOSE_PROJECT_NAME")),
        };
        project.name = match explicit {
            Some((name, origin)) => {
                if let Err(e) = validate_project_name(&name) {
                    self.diags.push(Diagnostic::new(Code::InvalidValue, None, format!("{e} (from {origin})")));
                }
                name
            }
            None => {
                // A file's `name:` that normalises to nothing is passed over, as compose-go
                // does: the directory names the project.
                let from_file = name_from_file.filter(|(name, _)| !normalize_project_name(name).is_empty());
                let (written, pos) = match from_file {
                    Some((name, pos)) => (name, Some(pos)),
                    None => {
                        project.name_from_directory = true;
                        (dir_name, None)
                    }
                };
                let name = normalize_project_name(&written);
                if name.is_empty() {
                    // Normalising keeps only `[a-z0-9_-]` and drops leading `_` and `-`.
                    let message = match pos {
                        Some(_) => format!("project name `{written}` normalises to an empty name"),
                        None if written.is_empty() => "project name must not be empty".to_string(),
                        None => format!("the project directory's name `{written}` normalises to an empty project name"),
                    };
                    self.diags.push(Diagnostic::new(Code::InvalidValue, pos, message).with_help(
                        "normalising keeps lowercase letters, digits, `-` and `_`, and drops a leading `-` or \
                             `_`: set `name:` in the compose file or pass `-p NAME`",
                    ));
                }
                name
            }
        };

        let get = |name: &str| converted.iter().find(|(k, _)| k.name == name).map(|(_, v)| v);
        if let Some(volumes) = get("volumes") {
            self.read_volume_defs(&mut project, volumes);
        }
        for (kind, node) in [("secrets", get("secrets")), ("configs", get("configs"))] {
            if let Some(node) = node {
                let defs = self.read_file_objects(kind, node);
                if kind == "secrets" {
                    project.secrets = defs;
                } else {
                    project.configs = defs;
                }
            }
        }
        let mut networks: Vec<String> = vec!["default".into()];
        if let Some(nets) = get("networks") {
            let mut f = fields!(self);
            for (k, v) in f.map(nets, "networks") {
                networks.push(k.name.clone());
                let explicit = v
                    .get("name")
                    .and_then(Node::scalar_string)
                    .or_else(|| v.get("external").and_then(|e| e.get("name")).and_then(Node::scalar_string));
                project.networks.insert(k.name.clone(), explicit);
                project.network_pos.insert(k.name.clone(), k.pos);
                for (sub, value) in f.map(v, &format!("networks.{}", k.name)) {
                    // The default driver says nothing the cluster network does not.
                    let default_driver = sub.name == "driver" && value.scalar_string().as_deref() == Some("bridge");
                    if !matches!(sub.name.as_str(), "name" | "external")
                        && !sub.name.starts_with("x-")
                        && !default_driver
                    {
                        f.not_converted.push(NotConverted {
                            path: format!("networks.{}.{}", k.name, sub.name),
                            pos: sub.pos,
                            reason: "the cluster network connects every pod, with its own addressing",
                            help: None,
                        });
                    }
                }
            }
        }
        let active = self.active_profiles(lookup);
        if let Some(services) = get("services") {
            let mut f = fields!(self);
            let entries = f.map(services, "services");
            let mut disabled = Vec::new();
            // The second thread also checks the tree without the services against the
            // schema (the volumes, ...), and reads a service a little slower than this one
            // does: it reads the last 30% of them. Then both check the services against the
            // schema, a chunk at a time, whichever is free, so that both end together.
            // A file a service reads (`env_file`, `label_file`) is added to the sources, whose
            // order the second thread must not change.
            let reads_files =
                |(_, node): &(yaml::Key, Node)| node.get("env_file").is_some() || node.get("label_file").is_some();
            let last_part = entries.len() - entries.len() * 3 / 10;
            let at = if large && !entries[last_part..].iter().any(reads_files) { last_part } else { entries.len() };
            let (first, second) = entries.split_at(at);
            let mut lane_sources = Sources::default();
            let lane = (!second.is_empty()).then(|| self.lane(&mut lane_sources));
            let active = &active;
            let apart = schema::Apart::new(root);
            let chunks = crate::par::Chunks::new(apart.services(), SCHEMA_CHUNK);
            let check = |chunks: &crate::par::Chunks<'_, _>| chunks.take(|entry| apart.service(entry));
            let ((rest, lane, checked_there), checked_here) = crate::par::join(
                large,
                || {
                    let lane = lane.map(|mut lane| {
                        let (services, disabled) = lane.read_services(second, active);
                        (services, disabled, lane.diags, lane.not_converted)
                    });
                    (apart.rest(), lane, check(&chunks))
                },
                || {
                    let (services, off) = self.read_services(first, active);
                    project.services = services;
                    disabled = off;
                    check(&chunks)
                },
            );
            let mut schema = rest;
            schema.extend(chunks.merge([checked_there, checked_here]).into_iter().flatten());
            schema_diags = Some(schema);
            if let Some((services, off, diags, not_converted)) = lane {
                project.services.extend(services);
                disabled.extend(off);
                self.diags.0.extend(diags.0);
                self.not_converted.extend(not_converted);
            }
            debug_assert!(lane_sources.is_empty(), "the second lane read no file");
            // A service others wait on to complete runs once (Compose's default `restart: no`).
            let mut awaited: Vec<(String, Spanned<String>)> = Vec::new();
            for (key, node) in entries {
                for (dep, long) in node.get("depends_on").and_then(Node::as_map).into_iter().flatten() {
                    let condition = long.get("condition").and_then(Node::scalar_string);
                    if condition.as_deref() == Some("service_completed_successfully") {
                        let pos = long.get("condition").map_or(dep.pos, |c| c.pos);
                        awaited.push((dep.name.clone(), Spanned::new(key.name.clone(), pos)));
                    }
                }
            }
            for (name, by) in awaited {
                if let Some(service) = project.services.iter_mut().find(|s| s.name == name) {
                    service.awaited_by.get_or_insert(by);
                }
            }
            for service in &mut project.services {
                if !service.optional_depends_on.is_empty() {
                    let optional = std::mem::take(&mut service.optional_depends_on);
                    service.depends_on.retain(|d| !(optional.contains(&d.value) && disabled.contains(&d.value)));
                }
            }
            let models: Vec<String> = root
                .get("models")
                .and_then(Node::as_map)
                .map(|m| m.iter().map(|(k, _)| k.name.clone()).collect())
                .unwrap_or_default();
            // Two checks over all services, side by side for a large project; their findings
            // in this order.
            let (build_diags, ()) = crate::par::join(
                large,
                || {
                    let mut diags = Diagnostics::default();
                    Loader::check_build_references(&mut diags, &project, entries, &models);
                    diags
                },
                || Loader::check_references(&mut self.diags, &project, &networks, &disabled, entries),
            );
            self.diags.0.extend(build_diags.0);
            self.check_cycles(&project);
            if project.services.is_empty() && !disabled.is_empty() {
                self.diags.push(
                    Diagnostic::at(
                        Code::NoServiceSelected,
                        services.pos,
                        format!(
                            "no service is selected: every service has a profile that is not active ({})",
                            if active.is_empty() {
                                "no profile is active".to_string()
                            } else {
                                format!("active: {}", active.join(", "))
                            }
                        ),
                    )
                    .with_help("activate one with `--profile NAME` or COMPOSE_PROFILES"),
                );
            }
        }
        (schema_diags.unwrap_or_else(|| schema::validate(root)), project)
    }

    /// Read `entries` of `services:`: the services, and the names of those whose profile is
    /// not active. Each service is boxed (it is about 2 KB): the second lane's services then
    /// join the first's as pointers, not as copies on one thread.
    #[allow(clippy::vec_box)]
    fn read_services(&mut self, entries: &[(yaml::Key, Node)], active: &[String]) -> (Vec<Box<Service>>, Vec<String>) {
        let mut services = Vec::with_capacity(entries.len());
        let mut disabled = Vec::new();
        for (key, node) in entries {
            if !valid_service_name(&key.name) {
                self.diags.push(Diagnostic::at(
                    Code::InvalidValue,
                    key.pos,
                    format!("service name `{}` may contain only letters, digits, `.`, `_` and `-`", key.name),
                ));
                continue;
            }
            if !self.profile_enabled(node, active) {
                disabled.push(key.name.clone());
                continue;
            }
            services.push(Box::new(self.read_service(&key.name, key.pos, node)));
        }
        (services, disabled)
    }

    /// A loader for the last services, on a second thread: the same inputs,
    /// its own findings, and sources of its own (it must read no file).
    fn lane<'s>(&self, sources: &'s mut Sources) -> Loader<'s>
    where
        'a: 's,
    {
        Loader {
            diags: Diagnostics::default(),
            not_converted: Vec::new(),
            sources,
            lookup: self.lookup,
            fs: self.fs,
            project_dir: self.project_dir.clone(),
            options: self.options,
            reported_cycles: Default::default(),
        }
    }

    fn active_profiles(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
        if !self.options.profiles.is_empty() {
            return self.options.profiles.clone();
        }
        lookup("COMPOSE_PROFILES")
            .map(|v| v.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
            .unwrap_or_default()
    }

    fn profile_enabled(&mut self, node: &Node, active: &[String]) -> bool {
        let Some(profiles) = node.get("profiles") else {
            return true;
        };
        let Value::Seq(items) = &profiles.value else {
            return true;
        };
        if items.is_empty() {
            return true;
        }
        items.iter().any(|p| match &p.value {
            Value::Str(name) => active.iter().any(|a| a == name || a == "*"),
            _ => false,
        })
    }

    /// `depends_on` must not form a cycle (Compose refuses to start such a project). One
    /// depth-first search over all services: linear in services plus dependencies.
    fn check_cycles(&mut self, project: &Project) {
        let index: foldhash::HashMap<&str, usize> =
            project.services.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
        // 0 = not visited, 1 = on the current path, 2 = done.
        let mut state = vec![0u8; project.services.len()];
        for start in 0..project.services.len() {
            if state[start] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            state[start] = 1;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let deps = &project.services[node].depends_on;
                if *next >= deps.len() {
                    state[node] = 2;
                    stack.pop();
                    continue;
                }
                let dep = &deps[*next];
                *next += 1;
                let Some(&target) = index.get(dep.value.as_str()) else { continue };
                match state[target] {
                    0 => {
                        state[target] = 1;
                        stack.push((target, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                        let mut cycle: Vec<&str> =
                            stack[from..].iter().map(|(n, _)| project.services[*n].name.as_str()).collect();
                        cycle.push(&project.services[target].name);
                        self.diags.push(Diagnostic::at(
                            Code::UndefinedReference,
                            dep.pos,
                            format!("dependency cycle: {}", cycle.join(" -> ")),
                        ));
                    }
                    _ => {}
                }
            }
        }
    }

    fn check_references(
        diags: &mut Diagnostics,
        project: &Project,
        networks: &[String],
        disabled: &[String],
        entries: &[(yaml::Key, Node)],
    ) {
        let names: foldhash::HashSet<&str> = project.services.iter().map(|s| s.name.as_str()).collect();
        let nodes: foldhash::HashMap<&str, &Node> = entries.iter().map(|(k, v)| (k.name.as_str(), v)).collect();
        for service in &project.services {
            for mount in &service.volumes {
                if let (MountType::Volume, Some(source)) = (mount.kind, &mount.source) {
                    if !project.volumes.contains_key(source) {
                        diags.push(
                            Diagnostic::at(
                                Code::UndefinedReference,
                                mount.pos,
                                format!("service `{}` uses volume `{source}`, which the top-level `volumes` does not define", service.name),
                            )
                            .with_help(format!("add `{source}:` under a top-level `volumes:` key, or write `./{source}` for a host directory")),
                        );
                    }
                }
            }
            for (kind, refs, defs) in
                [("secret", &service.secrets, &project.secrets), ("config", &service.configs, &project.configs)]
            {
                for r in refs {
                    if !defs.contains_key(&r.source) {
                        diags.push(
                            Diagnostic::at(
                                Code::UndefinedReference,
                                r.pos,
                                format!(
                                    "service `{}` uses {kind} `{}`, which the top-level `{kind}s` does not define",
                                    service.name, r.source
                                ),
                            )
                            .with_help(format!(
                                "add `{}: {{file: ./path}}` under a top-level `{kind}s:` key",
                                r.source
                            )),
                        );
                    }
                }
            }
            for (source, _) in &service.volumes_from {
                if !names.contains(&source.value.as_str()) {
                    diags.push(Diagnostic::at(
                        Code::UndefinedReference,
                        source.pos,
                        format!("service `{}` takes volumes from undefined service `{}`", service.name, source.value),
                    ));
                }
            }
            for dep in service.depends_on.iter().chain(&service.links) {
                if !names.contains(&dep.value.as_str()) {
                    let why = if disabled.contains(&dep.value) { " (its profile is not active)" } else { "" };
                    diags.push(Diagnostic::at(
                        Code::UndefinedReference,
                        dep.pos,
                        format!("service `{}` depends on undefined service `{}`{why}", service.name, dep.value),
                    ));
                }
            }
            if let Some(node) = nodes.get(service.name.as_str()) {
                if let Some(nets) = node.get("networks") {
                    let listed: Vec<(String, Pos)> = match &nets.value {
                        Value::Map(m) => m.iter().map(|(k, _)| (k.name.clone(), k.pos)).collect(),
                        Value::Seq(items) => {
                            items.iter().filter_map(|i| i.scalar_string().map(|s| (s, i.pos))).collect()
                        }
                        _ => Vec::new(),
                    };
                    for (net, pos) in listed {
                        if !networks.contains(&net) {
                            diags.push(Diagnostic::at(
                                Code::UndefinedReference,
                                pos,
                                format!("service `{}` refers to undefined network `{net}`", service.name),
                            ));
                        }
                    }
                }
            }
        }
    }

    /// What compose-go checks of the keys kompile does not convert (`build`, `models`,
    /// `develop`): build secrets and models are defined at the top level, a `service:` build
    /// context names a service that builds, `platform` is one of `build.platforms`, and a
    /// `develop.watch` rule that syncs has a `target`. Compose refuses a project that breaks one
    /// of these, so kompile does too.
    fn check_build_references(
        diags: &mut Diagnostics,
        project: &Project,
        entries: &[(yaml::Key, Node)],
        models: &[String],
    ) {
        let nodes: foldhash::HashMap<&str, &Node> = entries.iter().map(|(k, v)| (k.name.as_str(), v)).collect();
        let strings = |node: &Node| -> Vec<(String, Pos)> {
            match &node.value {
                Value::Seq(items) => items.iter().filter_map(|i| i.scalar_string().map(|s| (s, i.pos))).collect(),
                Value::Map(m) => m.iter().map(|(k, _)| (k.name.clone(), k.pos)).collect(),
                _ => Vec::new(),
            }
        };
        for service in &project.services {
            let Some(node) = nodes.get(service.name.as_str()) else { continue };
            if let Some(wanted) = node.get("models") {
                for (model, pos) in strings(wanted) {
                    if !models.contains(&model) {
                        diags.push(Diagnostic::at(
                            Code::UndefinedReference,
                            pos,
                            format!(
                                "service `{}` uses model `{model}`, which the top-level `models` does not define",
                                service.name
                            ),
                        ));
                    }
                }
            }
            let watch = match node.get("develop").and_then(|d| d.get("watch")).map(|w| &w.value) {
                Some(Value::Seq(rules)) => rules.as_slice(),
                _ => &[],
            };
            for rule in watch {
                let action = rule.get("action").and_then(Node::scalar_string).unwrap_or_default();
                let target = rule.get("target").and_then(Node::scalar_string).unwrap_or_default();
                if target.is_empty() && !matches!(action.as_str(), "rebuild" | "restart") {
                    diags.push(Diagnostic::at(
                        Code::InvalidValue,
                        rule.pos,
                        format!("`services.{}.develop.watch`: a `{action}` rule needs a `target`, as Docker Compose requires", service.name),
                    ));
                }
            }
            let Some(build) = node.get("build").filter(|b| matches!(b.value, Value::Map(_))) else { continue };
            let secrets = match build.get("secrets").map(|s| &s.value) {
                Some(Value::Seq(items)) => items.as_slice(),
                _ => &[],
            };
            for secret in secrets {
                let source = secret.scalar_string().or_else(|| secret.get("source").and_then(Node::scalar_string));
                if let Some(source) = source.filter(|s| !project.secrets.contains_key(s)) {
                    diags.push(
                        Diagnostic::at(
                            Code::UndefinedReference,
                            secret.pos,
                            format!("service `{}` uses build secret `{source}`, which the top-level `secrets` does not define", service.name),
                        )
                        .with_help(format!("add `{source}: {{file: ./path}}` under a top-level `secrets:` key")),
                    );
                }
            }
            let contexts: Vec<(String, String, Pos)> = match build.get("additional_contexts").map(|c| &c.value) {
                Some(Value::Map(m)) => {
                    m.iter().filter_map(|(k, v)| v.scalar_string().map(|text| (k.name.clone(), text, v.pos))).collect()
                }
                Some(Value::Seq(items)) => items
                    .iter()
                    .filter_map(|i| {
                        let text = i.scalar_string()?;
                        let (name, value) = text.split_once('=')?;
                        Some((name.to_string(), value.to_string(), i.pos))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for (name, value, pos) in contexts {
                let Some(target) = value.strip_prefix("service:") else { continue };
                let why = match project.services.iter().find(|s| s.name == target) {
                    None => "which is not a service of the project",
                    Some(t) if !t.has_build => "which has no `build` section",
                    Some(_) => continue,
                };
                diags.push(Diagnostic::at(
                    Code::UndefinedReference,
                    pos,
                    format!("service `{}` uses service `{target}` as build context `{name}`, {why}", service.name),
                ));
            }
            let platforms = build.get("platforms").map(strings).unwrap_or_default();
            if let Some(platform) = node.get("platform").filter(|_| !platforms.is_empty()) {
                if let Some(text) = platform.scalar_string().filter(|p| !platforms.iter().any(|(q, _)| q == p)) {
                    diags.push(Diagnostic::at(
                        Code::InvalidValue,
                        platform.pos,
                        format!("`services.{}.platform: {text}` is not one of `build.platforms`, as Docker Compose requires", service.name),
                    ));
                }
            }
        }
    }

    fn read_volume_defs(&mut self, project: &mut Project, node: &Node) {
        let mut f = fields!(self);
        for (key, value) in f.map(node, "volumes") {
            let path = format!("volumes.{}", key.name);
            let mut def = VolumeDef { pos: key.pos, ..VolumeDef::default() };
            // A `local` volume that mounts an NFS export: the pods mount the export itself.
            let local = value.get("driver").is_none_or(|d| d.scalar_string().as_deref() == Some("local"));
            let opts = value.get("driver_opts");
            let opt = |name: &str| opts.and_then(|o| o.get(name)).and_then(Node::scalar_string).unwrap_or_default();
            let nfs = local.then(|| NfsExport::from_driver_opts(&opt("type"), &opt("o"), &opt("device"))).flatten();
            let mut nfs_options = Vec::new();
            if let Some((export, other)) = nfs {
                def.nfs = Some(export);
                nfs_options = other;
            }
            for (k, v) in f.map(value, &path) {
                let kp = key_path(&path, &k.name);
                match k.name.as_str() {
                    "labels" => {
                        for (name, val, _) in f.list_or_map(v, &kp, '=') {
                            def.labels.insert(name, val.unwrap_or_default());
                        }
                    }
                    "external" => {
                        def.external = matches!(v.value, Value::Bool(true) | Value::Map(_));
                        if let Some(n) = v.get("name") {
                            let name = f.string(n, &key_path(&kp, "name"));
                            def.name = def.name.take().or(name);
                        }
                    }
                    "name" => def.name = f.string(v, &kp),
                    // The default driver says nothing a claim does not.
                    "driver" if v.scalar_string().as_deref() == Some("local") => {}
                    "driver_opts" if def.nfs.is_some() => {
                        if !nfs_options.is_empty() {
                            f.not_converted.push(NotConverted {
                                path: key_path(&kp, "o"),
                                pos: v.get("o").map_or(k.pos, |o| o.pos),
                                reason: "a pod's NFS volume takes no mount options (kompile uses `addr` and `ro`)",
                                help: Some("mount with options through a PersistentVolume with `mountOptions`, bound to a claim"),
                            });
                        }
                    }
                    "driver_opts" if local && opt("o").split(',').any(|o| o.trim() == "bind") => {
                        f.not_converted.push(NotConverted {
                            path: kp,
                            pos: k.pos,
                            reason: "a named volume bound to a host directory becomes an empty claim: pods do not see the host's files",
                            help: Some("mount the directory as a bind mount instead (`/host/dir:/target`): kompile then ships its files in a ConfigMap, or says why it cannot"),
                        })
                    }
                    "driver" | "driver_opts" => f.not_converted.push(NotConverted {
                        path: kp,
                        pos: k.pos,
                        reason: "volume drivers are replaced by the cluster's StorageClass",
                        help: Some("set `kompose.volume.storage-class-name` on the service to choose one"),
                    }),
                    name if name.starts_with("x-") => {}
                    _ => f.diags.push(fields::unknown_key(
                        k,
                        &path,
                        &["driver", "driver_opts", "external", "labels", "name"],
                    )),
                }
            }
            project.volumes.insert(key.name.clone(), def);
        }
    }

    fn read_file_objects(&mut self, kind: &str, node: &Node) -> IndexMap<String, FileObject> {
        let mut out = IndexMap::new();
        let entries = fields!(self).map(node, kind).to_vec();
        for (key, value) in &entries {
            let path = key_path(kind, &key.name);
            let mut source = None;
            let mut name: Option<Spanned<String>> = None;
            let mut f = fields!(self);
            let fields_list = f.map(value, &path).to_vec();
            let sources: &[&str] =
                if kind == "configs" { &["file", "environment", "content"] } else { &["file", "environment"] };
            let written: Vec<&(yaml::Key, Node)> =
                fields_list.iter().filter(|(k, _)| sources.contains(&k.name.as_str())).collect();
            if let [(first, _), (second, _), ..] = written.as_slice() {
                f.invalid(
                    second.pos,
                    format!(
                        "`{path}` sets both `{}` and `{}`: {} exclude each other",
                        first.name,
                        second.name,
                        sources.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            for (k, v) in &fields_list {
                let kp = key_path(&path, &k.name);
                let mut f = fields!(self);
                match k.name.as_str() {
                    "file" => {
                        if let Some(file) = f.string(v, &kp) {
                            let full = self.resolve(&file);
                            if self.may_read(&full) && self.fs.kind(&full) == Some(FileKind::Dir) {
                                source = self.read_project_dir(&file, v.pos, &kp);
                                continue;
                            }
                            source = match self.read_project_file(&file, v.pos, &kp) {
                                Ok(Some(contents)) => Some(FileSource::File { path: file, contents }),
                                Ok(None) => {
                                    self.diags.push(Diagnostic::at(
                                        Code::FileRead,
                                        v.pos,
                                        format!("`{kp}`: file `{file}` not found"),
                                    ));
                                    None
                                }
                                Err(()) => None,
                            };
                        }
                    }
                    "content" if kind == "configs" => {
                        source = f.string(v, &kp).map(FileSource::Content);
                    }
                    "environment" => {
                        if let Some(variable) = f.string(v, &kp) {
                            let value = (self.lookup)(&variable);
                            source = Some(FileSource::Environment { variable, value });
                        }
                    }
                    "external" => {
                        if matches!(v.value, Value::Bool(true) | Value::Map(_)) {
                            source = Some(FileSource::External);
                        }
                        // The older form names the existing object here.
                        if let Some(n) = v.get("name") {
                            if name.is_none() {
                                name = f.string(n, &key_path(&kp, "name")).map(|s| Spanned::new(s, n.pos));
                            }
                        }
                    }
                    "name" => {
                        name = f.string(v, &kp).map(|s| Spanned::new(s, v.pos));
                    }
                    "labels" | "driver" | "driver_opts" | "template_driver" => f.not_converted.push(NotConverted {
                        path: kp.clone(),
                        pos: k.pos,
                        reason: "this setting has no Kubernetes equivalent",
                        help: None,
                    }),
                    name if name.starts_with("x-") => {}
                    _ => {
                        let known: &[&str] = &[
                            "driver",
                            "driver_opts",
                            "environment",
                            "external",
                            "file",
                            "labels",
                            "name",
                            "template_driver",
                            if kind == "configs" { "content" } else { "file" },
                        ];
                        f.diags.push(fields::unknown_key(k, &path, known))
                    }
                }
            }
            match source {
                Some(source) => {
                    out.insert(key.name.clone(), FileObject { pos: key.pos, source, name });
                }
                // Reading failed and was reported: keep the name so references to it are
                // not reported again as undefined.
                None if self.diags.has_errors() => {
                    out.insert(key.name.clone(), FileObject { pos: key.pos, source: FileSource::External, name: None });
                }
                None => {
                    self.diags.push(Diagnostic::at(
                        Code::InvalidValue,
                        key.pos,
                        format!(
                            "`{path}` must set one of `file`, `environment`{}, or `external: true`",
                            if kind == "configs" { ", `content`" } else { "" }
                        ),
                    ));
                    // Defined, if wrongly: a reference to it is not reported as undefined too.
                    out.insert(key.name.clone(), FileObject { pos: key.pos, source: FileSource::External, name: None });
                }
            }
        }
        out
    }

    /// A path from the compose file, resolved against the project directory (`~` is HOME).
    pub(crate) fn resolve(&self, path: &str) -> PathBuf {
        if let Some(rest) = path.strip_prefix("~/") {
            if let Some(home) = (self.lookup)("HOME") {
                return Path::new(&home).join(rest);
            }
        }
        self.project_dir.join(path)
    }

    /// Read, parse and interpolate another compose file (for `extends.file` and `include`):
    /// its documents merged into one tree. `extra` adds variables the project environment
    /// does not set (an included project's own env files).
    pub(crate) fn load_compose_file(
        &mut self,
        path: &Path,
        pos: Pos,
        what: &str,
        extra: Option<&IndexMap<String, String>>,
    ) -> Option<Node> {
        let display = display_path(path);
        if !self.may_read(path) {
            self.outside(pos, what, &display);
            return None;
        }
        let problem = match self.fs.kind(path) {
            Some(FileKind::File) => None,
            None => Some("not found"),
            Some(FileKind::Dir) => Some("is a directory, not a file"),
            Some(FileKind::Other) => Some("is not a regular file"),
        };
        if let Some(problem) = problem {
            self.diags.push(Diagnostic::at(Code::FileRead, pos, format!("`{what}`: `{display}` {problem}")));
            return None;
        }
        if self.fs.size(path).is_some_and(|n| n > self.options.max_input_bytes) {
            self.diags.push(Diagnostic::at(
                Code::YamlLimit,
                pos,
                format!("`{display}` is larger than {} bytes", self.options.max_input_bytes),
            ));
            return None;
        }
        let bytes = match self.fs.read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.diags.push(Diagnostic::at(
                    Code::FileRead,
                    pos,
                    format!("`{what}`: cannot read `{display}`: {}", crate::diag::without_os_error(&e.to_string())),
                ));
                return None;
            }
        };
        let id = self.sources.add(&display);
        let text = match decode(&bytes, id) {
            Ok(t) => t.into_owned(),
            Err(d) => {
                self.diags.push(d);
                return None;
            }
        };
        let docs = match yaml::parse(&text, id, self.options.limits) {
            Ok(docs) => docs,
            Err(d) => {
                self.diags.push(d);
                return None;
            }
        };
        let mut root: Option<Node> = None;
        for mut doc in docs.into_iter().filter(|d| !d.is_null()) {
            if self.options.interpolate {
                let outer = self.lookup;
                let lookup = |name: &str| outer(name).or_else(|| extra.and_then(|e| e.get(name).cloned()));
                interpolate::interpolate_tree(&mut doc, &lookup, &mut self.diags);
            }
            root = Some(match root {
                None => merge::strip_tags(doc),
                Some(mut acc) => {
                    merge::merge(&mut acc, doc, &mut Vec::new());
                    acc
                }
            });
        }
        root
    }

    /// `path` with symlinks resolved as far as it exists, the rest normalised.
    fn real_path(&self, path: &Path) -> PathBuf {
        if let Some(real) = self.fs.canonical(path) {
            return real;
        }
        match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => self.real_path(parent).join(name),
            _ => {
                let mut out = PathBuf::new();
                for c in path.components() {
                    match c {
                        std::path::Component::CurDir => {}
                        std::path::Component::ParentDir => {
                            if !out.pop() {
                                out.push("..");
                            }
                        }
                        other => out.push(other.as_os_str()),
                    }
                }
                out
            }
        }
    }

    /// Whether the project may read `full`: it lies inside the project directory or an
    /// `--allow-path` directory once symlinks and `..` are resolved (or `--allow-any-path`).
    pub(crate) fn may_read(&self, full: &Path) -> bool {
        if self.options.allow_any_path {
            return true;
        }
        let target = extends::normalize(&self.real_path(full));
        std::iter::once(self.project_dir.as_path())
            .chain(self.options.allow_paths.iter().map(PathBuf::as_path))
            .map(|root| extends::normalize(&self.real_path(root)))
            .any(|root| target.starts_with(&root) && !target.starts_with(root.join("..")))
    }

    /// Report a file outside the project directory (K116).
    pub(crate) fn outside(&mut self, pos: Pos, what: &str, path: &str) {
        self.diags.push(
            Diagnostic::at(
                Code::FileOutsideProject,
                pos,
                format!("`{what}` names `{path}`, which is outside the project directory; kompile does not read it"),
            )
            .with_help("in CI the compose file may come from an untrusted change; if this file is meant to be read, pass `--allow-path DIR` (or `--allow-any-path`)"),
        );
    }

    /// Read a file the project names. `Ok(None)` when it does not exist; `Err(())` after
    /// reporting any other problem.
    pub(crate) fn read_project_file(&mut self, path: &str, pos: Pos, what: &str) -> Result<Option<Vec<u8>>, ()> {
        if path == "/dev/null" {
            // Compose reads it as an empty file; it names nothing to leak.
            return Ok(Some(Vec::new()));
        }
        let full = self.resolve(path);
        if !self.may_read(&full) {
            self.outside(pos, what, path);
            return Err(());
        }
        match self.fs.kind(&full) {
            None => Ok(None),
            Some(FileKind::Dir) => {
                self.diags.push(Diagnostic::at(
                    Code::FileRead,
                    pos,
                    format!("`{what}`: `{path}` is a directory, not a file"),
                ));
                Err(())
            }
            Some(FileKind::Other) => {
                self.diags.push(Diagnostic::at(
                    Code::FileRead,
                    pos,
                    format!("`{what}`: `{path}` is not a regular file"),
                ));
                Err(())
            }
            Some(FileKind::File) => {
                if self.fs.size(&full).unwrap_or(0) > self.options.max_file_bytes {
                    self.diags.push(Diagnostic::at(
                        Code::FileRead,
                        pos,
                        format!("`{what}`: `{path}` is larger than {} bytes", self.options.max_file_bytes),
                    ));
                    return Err(());
                }
                match self.fs.read(&full) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) => {
                        self.diags.push(Diagnostic::at(
                            Code::FileRead,
                            pos,
                            format!(
                                "`{what}`: cannot read `{path}`: {}",
                                crate::diag::without_os_error(&e.to_string())
                            ),
                        ));
                        Err(())
                    }
                }
            }
        }
    }

    /// A secret's or config's directory: its files, each a key of the object. `None` after
    /// reporting why it cannot become one object.
    fn read_project_dir(&mut self, path: &str, pos: Pos, what: &str) -> Option<FileSource> {
        let files = match self.host_path(path, if what.starts_with("secrets") { "a Secret" } else { "a ConfigMap" }) {
            HostPath::Dir(files) => files,
            // Only placeholders such as `.gitkeep`: nothing to ship.
            HostPath::Missing => Vec::new(),
            HostPath::Outside => {
                self.outside(pos, what, path);
                return None;
            }
            HostPath::Unsupported(why) => {
                self.diags.push(
                    Diagnostic::at(
                        Code::FileRead,
                        pos,
                        format!("`{what}`: the directory `{path}` cannot be converted: {why}"),
                    )
                    .with_help("point `file:` at a directory of plain files, or at one file"),
                );
                return None;
            }
            HostPath::File(_) | HostPath::NotABind => return None,
        };
        Some(FileSource::Dir { path: path.to_string(), files })
    }

    /// What a bind mount's host path holds, for turning it into a ConfigMap (or a Secret:
    /// `object` names it in messages).
    pub(crate) fn host_path(&mut self, source: &str, object: &str) -> HostPath {
        let full = self.resolve(source);
        let limit = self.options.max_file_bytes;
        if !self.may_read(&full) {
            // Host integration (the Docker socket, `/etc/localtime`, `/proc`) has no place in a
            // claim; any other path outside the project is data, which a claim holds.
            let text = full.to_string_lossy();
            let system = ["/proc", "/sys", "/dev", "/run", "/var/run", "/etc", "/var/lib/docker", "/boot", "/lib"]
                .iter()
                .any(|dir| text == *dir || text.starts_with(&format!("{dir}/")))
                || text == "/"
                || text.ends_with(".sock");
            if system {
                return HostPath::Unsupported(
                    "it is a path of the host system outside the project, which a claim cannot stand for".into(),
                );
            }
            return HostPath::Outside;
        }
        match self.fs.kind(&full) {
            None => HostPath::Missing,
            Some(FileKind::Other) => HostPath::Unsupported("it is not a regular file or directory".into()),
            Some(FileKind::File) => {
                if self.fs.size(&full).unwrap_or(u64::MAX) > limit {
                    return HostPath::Unsupported(format!("it is larger than {limit} bytes"));
                }
                match self.fs.read(&full) {
                    Ok(bytes) => HostPath::File(bytes),
                    Err(e) => HostPath::Unsupported(format!(
                        "it cannot be read: {}",
                        crate::diag::without_os_error(&e.to_string())
                    )),
                }
            }
            Some(FileKind::Dir) => {
                let Ok(mut names) = self.fs.list(&full) else {
                    return HostPath::Unsupported("the directory cannot be listed".into());
                };
                names.sort();
                let mut files = Vec::new();
                let mut total = 0u64;
                for name in names {
                    let child = full.join(&name);
                    if !self.may_read(&child) {
                        return HostPath::Unsupported(format!(
                            "`{name}` inside it points outside the project directory (see `--allow-path`)"
                        ));
                    }
                    match self.fs.kind(&child) {
                        Some(FileKind::File) => {
                            total += self.fs.size(&child).unwrap_or(0);
                            if total > limit {
                                return HostPath::Unsupported(format!("its files add up to more than {limit} bytes"));
                            }
                            match self.fs.read(&child) {
                                Ok(bytes) => files.push((name, bytes)),
                                Err(e) => {
                                    return HostPath::Unsupported(format!(
                                        "`{name}` cannot be read: {}",
                                        crate::diag::without_os_error(&e.to_string())
                                    ))
                                }
                            }
                        }
                        Some(FileKind::Dir) => {
                            return HostPath::Unsupported(format!(
                                "it contains the sub-directory `{name}`, which {object} cannot hold"
                            ))
                        }
                        _ => {}
                    }
                }
                // A directory holding only a placeholder (`.gitkeep`, committed to keep an empty
                // directory in git) is empty: what it will hold is written at run time.
                let placeholder = |name: &str| matches!(name, ".gitkeep" | ".keep" | ".gitignore" | ".empty");
                if files.iter().all(|(name, _)| placeholder(name)) {
                    HostPath::Missing
                } else {
                    HostPath::Dir(files)
                }
            }
        }
    }
}

/// A path for messages: `./` components removed, never made absolute.
pub fn display_path(path: &Path) -> String {
    let cleaned: PathBuf = path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect();
    let text = cleaned.to_string_lossy().to_string();
    if text.is_empty() {
        ".".into()
    } else {
        text
    }
}

fn valid_service_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::decode;

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let mut out = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
        for unit in text.encode_utf16() {
            out.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
        }
        out
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_read_as_compose_go_reads_it() {
        let text = "services:\n  wéb:\n    image: \u{1F40B}\n";
        for big_endian in [false, true] {
            assert_eq!(decode(&utf16(text, big_endian), 0).unwrap(), text);
        }
        assert_eq!(decode(text.as_bytes(), 0).unwrap(), text);
    }

    #[test]
    fn bytes_that_are_not_text_are_reported_where_they_are() {
        let place = |bytes: &[u8]| {
            let d = decode(bytes, 0).unwrap_err();
            (d.message.clone(), d.pos.map(|p| (p.line, p.col)))
        };
        let mut lone_surrogate = utf16("a: 1\nb", false);
        lone_surrogate.extend([0x00, 0xD8, b'c', 0x00]);
        assert_eq!(place(&lone_surrogate), ("the file is not valid UTF-16".into(), Some((2, 2))));
        let mut odd = utf16("a: 1", true);
        odd.push(0);
        assert_eq!(place(&odd), ("the file is not valid UTF-16".into(), Some((1, 5))));
        assert_eq!(place(b"a: 1\nb: \xff"), ("the file is not valid UTF-8".into(), Some((2, 4))));
    }
}
