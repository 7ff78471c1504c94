//! All-or-nothing publication of a run's output files, and one writer per output directory.
//!
//! Input: files written through [`Staging::create`] / [`Staging::finish`]. Output: the output
//! directory replaced as a whole. At every instant, including after a crash or `kill -9` at
//! any moment, `OUT` is either the previous complete run or the new complete run: never a
//! mix, never a half-written file.
//!
//! Protocol:
//! 1. take the lock `OUT.lock` (an advisory `flock`, released by the kernel when a process
//!    dies, so a killed job never blocks the next one; its leftover pid is reported);
//! 2. remove what an interrupted run left (`OUT.staging`, and restore `OUT.previous` if a
//!    crash came in the middle of the fallback swap);
//! 3. write and fsync every file into the sibling directory `OUT.staging`;
//! 4. swap `OUT.staging` and `OUT` in one atomic `renameat2(RENAME_EXCHANGE)` (where the file
//!    system lacks it: rename `OUT` to `OUT.previous`, `OUT.staging` to `OUT`, a window in which
//!    `OUT` is briefly absent but never mixed), then delete the old run.
//!
//! Because the whole directory is swapped, `OUT` must be dedicated to sstc-match: a non-empty
//! directory without a `manifest.json` is refused.

use std::fs::{self, File, TryLockError};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Why outputs could not be published.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}; check that the output directory is writable and the disk has room")]
pub struct OutputIoError {
    /// The file or directory at fault.
    pub path: PathBuf,
    /// The operating system's error.
    pub source: io::Error,
}

/// Why a run may not write its output directory.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// A file system problem.
    #[error(transparent)]
    Io(#[from] OutputIoError),
    /// Another run holds the lock.
    #[error("another sstc-match run is writing {out} ({holder}); wait for it to finish or stop it")]
    Locked {
        /// The output directory.
        out: String,
        /// What the lock file says about its holder.
        holder: String,
    },
    /// The directory holds something else than a previous run.
    #[error("{out} is not empty and holds no sstc-match run (no manifest.json); the whole directory is replaced by each run, so give a new or empty directory")]
    NotAnOutputDirectory {
        /// The output directory.
        out: String,
    },
    /// Too little free space for the outputs.
    #[error("{out}: about {needed_mb} MB are needed for the outputs but only {free_mb} MB are free; free some space or choose another --out")]
    DiskFull {
        /// The output directory.
        out: String,
        /// Estimated need.
        needed_mb: u64,
        /// Free space.
        free_mb: u64,
    },
}

/// Names `path` in an IO error.
pub(crate) fn at(path: &Path) -> impl FnOnce(io::Error) -> OutputIoError + '_ {
    move |source| OutputIoError {
        path: path.to_path_buf(),
        source,
    }
}

fn sibling(out_dir: &Path, suffix: &str) -> PathBuf {
    let mut name = out_dir.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "out".into());
    name.push(suffix);
    out_dir.with_file_name(name)
}

/// The exclusive right to write one output directory, held for the life of a run.
pub struct OutputLock {
    file: File,
    /// What a previous, killed run left in the lock file ("pid 123 since ..."), if anything.
    pub stale: Option<String>,
}

impl OutputLock {
    /// Takes `OUT.lock`, or fails at once naming the run that holds it.
    pub fn acquire(out_dir: &Path) -> Result<Self, PublishError> {
        let path = sibling(out_dir, ".lock");
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(at(parent))?;
        }
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(at(&path))?;
        let mut previous = String::new();
        let _ = file.read_to_string(&mut previous);
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(PublishError::Locked {
                    out: out_dir.display().to_string(),
                    holder: Some(previous.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "starting".into()),
                })
            }
            Err(TryLockError::Error(e)) => return Err(at(&path)(e).into()),
        }
        let stale = Some(previous.trim().to_string()).filter(|s| !s.is_empty());
        let stamp = format!(
            "pid {} since {}\n",
            std::process::id(),
            humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        );
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(stamp.as_bytes()))
            .and_then(|_| file.sync_all())
            .map_err(at(&path))?;
        Ok(OutputLock { file, stale })
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // A clean exit leaves an empty lock file; a non-empty one was left by a killed run.
        let _ = self.file.set_len(0);
    }
}

