//! Publishing a run directory: all or nothing, one writer at a time, and nothing that the
//! engine did not make is ever deleted.
//!
//! Input: the `--out` path and the files a run writes through [`Staging::create`] /
//! [`Staging::finish`]. Output: `OUT` replaced as a whole by [`Staging::commit`]. At every
//! instant, including after a crash, `kill -9` or SIGTERM at any moment, `OUT` is the previous
//! complete run or the new complete run: never a mix, never a half-written file.
//!
//! The rules (README, "The output directory"):
//! - `OUT` is a directory the engine made (it holds the mark file `.sstc-match`), an empty
//!   directory, or absent. A file, a symbolic link, a non-empty directory without the mark
//!   (even one holding a `manifest.json`), the file system's root, and a directory inside
//!   another run directory are refused before any work.
//! - Beside `OUT` the engine uses `OUT.lock`, `OUT.staging` and, where the file system cannot
//!   exchange two directories, `OUT.previous`. A `OUT.staging` or `OUT.previous` without the
//!   mark is someone else's: refused, never deleted.
//! - Entries of the old `OUT` that its run did not write (not in its manifest: a report, a
//!   folder, a user's notes) are moved into the new `OUT`; an entry named like a file a run
//!   writes is refused up front, so no move can collide.
//!
//! Protocol:
//! 1. take the lock `OUT.lock` (see [`OutputLock`]);
//! 2. finish what an interrupted run left ([`recover`]);
//! 3. write and fsync every file into `OUT.staging`, marked "staging" (SIGINT, SIGTERM or
//!    SIGHUP now delete it and exit: nothing is published);
//! 4. mark it "run", swap it with `OUT` in one `renameat2(RENAME_EXCHANGE)`, move the old
//!    run's foreign entries into the new `OUT`, delete the old run's own files.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};
use std::time::Duration;

use crate::io::atomic::{at, exchange, sync_dir, HashedFile, LockError, OutputIoError, OutputLock};
use crate::io::run_dir::{MANIFEST, RUN_FILES};
use crate::io::shard::SHARD_MANIFEST;

/// The files that list what a run (or a shard of one) wrote: deleted after those files.
const MANIFESTS: [&str; 2] = [MANIFEST, SHARD_MANIFEST];

/// The mark file in every directory the engine makes.
pub const MARK: &str = ".sstc-match";
const MARK_RUN: &str = "sstc-match run directory\n";
const MARK_STAGING: &str = "sstc-match run being written\n";

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
    /// `--out` names a file.
    #[error("{out} is a file, not a directory; give a new or empty directory for the run (the file is left as it is)")]
    NotADirectory {
        /// The output path.
        out: String,
    },
    /// `--out` is a symbolic link.
    #[error("{out} is a symbolic link to {target}; each run replaces its output directory as a whole, which would replace the link, not what it points to: give {target} itself")]
    Symlink {
        /// The output path.
        out: String,
        /// Where it points.
        target: String,
    },
    /// `--out` is the root directory.
    #[error("{out}: the root directory cannot be a run directory; give a directory below it")]
    Root {
        /// The output path.
        out: String,
    },
    /// `--out` lies inside another run directory.
    #[error("{out} lies inside the run directory {run}, which the next run there replaces as a whole; give a directory outside it")]
    Nested {
        /// The output path.
        out: String,
        /// The enclosing run directory.
        run: String,
    },
    /// The directory holds something else than a run.
    #[error("{out} is not empty and is not a run directory of sstc-match (no {MARK} mark in it); each run replaces its output directory as a whole, so give a new or empty directory")]
    NotAnOutputDirectory {
        /// The output directory.
        out: String,
    },
    /// A directory beside the output that the engine would use holds someone else's files.
    #[error("{path} exists and was not made by sstc-match (no {MARK} mark in it); move or rename it, it is left as it is")]
    NotOurs {
        /// The directory.
        path: String,
    },
    /// A file in the output directory that the last run did not write has a name a run
    /// writes.
    #[error("{path} was not written by the last run but has the name of a file a run writes; move or rename it, it is left as it is")]
    Clash {
        /// The file.
        path: String,
    },
    /// Another output of the run would be inside the output directory.
    #[error("--{flag} {path} lies inside the output directory {out}, which each run replaces as a whole; give a directory outside it")]
    Inside {
        /// The flag.
        flag: &'static str,
        /// Its value.
        path: String,
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

/// What a directory's mark says it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    /// A published run (or one complete and about to be).
    Run,
    /// A run being written: every entry is the engine's.
    Staging,
}

