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
//! ```
//! Names starting with `_` or `.` are invisible to dataset readers (pyarrow, DuckDB globs on
//! `*.parquet`), so the directory opens as one table.

use std::path::{Path, PathBuf};

/// The output directory of one stage of one pipeline.
#[derive(Debug, Clone)]
pub struct StageDir {
    path: PathBuf,
}

impl StageDir {
    /// `runs_root/<pipeline>/<stage>`.
    pub fn new(runs_root: &Path, pipeline: &str, stage: &str) -> Self {
        Self {
            path: runs_root.join(pipeline).join(stage),
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
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, bytes)?;
    std::fs::File::open(&temp)?.sync_all()?;
    std::fs::rename(&temp, path)
}
