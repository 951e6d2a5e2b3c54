//! The thread-scaling table: ResNet-18 and EfficientNet-Lite0 at batch 8 and MiniLM-L6 at batch
//! 32 (~64 tokens) with 1, 2, 4, 8 and 16 threads (those up to the machine's cores), nona and
//! PyTorch, with the efficiency `rate(N) / (N × rate(1))`.
//!
//! candle's matmuls run on rayon's global pool, which is sized once per process, so every
//! thread count is measured in a fresh child process of this bench (`RAYON_NUM_THREADS=N`) and a
//! fresh PyTorch reference (`torch.set_num_threads(N)`).

use std::io::Write;
use std::process::Command;

use crate::reference::Reference;
use crate::table::figure;
use crate::workload::Workload;

/// The environment variable that makes this bench a child measuring one workload.
pub const CHILD_ENV: &str = "NONA_BENCH_SCALING_CHILD";

const THREADS: [usize; 5] = [1, 2, 4, 8, 16];

const WORKLOADS: [Workload<'static>; 3] = [
    Workload::Images {
        model: "resnet18",
        batch: 8,
    },
    Workload::Images {
        model: "efficientnet_lite0",
        batch: 8,
    },
    Workload::Text {
        model: "minilm_l6",
        batch: 32,
        tokens: 64,
    },
];

/// The child's side: measures the workload of `spec` and prints its rate alone on stdout.
pub fn child(spec: &str) -> nona_backbones::Result<()> {
    let workload = Workload::parse(spec)
        .ok_or_else(|| nona_backbones::Error::BadInput(format!("bad workload `{spec}`")))?;
    println!("{}", crate::nona::Nona::default().rate(&workload)?);
    Ok(())
}

/// nona's rate of `workload` in a child process with `threads` rayon threads.
fn nona_in_child(workload: &Workload, threads: usize) -> Result<f64, String> {
    let output = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .env(CHILD_ENV, workload.spec())
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    stdout
        .trim()
        .parse()
        .map_err(|_| format!("unexpected output `{}`", stdout.trim()))
}

/// Measures and prints the table, row by row; `min_seconds` is the reference's measuring time.
pub fn table(min_seconds: f64) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (counts, skipped): (Vec<usize>, Vec<usize>) = THREADS.iter().partition(|&&n| n <= cores);
    println!(
        "thread scaling, items/s (every thread count in fresh processes: RAYON_NUM_THREADS=N for nona, \
         torch.set_num_threads(N) for PyTorch; eff. = rate(N) / (N × rate(1)))"
    );
    println!(
        "{:<44} {:>7} | {:>8} {:>6} | {:>8} {:>6} | {:>8}",
        "workload", "threads", "nona", "eff.", "PyTorch", "eff.", "ratio"
    );
    let mut absence = None;
    for workload in &WORKLOADS {
        let mut single = (None, None);
        for &threads in &counts {
            let nona = nona_in_child(workload, threads)
                .inspect_err(|e| eprintln!("nona, {threads} threads, {}: {e}", workload.spec()))
                .ok();
            let mut reference = Reference::start(threads, min_seconds);
            let torch = reference.rate(workload);
            absence = reference.absence().map(str::to_owned);
            if threads == 1 {
                single = (nona, torch);
            }
            let efficiency = |rate: Option<f64>, one: Option<f64>| {
                let efficiency = rate.zip(one).map(|(r, o)| r / (threads as f64 * o));
                figure(efficiency, |e| format!("{e:.2}"))
            };
            let label = if threads == counts[0] {
                workload.describe()
            } else {
                String::new()
            };
            println!(
                "{label:<44} {threads:>7} | {:>8} {:>6} | {:>8} {:>6} | {:>8}",
                figure(nona, |r| format!("{r:.1}")),
                efficiency(nona, single.0),
                figure(torch, |r| format!("{r:.1}")),
                efficiency(torch, single.1),
                figure(nona.zip(torch).map(|(n, t)| n / t), |r| format!("{r:.2}×")),
            );
            let _ = std::io::stdout().flush();
        }
    }
    if !skipped.is_empty() {
        let skipped: Vec<String> = skipped.iter().map(usize::to_string).collect();
        println!(
            "skipped: {} threads (more than the {cores} cores of this machine)",
            skipped.join(", ")
        );
    }
    if let Some(absence) = absence {
        println!("PyTorch –: {absence}");
    }
    println!();
}
