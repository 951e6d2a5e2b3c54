//! `nona report`: one Table 1 across several runs' reports, with the Friedman / Nemenyi
//! comparison across datasets and its critical-difference diagram, then the runs' embedding
//! geometry and uncertainty sections side by side and where to find each run's neighbour
//! evidence.
//!
//! Missing results follow the report stage's rule: each run's footer says which seeds it asked
//! for and which results are missing (a report written before it did counts the seeds any of its
//! methods has as asked for), Table 1 shows n where a method is short, the banner lists them, and
//! the statistics use only the seeds every compared method has.

use std::path::{Path, PathBuf};

use anyhow::Context;
use nona_pipeline::run_dir::write_atomic;
use nona_report::analysis::Analysis;
use nona_report::geometry::{GeometryRecord, render_geometry};
use nona_report::markdown::{
    Backbone, DataSource, DatasetRun, MissingResult, PlotLink, RunDescription, render_report,
};
use nona_report::plots::{CdDiagram, critical_difference_diagram};
use nona_report::table::{MseRecord, ResultsTable};
use nona_report::uncertainty::{UncertaintyRecord, render_uncertainty};

use super::{REPORT_FILE, figures::PLOTS_DIR, geometry, pairs, records_batch, uncertainty};

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
    /// The report directory.
    dir: PathBuf,
    /// Its uncertainty scores; `None` for a report made before nona kept them.
    uncertainty: Option<Vec<UncertaintyRecord>>,
    /// Its geometry rows (empty without `[geometry]`).
    geometry: Vec<GeometryRecord>,
}

/// A run's report directory, given the run directory, the report directory or its `metrics`
/// table.
fn report_dir(path: &Path) -> PathBuf {
    if path.join("report/metrics").is_dir() {
        path.join("report")
    } else if path.join("metrics").is_dir() {
        path.to_path_buf()
    } else {
        path.parent()
            .map_or_else(|| path.to_path_buf(), Path::to_path_buf)
    }
}

/// Reads one run's Table 1 records, what it was run on and what it is missing.
fn read_run(path: &Path) -> anyhow::Result<RunReport> {
    let report = report_dir(path);
    let dir = report.join("metrics");
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
    let uncertainty_dir = report.join(uncertainty::TABLE);
    let uncertainty = if uncertainty_dir.is_dir() {
        Some(uncertainty::read_report_table(&uncertainty_dir)?)
    } else {
        None
    };
    let geometry_dir = report.join(geometry::TABLE);
    let geometry = if geometry_dir.is_dir() {
        geometry::read_report_table(&geometry_dir)?
    } else {
        Vec::new()
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
        dir: report,
        uncertainty,
        geometry,
    })
}

/// The combined report's sections after Table 1: the runs' embedding geometry and uncertainty
/// side by side, and where each run's neighbour evidence is.
fn sections(runs: &[RunReport]) -> String {
    let geometry: Vec<GeometryRecord> = runs.iter().flat_map(|r| r.geometry.clone()).collect();
    let mut out = render_geometry(&geometry);
    if !out.is_empty() {
        let without: Vec<&str> = runs
            .iter()
            .filter(|r| r.geometry.is_empty())
            .map(|r| r.dataset.name.as_str())
            .collect();
        if !without.is_empty() {
            out.push_str(&format!(
                "\nNo geometry for {} (its pipeline has no `[geometry]` section).\n",
                without.join(", ")
            ));
        }
    }
    let scored: Vec<UncertaintyRecord> = runs
        .iter()
        .flat_map(|r| r.uncertainty.clone().unwrap_or_default())
        .collect();
    let unscored: Vec<&str> = runs
        .iter()
        .filter(|r| r.uncertainty.is_none())
        .map(|r| r.dataset.name.as_str())
        .collect();
    out.push('\n');
    out.push_str(&render_uncertainty(&scored, UNCERTAINTY_ABSENT));
    if !scored.is_empty() && !unscored.is_empty() {
        out.push_str(&format!(
            "\nNot scored: {} (a report made before nona kept the scores; re-run its report \
             stage).\n",
            unscored.join(", ")
        ));
    }
    out.push_str(
        "\n## Neighbour evidence\n\nThe training cases behind the lowest-, median- and \
         highest-error test predictions are in each run's report:\n\n",
    );
    for run in runs {
        out.push_str(&format!(
            "- {}: {}\n",
            run.dataset.name,
            run.dir.join(REPORT_FILE).display()
        ));
    }
    out
}

/// What the uncertainty section says when no combined report has scores.
const UNCERTAINTY_ABSENT: &str = "None of the combined reports has uncertainty scores: they \
were made before nona kept them in `report/uncertainty/` (re-run their report stage), or their \
runs wrote no neighbour explanations.";

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
    let mut found_runs = Vec::new();
    for run in runs {
        let mut found = read_run(run)?;
        records.append(&mut found.records);
        requested.push((found.dataset.name.clone(), found.seeds.len()));
        seeds.extend(found.seeds.iter().copied());
        missing.append(&mut found.missing);
        datasets.push(found.dataset.clone());
        found_runs.push(found);
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
    let mut report = render_report(&run, &table, &analysis, &plots);
    report.push_str(&sections(&found_runs));
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
