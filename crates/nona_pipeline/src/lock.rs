//! Per-stage locks, so that processes sharing a runs directory never mix their work.
//!
//! Every stage directory has a lock file (`_lock`, locked with the operating system's advisory
//! file locks through [`std::fs::File::lock`] and friends). A process that writes a stage first
//! takes the lock exclusively to prepare the directory (clear parts made with other settings,
//! write `_fingerprint`), then holds it shared while it works: processes of the same fingerprint
//! (`--shard`s, or two identical runs) share the stage, while one with another fingerprint finds
//! it held and stops at once with a message naming the holder (recorded in `_holder`). A stage
//! that is read as an input is held shared, so that nobody clears it under its readers. Locks are
//! released when the process exits, however it exits.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::integrity::short;
use crate::run_dir::{StageDir, with_path, write_atomic};

/// How often a process retries when others keep changing the directory under it.
const ATTEMPTS: usize = 50;
/// Pause between attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(20);

/// A held lock on a stage directory; dropping it releases the lock.
#[derive(Debug)]
pub struct StageLock {
    _file: File,
}

/// `_holder`: the last process that took a stage's lock for work.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// Its host, when known.
    pub host: Option<String>,
    /// The fingerprint it works with.
    pub fingerprint: String,
    /// When it took the lock (Unix seconds).
    pub since_unix: f64,
}

impl Holder {
    fn this_process(fingerprint: &str) -> Self {
        Self {
            pid: std::process::id(),
            host: host_name(),
            fingerprint: fingerprint.to_owned(),
            since_unix: unix_now(),
        }
    }

