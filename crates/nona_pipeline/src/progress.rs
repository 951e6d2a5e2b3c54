//! Progress for long stages: a bar with rate and ETA on a terminal, periodic log lines otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often plain log lines are written when stderr is not a terminal.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Counts finished items of one stage and shows it.
pub struct Progress {
    label: String,
    total: u64,
    started: Instant,
    view: View,
}

enum View {
    Bar(ProgressBar),
    Log(Mutex<LogState>),
}

struct LogState {
    done: u64,
    last_line: Instant,
}

impl Progress {
    /// Starts tracking `total` items labelled `label` (e.g. the stage name).
    pub fn new(label: &str, total: u64) -> Self {
        let view = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>10} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(label.to_owned());
            View::Bar(bar)
        } else {
            View::Log(Mutex::new(LogState {
                done: 0,
                last_line: Instant::now(),
            }))
        };
        Self {
            label: label.to_owned(),
            total,
            started: Instant::now(),
            view,
        }
    }

    /// Records `count` more finished items.
    pub fn advance(&self, count: u64) {
        match &self.view {
            View::Bar(bar) => bar.inc(count),
            View::Log(state) => {
                let mut state = state.lock().expect("progress lock");
                state.done += count;
                if state.last_line.elapsed() >= LOG_INTERVAL {
                    state.last_line = Instant::now();
                    log_line(&self.label, state.done, self.total, self.started.elapsed());
                }
            }
        }
    }

    /// Clears the bar (a terminal) or writes a closing line.
    pub fn finish(&self) {
        match &self.view {
            View::Bar(bar) => bar.finish_and_clear(),
            View::Log(state) => {
                let done = state.lock().expect("progress lock").done;
                if self.started.elapsed() >= LOG_INTERVAL {
                    log_line(&self.label, done, self.total, self.started.elapsed());
                }
            }
        }
    }
}

#[allow(clippy::print_stderr)]
fn log_line(label: &str, done: u64, total: u64, elapsed: Duration) {
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-9);
    let eta = if rate > 0.0 {
        format!("{:.0}s", total.saturating_sub(done) as f64 / rate)
    } else {
        "?".to_owned()
    };
    eprintln!("[{label}] {done}/{total} ({rate:.1}/s, ETA {eta})");
}
