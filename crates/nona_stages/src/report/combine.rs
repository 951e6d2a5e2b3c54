//! `nona report`: one Table 1 across several runs' reports, with the Friedman / Nemenyi
//! comparison across datasets and its critical-difference diagram.
//!
//! Missing results follow the report stage's rule: each run's footer says which seeds it asked
//! for and which results are missing (a report written before it did counts the seeds any of its
//! methods has as asked for), Table 1 shows n where a method is short, the banner lists them, and
//! the statistics use only the seeds every compared method has.

use std::path::{Path, PathBuf};

use anyhow::Context;
use nona_pipeline::run_dir::write_atomic;
use nona_report::analysis::Analysis;
use nona_report::markdown::{
    Backbone, DataSource, DatasetRun, MissingResult, PlotLink, RunDescription, render_report,
};
use nona_report::plots::{CdDiagram, critical_difference_diagram};
use nona_report::table::{MseRecord, ResultsTable};

use super::{REPORT_FILE, figures::PLOTS_DIR, pairs, records_batch};

/// Footer keys the report stage writes so that runs can be combined later.
pub(super) const KEY_DATASET: &str = "nona.report.dataset";
pub(super) const KEY_GENERATED: &str = "nona.report.generated";
pub(super) const KEY_SUBSTITUTES_FOR: &str = "nona.report.substitutes_for";
/// The seeds the run asked for, a JSON list.
pub(super) const KEY_SEEDS: &str = "nona.report.seeds";
/// The results it asked for but is missing, a JSON list of `{dataset, method, seed, reason}`.
pub(super) const KEY_MISSING: &str = "nona.report.missing";

/// One run's report, as `nona report` combines it.
struct RunReport {
    records: Vec<MseRecord>,
    dataset: DatasetRun,
    /// Seeds the run asked for.
    seeds: Vec<u64>,
    missing: Vec<MissingResult>,
}

/// The `report/metrics` table of a run, given the run directory, its `report` directory or the
/// table itself.
fn metrics_dir(path: &Path) -> PathBuf {
    for candidate in [path.join("report/metrics"), path.join("metrics")] {
        if candidate.is_dir() {
            return candidate;
        }
    }
    path.to_path_buf()
}

/// Reads one run's Table 1 records, what it was run on and what it is missing.
fn read_run(path: &Path) -> anyhow::Result<RunReport> {
    let dir = metrics_dir(path);
    let table = nona_table::Dataset::open(&dir).with_context(|| {
        format!(
            "{}: not a report (run the report stage first)",
            path.display()
        )
    })?;
    let metadata = table.metadata();
    let mut records = Vec::new();
    for batch in table.read_all()? {
        let datasets = nona_table::string_column(&batch, "dataset", &dir)?;
        let methods = nona_table::string_column(&batch, "method", &dir)?;
        let seeds = nona_table::i64_column(&batch, "seed", &dir)?;
        let values = nona_table::f64_column(&batch, "mse_x1e3", &dir)?;
        for row in 0..batch.num_rows() {
            records.push(MseRecord::new(
                datasets.value(row),
                methods.value(row),
                seeds.value(row) as u64,
                values.value(row),
            ));
        }
    }
    let name = metadata
        .get(KEY_DATASET)
        .cloned()
        .or_else(|| records.first().map(|r| r.dataset.clone()))
        .unwrap_or_else(|| path.display().to_string());
    let data = match metadata.get("nona.synthetic").map(String::as_str) {
        Some("true") => DataSource::Generated {
            how: metadata
                .get(KEY_GENERATED)
                .cloned()
                .unwrap_or_else(|| "see the run's report.md".to_owned()),
        },
        _ => DataSource::Real,
    };
    let backbone = Backbone {
        name: metadata
            .get("nona.model_id")
            .cloned()
            .unwrap_or_else(|| "user-supplied embeddings".to_owned()),
        weights: super::weights_of(metadata),
        substitutes_for: metadata.get(KEY_SUBSTITUTES_FOR).cloned(),
    };
    let footer = |key: &str| -> anyhow::Result<Option<serde_json::Value>> {
        metadata
            .get(key)
            .map(|text| serde_json::from_str(text))
            .transpose()
            .with_context(|| format!("{}: footer key `{key}` is not valid JSON", dir.display()))
    };
    let seeds: Vec<u64> = match footer(KEY_SEEDS)? {
        Some(value) => serde_json::from_value(value)
            .with_context(|| format!("{}: `{KEY_SEEDS}` is not a list of seeds", dir.display()))?,
        None => {
            let mut seeds: Vec<u64> = records.iter().map(|r| r.seed).collect();
            seeds.sort_unstable();
            seeds.dedup();
            seeds
        }
    };
    let missing = match footer(KEY_MISSING)? {
        Some(value) => serde_json::from_value(value).with_context(|| {
            format!(
                "{}: `{KEY_MISSING}` is not a list of results",
                dir.display()
            )
        })?,
        None => short_seeds(&records, &seeds),
    };
    Ok(RunReport {
        records,
        dataset: DatasetRun {
            name,
            data,
            backbone,
        },
        seeds,
        missing,
    })
}

