//! Shared helpers for CLI tests: a generated image dataset, a user-supplied embeddings table
//! with a pipeline for the train, knn and report stages, and a way to run `nona`.

#![allow(dead_code, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array, StringArray};
use arrow::datatypes::{Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;

use nona_table::schemas::SchemaFile;
use nona_testkit::Gap;
use std::process::{Command, Output};

/// The `nona` binary under test.
pub fn nona() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nona"));
    command
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("LSB_JOBINDEX")
        .env_remove("NONA_RUNS_DIR");
    command
}

/// Runs `nona` with `args` in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    nona()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("nona starts")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes `count` small PNGs (`img/<id>.png`, varying size and colour) and `labels.csv`
/// (`id,path,label,group`) under `root`; `bad` ids get a corrupt file, a missing file or a bad
/// label. Returns the ids that should survive preprocessing.
pub fn image_dataset(root: &Path, count: usize) -> Vec<String> {
    std::fs::create_dir_all(root.join("img")).unwrap();
    let mut csv = String::from("id,path,label,group\n");
    let mut good = Vec::new();
    for i in 0..count {
        let id = format!("s{i:04}");
        let path = format!("img/{id}.png");
        let label = match i % 17 {
            5 => "not-a-number".to_owned(),
            _ => format!("{}", (i as f64) * 0.5),
        };
        match i % 23 {
            7 => std::fs::write(root.join(&path), b"\x89PNG\r\n\x1a\ngarbage").unwrap(),
            11 => {} // missing file
            _ => {
                let (w, h) = (8 + (i % 5) as u32, 6 + (i % 3) as u32);
                let img = image::RgbImage::from_fn(w, h, |x, y| {
                    image::Rgb([(i * 7 % 256) as u8, (x * 20) as u8, (y * 30) as u8])
                });
                img.save(root.join(&path)).unwrap();
            }
        }
        if i % 17 != 5 && i % 23 != 7 && i % 23 != 11 {
            good.push(id.clone());
        }
        csv.push_str(&format!("{id},{path},{label},g{}\n", i % 10));
    }
    std::fs::write(root.join("labels.csv"), csv).unwrap();
    good
}

/// A pipeline file over [`image_dataset`] at `data`, written to `dir/name.toml`.
pub fn image_pipeline(dir: &Path, name: &str, data: &Path, shard_rows: usize) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            r#"description = "test pipeline"

[dataset]
root = "{}"
manifest = "labels.csv"
modality = "image"
group_column = "group"
synthetic = true

[preprocess]
shard_rows = {shard_rows}

[preprocess.image]
transforms = [{{ resize = [4, 4] }}, {{ normalize = "half" }}]
"#,
            data.display()
        ),
    )
    .unwrap();
    path
}

/// All rows of a table directory as sorted debug strings, for equality checks.
pub fn table_rows(dir: &Path) -> Vec<String> {
    let dataset = nona_table::Dataset::open(dir).expect("table opens");
    let mut rows = Vec::new();
    for batch in dataset.read_all().unwrap() {
        for r in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .map(|c| arrow::util::display::array_value_to_string(c, r).unwrap())
                .collect();
            rows.push(cells.join("|"));
        }
    }
    rows
}

/// A documented schema from the repository's `schemas/`.
pub fn schema_file(name: &str) -> SchemaFile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas")
        .join(name);
    SchemaFile::load(&path).unwrap()
}

/// Asserts every part of the table at `table` matches `schema`.
pub fn assert_conforms(schema: &SchemaFile, table: &Path) {
    let dataset = nona_table::Dataset::open(table).unwrap();
    for part in dataset.parts() {
        let one = nona_table::Dataset::open(&part.path).unwrap();
        let problems = schema.violations(&one.schema(), one.metadata());
        assert!(
            problems.is_empty(),
            "{} vs schemas/{}.schema.json: {problems:#?}",
            part.path.display(),
            schema.table
        );
    }
}

/// The repository root (for `weights/` and `tests/fixtures/`).
pub const REPO_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The repository's weights directory: `$NONA_WEIGHTS_DIR` when set, else `<repo>/weights`
/// (filled by `make weights`).
pub fn repo_weights_dir() -> PathBuf {
    std::env::var_os("NONA_WEIGHTS_DIR")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(REPO_ROOT).join("weights"), PathBuf::from)
}