/// A run's output files being written, published together by [`Staging::commit`]. Dropped
/// without a commit (an error on the way), it deletes its staging directory and leaves the
/// previous run as it was.
pub struct Staging {
    out_dir: PathBuf,
    staging_dir: PathBuf,
    published: Vec<(String, String)>,
    committed: bool,
    lock: OutputLock,
}

/// One file being written into the staging directory.
pub struct StagedFile {
    name: String,
    path: PathBuf,
    writer: BufWriter<Hashed<File>>,
}

/// A writer that hashes (sha256) what it passes on: a file's digest as it is written, not by
/// reading it back (0.8 GB for the shortlist at 100k partners).
struct Hashed<W> {
    inner: W,
    hasher: sha2::Sha256,
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        use sha2::Digest;
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
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
    /// Locks `out_dir`, clears what an interrupted run left, checks the directory is an
    /// sstc-match output directory (or new), and opens a fresh staging directory. Called
    /// before the work starts, so an unwritable or busy output directory fails at once.
    pub fn open(out_dir: &Path) -> Result<Self, PublishError> {
        let lock = OutputLock::acquire(out_dir)?;
        recover(out_dir)?;
        if let Ok(mut entries) = fs::read_dir(out_dir) {
            let has_entries = entries.next().is_some();
            if has_entries && !out_dir.join("manifest.json").exists() {
                return Err(PublishError::NotAnOutputDirectory {
                    out: out_dir.display().to_string(),
                });
            }
        }
        let staging_dir = sibling(out_dir, ".staging");
        fs::create_dir(&staging_dir).map_err(at(&staging_dir))?;
        Ok(Staging {
            out_dir: out_dir.to_path_buf(),
            staging_dir,
            published: Vec::new(),
            committed: false,
            lock,
        })
    }

    /// What a killed earlier run left in the lock file, if anything.
    pub fn stale_lock(&self) -> Option<&str> {
        self.lock.stale.as_deref()
    }

    /// Fails when the output directory's file system has less than `bytes` free.
    pub fn ensure_space(&self, bytes: u64) -> Result<(), PublishError> {
        let stats = rustix::fs::statvfs(&self.staging_dir)
            .map_err(|e| at(&self.staging_dir)(io::Error::from(e)))?;
        let free = stats.f_bavail.saturating_mul(stats.f_frsize);
        if free < bytes {
            return Err(PublishError::DiskFull {
                out: self.out_dir.display().to_string(),
                needed_mb: bytes.div_ceil(1 << 20),
                free_mb: free >> 20,
            });
        }
        Ok(())
    }

    /// Starts writing one file.
    pub fn create(&self, name: &str) -> Result<StagedFile, OutputIoError> {
        let path = self.staging_dir.join(name);
        let file = File::create(&path).map_err(at(&path))?;
        Ok(StagedFile {
            name: name.to_string(),
            path,
            writer: BufWriter::new(Hashed {
                inner: file,
                hasher: sha2::Sha256::default(),
            }),
        })
    }

    /// Finishes a file: flushes and fsyncs it, and records its sha256.
    pub fn finish(&mut self, file: StagedFile) -> Result<(), OutputIoError> {
        use sha2::Digest;
        let StagedFile { name, path, writer } = file;
        let Hashed { inner: file, hasher } = writer.into_inner().map_err(|e| OutputIoError {
            path: path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(at(&path))?;
        self.published.push((name, crate::io::table::hex(&hasher.finalize())));
        Ok(())
    }

    /// Name and sha256 of every file finished so far.
    pub fn finished(&self) -> &[(String, String)] {
        &self.published
    }

    /// Replaces the output directory with the staged one in one step.
    pub fn commit(mut self) -> Result<(), OutputIoError> {
        sync_dir(&self.staging_dir)?;
        if self.out_dir.exists() {
            swap(&self.staging_dir, &self.out_dir)?;
            // The staging path now holds the previous run.
            fs::remove_dir_all(&self.staging_dir).map_err(at(&self.staging_dir))?;
        } else {
            fs::rename(&self.staging_dir, &self.out_dir).map_err(at(&self.out_dir))?;
        }
        self.committed = true;
        sync_parent(&self.out_dir)
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

/// Exchanges two directories atomically where the file system can; otherwise moves `current`
/// aside, moves `new` in, and lets [`recover`] restore `current` if a crash comes between.
fn swap(new: &Path, current: &Path) -> Result<(), OutputIoError> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, new, CWD, current, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(()),
        Err(_) => {
            let previous = sibling(current, ".previous");
            fs::rename(current, &previous).map_err(at(current))?;
            fs::rename(new, current).map_err(at(current))?;
            fs::rename(&previous, new).map_err(at(new))
        }
    }
}

/// Clears what an interrupted run left beside `out_dir`: an unfinished staging directory is
/// deleted (the previous run in `out_dir` was never touched); an `OUT.previous` left by a
/// crash inside the fallback swap is put back when `OUT` is missing, else deleted.
pub fn recover(out_dir: &Path) -> Result<(), OutputIoError> {
    let staging = sibling(out_dir, ".staging");
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(at(&staging))?;
    }
    let previous = sibling(out_dir, ".previous");
    if previous.exists() {
        if out_dir.exists() {
            fs::remove_dir_all(&previous).map_err(at(&previous))?;
        } else {
            fs::rename(&previous, out_dir).map_err(at(out_dir))?;
        }
    }
    Ok(())
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
    // Readable like any file the user's tools write (a temporary file starts private).
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .and_then(|_| temp.as_file().sync_all())
            .map_err(at(path))?;
    }
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

fn sync_dir(dir: &Path) -> Result<(), OutputIoError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(at(dir))
}