    /// The holder recorded in `dir`, if any.
    pub fn load(dir: &StageDir) -> Option<Self> {
        let text = std::fs::read_to_string(dir.holder_path()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// `pid 123 on host h, running for 12 s`.
    fn describe(&self) -> String {
        let host = self
            .host
            .as_ref()
            .map(|h| format!(" on host {h}"))
            .unwrap_or_default();
        let seconds = (unix_now() - self.since_unix).max(0.0);
        format!("pid {}{host}, running for {seconds:.0} s", self.pid)
    }
}

impl StageLock {
    /// Locks `dir` for writing parts made with `fingerprint`. If no other process holds the
    /// stage, `prepare` runs first with the lock held exclusively (it makes the directory fit
    /// for `fingerprint`: clears other parts, writes `_fingerprint`). The returned lock is
    /// shared: processes with the same fingerprint may work next to this one. Fails at once,
    /// naming the holder, when another process works on the stage with another fingerprint.
    pub fn for_work(
        dir: &StageDir,
        fingerprint: &str,
        mut prepare: impl FnMut() -> anyhow::Result<()>,
    ) -> anyhow::Result<Self> {
        let file = open(dir)?;
        for _ in 0..ATTEMPTS {
            let prepared = match file.try_lock() {
                Ok(()) => {
                    // Recorded before anyone else can lock the stage, so that a process refused
                    // right away can name this one.
                    let result = prepare().and_then(|()| record_holder(dir, fingerprint));
                    file.unlock().map_err(|e| with_path(&dir.lock_path(), e))?;
                    result?;
                    true
                }
                Err(TryLockError::WouldBlock) => false,
                Err(TryLockError::Error(e)) => return Err(with_path(&dir.lock_path(), e).into()),
            };
            // Between the exclusive and the shared lock another process may have prepared the
            // directory for its own fingerprint: check again under the shared lock.
            file.lock_shared()
                .map_err(|e| with_path(&dir.lock_path(), e))?;
            let on_disk = read_fingerprint(dir)?;
            if on_disk == fingerprint {
                if !prepared {
                    record_holder(dir, fingerprint)?;
                }
                return Ok(Self { _file: file });
            }
            file.unlock().map_err(|e| with_path(&dir.lock_path(), e))?;
            if !prepared && !on_disk.is_empty() {
                bail!(
                    "{} is in use by another nona process with other settings ({}; fingerprint {} on disk, {} here). Wait for it to finish, or stop it, then run again",
                    dir.path().display(),
                    holder_description(dir),
                    short(&on_disk),
                    short(fingerprint)
                );
            }
            std::thread::sleep(RETRY_PAUSE);
        }
        bail!(
            "{}: could not lock the stage: other nona processes keep changing it ({}); wait for them to finish, then run again",
            dir.path().display(),
            holder_description(dir)
        )
    }

    /// Locks the existing stage `dir` shared, to read it as an input: nobody can clear it while
    /// the lock is held. Waits while another process prepares it.
    pub fn for_reading(dir: &StageDir) -> anyhow::Result<Self> {
        let file = open(dir)?;
        file.lock_shared()
            .map_err(|e| with_path(&dir.lock_path(), e))?;
        Ok(Self { _file: file })
    }

    /// Locks `dir` exclusively, to remove its outputs (`--force`); fails at once, naming the
    /// holder, when another process uses the stage.
    pub fn exclusive(dir: &StageDir) -> anyhow::Result<Self> {
        let file = open(dir)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => bail!(
                "{} is in use by another nona process ({}). Wait for it to finish, or stop it, then run again",
                dir.path().display(),
                holder_description(dir)
            ),
            Err(TryLockError::Error(e)) => Err(with_path(&dir.lock_path(), e).into()),
        }
    }
}

/// The fingerprint the parts in `dir` were made with; empty when there is none.
pub fn read_fingerprint(dir: &StageDir) -> anyhow::Result<String> {
    match std::fs::read_to_string(dir.fingerprint_path()) {
        Ok(text) => Ok(text.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(with_path(&dir.fingerprint_path(), e).into()),
    }
}

fn open(dir: &StageDir) -> anyhow::Result<File> {
    std::fs::create_dir_all(dir.path())
        .with_context(|| format!("creating {}", dir.path().display()))?;
    let path = dir.lock_path();
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| with_path(&path, e).into())
}

/// Writes `_holder`: this process works on `dir` with `fingerprint`.
fn record_holder(dir: &StageDir, fingerprint: &str) -> anyhow::Result<()> {
    let holder = serde_json::to_string(&Holder::this_process(fingerprint))?;
    write_atomic(&dir.holder_path(), holder.as_bytes())?;
    Ok(())
}

fn holder_description(dir: &StageDir) -> String {
    Holder::load(dir).map_or_else(
        || "it left no record of itself".to_owned(),
        |holder| format!("last locked by {}", holder.describe()),
    )
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// This machine's name (Linux: the kernel's; elsewhere `$HOSTNAME`), if known.
fn host_name() -> Option<String> {
    std::fs::read_to_string(Path::new("/proc/sys/kernel/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepare_for<'a>(
        dir: &'a StageDir,
        fingerprint: &'a str,
    ) -> impl FnMut() -> anyhow::Result<()> + 'a {
        move || {
            if read_fingerprint(dir)? != fingerprint {
                dir.remove_outputs()?;
                write_atomic(&dir.fingerprint_path(), fingerprint.as_bytes())?;
            }
            Ok(())
        }
    }

    #[test]
    fn same_fingerprint_shares_and_another_is_refused_naming_the_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StageDir::new(tmp.path(), "p", "embed");
        let first = StageLock::for_work(&dir, "aaaa", prepare_for(&dir, "aaaa")).unwrap();
        std::fs::write(dir.path().join("part-00000.parquet"), b"work").unwrap();

        let same = StageLock::for_work(&dir, "aaaa", prepare_for(&dir, "aaaa"));
        assert!(same.is_ok(), "{same:?}");

        let error = StageLock::for_work(&dir, "bbbb", prepare_for(&dir, "bbbb"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("in use by another nona process with other settings")
                && error.contains(&format!("pid {}", std::process::id()))
                && error.contains("Wait for it to finish, or stop it"),
            "{error}"
        );
        assert!(
            dir.path().join("part-00000.parquet").exists(),
            "the other process's work is untouched"
        );
        assert!(
            StageLock::exclusive(&dir).is_err(),
            "--force waits its turn too"
        );

        drop((first, same));
        let _other = StageLock::for_work(&dir, "bbbb", prepare_for(&dir, "bbbb")).unwrap();
        assert_eq!(read_fingerprint(&dir).unwrap(), "bbbb");
        assert!(!dir.path().join("part-00000.parquet").exists());
    }

    #[test]
    fn readers_keep_a_stage_from_being_cleared() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StageDir::new(tmp.path(), "p", "preprocess");
        drop(StageLock::for_work(&dir, "aaaa", prepare_for(&dir, "aaaa")).unwrap());
        let reader = StageLock::for_reading(&dir).unwrap();
        let error = StageLock::for_work(&dir, "bbbb", prepare_for(&dir, "bbbb")).unwrap_err();
        assert!(error.to_string().contains("in use"), "{error}");
        drop(reader);
        assert!(StageLock::exclusive(&dir).is_ok());
    }
}
