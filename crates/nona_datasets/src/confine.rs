//! Sample files stay where the user put them: inside the dataset root.
//!
//! A manifest (or a layout's file) names sample files relative to `dataset.root`. A path that
//! leaves the root is refused: an absolute path elsewhere, a `..` that climbs above the root, or
//! a symbolic link that resolves outside it. `[dataset] allow_outside_root = true` lifts the
//! rule. Besides the root, the folders of files a stage derives itself (MedSegBench's PNGs under
//! the run directory) are allowed.

use std::path::{Component, Path, PathBuf};

/// The places sample files may be read from.
#[derive(Debug, Clone)]
pub struct SampleRoot {
    root: PathBuf,
    /// Every allowed folder, as given and resolved (symbolic links followed) when it exists.
    allowed: Vec<(PathBuf, PathBuf)>,
    allow_outside: bool,
}

impl SampleRoot {
    /// Files must be inside `root`, unless `allow_outside` (`[dataset] allow_outside_root`).
    pub fn new(root: &Path, allow_outside: bool) -> Self {
        Self {
            root: root.to_path_buf(),
            allowed: vec![resolved(root)],
            allow_outside,
        }
    }

    /// Also allows files inside `dir` (a folder the pipeline writes itself).
    pub fn also_allow(mut self, dir: &Path) -> Self {
        self.allowed.push(resolved(dir));
        self
    }

    /// The dataset root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of the sample file `input` names (relative to the root, or absolute), or why it
    /// may not be read.
    pub fn sample_path(&self, input: &str) -> Result<PathBuf, String> {
        let path = self.root.join(input);
        self.check(&path)?;
        Ok(path)
    }

    /// Checks that `path` (absolute, or relative to the working directory) may be read: after
    /// resolving `..` and, for a file that exists, symbolic links, it is inside an allowed folder.
    pub fn check(&self, path: &Path) -> Result<(), String> {
        if self.allow_outside {
            return Ok(());
        }
        let normal =
            lexically_normal(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
        if !self
            .allowed
            .iter()
            .any(|(given, _)| normal.starts_with(given))
        {
            let how = if path.components().any(|c| c == Component::ParentDir) {
                "through `..` leaves"
            } else {
                "is outside"
            };
            return Err(format!(
                "path {} {how} the dataset root {}; {HINT}",
                path.display(),
                self.root.display()
            ));
        }
        if let Ok(real) = std::fs::canonicalize(path)
            && !self.allowed.iter().any(|(_, dir)| real.starts_with(dir))
        {
            return Err(format!(
                "path {} is a symbolic link to {}, outside the dataset root {}; {HINT}",
                path.display(),
                real.display(),
                self.root.display()
            ));
        }
        Ok(())
    }
}

const HINT: &str = "set `[dataset] allow_outside_root = true` to read files outside it";

/// `dir` made absolute with `.` and `..` removed, and its real path (symbolic links followed;
/// the lexical one when it does not exist).
fn resolved(dir: &Path) -> (PathBuf, PathBuf) {
    let given = lexically_normal(&std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()));
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| given.clone());
    (given, real)
}

/// `path` with `.` dropped and each `..` taking away the component before it, without looking
/// at the file system (a `..` above the file system root stays at the root).
fn lexically_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() && !out.has_root() {
                    out.push(component);
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotdot_is_resolved_without_the_file_system() {
        assert_eq!(
            lexically_normal(Path::new("/a/b/../c/./d")),
            Path::new("/a/c/d")
        );
        assert_eq!(lexically_normal(Path::new("/a/../../x")), Path::new("/x"));
    }

    #[test]
    fn paths_inside_the_root_are_allowed_and_others_not() {
        let root = SampleRoot::new(Path::new("/data/set"), false);
        assert_eq!(
            root.sample_path("img/1.png"),
            Ok(PathBuf::from("/data/set/img/1.png"))
        );
        assert!(root.sample_path("img/../img/1.png").is_ok());
        assert!(root.sample_path("/data/set/img/1.png").is_ok());
        for outside in ["/etc/hostname", "../x.png", "a/../../x", "/data/setx/1.png"] {
            let error = root.sample_path(outside).unwrap_err();
            assert!(
                error.contains("the dataset root /data/set")
                    && error.contains("allow_outside_root"),
                "{outside}: {error}"
            );
        }
        assert!(
            root.sample_path("a/../../x")
                .unwrap_err()
                .contains("through `..` leaves")
        );
        let open = SampleRoot::new(Path::new("/data/set"), true);
        assert!(open.sample_path("/etc/hostname").is_ok());
        let derived =
            SampleRoot::new(Path::new("/data/set"), false).also_allow(Path::new("/runs/p"));
        assert!(derived.check(Path::new("/runs/p/files/1.png")).is_ok());
        assert!(derived.check(Path::new("/runs/q/1.png")).is_err());
    }
}
