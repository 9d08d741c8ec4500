//! The file-system boundary. The loader reads every file a project names (env files, secrets,
//! configs, bind mounts) through the [`FileSystem`] trait, so the core does no I/O of its own
//! and tests can hand in any tree; [`RealFs`] is the one implementation that touches disk.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    /// A socket, device or FIFO: nothing a manifest can carry.
    Other,
}

pub trait FileSystem: Sync {
    /// What is at `path` (following symlinks), or `None` when nothing is.
    fn kind(&self, path: &Path) -> Option<FileKind>;
    fn size(&self, path: &Path) -> Option<u64>;
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// The names of a directory's entries.
    fn list(&self, path: &Path) -> io::Result<Vec<String>>;
    /// The absolute path with every symlink resolved, when `path` exists.
    fn canonical(&self, path: &Path) -> Option<PathBuf> {
        let _ = path;
        None
    }
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl FileSystem for RealFs {
    fn kind(&self, path: &Path) -> Option<FileKind> {
        let meta = std::fs::metadata(path).ok()?;
        Some(if meta.is_file() {
            FileKind::File
        } else if meta.is_dir() {
            FileKind::Dir
        } else {
            FileKind::Other
        })
    }

    fn size(&self, path: &Path) -> Option<u64> {
        std::fs::metadata(path).ok().map(|m| m.len())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn canonical(&self, path: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(path).ok()
    }

    fn list(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }
}