fn sync_parent(path: &Path) -> Result<(), OutputIoError> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => sync_dir(Path::new(".")),
    }
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
    fn commit_replaces_the_whole_directory() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("manifest.json"), "old").unwrap();
        fs::write(out.join("gone.csv"), "old").unwrap();
        let mut staging = Staging::open(&out).unwrap();
        put(&mut staging, "a.csv", "new a");
        put(&mut staging, "manifest.json", "new m");
        staging.commit().unwrap();
        assert_eq!(fs::read_to_string(out.join("a.csv")).unwrap(), "new a");
        assert_eq!(fs::read_to_string(out.join("manifest.json")).unwrap(), "new m");
        assert!(!out.join("gone.csv").exists(), "nothing of the old run is left");
        assert!(!sibling(&out, ".staging").exists());
    }

    #[test]
    fn an_abandoned_staging_is_discarded_and_the_old_run_kept() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("manifest.json"), "old").unwrap();
        let mut staging = Staging::open(&out).unwrap();
        put(&mut staging, "manifest.json", "half");
        std::mem::forget(staging); // the process dies before commit: no Drop runs
        recover(&out).unwrap();
        assert_eq!(fs::read_to_string(out.join("manifest.json")).unwrap(), "old");
        assert!(!sibling(&out, ".staging").exists());
    }

    #[test]
    fn a_crash_inside_the_fallback_swap_restores_the_previous_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let previous = sibling(&out, ".previous");
        fs::create_dir(&previous).unwrap();
        fs::write(previous.join("manifest.json"), "old").unwrap();
        recover(&out).unwrap();
        assert_eq!(fs::read_to_string(out.join("manifest.json")).unwrap(), "old");
    }

    #[test]
    fn a_second_writer_is_refused_and_a_dead_ones_lock_is_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let first = Staging::open(&out).unwrap();
        match Staging::open(&out) {
            Err(PublishError::Locked { holder, .. }) => {
                assert!(holder.contains(&format!("pid {}", std::process::id())), "{holder}")
            }
            other => panic!("expected Locked, got {:?}", other.err()),
        }
        drop(first);
        // A killed run leaves its stamp in the lock file but holds no lock.
        fs::write(sibling(&out, ".lock"), "pid 999999 since 2026-01-01T00:00:00Z\n").unwrap();
        let next = Staging::open(&out).unwrap();
        assert_eq!(next.stale_lock(), Some("pid 999999 since 2026-01-01T00:00:00Z"));
    }

    #[test]
    fn too_little_free_space_is_refused_up_front() {
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging::open(&dir.path().join("out")).unwrap();
        assert!(staging.ensure_space(1).is_ok());
        match staging.ensure_space(u64::MAX) {
            Err(PublishError::DiskFull { needed_mb, .. }) => assert_eq!(needed_mb, u64::MAX.div_ceil(1 << 20)),
            other => panic!("expected DiskFull, got {:?}", other.err()),
        }
    }

    #[test]
    fn a_foreign_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("thesis.docx"), "precious").unwrap();
        assert!(matches!(
            Staging::open(dir.path()),
            Err(PublishError::NotAnOutputDirectory { .. })
        ));
        assert!(dir.path().join("thesis.docx").exists());
    }
}
