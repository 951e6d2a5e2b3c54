//! The uncertainty section's inputs: the test predictions' spread from `train/explanations/`
//! (NONA cells) and `knn/explanations/` (tuned k-NN), one row per prediction (rank 1), scored
//! per method and seed; kept as the report's `uncertainty/` table and read back from it by
//! `nona report`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;
use nona_report::uncertainty::UncertaintyRecord;

use super::collect::{column_rank, knn_method};

/// Explanations table directory name, in the train and knn stage directories.
const EXPLANATIONS: &str = "explanations";

/// The report's table of the scores, in the stage directory.
pub(super) const TABLE: &str = "uncertainty";

/// What the section says when no explanations table exists.
pub(super) const ABSENT: &str = "No neighbour explanations in this run: the train stage wrote no \
`explanations/` table (`[train] explain_top_k = 0`, or a run made before nona wrote them) and \
neither did the knn stage, so there is no spread to score.";

/// Test labels, predictions and spreads of one method and seed.
#[derive(Default)]
struct Scored {
    labels: Vec<f64>,
    predictions: Vec<f64>,
    spreads: Vec<f64>,
}

/// Scores every method and seed whose explanations exist, in Table 1 order; empty when neither
/// stage wrote explanations. `methods` maps train cells to Table 1 names.
pub(super) fn read(
    dataset: &str,
    train: &Path,
    knn: Option<&Path>,
    methods: &BTreeMap<i64, String>,
) -> anyhow::Result<Vec<UncertaintyRecord>> {
    let mut groups: BTreeMap<(String, u64), Scored> = BTreeMap::new();
    let train_dir = train.join(EXPLANATIONS);
    if train_dir.exists() {
        collect(&train_dir, &mut groups, |batch, row, path| {
            let cell = nona_table::i64_column(batch, "cell", path)?.value(row);
            methods.get(&cell).cloned().ok_or_else(|| {
                anyhow::anyhow!("{}: cell {cell} is not in the train grid", path.display())
            })
        })?;
    }
    if let Some(knn_dir) = knn.map(|dir| dir.join(EXPLANATIONS))
        && knn_dir.exists()
    {
        collect(&knn_dir, &mut groups, |batch, row, path| {
            let source = nona_table::string_column(batch, "source", path)?.value(row);
            // Null on the backbone's rows, where knn_method does not read it.
            let cell = batch
                .column(batch.schema().index_of("cell")?)
                .as_primitive::<Int64Type>()
                .value(row);
            knn_method(source, cell, methods, path)
        })?;
    }
    let mut records = groups
        .into_iter()
        .map(|((method, seed), scored)| {
            UncertaintyRecord::compute(
                dataset,
                &method,
                seed,
                &scored.labels,
                &scored.predictions,
                &scored.spreads,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    records.sort_by(|a, b| {
        (column_rank(&a.method), &a.method, a.seed).cmp(&(
            column_rank(&b.method),
            &b.method,
            b.seed,
        ))
    });
    Ok(records)
}

/// The report's `uncertainty` table of `records`.
pub(super) fn batch(records: &[UncertaintyRecord]) -> anyhow::Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        nona_table::schemas::report_uncertainty(),
        vec![
            Arc::new(StringArray::from_iter_values(
                records.iter().map(|r| r.dataset.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                records.iter().map(|r| r.method.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(
                records.iter().map(|r| r.seed as i64),
            )),
            Arc::new(Int64Array::from_iter_values(
                records.iter().map(|r| r.rows as i64),
            )),
            Arc::new(Float64Array::from_iter(
                records
                    .iter()
                    .map(|r| (!r.spearman.is_nan()).then_some(r.spearman)),
            )),
            Arc::new(Float64Array::from_iter_values(
                records.iter().map(|r| r.coverage),
            )),
        ],
    )?)
}

/// Reads a report's `uncertainty` table back (`nona report`).
pub(super) fn read_report_table(dir: &Path) -> anyhow::Result<Vec<UncertaintyRecord>> {
    let table = nona_table::Dataset::open(dir)?;
    let mut records = Vec::new();
    for batch in table.batches() {
        let (batch, path) = batch?;
        let datasets = nona_table::string_column(&batch, "dataset", path)?;
        let methods = nona_table::string_column(&batch, "method", path)?;
        let seeds = nona_table::i64_column(&batch, "seed", path)?;
        let rows = nona_table::i64_column(&batch, "test_rows", path)?;
        let coverage = nona_table::f64_column(&batch, "coverage", path)?;
        // Null where ρ is undefined, so read without the not-null check.
        let spearman = batch
            .column_by_name("spearman")
            .and_then(|column| column.as_primitive_opt::<Float64Type>())
            .ok_or_else(|| anyhow::anyhow!("{}: no float64 column `spearman`", path.display()))?;
        for row in 0..batch.num_rows() {
            records.push(UncertaintyRecord {
                dataset: datasets.value(row).to_owned(),
                method: methods.value(row).to_owned(),
                seed: seeds.value(row) as u64,
                rows: rows.value(row) as usize,
                spearman: if spearman.is_null(row) {
                    f64::NAN
                } else {
                    spearman.value(row)
                },
                coverage: coverage.value(row),
            });
        }
    }
    Ok(records)
}

/// Adds the rank-1 test rows of the explanations table at `dir` to `groups`, under the method
/// `method_of` names for a row.
fn collect(
    dir: &Path,
    groups: &mut BTreeMap<(String, u64), Scored>,
    method_of: impl Fn(&RecordBatch, usize, &Path) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let table = nona_table::Dataset::open(dir)?;
    for batch in table.batches() {
        let (batch, path) = batch?;
        let splits = nona_table::string_column(&batch, "split", path)?;
        let ranks = nona_table::i64_column(&batch, "rank", path)?;
        let seeds = nona_table::i64_column(&batch, "seed", path)?;
        let labels = nona_table::f64_column(&batch, "label", path)?;
        let predictions = nona_table::f64_column(&batch, "prediction", path)?;
        let spreads = nona_table::f64_column(&batch, "spread", path)?;
        for row in 0..batch.num_rows() {
            if splits.value(row) != "test" || ranks.value(row) != 1 {
                continue;
            }
            let method = method_of(&batch, row, path)?;
            let scored = groups.entry((method, seeds.value(row) as u64)).or_default();
            scored.labels.push(labels.value(row));
            scored.predictions.push(predictions.value(row));
            scored.spreads.push(spreads.value(row));
        }
    }
    Ok(())
}
