//! Writing output: planning what would change (for `--check` and hook mode), then writing
//! atomically. Every file goes to a temporary name in its final directory and is renamed
//! into place only when all were written, so a failed run leaves no partial files. Files
//! holding Secrets are created readable by the owner only.
//!
//! In a directory, kompile records the files it generated in `.kompile-manifest`; a later
//! run removes generated files that are no longer produced, and never touches any other file.

use anyhow::{Context, Result};
use kompile::output::OutputFile;
use similar::TextDiff;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = ".kompile-manifest";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Create,
    Update,
    Remove,
}

impl ChangeKind {
    pub fn would(self) -> &'static str {
        match self {
            ChangeKind::Create => "would be created",
            ChangeKind::Update => "would change",
            ChangeKind::Remove => "would be removed",
        }
    }

    pub fn done(self) -> &'static str {
        match self {
            ChangeKind::Create => "created",
            ChangeKind::Update => "updated",
            ChangeKind::Remove => "removed",
        }
    }
}

/// One file that differs from what is on disk, with its unified diff.
#[derive(Debug, Clone)]
pub struct Change {
    pub path: String,
    pub name: String,
    pub kind: ChangeKind,
    pub diff: String,
}

fn diff(path: &str, old: &str, new: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// An output file's current text. A symbolic link is an error: kompile neither reads nor
/// writes through links (its target could be any file, shown in a diff).
fn read_text(path: &Path) -> Result<Option<String>> {
    if is_symlink(path) {
        anyhow::bail!("`{}` is a symbolic link; kompile does not read or write through links", path.display());
    }
    if is_device_or_pipe(path) {
        // Nothing to compare with, and reading could block (a pipe) or never end (`/dev/zero`).
        return Ok(None);
    }
    match fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// A manifest entry kompile may delete: a plain file name of its own kind, nothing else.
fn safe_generated_name(name: &str) -> bool {
    let file = name.strip_prefix("templates/").unwrap_or(name);
    !file.is_empty()
        && !file.starts_with('.')
        && !file.contains(['/', '\\'])
        && (file.ends_with(".yaml") || file.ends_with(".json") || file.ends_with(".tpl"))
}

/// Files an earlier run generated in `dir`.
pub fn previous(dir: &Path) -> Result<Vec<String>> {
    if is_symlink(&dir.join(MANIFEST)) {
        return Ok(Vec::new());
    }
    Ok(read_text(&dir.join(MANIFEST))?
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && safe_generated_name(l))
        .map(String::from)
        .collect())
}

fn shown(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().replace("//", "/")
}

/// Refuse an output folder that cannot be one: `dir`, or the nearest part of it that exists,
/// is a file (`-o afile/`). Checked before reading, so the message is about writing.
fn writable_directory(dir: &Path) -> Result<()> {
    // Without the trailing `/`, whose lookup fails on a file instead of finding it.
    let parts: PathBuf = dir.components().collect();
    for part in parts.ancestors().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(meta) = fs::metadata(part) {
            if !meta.is_dir() {
                anyhow::bail!("cannot write into `{}`: `{}` is not a directory", dir.display(), part.display());
            }
            break;
        }
    }
    Ok(())
}

/// What writing `files` into `dir` would change.
pub fn plan_directory(dir: &Path, files: &[OutputFile]) -> Result<Vec<Change>> {
    writable_directory(dir)?;
    let mut changes = Vec::new();
    for f in files {
        let path = shown(dir, &f.name);
        match read_text(&dir.join(&f.name))? {
            Some(old) if old == f.contents => {}
            Some(old) => changes.push(Change {
                diff: diff(&path, &old, &f.contents),
                path,
                name: f.name.clone(),
                kind: ChangeKind::Update,
            }),
            None => changes.push(Change {
                diff: diff(&path, "", &f.contents),
                path,
                name: f.name.clone(),
                kind: ChangeKind::Create,
            }),
        }
    }
    for name in previous(dir)? {
        // Links are never followed, removed or reported.
        if files.iter().any(|f| f.name == name) || is_symlink(&dir.join(&name)) {
            continue;
        }
        if let Some(old) = read_text(&dir.join(&name))? {
            let path = shown(dir, &name);
            changes.push(Change { diff: diff(&path, &old, ""), path, name, kind: ChangeKind::Remove });
        }
    }
    Ok(changes)
}