/// For a report without a record of its missing results: each method's seeds among `seeds`
/// that it has no record for (no reason known).
fn short_seeds(records: &[MseRecord], seeds: &[u64]) -> Vec<MissingResult> {
    let mut methods: Vec<(&str, &str)> = Vec::new();
    for record in records {
        if !methods.contains(&(record.dataset.as_str(), record.method.as_str())) {
            methods.push((&record.dataset, &record.method));
        }
    }
    let mut missing = Vec::new();
    for (dataset, method) in methods {
        for &seed in seeds {
            let has = |r: &MseRecord| r.dataset == dataset && r.method == method && r.seed == seed;
            if !records.iter().any(has) {
                missing.push(MissingResult {
                    dataset: dataset.to_owned(),
                    method: method.to_owned(),
                    seed,
                    reason: None,
                });
            }
        }
    }
    missing
}

/// Writes `out/report.md`, `table1.md`, `table1.csv`, `metrics.parquet` and (with at least two
/// datasets) `plots/cd_diagram.png` for the reports of `runs`; returns Table 1 as Markdown.
pub fn combine(runs: &[PathBuf], out: &Path, title: &str) -> anyhow::Result<String> {
    let mut records = Vec::new();
    let mut datasets = Vec::new();
    let mut requested = Vec::new();
    let mut missing = Vec::new();
    let mut seeds = Vec::new();
    for run in runs {
        let mut found = read_run(run)?;
        records.append(&mut found.records);
        requested.push((found.dataset.name.clone(), found.seeds.len()));
        seeds.extend(found.seeds);
        missing.append(&mut found.missing);
        datasets.push(found.dataset);
    }
    let mut table = ResultsTable::from_records(&records)?;
    for (dataset, count) in &requested {
        table.set_requested_seeds(dataset, *count);
    }
    let analysis = Analysis::compute(&table, &records, &pairs(&table));
    std::fs::create_dir_all(out.join(PLOTS_DIR))
        .with_context(|| format!("creating {}", out.display()))?;
    let mut plots = Vec::new();
    if let Ok(ranks) = &analysis.ranks {
        let file = "cd_diagram.png";
        critical_difference_diagram(
            &out.join(PLOTS_DIR).join(file),
            &CdDiagram {
                methods: &ranks.methods,
                average_ranks: &ranks.friedman.average_ranks,
                critical_difference: ranks.nemenyi.cd_05,
                alpha: 0.05,
                groups: &ranks.groups_05,
            },
        )?;
        plots.push(PlotLink {
            caption: "Critical-difference diagram (Nemenyi, α = 0.05) of the average ranks across datasets".to_owned(),
            relative_path: format!("{PLOTS_DIR}/{file}"),
        });
    }
    seeds.sort_unstable();
    seeds.dedup();
    let run = RunDescription {
        title: title.to_owned(),
        datasets,
        seeds,
        grid: Vec::new(),
        missing,
    };
    let report = render_report(&run, &table, &analysis, &plots);
    write_atomic(&out.join(REPORT_FILE), report.as_bytes())?;
    write_atomic(&out.join("table1.md"), table.to_markdown().as_bytes())?;
    write_atomic(&out.join("table1.csv"), table.to_csv().as_bytes())?;
    let batch = records_batch(&records)?;
    nona_table::write_part(
        &out.join("metrics.parquet"),
        batch.schema(),
        &[batch],
        &nona_table::Metadata::new(),
    )?;
    Ok(table.to_markdown())
}
