//! CPU throughput of what the embed stage runs, nona beside PyTorch from one run, one table per
//! modality (nona | PyTorch | ratio = nona / PyTorch):
//! - image backbones at batch 1, 8 and 32 (224×224), images/s;
//! - text backbones (MiniLM-L6, BERT-base) at batch 32 on sentences of ~64 and ~128 tokens
//!   (lengths spread ±25 %, batched by similar length and padded as the stage does), sentences/s;
//! - the Whisper tiny encoder on 30 s windows (log-mel included) at batch 1 and 8, clips/s;
//! - audio preparation (decode a 10 s 44.1 kHz stereo 16-bit WAV, downmix, resample to 16 kHz,
//!   denoise), seconds of audio per second, nona only;
//! - thread scaling ([`scaling`]).
//!
//! `cargo bench -p nona_backbones --bench backbones [-- NAME...]` (NAME: a backbone, `audio` or
//! `scaling`); `make bench` installs the PyTorch reference ([`reference`]) first. Each PyTorch
//! figure is measured right after nona's, with as many threads, on the same inputs
//! (`tests/fixtures/backbones/bench_torch_serve.py`). Synthetic / random weights: speed does not
//! depend on their values.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a bench reports its measurements"
)]

mod audio_prep;
mod inputs;
mod nona;
mod reference;
mod scaling;
mod table;
mod workload;

use nona_backbones::{InputKind, backbone_names_for};

use nona::{MIN_TIME, Nona};
use reference::Reference;
use table::Cell;
use workload::Workload;

const IMAGE_BATCHES: [usize; 3] = [1, 8, 32];
const TEXT_BATCH: usize = 32;
const TEXT_TOKENS: [usize; 2] = [64, 128];
const WHISPER_BATCHES: [usize; 2] = [1, 8];

fn main() -> nona_backbones::Result<()> {
    if let Ok(spec) = std::env::var(scaling::CHILD_ENV) {
        return scaling::child(&spec);
    }
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let selected = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    let threads = candle_core::utils::get_num_threads();
    let mut reference = Reference::start(threads, MIN_TIME.as_secs_f64());
    let nona = &mut Nona::default();
    let context = format!(
        "nona CPU, {threads} threads; {}, {threads} threads",
        reference.label()
    );
    let images: Vec<&str> = backbone_names_for(InputKind::Image)
        .filter(|n| selected(n))
        .collect();
    if !images.is_empty() {
        let columns = IMAGE_BATCHES.map(|b| format!("batch {b}"));
        table::start(
            &format!("image backbones, images/s ({context})"),
            "backbone",
            &columns,
        );
        for model in images {
            let cells = IMAGE_BATCHES.map(|batch| Workload::Images { model, batch });
            table::row(model, &measure(nona, &mut reference, &cells)?);
        }
        println!();
    }
    let texts: Vec<&str> = ["minilm_l6", "bert_base"]
        .into_iter()
        .filter(|n| selected(n))
        .collect();
    if !texts.is_empty() {
        let columns = TEXT_TOKENS.map(|t| format!("~{t} tokens"));
        let title =
            format!("text backbones, sentences/s at batch {TEXT_BATCH} (lengths ±25 %; {context})");
        table::start(&title, "backbone", &columns);
        for model in texts {
            let cells = TEXT_TOKENS.map(|tokens| Workload::Text {
                model,
                batch: TEXT_BATCH,
                tokens,
            });
            table::row(model, &measure(nona, &mut reference, &cells)?);
        }
        println!();
    }
    if selected("whisper_tiny_en") {
        let columns = WHISPER_BATCHES.map(|b| format!("batch {b}"));
        let title = format!("whisper_tiny_en, 30 s clips/s ({context})");
        table::start(&title, "", &columns);
        let encoder = WHISPER_BATCHES.map(|batch| Workload::Whisper { batch });
        table::row(
            "log-mel + encoder",
            &measure(nona, &mut reference, &encoder)?,
        );
        let log_mel = measure(nona, &mut reference, &[Workload::LogMel])?;
        table::row("log-mel only, one clip", &log_mel);
        println!();
    }
    if let Some(absence) = reference.absence() {
        println!("PyTorch –: {absence}\n");
    }
    drop(reference);
    if selected("audio") {
        audio_prep::table();
    }
    if selected("scaling") {
        scaling::table(MIN_TIME.as_secs_f64());
    }
    Ok(())
}

/// nona then PyTorch on each workload in turn, so that both see the same machine load.
fn measure(
    nona: &mut Nona,
    reference: &mut Reference,
    workloads: &[Workload],
) -> nona_backbones::Result<Vec<Cell>> {
    workloads
        .iter()
        .map(|workload| {
            Ok(Cell {
                nona: nona.rate(workload)?,
                torch: reference.rate(workload),
            })
        })
        .collect()
}
