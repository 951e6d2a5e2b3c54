//! Shared helpers for CLI tests: a generated image dataset and a way to run `nona`.

#![allow(dead_code, missing_docs)]

use std::path::{Path, PathBuf};

use nona_table::schemas::SchemaFile;
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