fn read_mark(dir: &Path) -> Option<Mark> {
    match fs::read_to_string(dir.join(MARK)).ok()?.as_str() {
        MARK_RUN => Some(Mark::Run),
        MARK_STAGING => Some(Mark::Staging),
        _ => None,
    }
}

fn write_mark(dir: &Path, mark: Mark) -> Result<(), OutputIoError> {
    let path = dir.join(MARK);
    let text = match mark {
        Mark::Run => MARK_RUN,
        Mark::Staging => MARK_STAGING,
    };
    // Written beside and renamed into place: a process killed while writing the mark used to
    // leave it empty, and the next night refused the directory as not the engine's.
    let partial = dir.join(MARK_PARTIAL);
    fs::File::create(&partial).and_then(|mut f| f.write_all(text.as_bytes()).and_then(|_| f.sync_all())).map_err(at(&partial))?;
    fs::rename(&partial, &path).map_err(at(&path))
}

/// The mark while it is written.
const MARK_PARTIAL: &str = ".sstc-match.partial";

/// `OUT` with `suffix` appended to its name, beside it.
fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let mut name = out.file_name().expect("a resolved output directory has a name").to_os_string();
    name.push(suffix);
    out.with_file_name(name)
}

/// The absolute path `--out` names, checked: not a file, not a link, not the root, not inside
/// a run directory. Its parent is created when missing.
pub fn resolve(out: &Path) -> Result<PathBuf, PublishError> {
    let shown = || out.display().to_string();
    match fs::symlink_metadata(out) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = fs::read_link(out).map_or_else(|_| "?".into(), |t| t.display().to_string());
            return Err(PublishError::Symlink { out: shown(), target });
        }
        Ok(meta) if !meta.is_dir() => return Err(PublishError::NotADirectory { out: shown() }),
        _ => {}
    }
    let absolute = if out.exists() {
        out.canonicalize().map_err(at(out))?
    } else {
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        fs::create_dir_all(parent).map_err(at(parent))?;
        let name = out.file_name().ok_or_else(|| PublishError::Root { out: shown() })?;
        parent.canonicalize().map_err(at(parent))?.join(name)
    };
    if absolute.parent().is_none() || absolute.file_name().is_none() {
        return Err(PublishError::Root { out: shown() });
    }
    if let Some(run) = absolute.ancestors().skip(1).find(|a| read_mark(a).is_some()) {
        return Err(PublishError::Nested { out: shown(), run: run.display().to_string() });
    }
    Ok(absolute)
}

/// Fails when `path` (given with `flag`) is the output directory or inside it.
pub fn check_outside(out: &Path, flag: &'static str, path: &Path) -> Result<(), PublishError> {
    let out_abs = resolve_lexically(out);
    if resolve_lexically(path).starts_with(&out_abs) {
        return Err(PublishError::Inside { flag, path: path.display().to_string(), out: out.display().to_string() });
    }
    Ok(())
}

/// An absolute path for comparison: the longest existing ancestor canonicalised (links
/// resolved), the rest appended.
fn resolve_lexically(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(path) };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// The entries of a run directory that its run wrote: the mark, the manifest (a run's or a
/// shard's) and every file the manifest lists. A staging directory's entries are all the
/// engine's.
fn owned_entries(dir: &Path) -> Vec<String> {
    let mut owned = vec![MARK.to_string()];
    for name in MANIFESTS {
        owned.push(name.to_string());
        let manifest = fs::read(dir.join(name)).ok().and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
        if let Some(outputs) = manifest.as_ref().and_then(|m| m.get("outputs")).and_then(|o| o.as_object()) {
            owned.extend(outputs.keys().cloned());
        }
    }
    owned
}

