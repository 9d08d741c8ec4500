//! kompile: Docker Compose projects in, valid and deterministic Kubernetes manifests out.
//!
//! The pipeline is a small compiler: [`compose::load`] reads the files into a resolved
//! [`compose::Project`]; [`k8s::map`] turns it into Kubernetes objects; [`k8s::validate`]
//! checks them the way the API server would; [`output`] renders them. [`convert`] runs the
//! whole pipeline. Each stage returns its product plus [`diag::Diagnostic`]s; nothing is
//! emitted when any stage reported an error.

pub mod compose;
pub mod diag;
pub mod fs;
pub mod k8s;
pub mod output;
pub mod par;
pub mod value;
pub mod yaml;

use compose::{ComposeFile, LoadOptions};
use diag::{Diagnostic, Diagnostics, Sources};
use fs::FileSystem;
use indexmap::IndexMap;
use k8s::{MapOptions, Object};
use std::path::Path;

/// Everything a conversion needs besides its inputs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub load: LoadOptions,
    pub map: MapOptions,
    pub policy: Policy,
}

/// How severe each diagnostic is for this run: `--strict`, `--allow CODE`, `--deny CODE`.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Warnings become errors.
    pub strict: bool,
    /// Warnings and notes with these codes are dropped. Errors cannot be allowed: the output
    /// would not be valid.
    pub allow: Vec<diag::Code>,
    /// Diagnostics with these codes become errors.
    pub deny: Vec<diag::Code>,
}

impl Policy {
    /// Apply the policy to a list of diagnostics.
    pub fn apply(&self, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
        diagnostics
            .into_iter()
            .filter(|d| d.severity == diag::Severity::Error || !self.allow.contains(&d.code))
            .map(|mut d| {
                if self.deny.contains(&d.code) || (self.strict && d.severity == diag::Severity::Warning) {
                    d.severity = diag::Severity::Error;
                }
                d
            })
            .collect()
    }
}

/// The result of a conversion: objects in emit order (empty when there were errors), every
/// diagnostic in a stable order, and the files they point into. Dropping it frees the objects
/// a few at a time ([`par::free`]); to keep them, take them out with
/// `std::mem::take(&mut conversion.objects)` (a type with `Drop` cannot be destructured).
#[derive(Debug, Clone, Default)]
pub struct Conversion {
    pub objects: Vec<Object>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: Sources,
}

impl Conversion {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

impl Drop for Conversion {
    fn drop(&mut self) {
        par::free(std::mem::take(&mut self.objects));
    }
}

/// What a conversion built on its way to the objects and no longer needs: the project model.
/// Dropping it frees it (the services a few at a time, [`par::free`], as a [`Conversion`]
/// frees its objects); a program about to exit can skip that work with `std::mem::forget`,
/// as the `kompile` binary does.
pub struct Leftovers {
    _project: Option<compose::Project>,
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        if let Some(project) = self._project.take() {
            par::free(project.services);
        }
    }
}

/// Convert compose files to Kubernetes objects. `env` is the process environment;
/// `project_dir` is where relative paths and `.env` are resolved; every file the project
/// names is read through `fs`.
pub fn convert(
    files: &[ComposeFile],
    env: &IndexMap<String, String>,
    project_dir: &Path,
    fs: &dyn FileSystem,
    options: &Options,
) -> Conversion {
    convert_with_leftovers(files, env, project_dir, fs, options).0
}

/// [`convert`], handing back what it built on the way instead of freeing it.
pub fn convert_with_leftovers(
    files: &[ComposeFile],
    env: &IndexMap<String, String>,
    project_dir: &Path,
    fs: &dyn FileSystem,
    options: &Options,
) -> (Conversion, Leftovers) {
    let mut sources = Sources::default();
    let mut diags = Diagnostics::default();
    let env = compose::project_environment(env, project_dir, &options.load.env_files, fs, &mut sources, &mut diags);
    // `load` frees the parsed tree once the model is read: its memory then holds the objects.
    let (project, load_diags) = compose::load(files, &env, project_dir, fs, &options.load, &mut sources);
    diags.0.extend(load_diags.0);
    let mut objects = Vec::new();
    let mut leftovers = Leftovers { _project: None };
    if let (Some(project), false) = (project, diags.has_errors()) {
        let (mapped, map_diags) = k8s::map(&project, &options.map);
        diags.0.extend(map_diags.0);
        if !diags.has_errors() {
            diags.0.extend(k8s::validate(&mapped).0);
        }
        objects = mapped.objects;
        leftovers = Leftovers { _project: Some(project) };
    }
    let diagnostics = options.policy.apply(diags.sorted());
    if diagnostics.iter().any(Diagnostic::is_error) {
        objects.clear();
    }
    (Conversion { objects, diagnostics, sources }, leftovers)
}
