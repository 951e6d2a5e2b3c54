//! The Hugging Face hub cache layout: `<hub>/models--org--name/{refs/<rev>, snapshots/<commit>/<file>, blobs/}`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::sha256_file;
use crate::{Error, Result};

/// A file of a model repository on the Hugging Face hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HfFile {
    /// `org/name`.
    pub repo: &'static str,
    /// Branch, tag or 40-hex commit.
    pub revision: &'static str,
    /// Path of the file in the repository.
    pub file: &'static str,
}

impl HfFile {
    /// Download URL of the file.
    pub fn url(&self) -> String {
        format!(
            "https://huggingface.co/{}/resolve/{}/{}",
            self.repo, self.revision, self.file
        )
    }
}

/// `<hub>/models--org--name`.
fn repo_dir(hub: &Path, repo: &str) -> PathBuf {
    hub.join(format!("models--{}", repo.replace('/', "--")))
}

/// Whether `revision` is a commit hash as the hub writes it: 40 lowercase hex digits (and so a
/// safe path component).
fn is_commit(revision: &str) -> bool {
    revision.len() == 40
        && revision
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `<hub>/models--org--name/snapshots/<commit>/<file>`.
pub(super) fn snapshot_path(hub: &Path, hf: &HfFile, commit: &str) -> PathBuf {
    repo_dir(hub, hf.repo)
        .join("snapshots")
        .join(commit)
        .join(hf.file)
}

/// The cached file, if present: a commit revision is used directly, a branch or tag through `refs/`.
pub(super) fn cached_file(hub: &Path, hf: &HfFile) -> Option<PathBuf> {
    let commit = if is_commit(hf.revision) {
        hf.revision.to_owned()
    } else {
        let commit =
            std::fs::read_to_string(repo_dir(hub, hf.repo).join("refs").join(hf.revision)).ok()?;
        Some(commit.trim().to_owned()).filter(|c| is_commit(c))?
    };
    let path = snapshot_path(hub, hf, &commit);
    path.is_file().then_some(path)
}

/// Downloads the file with `curl` into the cache layout (blob named by its sha256, snapshot link,
/// `refs/<revision>`), the way `huggingface_hub` would, and returns the snapshot path.
///
/// `curl` rather than an HTTP crate: it keeps TLS stacks out of every build of nona for a path that
/// runs once per machine; without it, the error says which file to fetch by hand.
pub(super) fn download(hub: &Path, hf: &HfFile) -> Result<PathBuf> {
    let url = hf.url();
    let download_error = |message: String| Error::Download {
        url: url.clone(),
        message,
    };
    let blobs = repo_dir(hub, hf.repo).join("blobs");
    std::fs::create_dir_all(&blobs).map_err(|e| Error::io(&blobs, e))?;
    let partial = blobs.join(format!("{}.incomplete", std::process::id()));
    let headers = blobs.join(format!("{}.headers", std::process::id()));
    let status = Command::new("curl")
        .args([
            "--fail",
            "--location",
            "--silent",
            "--show-error",
            "--dump-header",
        ])
        .arg(&headers)
        .arg("--output")
        .arg(&partial)
        .arg(&url)
        .status()
        .map_err(|e| download_error(format!("cannot run curl: {e}")))?;
    let header_text = std::fs::read_to_string(&headers).unwrap_or_default();
    // Best-effort cleanup of the header dump; its content is already read.
    let _ = std::fs::remove_file(&headers);
    if !status.success() {
        // The partial file is useless; a failed removal changes nothing for the caller.
        let _ = std::fs::remove_file(&partial);
        return Err(download_error(format!("curl exited with {status}")));
    }
    let commit = match commit_of_response(&header_text, hf.revision) {
        Ok(commit) => commit,
        Err(message) => {
            // Nothing is stored under a name the server chose; the download is discarded.
            let _ = std::fs::remove_file(&partial);
            return Err(download_error(message));
        }
    };
    let blob = blobs.join(sha256_file(&partial)?);
    std::fs::rename(&partial, &blob).map_err(|e| Error::io(&blob, e))?;
    if !is_commit(hf.revision) {
        let refs = repo_dir(hub, hf.repo).join("refs");
        std::fs::create_dir_all(&refs).map_err(|e| Error::io(&refs, e))?;
        std::fs::write(refs.join(hf.revision), &commit).map_err(|e| Error::io(&refs, e))?;
    }
    let snapshot = snapshot_path(hub, hf, &commit);
    if let Some(parent) = snapshot.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    link_snapshot(&blob, &snapshot, hf.file).map_err(|e| Error::io(&snapshot, e))?;
    Ok(snapshot)
}

/// The commit a download resolved to: the last `x-repo-commit` response header (redirects dump
/// several header blocks), else `revision` itself when it is a commit. The commit names a
/// directory of the cache, so anything but a commit hash is refused.
fn commit_of_response(headers: &str, revision: &str) -> std::result::Result<String, String> {
    let received = headers
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("x-repo-commit"))
        .map(|(_, value)| value.trim())
        .next_back();
    match received {
        Some(commit) if is_commit(commit) => Ok(commit.to_owned()),
        Some(other) => Err(format!(
            "the server's `x-repo-commit` header is {other:?}, not a commit hash (40 lowercase hex digits); nothing was stored"
        )),
        None if is_commit(revision) => Ok(revision.to_owned()),
        None => Err(format!(
            "the response has no `x-repo-commit` header, so the commit of revision `{revision}` is unknown; nothing was stored"
        )),
    }
}

