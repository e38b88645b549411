//! Keeping damaged files aside: [`RecoveryMode::Salvage`](crate::RecoveryMode)
//! never deletes what it cannot read. Each damaged file, or the damaged
//! tail of one, goes into `DATA/damaged/<unix time>/` for an operator to
//! inspect, and every move is logged.

use crate::error::{Error, Result};
use crate::wal::sync_dir;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The folder of one open's salvage, created on the first move.
#[derive(Debug)]
pub(crate) struct Aside {
    folder: PathBuf,
    created: bool,
}

impl Aside {
    /// The salvage folder of an open of the store in `data_dir`.
    pub(crate) fn new(data_dir: &Path) -> Aside {
        let stamp = eardrum_protocol::clock::unix_seconds();
        Aside { folder: data_dir.join("damaged").join(stamp.to_string()), created: false }
    }

    /// The folder, if anything was moved into it.
    pub(crate) fn used(&self) -> Option<&Path> {
        self.created.then_some(self.folder.as_path())
    }

    fn folder(&mut self) -> Result<&Path> {
        if !self.created {
            std::fs::create_dir_all(&self.folder)
                .map_err(Error::io("creating the folder for damaged files", &self.folder))?;
            self.created = true;
        }
        Ok(&self.folder)
    }

    /// Moves `path` into the folder, keeping its name, durably.
    ///
    /// # Errors
    ///
    /// I/O errors; the file is then where it was.
    pub(crate) fn move_file(&mut self, path: &Path, why: &str) -> Result<()> {
        let target = self.folder()?.join(path.file_name().unwrap_or_default());
        std::fs::rename(path, &target).map_err(Error::io("moving a damaged file aside", path))?;
        sync_dir(&self.folder)?;
        if let Some(parent) = path.parent() {
            sync_dir(parent)?;
        }
        tracing::warn!(file = %path.display(), moved_to = %target.display(), why, "moved a damaged file aside");
        Ok(())
    }

    /// Copies the bytes of `path` from `offset` on into the folder, as
    /// `NAME.from-byte-OFFSET`, durably; the caller then cuts them off.
    ///
    /// # Errors
    ///
    /// I/O errors.
    pub(crate) fn copy_tail(&mut self, path: &Path, bytes: &[u8], offset: u64) -> Result<PathBuf> {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let target = self.folder()?.join(format!("{name}.from-byte-{offset}"));
        let tail = bytes.get(offset as usize..).unwrap_or_default();
        let mut file = std::fs::File::create(&target).map_err(Error::io("creating file", &target))?;
        file.write_all(tail).and_then(|()| file.sync_all()).map_err(Error::io("writing file", &target))?;
        sync_dir(&self.folder)?;
        Ok(target)
    }
}
