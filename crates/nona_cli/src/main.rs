//! The `nona` command: validate, run and inspect pipelines.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nona_pipeline::config::{Pipeline, parse_override};
use nona_pipeline::engine::{Engine, RunOptions, StageOutcome, StageReport};
use nona_pipeline::shard::Shard;

/// Exit code for an invalid pipeline file or command line.
const EXIT_INVALID: u8 = 2;
/// Exit code for a run that failed.
const EXIT_FAILED: u8 = 1;

/// nona: embeddings from raw datasets, and neighbour-based regression heads on them.
///
/// A pipeline file (pipelines/*.toml) names a dataset and the stages to run on it
/// (preprocess → embed → train → knn → report). Outputs go to runs/<pipeline>/<stage>/ as
/// Parquet datasets; finished stages are skipped when re-run unchanged.
#[derive(Parser)]
#[command(name = "nona", version, about, long_about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline's stages, skipping those whose inputs and config are unchanged.
    Run {
        /// The pipeline file.
        file: PathBuf,
        /// Run only this stage (and any incomplete stage it depends on).
        #[arg(long, value_name = "NAME")]
        stage: Option<String>,
        /// Recompute the selected stages; their dependents are recomputed on their next run.
        #[arg(long)]
        force: bool,
        /// Do only slice I of N (0-based) of the stage's work; needs --stage. Defaults to the job
        /// array index from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or LSB_JOBINDEX/LSB_JOBINDEX_END.
        #[arg(long, value_name = "I/N")]
        shard: Option<Shard>,
        /// Where run directories go.
        #[arg(
            long,
            value_name = "DIR",
            env = "NONA_RUNS_DIR",
            default_value = "runs"
        )]
        runs_dir: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Check a pipeline file (keys, types, values, referenced files) without running anything.
    Validate {
        /// The pipeline file.
        file: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Predict with a trained model (runs/<pipeline>/train/models/cell-NNNNN) for the rows of an
    /// embeddings table, or for raw inputs (a manifest or files) run through the preprocessing
    /// and backbone the model records; writes a Parquet file, and beside it the neighbours behind
    /// each NONA prediction (<output stem>.explanations.parquet) and the inputs that failed
    /// (<output stem>.errors.parquet). Refused, saying what differs: weights or a tokenizer whose
    /// SHA-256 is not the model's record, a backbone or preprocessing other than the record's
    /// (--pipeline), a model saved without provenance.json.
    Predict {
        /// The model directory (model.safetensors, model.json, provenance.json).
        #[arg(long, value_name = "DIR")]
        model: PathBuf,
        /// An embeddings table (a .parquet file or a directory of parts, e.g. runs/new/embed), or
        /// a glob of raw files, quoted ('photos/*.jpg', 'clips/**/*.wav'): each file's id is its
        /// path relative to the glob's base, the folder before the first wildcard
        /// (photos/a/1.jpg → a/1.jpg).
        #[arg(long, value_name = "TABLE|GLOB", required_unless_present = "manifest")]
        input: Option<String>,
        /// A manifest (.csv or .parquet) with the training pipeline's columns (id, input, and
        /// label when known; sample paths relative to the manifest's folder, through its
        /// input_template).
        #[arg(long, value_name = "FILE", conflicts_with = "input")]
        manifest: Option<PathBuf>,
        /// The Parquet file to write (id, prediction, prediction_scaled, spread, and label if
        /// present).
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
        /// Raw inputs: the backbone's weights file (default: where the training pipeline found
        /// them, else where the embed stage looks).
        #[arg(long, value_name = "PATH")]
        weights: Option<PathBuf>,
        /// Raw text inputs: the tokenizer (default: where the training pipeline found it).
        #[arg(long, value_name = "PATH")]
        tokenizer: Option<PathBuf>,
        /// Raw inputs: take [dataset], [preprocess] and [embed] from this pipeline instead of
        /// the model's record (refused where they would embed differently).
        #[arg(long, value_name = "FILE")]
        pipeline: Option<PathBuf>,
        /// Neighbours kept per NONA prediction (default: the train stage's explain_top_k).
        #[arg(long, value_name = "K")]
        top_k: Option<usize>,
        /// Id column of an embeddings table.
        #[arg(long, default_value = "id")]
        id_column: String,
        /// Embedding column of an embeddings table.
        #[arg(long, default_value = "embedding")]
        embedding_column: String,
        /// Label column of an embeddings table, copied to the output when present.
        #[arg(long, default_value = "label")]
        label_column: String,
    },
    /// Combine finished runs' reports into one Table 1, with the Friedman / Nemenyi comparison
    /// across datasets and its critical-difference diagram.
    Report {
        /// Run directories (runs/<pipeline>) or their report directories.
        #[arg(required = true, num_args = 1..)]
        runs: Vec<PathBuf>,
        /// Where to write report.md, table1.md/.csv, metrics.parquet and plots/.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Title of the combined report.
        #[arg(
            long,
            default_value = "NONA versus dense heads and k-NN across datasets"
        )]
        title: String,
    },
    /// Generate a synthetic dataset in a real dataset's layout (for demos and tests; every
    /// output made from it is labelled synthetic).
    Phantom {
        #[command(subcommand)]
        kind: PhantomKind,
    },
    /// Show the schema, row count, metadata and first rows of a table (a Parquet file or a
    /// directory of parts, e.g. runs/rsna/embed).
    Inspect {
        /// A .parquet file or a directory of parts.
        path: PathBuf,
        /// Rows to show.
        #[arg(long, default_value_t = 5)]
        rows: usize,
    },
}