/// Points the snapshot entry at its blob: a relative symlink as `huggingface_hub` makes, else a copy.
fn link_snapshot(blob: &Path, snapshot: &Path, file: &str) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let depth = 2 + file.matches('/').count();
        let blob_name = blob.file_name().unwrap_or_default();
        let target = PathBuf::from("../".repeat(depth))
            .join("blobs")
            .join(blob_name);
        if std::os::unix::fs::symlink(target, snapshot).is_ok() {
            return Ok(());
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    std::fs::copy(blob, snapshot).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: HfFile = HfFile {
        repo: "timm/resnet18.tv_in1k",
        revision: "main",
        file: "model.safetensors",
    };

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn the_commit_header_must_be_a_commit_hash() {
        let headers = |commit: &str| {
            format!(
                "HTTP/2 302\r\nlocation: /x\r\n\r\nHTTP/2 200\r\nX-Repo-Commit: {commit}\r\n\r\n"
            )
        };
        assert_eq!(
            commit_of_response(&headers(COMMIT), "main"),
            Ok(COMMIT.to_owned())
        );
        for hostile in [
            "../../../../etc",
            "..",
            "",
            "0123456789ABCDEF0123456789ABCDEF01234567",
            "0123456789abcdef0123456789abcdef0123456",
            "0123456789abcdef0123456789abcdef012345678",
            "0123456789abcdef0123456789abcdef0123456/",
        ] {
            let error = commit_of_response(&headers(hostile), "main").unwrap_err();
            assert!(
                error.contains(&format!("{hostile:?}")) && error.contains("not a commit hash"),
                "{hostile:?}: {error}"
            );
        }
        // Without the header, only a pinned commit is known.
        assert_eq!(
            commit_of_response("HTTP/2 200\r\n", COMMIT),
            Ok(COMMIT.to_owned())
        );
        let error = commit_of_response("HTTP/2 200\r\n", "main").unwrap_err();
        assert!(error.contains("no `x-repo-commit` header"), "{error}");
    }

    #[test]
    fn a_ref_that_is_not_a_commit_is_not_followed() {
        let hub = tempfile::tempdir().unwrap();
        let repo = hub.path().join("models--timm--resnet18.tv_in1k");
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::create_dir_all(hub.path().join("elsewhere")).unwrap();
        std::fs::write(hub.path().join("elsewhere/model.safetensors"), b"x").unwrap();
        std::fs::write(repo.join("refs/main"), "../../elsewhere\n").unwrap();
        std::fs::create_dir_all(repo.join("snapshots")).unwrap();
        assert_eq!(cached_file(hub.path(), &FILE), None);
    }

    #[test]
    fn resolves_a_branch_through_refs() {
        let hub = tempfile::tempdir().unwrap();
        let commit = COMMIT;
        let repo = hub.path().join("models--timm--resnet18.tv_in1k");
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), format!("{commit}\n")).unwrap();
        assert_eq!(cached_file(hub.path(), &FILE), None, "no snapshot yet");
        let snapshot = repo.join("snapshots").join(commit);
        std::fs::create_dir_all(&snapshot).unwrap();
        std::fs::write(snapshot.join("model.safetensors"), b"x").unwrap();
        assert_eq!(
            cached_file(hub.path(), &FILE),
            Some(snapshot.join("model.safetensors"))
        );
        let pinned = HfFile {
            revision: commit,
            ..FILE
        };
        assert_eq!(
            cached_file(hub.path(), &pinned),
            Some(snapshot.join("model.safetensors"))
        );
    }
}
