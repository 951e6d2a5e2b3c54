//! Checks that a stage directory holds one table, not parts of several runs: every part's footer
//! carries the `nona.fingerprint` it was made with, which must be the stage's.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The footer key holding the fingerprint a part was made with.
pub const FINGERPRINT_KEY: &str = "nona.fingerprint";

/// A part made with another fingerprint than its stage's.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignPart {
    /// The part.
    pub path: PathBuf,
    /// The fingerprint in its footer, if any.
    pub fingerprint: Option<String>,
}

/// The parts of the tables in `stage_dir` (the directory itself and its table subdirectories,
/// `_errors` included) whose footer fingerprint is not `fingerprint`. Reads footers only.
pub fn foreign_parts(stage_dir: &Path, fingerprint: &str) -> anyhow::Result<Vec<ForeignPart>> {
    let mut foreign = Vec::new();
    for table in table_dirs(stage_dir)? {
        for part in nona_table::part_files(&table)? {
            let metadata = nona_table::Dataset::open(&part)?.metadata().clone();
            let found = metadata.get(FINGERPRINT_KEY);
            if found.map(String::as_str) != Some(fingerprint) {
                foreign.push(ForeignPart {
                    path: part,
                    fingerprint: found.cloned(),
                });
            }
        }
    }
    Ok(foreign)
}

/// One sentence saying that `stage_dir` is mixed and which parts differ.
pub fn describe_mixed(stage_dir: &Path, fingerprint: &str, foreign: &[ForeignPart]) -> String {
    const LISTED: usize = 5;
    let mut listed: Vec<String> = foreign
        .iter()
        .take(LISTED)
        .map(|part| {
            let name = part.path.strip_prefix(stage_dir).unwrap_or(&part.path);
            match &part.fingerprint {
                Some(other) => format!("{} (fingerprint {})", name.display(), short(other)),
                None => format!("{} (no fingerprint)", name.display()),
            }
        })
        .collect();
    if foreign.len() > LISTED {
        listed.push(format!("and {} more", foreign.len() - LISTED));
    }
    format!(
        "{} is a mixed table: {} part{} {} not made with the stage's fingerprint {}: {}",
        stage_dir.display(),
        foreign.len(),
        if foreign.len() == 1 { "" } else { "s" },
        if foreign.len() == 1 { "was" } else { "were" },
        short(fingerprint),
        listed.join(", ")
    )
}

/// `stage_dir` and its subdirectories that may hold a table (not `_units`, not hidden ones).
fn table_dirs(stage_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = vec![stage_dir.to_path_buf()];
    let entries =
        std::fs::read_dir(stage_dir).with_context(|| format!("reading {}", stage_dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", stage_dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && name != "_units" && !name.starts_with('.') {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// The first 12 hex digits of a fingerprint, enough to tell two apart.
pub(crate) fn short(fingerprint: &str) -> &str {
    &fingerprint[..fingerprint.len().min(12)]
}