/// `relative` under [`repo_weights_dir`], or `None` (with a SKIPPED line on stderr naming
/// `test`) when `make weights` has not been run.
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
pub fn real_weights(test: &str, relative: &str) -> Option<PathBuf> {
    let path = repo_weights_dir().join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED {test}: {} is missing; run `make weights`",
            path.display()
        );
        None
    }
}

/// Ids, row-major embeddings and width of an `embeddings` table, in table order.
pub fn read_embeddings(dir: &Path) -> (Vec<String>, Vec<f32>, usize) {
    let dataset = nona_table::Dataset::open(dir).unwrap();
    let (mut ids, mut values, mut dim) = (Vec::new(), Vec::new(), 0);
    for batch in dataset.read_all().unwrap() {
        let id = nona_table::string_column(&batch, "id", dir).unwrap();
        ids.extend((0..batch.num_rows()).map(|r| id.value(r).to_owned()));
        let (v, d) = nona_table::embedding_rows(&batch, "embedding", dir).unwrap();
        values.extend(v);
        dim = d;
    }
    (ids, values, dim)
}

/// Footer metadata of the first part of the table at `dir`.
pub fn table_metadata(dir: &Path) -> nona_table::Metadata {
    nona_table::Dataset::open(dir).unwrap().metadata().clone()
}

/// The errors table at `dir` as `(id, source, message)`, sorted by id; empty when absent.
pub fn error_rows(dir: &Path) -> Vec<(String, String, String)> {
    if !dir.exists() {
        return Vec::new();
    }
    let dataset = nona_table::Dataset::open(dir).unwrap();
    let mut rows = Vec::new();
    for batch in dataset.read_all().unwrap() {
        let ids = nona_table::optional_string_column(&batch, "id", dir).unwrap();
        let sources = nona_table::string_column(&batch, "source", dir).unwrap();
        let messages = nona_table::string_column(&batch, "message", dir).unwrap();
        for r in 0..batch.num_rows() {
            let id = ids.map_or(String::new(), |ids| ids.value(r).to_owned());
            rows.push((
                id,
                sources.value(r).to_owned(),
                messages.value(r).to_owned(),
            ));
        }
    }
    rows.sort();
    rows
}

