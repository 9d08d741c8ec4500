//! Writing output atomically: every file goes to a temporary name in its final directory and
//! is renamed into place only when all of them were written, so a failed run leaves no
//! partial files. Files holding Secrets are created readable by the owner only.

use anyhow::{Context, Result};
use kompile::output::OutputFile;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

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

/// Write one file atomically.
pub fn file(path: &Path, contents: &[u8], secret: bool) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    let temp = write_temp(path, contents, secret)?;
    fs::rename(&temp, path).with_context(|| {
        let _ = fs::remove_file(&temp);
        format!("cannot write `{}`", path.display())
    })
}

/// Write every file into `dir` (created if needed): all or nothing.
pub fn directory(dir: &Path, files: &[OutputFile]) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    for f in files {
        let target = dir.join(&f.name);
        match write_temp(&target, f.contents.as_bytes(), f.secret) {
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
    Ok(())
}
