//! Shared by the fuzz targets: a file system with no files in it.

use kompile::fs::{FileKind, FileSystem};
use std::io;
use std::path::Path;

/// An empty in-memory file system: every path is missing, so the loader's reads of env
/// files, secrets, configs and bind mounts all take their "not found" paths.
pub struct EmptyFs;

impl FileSystem for EmptyFs {
    fn kind(&self, _path: &Path) -> Option<FileKind> {
        None
    }

    fn size(&self, _path: &Path) -> Option<u64> {
        None
    }

    fn read(&self, _path: &Path) -> io::Result<Vec<u8>> {
        Err(io::Error::from(io::ErrorKind::NotFound))
    }

    fn list(&self, _path: &Path) -> io::Result<Vec<String>> {
        Err(io::Error::from(io::ErrorKind::NotFound))
    }
}

/// The project directory every target uses.
pub const PROJECT_DIR: &str = "/fuzz/project";