fn entries(dir: &Path) -> Result<Vec<String>, OutputIoError> {
    fs::read_dir(dir).map_err(at(dir))?.map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()).map_err(at(dir))).collect()
}

/// One step of retiring an old run.
#[derive(Debug)]
enum Step {
    /// Delete a file the old run wrote.
    Delete(PathBuf),
    /// Move an entry the old run did not write into the new run.
    Move(PathBuf, PathBuf),
    /// Delete the emptied directory.
    DeleteDir(PathBuf),
}

/// The steps that retire the old run `from` into `to`, in an order where a kill between any
/// two leaves a directory that [`recover`] retires again: the files the manifest lists go
/// first, the manifest (which tells the run's files from foreign ones) after them, the mark
/// (which says the directory is the engine's) last.
fn retire_steps(from: &Path, to: &Path) -> Result<Vec<Step>, PublishError> {
    let owned = owned_entries(from);
    let mut files = Vec::new();
    let mut moves = Vec::new();
    for name in entries(from)? {
        let path = from.join(&name);
        if owned.contains(&name) {
            if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                // A run writes files only: a directory with a run file's name is foreign.
                return Err(PublishError::Clash { path: path.display().to_string() });
            }
            if !MANIFESTS.contains(&name.as_str()) && name != MARK {
                files.push(Step::Delete(path));
            }
        } else {
            let target = to.join(&name);
            if fs::symlink_metadata(&target).is_ok() {
                return Err(PublishError::Clash { path: path.display().to_string() });
            }
            moves.push(Step::Move(path, target));
        }
    }
    let last = MANIFESTS.into_iter().chain([MARK]).map(|name| from.join(name)).filter(|p| p.exists()).map(Step::Delete);
    Ok(files.into_iter().chain(moves).chain(last).chain([Step::DeleteDir(from.to_path_buf())]).collect())
}

impl Step {
    fn apply(&self) -> Result<(), OutputIoError> {
        match self {
            Step::Delete(path) => fs::remove_file(path).map_err(at(path)),
            Step::Move(from, to) => fs::rename(from, to).map_err(at(from)),
            Step::DeleteDir(dir) => fs::remove_dir(dir).map_err(at(dir)),
        }
    }
}

/// Moves the entries of the old run `from` that its run did not write into `to`, then deletes
/// the old run's own files and the directory.
fn retire(from: &Path, to: &Path) -> Result<(), PublishError> {
    for step in retire_steps(from, to)? {
        step.apply()?;
    }
    Ok(())
}

/// Finishes what an interrupted run left beside `out`: a directory marked "staging" is
/// deleted (the previous run was never touched); one marked "run" is a complete run that was
/// being swapped: put back when `out` is missing, else retired into `out`. An empty one is
/// removed; any other directory without the mark is refused, never touched.
pub fn recover(out: &Path) -> Result<(), PublishError> {
    for suffix in [".previous", ".staging"] {
        let dir = sibling(out, suffix);
        let Ok(meta) = fs::symlink_metadata(&dir) else { continue };
        let not_ours = || PublishError::NotOurs { path: dir.display().to_string() };
        if !meta.is_dir() {
            return Err(not_ours());
        }
        match read_mark(&dir) {
            // Emptied by a retirement killed before its last step, or made by a run killed
            // while it wrote the mark: nothing to lose.
            None if entries(&dir)?.iter().all(|name| name == MARK_PARTIAL) => fs::remove_dir_all(&dir).map_err(at(&dir))?,
            None => return Err(not_ours()),
            Some(Mark::Staging) => fs::remove_dir_all(&dir).map_err(at(&dir))?,
            Some(Mark::Run) if !out.exists() => fs::rename(&dir, out).map_err(at(out))?,
            Some(Mark::Run) => retire(&dir, out)?,
        }
    }
    Ok(())
}

/// The run being written, for the signal handler: its staging directory and lock file.
static WRITING: Mutex<Option<(PathBuf, PathBuf)>> = Mutex::new(None);

fn writing() -> std::sync::MutexGuard<'static, Option<(PathBuf, PathBuf)>> {
    WRITING.lock().unwrap_or_else(|e| e.into_inner())
}

