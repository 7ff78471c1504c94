//! Atomic file system primitives: one writer per output, files hashed as written, single
//! files replaced in one step.
//!
//! Input: paths and bytes. Output: [`OutputLock`] (an advisory `flock` on a lock file,
//! released by the kernel when a process dies, so a killed job never blocks the next one; its
//! leftover stamp is reported), [`HashedFile`] (a buffered file whose sha256 is computed as it
//! is written), [`write_with`] / [`write_file_atomic`] (a temporary file in the same
//! directory, fsynced and renamed over the target only when complete), [`exchange`] (two
//! directories swapped in one step where the file system can). The run directory's
//! publication protocol is built from these in [`crate::io::run_dir::publish`].

use std::fs::{self, File, TryLockError};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}; check that the output directory is writable and the disk has room")]
pub struct OutputIoError {
    /// The file or directory at fault.
    pub path: PathBuf,
    /// The operating system's error.
    pub source: io::Error,
}

/// Names `path` in an IO error.
pub(crate) fn at(path: &Path) -> impl FnOnce(io::Error) -> OutputIoError + '_ {
    move |source| OutputIoError {
        path: path.to_path_buf(),
        source,
    }
}

/// The exclusive right to write one output, held for the life of a run.
pub struct OutputLock {
    file: File,
    /// The lock file.
    pub path: PathBuf,
    /// What a previous, killed run left in the lock file ("pid 123 since ..."), if anything.
    pub stale: Option<String>,
}

/// Taking a lock failed.
pub enum LockError {
    /// Another process holds it; what its stamp says.
    Held(String),
    /// A file system problem.
    Io(OutputIoError),
}

impl OutputLock {
    /// Takes the lock file `path`, or fails at once naming the process that holds it.
    pub fn acquire(path: &Path) -> Result<Self, LockError> {
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| LockError::Io(at(path)(e)))?;
        let mut previous = String::new();
        let _ = file.read_to_string(&mut previous);
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held(Some(previous.trim().to_string()).filter(|s| !s.is_empty()).unwrap_or_else(|| "starting".into())));
            }
            Err(TryLockError::Error(e)) => return Err(LockError::Io(at(path)(e))),
        }
        let stale = Some(previous.trim().to_string()).filter(|s| !s.is_empty());
        let stamp = format!("pid {} since {}\n", std::process::id(), humantime::format_rfc3339_seconds(std::time::SystemTime::now()));
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(stamp.as_bytes()))
            .and_then(|_| file.sync_all())
            .map_err(|e| LockError::Io(at(path)(e)))?;
        Ok(OutputLock { file, path: path.to_path_buf(), stale })
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // A clean exit leaves an empty lock file; a non-empty one was left by a killed run.
        let _ = self.file.set_len(0);
    }
}

/// A file being written, hashed (sha256) as it is written: a file's digest without reading it
/// back (0.8 GB for the shortlist at 100k partners).
pub struct HashedFile {
    path: PathBuf,
    writer: BufWriter<Hashed<File>>,
}

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

impl Write for HashedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl HashedFile {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> Result<Self, OutputIoError> {
        let file = File::create(path).map_err(at(path))?;
        Ok(HashedFile { path: path.to_path_buf(), writer: BufWriter::new(Hashed { inner: file, hasher: sha2::Sha256::default() }) })
    }

    /// Flushes and fsyncs the file; returns its sha256 (hex).
    pub fn finish(self) -> Result<String, OutputIoError> {
        use sha2::Digest;
        let HashedFile { path, writer } = self;
        let Hashed { inner: file, hasher } = writer.into_inner().map_err(|e| OutputIoError { path: path.clone(), source: e.into_error() })?;
        file.sync_all().map_err(at(&path))?;
        Ok(crate::io::table::hex(&hasher.finalize()))
    }
}

/// Exchanges two directories atomically where the file system can; otherwise moves `current`
/// to `aside`, `new` to `current` and `aside` to `new`: a window in which `current` is absent
/// but never mixed, which a crash leaves for the caller's recovery to finish.
pub fn exchange(new: &Path, current: &Path, aside: &Path) -> Result<(), OutputIoError> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, new, CWD, current, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(()),
        Err(_) => {
            fs::rename(current, aside).map_err(at(current))?;
            fs::rename(new, current).map_err(at(current))?;
            fs::rename(aside, new).map_err(at(new))
        }
    }
}

/// Writes one file atomically: `fill` writes into a temporary file in the same directory,
/// which is fsynced and renamed over `path` only when `fill` succeeds.
pub fn write_with<E>(path: &Path, fill: impl FnOnce(&mut BufWriter<&mut File>) -> Result<(), E>) -> Result<(), E>
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

/// fsyncs a directory (its entries).
pub fn sync_dir(dir: &Path) -> Result<(), OutputIoError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(at(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_a_dead_ones_stamp_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.lock");
        let first = OutputLock::acquire(&path).ok().unwrap();
        match OutputLock::acquire(&path) {
            Err(LockError::Held(holder)) => assert!(holder.contains(&format!("pid {}", std::process::id())), "{holder}"),
            _ => panic!("expected the lock to be held"),
        }
        drop(first);
        // A killed run leaves its stamp in the lock file but holds no lock.
        fs::write(&path, "pid 999999 since 2026-01-01T00:00:00Z\n").unwrap();
        let next = OutputLock::acquire(&path).ok().unwrap();
        assert_eq!(next.stale.as_deref(), Some("pid 999999 since 2026-01-01T00:00:00Z"));
    }

    #[test]
    fn a_file_is_hashed_as_written() {
        use sha2::Digest;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        let mut file = HashedFile::create(&path).unwrap();
        file.write_all(b"hello").unwrap();
        let digest = file.finish().unwrap();
        assert_eq!(digest, crate::io::table::hex(&sha2::Sha256::digest(b"hello")));
        assert_eq!(fs::read(&path).unwrap(), b"hello");
    }
}