/// Settings given on the command line, applied on top of the pipeline file.
#[derive(clap::Args)]
struct Overrides {
    /// Override a pipeline key for this invocation, e.g. `--set train.grid.seeds=3` or
    /// `--set 'train.grid.heads=["nona"]'` (a TOML value; a bare word is a string). Repeatable.
    /// Overrides take part in fingerprints like keys in the file.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    set: Vec<(String, toml::Value)>,
    /// Where the backbone runs: `cpu`, or `cuda` (a build with `--features cuda`); the same as
    /// `--set embed.device=...`.
    #[arg(long, value_name = "cpu|cuda")]
    device: Option<String>,
}

impl Overrides {
    fn all(&self) -> Vec<(String, toml::Value)> {
        let mut all = self.set.clone();
        if let Some(device) = &self.device {
            all.push((
                "embed.device".to_owned(),
                toml::Value::String(device.clone()),
            ));
        }
        all
    }
}

#[derive(Subcommand)]
enum PhantomKind {
    /// Hand radiographs in the RSNA Pediatric Bone Age layout (boneage CSV + PNG folder) whose
    /// bone age drives visible anatomy. Re-running with the same settings does nothing.
    Rsna {
        /// The dataset directory to write.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Number of images.
        #[arg(long, default_value_t = 800)]
        count: usize,
        /// Side of the square PNGs, in pixels.
        #[arg(long, default_value_t = 256)]
        size: u32,
        /// Seed; the same settings give byte-identical files.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Validate { file, overrides } => match load(&file, &overrides.all()) {
            Ok((pipeline, stages)) => {
                let names: Vec<&str> = stages.iter().map(|s| s.name()).collect();
                println!(
                    "{}: ok (pipeline `{}`, stages: {})",
                    file.display(),
                    pipeline.name,
                    names.join(" → ")
                );
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Predict {
            model,
            input,
            manifest,
            output,
            weights,
            tokenizer,
            pipeline,
            top_k,
            id_column,
            embedding_column,
            label_column,
        } => {
            let columns = nona_stages::predict::PredictColumns {
                id: &id_column,
                embedding: &embedding_column,
                label: &label_column,
            };
            let input = match (&manifest, &input) {
                (Some(manifest), _) => nona_stages::predict::PredictInput::Manifest(manifest),
                (None, Some(input)) if nona_stages::predict::is_table(input) => {
                    nona_stages::predict::PredictInput::Embeddings {
                        table: Path::new(input),
                        columns,
                    }
                }
                (None, Some(pattern)) => nona_stages::predict::PredictInput::Files(pattern),
                (None, None) => unreachable!("clap requires --input or --manifest"),
            };
            let raw = nona_stages::predict::RawOptions {
                weights,
                tokenizer,
                pipeline,
            };
            match nona_stages::predict::predict(&model, &input, &output, &raw, top_k) {
                Ok(predicted) => {
                    print_predicted(&output, &predicted);
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::from(EXIT_FAILED)
                }
            }
        }
        Command::Phantom {
            kind:
                PhantomKind::Rsna {
                    out,
                    count,
                    size,
                    seed,
                },
        } => {
            let config = nona_phantom::PhantomConfig { count, size, seed };
            let progress = nona_pipeline::progress::Progress::new("phantom", count as u64);
            let result = nona_phantom::generate(&out, &config, |_| progress.advance(1));
            progress.finish();
            match result {
                Ok(summary) if summary.up_to_date() => {
                    println!(
                        "{}: {count} GENERATED phantoms already in place",
                        out.display()
                    );
                    ExitCode::SUCCESS
                }
                Ok(summary) => {
                    println!(
                        "{}: wrote {} GENERATED phantom images and {}",
                        out.display(),
                        summary.images_written,
                        summary.manifest.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::from(EXIT_FAILED)
                }
            }
        }
        Command::Report { runs, out, title } => {
            match nona_stages::report::combine(&runs, &out, &title) {
                Ok(table) => {
                    println!(
                        "{table}\nreport: {}",
                        out.join(nona_stages::report::REPORT_FILE).display()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::from(EXIT_FAILED)
                }
            }
        }
        Command::Inspect { path, rows } => inspect(&path, rows),
        Command::Run {
            file,
            stage,
            force,
            shard,
            runs_dir,
            overrides,
        } => {
            let from_scheduler = shard.is_none();
            let shard = match shard
                .map(Ok)
                .or_else(|| Shard::from_scheduler(|k| std::env::var(k).ok()).transpose())
            {
                None => Shard::WHOLE,
                Some(Ok(shard)) => shard,
                Some(Err(message)) => {
                    eprintln!("error: {message}");
                    return ExitCode::from(EXIT_INVALID);
                }
            };
            let (pipeline, stages) = match load(&file, &overrides.all()) {
                Ok(loaded) => loaded,
                Err(code) => return code,
            };
            if !shard.is_whole() && stage.is_none() && stages.len() > 1 {
                let names: Vec<&str> = stages.iter().map(|s| s.name()).collect();
                let given = if from_scheduler {
                    format!("this is task {shard} of a job array")
                } else {
                    format!("--shard {shard} was given")
                };
                eprintln!(
                    "error: {given}, and shards split one stage's work: add --stage NAME (stages: {}), then run once without a shard to finish the pipeline",
                    names.join(", ")
                );
                return ExitCode::from(EXIT_INVALID);
            }
            if pipeline.synthetic_data() {
                eprintln!(
                    "note: pipeline `{}` runs on GENERATED (synthetic) data; outputs are labelled as such",
                    pipeline.name
                );
            }
            let options = RunOptions {
                stage,
                force,
                shard,
            };
            let mut engine = Engine::new(&pipeline, &runs_dir, stages);
            match engine.run(&options, |report| {
                print_report(&runs_dir, &pipeline, report)
            }) {
                Ok(_) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::from(EXIT_FAILED)
                }
            }
        }
    }
}

/// What `nona predict` wrote.
fn print_predicted(output: &Path, predicted: &nona_stages::predict::Predicted) {
    println!("{} predictions → {}", predicted.rows, output.display());
    match (&predicted.explanations, &predicted.no_explanations) {
        (Some(path), _) => println!("their neighbours → {}", path.display()),
        (None, Some(why)) => println!("no neighbours: {why}"),
        (None, None) => {}
    }
    if let Some(path) = &predicted.errors_file {
        println!(
            "{} input{} failed → {} (nona inspect it)",
            predicted.errors,
            if predicted.errors == 1 { "" } else { "s" },
            path.display()
        );
    }
}

/// `nona inspect`: describes the table at `path` and, for a stage directory (or a table inside
/// one), fails when its parts were made with different fingerprints.
fn inspect(path: &Path, rows: usize) -> ExitCode {
    match nona_table::describe(path, rows) {
        Ok(text) => print!("{text}"),
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    }
    let Some(fingerprint) = stage_fingerprint(path) else {
        return ExitCode::SUCCESS;
    };
    match nona_pipeline::integrity::foreign_parts(path, &fingerprint) {
        Ok(foreign) if foreign.is_empty() => ExitCode::SUCCESS,
        Ok(foreign) => {
            eprintln!(
                "error: {}; recompute the stage with `nona run PIPELINE --force --stage NAME`",
                nona_pipeline::integrity::describe_mixed(path, &fingerprint, &foreign)
            );
            ExitCode::from(EXIT_FAILED)
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// The fingerprint of the stage directory `path` is, or holds the table at `path`: its
/// `_fingerprint`, else its `_record.json`'s.
fn stage_fingerprint(path: &Path) -> Option<String> {
    if !path.is_dir() {
        return None;
    }
    [Some(path), path.parent()]
        .into_iter()
        .flatten()
        .find_map(|dir| {
            std::fs::read_to_string(dir.join("_fingerprint"))
                .ok()
                .map(|text| text.trim().to_owned())
                .or_else(|| {
                    nona_pipeline::engine::RunRecord::load(&dir.join("_record.json"))
                        .ok()
                        .map(|record| record.fingerprint)
                })
        })
}

/// Loads and checks a pipeline, printing every problem found.
fn load(
    file: &Path,
    overrides: &[(String, toml::Value)],
) -> Result<(Pipeline, Vec<Box<dyn nona_pipeline::DynStage>>), ExitCode> {
    let result = Pipeline::load_with(file, nona_stages::STAGES, overrides)
        .and_then(|pipeline| nona_stages::build(&pipeline).map(|stages| (pipeline, stages)));
    result.map_err(|errors| {
        for error in &errors.errors {
            eprintln!("error: {error}");
        }
        let count = errors.errors.len();
        eprintln!(
            "{}: {count} problem{} found; nothing was run",
            file.display(),
            if count == 1 { "" } else { "s" }
        );
        ExitCode::from(EXIT_INVALID)
    })
}

fn print_report(runs_dir: &Path, pipeline: &Pipeline, report: &StageReport) {
    let dir = runs_dir.join(&pipeline.name).join(&report.stage);
    let counts = report
        .record
        .as_ref()
        .map(|r| format!("{} rows, {} errors", r.rows, r.errors))
        .unwrap_or_default();
    match &report.outcome {
        StageOutcome::UpToDate => println!(
            "{:<11} up to date ({counts}) → {}",
            report.stage,
            dir.display()
        ),
        StageOutcome::Completed => {
            let seconds = report.record.as_ref().map_or(0.0, |r| r.seconds);
            println!(
                "{:<11} done in {seconds:.1}s ({counts}) → {}",
                report.stage,
                dir.display()
            );
            if report.record.as_ref().is_some_and(|r| r.errors > 0) {
                println!(
                    "{:<11} failed samples: nona inspect {}",
                    "",
                    dir.join("_errors").display()
                );
            }
        }
        StageOutcome::ShardDone { remaining } => println!(
            "{:<11} this shard's units are done; {remaining} unit{} left for other shards (then run without --shard to finish)",
            report.stage,
            if *remaining == 1 { "" } else { "s" }
        ),
    }
    if report.stage == "report" && report.record.is_some() {
        match nona_stages::report::table1_markdown(&dir) {
            Ok(table) => println!(
                "\nTable 1, test MSE × 10³ (mean ± sd over seeds):\n\n{table}\nreport: {}",
                dir.join(nona_stages::report::REPORT_FILE).display()
            ),
            Err(error) => eprintln!("warning: {error}"),
        }
    }
}