/// On SIGINT, SIGTERM or SIGHUP: [`abandon`] the run being written and exit with 128 + the
/// signal's number. Installed once, by the first run.
fn stop_cleanly_on_signals() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else { return };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                abandon(&format!("stopped by signal {signal}"), 128 + signal);
                std::process::exit(128 + signal);
            }
        });
    });
}

/// `--max-runtime`: once `limit` has passed, [`abandon`] the run being written (exit 2); a
/// run already being published is let finish.
pub fn stop_after(limit: Duration, shown: String) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        abandon(&format!("stopped after --max-runtime {shown}"), 2);
    });
}

/// Deletes the staging directory of the run being written (waiting for a publication under
/// way to finish), clears the lock's stamp, says why and exits with `code`; returns when no
/// run is being written. An open database transaction ends with the process, uncommitted.
fn abandon(why: &str, code: i32) {
    if let Some((staging, lock)) = writing().take() {
        let _ = fs::remove_dir_all(&staging);
        let _ = fs::write(&lock, "");
        eprintln!("sstc-match: {why}; nothing was published, the previous run is as it was");
        crate::telemetry::summary(&serde_json::json!({ "exit_code": code, "exit_reason": why }));
        std::process::exit(code);
    }
}

/// A run's output files being written, published together by [`Staging::commit`]. Dropped
/// without a commit (an error on the way), it deletes its staging directory and leaves the
/// previous run as it was.
pub struct Staging {
    out_dir: PathBuf,
    shown: PathBuf,
    staging_dir: PathBuf,
    published: Vec<(String, String)>,
    committed: bool,
    lock: OutputLock,
}

/// One file being written into the staging directory.
pub struct StagedFile {
    name: String,
    file: HashedFile,
}

impl Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Staging {
    /// Checks `out` by the rules above, locks it, finishes what an interrupted run left, and
    /// opens a fresh staging directory. Called before the work starts, so an unusable, foreign
    /// or busy output directory fails at once.
    pub fn open(out: &Path) -> Result<Self, PublishError> {
        let out_dir = resolve(out)?;
        let lock = OutputLock::acquire(&sibling(&out_dir, ".lock")).map_err(|e| match e {
            LockError::Held(holder) => PublishError::Locked { out: out.display().to_string(), holder },
            LockError::Io(e) => e.into(),
        })?;
        recover(&out_dir)?;
        if out_dir.exists() {
            let names = entries(&out_dir)?;
            if !names.is_empty() {
                if read_mark(&out_dir).is_none() {
                    return Err(PublishError::NotAnOutputDirectory { out: out.display().to_string() });
                }
                let owned = owned_entries(&out_dir);
                if let Some(clash) = names.iter().find(|n| !owned.contains(n) && RUN_FILES.contains(&n.as_str())) {
                    return Err(PublishError::Clash { path: out_dir.join(clash).display().to_string() });
                }
            }
        }
        let staging_dir = sibling(&out_dir, ".staging");
        // The handler is in place before the directory exists, and waits for it to be made
        // and recorded (a SIGTERM in between used to kill the process outright and leave it).
        stop_cleanly_on_signals();
        {
            let mut writing = writing();
            fs::create_dir(&staging_dir).map_err(at(&staging_dir))?;
            write_mark(&staging_dir, Mark::Staging)?;
            *writing = Some((staging_dir.clone(), lock.path.clone()));
        }
        Ok(Staging { out_dir, shown: out.to_path_buf(), staging_dir, published: Vec::new(), committed: false, lock })
    }

    /// What a killed earlier run left in the lock file, if anything.
    pub fn stale_lock(&self) -> Option<&str> {
        self.lock.stale.as_deref()
    }

    /// Fails when the output directory's file system has less than `bytes` free.
    pub fn ensure_space(&self, bytes: u64) -> Result<(), PublishError> {
        let stats = rustix::fs::statvfs(&self.staging_dir).map_err(|e| at(&self.staging_dir)(io::Error::from(e)))?;
        let free = stats.f_bavail.saturating_mul(stats.f_frsize);
        if free < bytes {
            return Err(PublishError::DiskFull { out: self.shown.display().to_string(), needed_mb: bytes.div_ceil(1 << 20), free_mb: free >> 20 });
        }
        Ok(())
    }

