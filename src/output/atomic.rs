//! All-or-nothing publication of a run's output files.
//!
//! Input: named byte streams written through [`Staging::write`]. Output: the files in the
//! output directory, replaced together. A crash at any moment leaves, after
//! [`recover`] (called at the start of every run), either the previous complete set or the
//! new complete set, never a mix and never a half-written file.
//!
//! Protocol, after a database journal:
//! 1. every file is written and fsynced under `OUT/.staging/`;
//! 2. the file `OUT/.staging/COMMIT` is written and fsynced: the new set is now durable;
//! 3. each staged file is renamed over its final name (same file system, atomic), the
//!    manifest last;
//! 4. `.staging` is removed.
//!
//! A crash before 2 leaves a staging area without `COMMIT`: [`recover`] deletes it (roll back;
//! the previous files were never touched). A crash after 2 leaves `COMMIT`: [`recover`]
//! finishes the renames (roll forward).

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

const STAGING: &str = ".staging";
const COMMIT: &str = "COMMIT";

/// Why outputs could not be published.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}; check that the output directory is writable and the disk has room")]
pub struct OutputIoError {
    /// The file or directory at fault.
    pub path: PathBuf,
    /// The operating system's error.
    pub source: io::Error,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> OutputIoError + '_ {
    move |source| OutputIoError {
        path: path.to_path_buf(),
        source,
    }
}

/// A set of output files being written, published together by [`Staging::commit`]. Dropped
/// without a commit (an error on the way), it removes its staging area and leaves the previous
/// run's files as they were.
pub struct Staging {
    out_dir: PathBuf,
    staging_dir: PathBuf,
    published: Vec<(String, String)>,
    committed: bool,
}

/// One file being written into the staging area.
pub struct StagedFile {
    name: String,
    path: PathBuf,
    writer: BufWriter<File>,
}

impl Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl Staging {
    /// Opens a fresh staging area in `out_dir` (created if needed), after recovering from any
    /// interrupted earlier run. Called before the work starts, so an unwritable output
    /// directory fails at once.
    pub fn open(out_dir: &Path) -> Result<Self, OutputIoError> {
        fs::create_dir_all(out_dir).map_err(at(out_dir))?;
        recover(out_dir)?;
        let staging_dir = out_dir.join(STAGING);
        fs::create_dir(&staging_dir).map_err(at(&staging_dir))?;
        Ok(Staging {
            out_dir: out_dir.to_path_buf(),
            staging_dir,
            published: Vec::new(),
            committed: false,
        })
    }

    /// Starts writing one file.
    pub fn create(&self, name: &str) -> Result<StagedFile, OutputIoError> {
        let path = self.staging_dir.join(name);
        let file = File::create(&path).map_err(at(&path))?;
        Ok(StagedFile {
            name: name.to_string(),
            path,
            writer: BufWriter::new(file),
        })
    }

