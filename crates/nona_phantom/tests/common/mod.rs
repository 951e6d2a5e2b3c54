//! Helpers shared by the integration tests: reading what `generate` wrote.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use nona_phantom::{IMAGE_DIR, MANIFEST_FILE, PhantomConfig};

/// A small config that keeps debug-build tests fast.
pub fn small(count: usize, seed: u64) -> PhantomConfig {
    PhantomConfig {
        count,
        size: 128,
        seed,
    }
}

/// One parsed row of `boneage-training-dataset.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    pub id: u64,
    pub boneage: u32,
    pub male: bool,
}

/// Parses `boneage-training-dataset.csv` strictly: header, integer id and bone age, `True`/`False`.
pub fn read_manifest(dir: &Path) -> Vec<Row> {
    let text =
        std::fs::read_to_string(dir.join(MANIFEST_FILE)).expect("boneage-training-dataset.csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,boneage,male"), "header");
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 3, "row {line:?}");
            let male = match fields[2] {
                "True" => true,
                "False" => false,
                other => panic!("male = {other:?} in {line:?}"),
            };
            Row {
                id: fields[0].parse().expect("integer id"),
                boneage: fields[1].parse().expect("integer boneage"),
                male,
            }
        })
        .collect()
}

/// Path of the PNG of `id`.
pub fn png_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(IMAGE_DIR).join(format!("{id}.png"))
}

/// Decodes a PNG, requiring 8-bit grayscale.
pub fn read_gray(path: &Path) -> image::GrayImage {
    let decoded = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        decoded.color(),
        image::ColorType::L8,
        "{} is not 8-bit grayscale",
        path.display()
    );
    decoded.into_luma8()
}

/// Every file under `dir` (relative path -> bytes).
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                out.insert(path.strip_prefix(dir).expect("prefix").to_path_buf(), bytes);
            }
        }
    }
    out
}

/// Modification time of every file under `dir`.
pub fn mtimes(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    snapshot(dir)
        .into_keys()
        .map(|rel| {
            let modified = std::fs::metadata(dir.join(&rel))
                .and_then(|m| m.modified())
                .expect("mtime");
            (rel, modified)
        })
        .collect()
}

/// Ranks with ties averaged (1-based).
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// Spearman's rank correlation.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}