    /// Starts writing one file.
    pub fn create(&self, name: &str) -> Result<StagedFile, OutputIoError> {
        Ok(StagedFile { name: name.to_string(), file: HashedFile::create(&self.staging_dir.join(name))? })
    }

    /// Finishes a file: flushes and fsyncs it, and records its sha256.
    pub fn finish(&mut self, file: StagedFile) -> Result<(), OutputIoError> {
        let digest = file.file.finish()?;
        self.published.push((file.name, digest));
        Ok(())
    }

    /// Name and sha256 of every file finished so far.
    pub fn finished(&self) -> &[(String, String)] {
        &self.published
    }

    /// Replaces the output directory with the staged one in one step.
    pub fn commit(self) -> Result<(), PublishError> {
        self.commit_after(|| Ok(()))
    }

    /// Replaces the output directory with the staged one in one step, once `last` (the
    /// database sink's commit) has succeeded; a signal or `--max-runtime` arriving from
    /// before `last` waits for the publication, so a night is never in the database and not
    /// in the files. When `last` fails, nothing is published.
    pub fn commit_after<E: From<PublishError>>(mut self, last: impl FnOnce() -> Result<(), E>) -> Result<(), E> {
        write_mark(&self.staging_dir, Mark::Run).map_err(PublishError::from)?;
        sync_dir(&self.staging_dir).map_err(PublishError::from)?;
        // A signal now waits until the run is published.
        let mut guard = writing();
        last()?;
        if let Err(e) = self.swap() {
            tracing::error!(target: "sstc_match::output", error = %e, "the night was committed to the database sink, but its files could not be published");
            return Err(e.into());
        }
        self.committed = true;
        *guard = None;
        drop(guard);
        Ok(sync_dir(self.out_dir.parent().expect("a resolved output directory has a parent")).map_err(PublishError::from)?)
    }

    /// Swaps the staged run into place.
    fn swap(&mut self) -> Result<(), PublishError> {
        if self.out_dir.exists() {
            if read_mark(&self.out_dir).is_none() {
                // An empty directory: claimed, so that its empty husk is the engine's to delete.
                write_mark(&self.out_dir, Mark::Run)?;
            }
            exchange(&self.staging_dir, &self.out_dir, &sibling(&self.out_dir, ".previous"))?;
            // The staging path now holds the previous run.
            retire(&self.staging_dir, &self.out_dir)?;
        } else {
            fs::rename(&self.staging_dir, &self.out_dir).map_err(at(&self.out_dir))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: recover() at the next start removes it anyway.
            let _ = fs::remove_dir_all(&self.staging_dir);
            *writing() = None;
        }
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

    /// A published run of `files` (the last one the manifest) in `out`.
    fn publish(out: &Path, files: &[(&str, &str)]) {
        let mut staging = Staging::open(out).unwrap();
        for (name, text) in files {
            put(&mut staging, name, text);
        }
        let listed: serde_json::Map<String, serde_json::Value> = files.iter().map(|(n, _)| (n.to_string(), "x".into())).collect();
        put(&mut staging, MANIFEST, &serde_json::json!({ "outputs": listed }).to_string());
        staging.commit().unwrap();
    }

    #[test]
    fn commit_replaces_the_run_and_keeps_what_it_did_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        publish(&out, &[("a.csv", "old a"), ("gone.csv", "old")]);
        fs::write(out.join("report.html"), "a report").unwrap();
        fs::create_dir(out.join("notes")).unwrap();
        publish(&out, &[("a.csv", "new a")]);
        assert_eq!(fs::read_to_string(out.join("a.csv")).unwrap(), "new a");
        assert!(!out.join("gone.csv").exists(), "nothing of the old run's own files is left");
        assert_eq!(fs::read_to_string(out.join("report.html")).unwrap(), "a report", "a file the run did not write is kept");
        assert!(out.join("notes").is_dir());
        assert!(!sibling(&out, ".staging").exists());
    }