/// What writing `contents` to `path` would change.
pub fn plan_file(path: &Path, contents: &str) -> Result<Vec<Change>> {
    if is_stream(path) {
        // `-o /dev/stdout`, a pipe: written, but nothing there to compare with or report.
        return Ok(Vec::new());
    }
    if let Some(parent) = path.parent() {
        writable_directory(parent)?;
    }
    let shown = path.to_string_lossy().into_owned();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(match read_text(path)? {
        Some(old) if old == contents => Vec::new(),
        Some(old) => vec![Change { diff: diff(&shown, &old, contents), path: shown, name, kind: ChangeKind::Update }],
        None => vec![Change { diff: diff(&shown, "", contents), path: shown, name, kind: ChangeKind::Create }],
    })
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.kompile-{}.tmp", std::process::id()))
}

fn create(path: &Path, secret: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    options.open(path)
}

fn write_temp(path: &Path, contents: &[u8], secret: bool) -> Result<PathBuf> {
    let temp = temp_name(path);
    let _ = fs::remove_file(&temp);
    let result = (|| -> std::io::Result<()> {
        let mut file = create(&temp, secret)?;
        file.write_all(contents)?;
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(e).with_context(|| format!("cannot write `{}`", path.display()));
    }
    Ok(temp)
}

/// Refuse to write through a symlink: the output must land where it appears to.
fn refuse_symlink(path: &Path) -> Result<()> {
    if is_symlink(path) {
        anyhow::bail!("`{}` is a symbolic link; kompile does not write through links", path.display());
    }
    Ok(())
}

/// A device or a pipe (`/dev/null`, a FIFO): neither a regular file nor a directory.
fn is_device_or_pipe(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir() && !m.file_type().is_symlink())
}

/// A single output file that is written into rather than replaced: a device or a pipe named
/// directly (the user chose it), or a link to a pipe, a socket, a terminal or `/dev/null`
/// (`/dev/stderr`). A link to anything else, a disk included, is refused like any link: a
/// committed link must not make a CI run write where it points.
fn is_stream(path: &Path) -> bool {
    if !is_symlink(path) {
        return is_device_or_pipe(path);
    }
    use std::os::unix::fs::FileTypeExt;
    let Ok(target) = fs::canonicalize(path) else { return false };
    let Ok(meta) = fs::metadata(&target) else { return false };
    let kind = meta.file_type();
    kind.is_fifo()
        || kind.is_socket()
        || (kind.is_char_device()
            && (target == Path::new("/dev/null") || target.starts_with("/dev/pts") || target.starts_with("/dev/tty")))
}

/// Write one file atomically. A device or a pipe (`-o /dev/null`) is written in place:
/// renaming over it would replace the device with a regular file.
pub fn file(path: &Path, contents: &[u8], secret: bool) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    if is_stream(path) {
        let mut out =
            OpenOptions::new().write(true).open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
        return out.write_all(contents).with_context(|| format!("cannot write `{}`", path.display()));
    }
    refuse_symlink(path)?;
    let temp = write_temp(path, contents, secret)?;
    fs::rename(&temp, path).map_err(|e| {
        let _ = fs::remove_file(&temp);
        anyhow::Error::new(e).context(format!("cannot write `{}`", path.display()))
    })
}

/// Write every file into `dir` (created if needed), all or nothing; then remove generated
/// files this run no longer produces, and record the new set in the manifest.
pub fn directory(dir: &Path, files: &[OutputFile], changes: &[Change]) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    refuse_symlink(&dir.join(MANIFEST))?;
    for f in files {
        refuse_symlink(&dir.join(&f.name))?;
    }
    let mut manifest =
        String::from("# Files generated by kompile; it removes the ones a later run no longer produces.\n");
    for f in files {
        manifest.push_str(&f.name);
        manifest.push('\n');
    }
    for f in files {
        if let Some(parent) = dir.join(&f.name).parent() {
            fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
            refuse_symlink(parent)?;
        }
    }
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    let all = files.iter().map(|f| (f.name.as_str(), f.contents.as_bytes(), f.secret)).chain([(
        MANIFEST,
        manifest.as_bytes(),
        false,
    )]);
    for (name, contents, secret) in all {
        let target = dir.join(name);
        match write_temp(&target, contents, secret) {
            Ok(temp) => temps.push((temp, target)),
            Err(e) => {
                for (temp, _) in &temps {
                    let _ = fs::remove_file(temp);
                }
                return Err(e);
            }
        }
    }
    for (temp, target) in &temps {
        fs::rename(temp, target).with_context(|| format!("cannot write `{}`", target.display()))?;
    }
    for change in changes.iter().filter(|c| c.kind == ChangeKind::Remove) {
        let path = dir.join(&change.name);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            fs::remove_file(&path).with_context(|| format!("cannot remove `{}`", path.display()))?;
        }
    }
    Ok(())
}
