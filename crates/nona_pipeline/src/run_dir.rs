//! The on-disk layout of a run: `runs/<pipeline>/<stage>/`.
//!
//! ```text
//! runs/<pipeline>/<stage>/
//!   part-00000.parquet …     the main table of a one-table stage, one part per work unit
//!   <table>/part-00000.parquet  the tables of a stage with several (e.g. train/predictions/)
//!   _errors/part-00000.parquet  rows that could not be processed (only units that had some)
//!   _units/00000.done        a unit's outputs are all in place
//!   _fingerprint             the fingerprint the parts on disk were made with
//!   _record.json             config, inputs, rows, timings, version (written at completion)
//!   _SUCCESS                 the stage is complete
//!   _lock, _holder           the stage's lock file and who last took it (see [`crate::lock`])
//! ```
//! Names starting with `_` or `.` are invisible to dataset readers (pyarrow, DuckDB globs on
//! `*.parquet`), so the directory opens as one table.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};

/// The lock file of a stage directory; it survives [`StageDir::remove_outputs`], so that every
/// process locks the same file.
pub const LOCK_FILE: &str = "_lock";

/// The output directory of one stage of one pipeline.
#[derive(Debug, Clone)]
pub struct StageDir {
    path: PathBuf,
    run_dir: PathBuf,
    /// Whether the pipeline and stage names are plain path components, so that `path` lies
    /// strictly inside `run_dir`, and `run_dir` directly inside the runs directory.
    confined: bool,
}

impl StageDir {
    /// `runs_root/<pipeline>/<stage>`.
    pub fn new(runs_root: &Path, pipeline: &str, stage: &str) -> Self {
        let run_dir = runs_root.join(pipeline);
        Self {
            path: run_dir.join(stage),
            run_dir,
            confined: is_plain_component(pipeline) && is_plain_component(stage),
        }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory of table `table`; `None` is the stage directory itself.
    pub fn table_dir(&self, table: Option<&str>) -> PathBuf {
        match table {
            Some(name) => self.path.join(name),
            None => self.path.clone(),
        }
    }

    /// Where unit `unit` of `table` goes (see [`Self::table_dir`]).
    pub fn part(&self, table: Option<&str>, unit: usize) -> PathBuf {
        self.table_dir(table)
            .join(format!("part-{unit:05}.parquet"))
    }

    /// The errors table of this stage.
    pub fn errors_dir(&self) -> PathBuf {
        self.path.join("_errors")
    }

    /// Marker for a finished unit.
    pub fn unit_marker(&self, unit: usize) -> PathBuf {
        self.path.join("_units").join(format!("{unit:05}.done"))
    }

    /// Whether unit `unit` is finished.
    pub fn unit_done(&self, unit: usize) -> bool {
        self.unit_marker(unit).exists()
    }

    /// The completion marker.
    pub fn success_marker(&self) -> PathBuf {
        self.path.join("_SUCCESS")
    }

    /// The run record.
    pub fn record_path(&self) -> PathBuf {
        self.path.join("_record.json")
    }

    /// The fingerprint of the work in progress.
    pub fn fingerprint_path(&self) -> PathBuf {
        self.path.join("_fingerprint")
    }

    /// Whether the stage completed.
    pub fn is_complete(&self) -> bool {
        self.success_marker().exists() && self.record_path().exists()
    }

    /// The stage's lock file.
    pub fn lock_path(&self) -> PathBuf {
        self.path.join(LOCK_FILE)
    }

    /// Who last locked the stage (see [`crate::lock`]).
    pub fn holder_path(&self) -> PathBuf {
        self.path.join("_holder")
    }

    /// Removes everything in the directory but its lock file, creating the directory if needed.
    /// Refuses unless the directory is strictly inside its run directory `<runs>/<pipeline>/`
    /// (a pipeline named `..` or `` must never make nona delete elsewhere). The caller holds the
    /// stage's exclusive lock.
    pub fn remove_outputs(&self) -> anyhow::Result<()> {
        self.ensure_inside_run_dir()?;
        std::fs::create_dir_all(&self.path)
            .with_context(|| format!("creating {}", self.path.display()))?;
        let entries = std::fs::read_dir(&self.path)
            .with_context(|| format!("reading {}", self.path.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", self.path.display()))?;
            if entry.file_name() == LOCK_FILE {
                continue;
            }
            let path = entry.path();
            let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.with_context(|| format!("removing {}", path.display()))?;
        }
        Ok(())
    }

    /// Fails unless the directory is `<runs>/<pipeline>/<stage>` with `<pipeline>` and `<stage>`
    /// plain path components.
    fn ensure_inside_run_dir(&self) -> anyhow::Result<()> {
        if !self.confined {
            bail!(
                "refusing to remove {}: it is not a stage directory strictly inside the run directory {}",
                self.path.display(),
                self.run_dir.display()
            );
        }
        Ok(())
    }
}

/// Whether `name` is one plain path component: not empty, `.`, `..` or anything with a separator.
fn is_plain_component(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(first)), None) if first == name
    )
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then rename). An
/// error names the file or directory involved and keeps the underlying error's kind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| with_path(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, bytes).map_err(|e| with_path(&temp, e))?;
    std::fs::File::open(&temp)
        .and_then(|file| file.sync_all())
        .map_err(|e| with_path(&temp, e))?;
    std::fs::rename(&temp, path).map_err(|e| with_path(path, e))
}

/// `error` with `path` in front of its message, of the same kind.
pub fn with_path(path: &Path, error: std::io::Error) -> std::io::Error {
    std::io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_stays_inside_the_run_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let runs = tmp.path().join("runs");
        let neighbour = tmp.path().join("embed");
        let other_run = runs.join("other");
        for dir in [&neighbour, &other_run] {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join("keep"), b"x").unwrap();
        }
        for (pipeline, stage) in [
            ("..", "embed"),
            (".", "other"),
            ("", "other"),
            ("a/..", "other"),
            ("p", ".."),
            ("p", ""),
        ] {
            let error = StageDir::new(&runs, pipeline, stage)
                .remove_outputs()
                .expect_err(&format!("`{pipeline}`/`{stage}` must be refused"));
            assert!(error.to_string().contains("refusing to remove"), "{error}");
        }
        assert!(neighbour.join("keep").exists() && other_run.join("keep").exists());

        let stage = StageDir::new(&runs, "p", "embed");
        std::fs::create_dir_all(stage.path().join("_units")).unwrap();
        std::fs::write(stage.lock_path(), b"").unwrap();
        std::fs::write(stage.path().join("part-00000.parquet"), b"x").unwrap();
        stage.remove_outputs().unwrap();
        let left: Vec<_> = std::fs::read_dir(stage.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, [LOCK_FILE], "everything but the lock file is removed");
    }

    #[test]
    fn write_errors_name_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let target = file.join("sub").join("_SUCCESS");
        let error = write_atomic(&target, b"").unwrap_err();
        assert!(
            error
                .to_string()
                .contains(&file.join("sub").display().to_string()),
            "{error}"
        );
    }
}