    /// Regression (CI, tests/crash.rs): killed while writing the staging mark, a run left a
    /// staging directory holding an empty mark, and every later night refused it.
    #[test]
    fn a_run_killed_while_writing_the_mark_leaves_nothing_in_the_way() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        publish(&out, &[("a.csv", "night 1")]);
        let staging = sibling(&out, ".staging");
        fs::create_dir(&staging).unwrap();
        fs::write(staging.join(MARK_PARTIAL), "").unwrap(); // the kill fell between create and rename
        publish(&out, &[("a.csv", "night 2")]);
        assert_eq!(fs::read_to_string(out.join("a.csv")).unwrap(), "night 2");
        assert!(!staging.exists());
        // And the mark is whole or absent, never half written: it is renamed into place.
        write_mark(&out, Mark::Run).unwrap();
        assert_eq!(read_mark(&out), Some(Mark::Run));
        assert!(!out.join(MARK_PARTIAL).exists());
    }

    #[test]
    fn an_abandoned_staging_is_discarded_and_the_old_run_kept() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        publish(&out, &[("a.csv", "old")]);
        let mut staging = Staging::open(&out).unwrap();
        put(&mut staging, "a.csv", "half");
        std::mem::forget(staging); // the process dies before commit: no Drop runs
        *writing() = None;
        recover(&out).unwrap();
        assert_eq!(fs::read_to_string(out.join("a.csv")).unwrap(), "old");
        assert!(!sibling(&out, ".staging").exists());
    }

    #[test]
    fn a_crash_inside_the_fallback_swap_restores_the_previous_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        publish(&out, &[("a.csv", "old")]);
        fs::rename(&out, sibling(&out, ".previous")).unwrap();
        recover(&out).unwrap();
        assert_eq!(fs::read_to_string(out.join("a.csv")).unwrap(), "old");
    }

    /// Regression (CI, crash.rs): a kill in the middle of retiring the old run, after its
    /// manifest was deleted but before the files it listed, left files that the next run took
    /// for a user's and refused as clashing names. Now a kill between any two steps is
    /// finished by the next start.
    #[test]
    fn a_kill_between_any_two_steps_of_retiring_is_finished_by_the_next_start() {
        let files: Vec<(String, String)> = (0..12).map(|i| (format!("f{i}.csv"), format!("old {i}"))).collect();
        let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let steps = {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("out");
            publish(&out, &files);
            fs::write(out.join("notes.txt"), "mine").unwrap();
            fs::create_dir_all(dir.path().join("new")).unwrap();
            retire_steps(&out, &dir.path().join("new")).unwrap().len()
        };
        assert_eq!(steps, 12 + 1 + 3, "the files, the foreign note, manifest, mark, directory");
        for done in 0..=steps {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("out");
            publish(&out, &files);
            fs::write(out.join("notes.txt"), "mine").unwrap();
            // The new run was staged and exchanged with the old; the kill comes after `done`
            // steps of retiring the old one, at OUT.staging.
            let staged = sibling(&out, ".staging");
            publish(&staged, &[("f0.csv", "new")]);
            exchange(&staged, &out, &sibling(&out, ".previous")).unwrap();
            for step in retire_steps(&staged, &out).unwrap().iter().take(done) {
                step.apply().unwrap();
            }
            drop(Staging::open(&out).unwrap_or_else(|e| panic!("killed after {done} steps: {e}")));
            assert_eq!(fs::read_to_string(out.join("f0.csv")).unwrap(), "new", "after {done} steps");
            assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "mine", "after {done} steps");
            assert!(!out.join("f1.csv").exists() && !sibling(&out, ".staging").exists(), "after {done} steps");
        }
    }

    #[test]
    fn someone_elses_directories_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("thesis.docx"), "precious").unwrap();
        assert!(matches!(Staging::open(dir.path()), Err(PublishError::NotAnOutputDirectory { .. })));
        assert!(dir.path().join("thesis.docx").exists());
        let out = dir.path().join("out");
        fs::create_dir(sibling(&out, ".staging")).unwrap();
        fs::write(sibling(&out, ".staging").join("mine.txt"), "mine").unwrap();
        assert!(matches!(Staging::open(&out), Err(PublishError::NotOurs { .. })));
        assert!(sibling(&out, ".staging").join("mine.txt").exists());
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
}