    /// Finishes a file: flushes and fsyncs it, and records its sha256. Files are published in
    /// the order they are finished, so finish the manifest last.
    pub fn finish(&mut self, file: StagedFile) -> Result<(), OutputIoError> {
        let StagedFile { name, path, writer } = file;
        let file = writer.into_inner().map_err(|e| OutputIoError {
            path: path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(at(&path))?;
        let digest = sha256_file(&path)?;
        self.published.push((name, digest));
        Ok(())
    }

    /// Name and sha256 of every file finished so far.
    pub fn finished(&self) -> &[(String, String)] {
        &self.published
    }

    /// Publishes every finished file, in the order finished.
    pub fn commit(mut self) -> Result<(), OutputIoError> {
        let names: Vec<String> = self.published.iter().map(|(n, _)| n.clone()).collect();
        let commit = self.staging_dir.join(COMMIT);
        let mut file = File::create(&commit).map_err(at(&commit))?;
        file.write_all(names.join("\n").as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(at(&commit))?;
        sync_dir(&self.staging_dir)?;
        self.committed = true;
        roll_forward(&self.out_dir, &names)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: recover() at the next start removes it anyway.
            let _ = fs::remove_dir_all(&self.staging_dir);
        }
    }
}

fn sha256_file(path: &Path) -> Result<String, OutputIoError> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut file = File::open(path).map_err(at(path))?;
    io::copy(&mut file, &mut hasher).map_err(at(path))?;
    Ok(crate::ingest::hex(&hasher.finalize()))
}

/// Writes one file atomically: `fill` writes into a temporary file in the same directory,
/// which is fsynced and renamed over `path` only when `fill` succeeds.
pub fn write_with<E>(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<&mut File>) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<OutputIoError>,
{
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(at(dir))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(at(dir))?;
    {
        let mut writer = BufWriter::new(temp.as_file_mut());
        fill(&mut writer)?;
        writer.flush().map_err(at(path))?;
    }
    temp.as_file().sync_all().map_err(at(path))?;
    temp.persist(path).map_err(|e| OutputIoError {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(sync_dir(dir)?)
}

/// Writes bytes to one file atomically (see [`write_with`]).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputIoError> {
    write_with(path, |w| w.write_all(bytes).map_err(at(path)))
}

/// Finishes or discards an interrupted publication in `out_dir` (see the module docs).
pub fn recover(out_dir: &Path) -> Result<(), OutputIoError> {
    let staging_dir = out_dir.join(STAGING);
    if !staging_dir.exists() {
        return Ok(());
    }
    let commit = staging_dir.join(COMMIT);
    match fs::read_to_string(&commit) {
        Ok(list) => {
            let names: Vec<String> = list.lines().map(str::to_string).collect();
            roll_forward(out_dir, &names)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::remove_dir_all(&staging_dir).map_err(at(&staging_dir))
        }
        Err(e) => Err(OutputIoError {
            path: commit,
            source: e,
        }),
    }
}

fn roll_forward(out_dir: &Path, names: &[String]) -> Result<(), OutputIoError> {
    let staging_dir = out_dir.join(STAGING);
    for name in names {
        let staged = staging_dir.join(name);
        if staged.exists() {
            let target = out_dir.join(name);
            fs::rename(&staged, &target).map_err(at(&target))?;
        }
    }
    sync_dir(out_dir)?;
    fs::remove_dir_all(&staging_dir).map_err(at(&staging_dir))?;
    sync_dir(out_dir)
}

fn sync_dir(dir: &Path) -> Result<(), OutputIoError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(at(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(staging: &mut Staging, name: &str, text: &str) {
        let mut file = staging.create(name).unwrap();
        file.write_all(text.as_bytes()).unwrap();
        staging.finish(file).unwrap();
    }

    #[test]
    fn commit_replaces_all_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.csv"), "old").unwrap();
        let mut staging = Staging::open(dir.path()).unwrap();
        put(&mut staging, "a.csv", "new a");
        put(&mut staging, "manifest.json", "new m");
        staging.commit().unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("a.csv")).unwrap(), "new a");
        assert_eq!(fs::read_to_string(dir.path().join("manifest.json")).unwrap(), "new m");
        assert!(!dir.path().join(STAGING).exists());
    }

    #[test]
    fn uncommitted_staging_is_discarded_and_old_files_kept() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.csv"), "old").unwrap();
        let mut staging = Staging::open(dir.path()).unwrap();
        put(&mut staging, "a.csv", "half");
        std::mem::forget(staging); // the process dies before commit: no Drop runs
        recover(dir.path()).unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("a.csv")).unwrap(), "old");
        assert!(!dir.path().join(STAGING).exists());
    }

    #[test]
    fn committed_staging_is_rolled_forward() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.csv"), "old a").unwrap();
        fs::write(dir.path().join("b.csv"), "old b").unwrap();
        let staging_dir = dir.path().join(STAGING);
        fs::create_dir(&staging_dir).unwrap();
        // The crash came after a.csv was renamed, before b.csv was.
        fs::write(dir.path().join("a.csv"), "new a").unwrap();
        fs::write(staging_dir.join("b.csv"), "new b").unwrap();
        fs::write(staging_dir.join(COMMIT), "a.csv\nb.csv").unwrap();
        recover(dir.path()).unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("a.csv")).unwrap(), "new a");
        assert_eq!(fs::read_to_string(dir.path().join("b.csv")).unwrap(), "new b");
    }
}
