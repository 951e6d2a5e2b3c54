//! The PyTorch column: `tests/fixtures/backbones/bench_torch_serve.py` run as a child process
//! with the same thread count, asked for one figure at a time so that nona and PyTorch alternate
//! row by row and see the same machine load.
//!
//! The Python is `$NONA_BENCH_PYTHON`, else the workspace's `.venv-bench/bin/python` (which
//! `make bench` installs); without either, or when it cannot start, the column shows `–`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::workload::Workload;

/// The environment variable naming the reference's Python.
const PYTHON_ENV: &str = "NONA_BENCH_PYTHON";

/// The reference process, or why there is none.
pub struct Reference {
    state: Result<Server, String>,
}

struct Server {
    child: Child,
    /// `None` only while dropping: closing it ends the server.
    requests: Option<ChildStdin>,
    answers: BufReader<ChildStdout>,
    torch: String,
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The reference's Python, if one is configured or installed.
pub fn python() -> Option<PathBuf> {
    match std::env::var_os(PYTHON_ENV) {
        Some(python) => Some(PathBuf::from(python)),
        None => Some(workspace().join(".venv-bench/bin/python")).filter(|p| p.is_file()),
    }
}

impl Reference {
    /// Starts the reference with `threads` threads, each figure measured for at least
    /// `min_seconds`.
    pub fn start(threads: usize, min_seconds: f64) -> Self {
        let Some(python) = python() else {
            return Self {
                state: Err(format!(
                    "no reference Python: run `make bench` (installs .venv-bench/) or set {PYTHON_ENV}"
                )),
            };
        };
        Self {
            state: Server::start(&python, threads, min_seconds)
                .map_err(|e| format!("{} could not start the reference: {e}", python.display())),
        }
    }

    /// Items per second of `workload` with PyTorch; `None` when there is no reference or it
    /// failed on this workload (the reason is printed once, on stderr).
    pub fn rate(&mut self, workload: &Workload) -> Option<f64> {
        let server = self.state.as_mut().ok()?;
        match server.ask(workload) {
            Ok(Ok(rate)) => Some(rate),
            Ok(Err(message)) => {
                eprintln!("PyTorch reference, {}: {message}", workload.spec());
                None
            }
            Err(error) => {
                self.state = Err(format!("the reference stopped: {error}"));
                None
            }
        }
    }

    /// "PyTorch VERSION CPU, N threads", or what is missing.
    pub fn label(&self) -> String {
        match &self.state {
            Ok(server) => format!("PyTorch {} CPU", server.torch),
            Err(_) => "PyTorch: –".to_owned(),
        }
    }

    /// Why the PyTorch column is empty, and how to fill it.
    pub fn absence(&self) -> Option<&str> {
        self.state.as_ref().err().map(String::as_str)
    }
}

impl Server {
    fn start(python: &std::path::Path, threads: usize, min_seconds: f64) -> Result<Self, String> {
        let dir = workspace().join("tests/fixtures/backbones");
        let mut child = Command::new(python)
            .arg(dir.join("bench_torch_serve.py"))
            .args(["--threads", &threads.to_string()])
            .args(["--min-seconds", &min_seconds.to_string()])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let requests = child.stdin.take().expect("stdin is piped");
        let mut answers = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let hello = read_json(&mut answers)?;
        let torch = hello["torch"]
            .as_str()
            .ok_or_else(|| format!("unexpected first line {hello}"))?
            .to_owned();
        Ok(Self {
            child,
            requests: Some(requests),
            answers,
            torch,
        })
    }

    /// The answer to one request: `Err` when the process is gone, `Ok(Err)` when it reports a
    /// failure.
    fn ask(&mut self, workload: &Workload) -> Result<Result<f64, String>, String> {
        let requests = self.requests.as_mut().expect("open until dropped");
        writeln!(requests, "{}", workload.request())
            .and_then(|()| requests.flush())
            .map_err(|e| e.to_string())?;
        let answer = read_json(&mut self.answers)?;
        Ok(match (answer["rate"].as_f64(), answer["error"].as_str()) {
            (Some(rate), _) => Ok(rate),
            (None, Some(error)) => Err(error.to_owned()),
            (None, None) => Err(format!("unexpected answer {answer}")),
        })
    }
}

fn read_json(answers: &mut impl BufRead) -> Result<serde_json::Value, String> {
    let mut line = String::new();
    match answers.read_line(&mut line) {
        Ok(0) => Err("it exited (its error is above)".to_owned()),
        Ok(_) => serde_json::from_str(&line).map_err(|e| format!("{e} in `{}`", line.trim())),
        Err(error) => Err(error.to_string()),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // End of input ends the server; wait so that it never outlives the bench.
        drop(self.requests.take());
        let _ = self.child.wait();
    }
}