/// Writes 16-bit PCM WAV `path` with `channels` identical channels of `samples` (in `[-1, 1]`).
pub fn write_wav(path: &Path, samples: &[f32], rate: u32, channels: u16) {
    let data_len = (samples.len() * 2 * usize::from(channels)) as u32;
    let mut bytes = Vec::with_capacity(44 + data_len as usize);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&channels.to_le_bytes());
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&(rate * 2 * u32::from(channels)).to_le_bytes());
    bytes.extend_from_slice(&(2 * channels).to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for &s in samples {
        let value = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        for _ in 0..channels {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
    }
    std::fs::write(path, bytes).unwrap();
}

/// `seconds` of a sine at `freq` Hz and amplitude `amplitude`, sampled at `rate`.
pub fn sine(freq: f32, amplitude: f32, seconds: f32, rate: u32) -> Vec<f32> {
    let n = (seconds * rate as f32).round() as usize;
    (0..n)
        .map(|i| amplitude * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
        .collect()
}

/// The parity tolerance of a stage row against the library's embedding of the same input alone
/// (relative to the largest expected value).
pub const PARITY_TOLERANCE: f64 = 1e-5;

/// Asserts `actual` is within [`PARITY_TOLERANCE`] of `expected` and reports the error (run with
/// `--nocapture` to see it).
#[allow(clippy::print_stdout, reason = "the measured errors are reported")]
pub fn assert_parity(label: &str, actual: &[f32], expected: &[f32]) {
    let gap = Gap::between(actual, expected);
    println!("parity {label}: relative error {:.2e}", gap.relative());
    assert!(gap.relative() < PARITY_TOLERANCE, "{label}: {gap}");
}

/// Width of the embeddings [`write_embeddings`] writes.
pub const DIM: usize = 6;

/// Writes `rows` embeddings (a smooth non-linear target of the first two features, plus groups
/// of three rows when `grouped`) as a Parquet file like the embed stage's.
pub fn write_embeddings(path: &Path, rows: usize, grouped: bool) {
    let mut state = 0x9e37_79b9_u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((state >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
    };
    let mut features = Vec::with_capacity(rows * DIM);
    let mut labels = Vec::with_capacity(rows);
    for _ in 0..rows {
        let x: Vec<f64> = (0..DIM).map(|_| uniform()).collect();
        labels.push(10.0 * (2.0 * x[0]).sin() + 5.0 * x[1] * x[1] + 40.0);
        features.extend(x.iter().map(|&v| v as f32));
    }
    let ids: StringArray = (0..rows).map(|i| Some(format!("s{i:04}"))).collect();
    let groups: StringArray = (0..rows)
        .map(|i| grouped.then(|| format!("g{}", i / 3)))
        .collect();
    let batch = RecordBatch::try_new(
        nona_table::schemas::embeddings(DIM),
        vec![
            Arc::new(ids),
            Arc::new(Float64Array::from(labels)),
            Arc::new(groups),
            Arc::new(nona_table::embedding_array(features, DIM)),
        ],
    )
    .unwrap();
    nona_table::write_part(
        path,
        nona_table::schemas::embeddings(DIM),
        &[batch],
        &nona_table::Metadata::new(),
    )
    .unwrap();
}

/// A pipeline training both heads over `seeds` seeds on `emb.parquet`, then k-NN and the report.
pub fn write_pipeline(dir: &Path, name: &str, seeds: usize, threads: usize) {
    std::fs::write(
        dir.join(format!("{name}.toml")),
        format!(
            r#"description = "heads on a toy table"

[train]
input = "emb.parquet"
threads = {threads}

[train.grid]
seeds = {seeds}
hidden = [16]
embedding_dims = [4]
batch_sizes = [16]

[train.grid.optim]
max_epochs = 12
patience = 3
start_after_epoch = 2

[knn]
k = [3, 5]

[report]
dataset = "toy"
"#
        ),
    )
    .unwrap();
}

/// Every batch of the table at `dir`.
pub fn read(dir: &Path) -> Vec<RecordBatch> {
    nona_table::Dataset::open(dir).unwrap().read_all().unwrap()
}

/// (cell, seed, id) → split, from a predictions table (cell −1 when null).
pub fn splits_of(dir: &Path) -> BTreeMap<(i64, i64, String), String> {
    let mut splits = BTreeMap::new();
    for batch in read(dir) {
        let cells = batch
            .column_by_name("cell")
            .unwrap()
            .as_primitive::<Int64Type>();
        let seeds = batch
            .column_by_name("seed")
            .unwrap()
            .as_primitive::<Int64Type>();
        let ids = batch.column_by_name("id").unwrap().as_string::<i32>();
        let names = batch.column_by_name("split").unwrap().as_string::<i32>();
        for r in 0..batch.num_rows() {
            let cell = if cells.is_null(r) { -1 } else { cells.value(r) };
            splits.insert(
                (cell, seeds.value(r), ids.value(r).to_owned()),
                names.value(r).to_owned(),
            );
        }
    }
    splits
}

/// A k-NN prediction's source, cell (−1 for the backbone), seed and sample id.
pub type KnnKey = (String, i64, i64, String);

/// The knn stage's predictions.
pub fn knn_predictions(run: &Path) -> BTreeMap<KnnKey, f64> {
    let mut got = BTreeMap::new();
    for batch in read(&run.join("knn/predictions")) {
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        let cells = column("cell");
        let cells = cells.as_primitive::<Int64Type>();
        for r in 0..batch.num_rows() {
            let key = (
                column("source").as_string::<i32>().value(r).to_owned(),
                if cells.is_null(r) { -1 } else { cells.value(r) },
                column("seed").as_primitive::<Int64Type>().value(r),
                column("id").as_string::<i32>().value(r).to_owned(),
            );
            got.insert(
                key,
                column("prediction").as_primitive::<Float64Type>().value(r),
            );
        }
    }
    got
}
