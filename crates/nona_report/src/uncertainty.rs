//! Does a prediction's uncertainty track its error? For each method and seed, over the test
//! predictions: Spearman's rank correlation of `spread` (the weighted standard deviation of the
//! neighbour labels that voted for the prediction) with the absolute error, and the coverage of
//! prediction ± 2 × spread; then the report's section, mean ± sd over seeds.

use std::fmt::Write;

use crate::ReportError;
use crate::stats::spearman;
use crate::table::CellSummary;

/// How the uncertainty of one method's test predictions of one seed did.
#[derive(Debug, Clone, PartialEq)]
pub struct UncertaintyRecord {
    /// Table 1 dataset name.
    pub dataset: String,
    /// Table 1 method name.
    pub method: String,
    /// Training seed.
    pub seed: u64,
    /// Test predictions scored.
    pub rows: usize,
    /// Spearman's ρ of spread with |label − prediction|; NaN when either is constant.
    pub spearman: f64,
    /// Share of test labels with |label − prediction| ≤ 2 × spread.
    pub coverage: f64,
}

impl UncertaintyRecord {
    /// Scores one method's test predictions of one seed on `dataset` (`labels`, `predictions`,
    /// `spreads` aligned by row).
    pub fn compute(
        dataset: &str,
        method: &str,
        seed: u64,
        labels: &[f64],
        predictions: &[f64],
        spreads: &[f64],
    ) -> Result<Self, ReportError> {
        if labels.len() != predictions.len() || labels.len() != spreads.len() {
            return Err(ReportError::InvalidInput(format!(
                "{method}, seed {seed}: {} labels, {} predictions and {} spreads",
                labels.len(),
                predictions.len(),
                spreads.len()
            )));
        }
        let errors: Vec<f64> = labels
            .iter()
            .zip(predictions)
            .map(|(label, prediction)| (label - prediction).abs())
            .collect();
        let rho = spearman(spreads, &errors)
            .map_err(|e| ReportError::InvalidInput(format!("{method}, seed {seed}: {e}")))?;
        let covered = errors
            .iter()
            .zip(spreads)
            .filter(|(error, spread)| **error <= 2.0 * **spread)
            .count();
        Ok(Self {
            dataset: dataset.to_owned(),
            method: method.to_owned(),
            seed,
            rows: errors.len(),
            spearman: rho,
            coverage: covered as f64 / errors.len() as f64,
        })
    }
}

/// What the section says about spread and coverage, before its table.
const EXPLANATION: &str = "Every NONA and k-NN prediction is a weighted vote of training \
neighbours; its *spread* is the weighted standard deviation of their labels (original units), an \
uncertainty that costs nothing extra. For each method and seed, over the test predictions: \
Spearman's ρ of spread with the absolute error |label − prediction| (higher: the spread ranks the \
errors better; 0: no information), and the coverage, the share of test labels inside prediction \
± 2 × spread. A calibrated Gaussian uncertainty would cover ≈ 95 %; less means the spread is too \
narrow, more that it is too wide. Mean ± sd over seeds.";

/// The report's uncertainty section: a table of mean ± sd over seeds per method (`records` in
/// the order to show; with a dataset column when they come from several), or, when there are
/// none, `absent` (why).
pub fn render_uncertainty(records: &[UncertaintyRecord], absent: &str) -> String {
    let mut out = String::from("## Uncertainty\n\n");
    if records.is_empty() {
        let _ = writeln!(out, "{absent}");
        return out;
    }
    let _ = writeln!(out, "{EXPLANATION}\n");
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for record in records {
        let group = (record.dataset.as_str(), record.method.as_str());
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    let several = groups.iter().any(|(dataset, _)| *dataset != groups[0].0);
    let dataset_column = if several { "| dataset " } else { "" };
    let _ = writeln!(
        out,
        "{dataset_column}| method | seeds | test rows | Spearman ρ(spread, abs error) | coverage ± 2 spread |"
    );
    let _ = writeln!(
        out,
        "{}|---|---|---|---|---|",
        if several { "|---" } else { "" }
    );
    for (dataset, method) in groups {
        let rows: Vec<&UncertaintyRecord> = records
            .iter()
            .filter(|r| r.dataset == dataset && r.method == method)
            .collect();
        let spearman: Vec<f64> = rows.iter().map(|r| r.spearman).collect();
        let coverage: Vec<f64> = rows.iter().map(|r| 100.0 * r.coverage).collect();
        let test_rows: usize = rows.iter().map(|r| r.rows).sum::<usize>() / rows.len();
        if several {
            let _ = write!(out, "| {} ", dataset.replace('|', "\\|"));
        }
        let _ = writeln!(
            out,
            "| {method} | {} | {test_rows} | {} | {} % |",
            rows.len(),
            mean_sd(&spearman, 2),
            mean_sd(&coverage, 1),
        );
    }
    if records.iter().any(|r| r.spearman.is_nan()) {
        out.push_str(
            "\nρ is undefined (left out of the mean) for a seed whose spreads or errors are all \
             equal; the number of seeds it averages is in brackets.\n",
        );
    }
    out
}

/// `mean ± sd` of the finite values with `decimals` decimals (`—` when none; `(n)` when some
/// were not finite).
fn mean_sd(values: &[f64], decimals: usize) -> String {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return "—".to_owned();
    }
    let summary = CellSummary::from_values(&finite);
    let mut text = match summary.sd {
        Some(sd) => format!("{:.decimals$} ± {sd:.decimals$}", summary.mean),
        None => format!("{:.decimals$}", summary.mean),
    };
    if finite.len() < values.len() {
        let _ = write!(text, " ({})", finite.len());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Errors 0, 1, 2, 3 against spreads 0.5, 0.4, 1.2, 1.0: covered are 0 ≤ 1, 1 ≤ 0.8 (no),
    /// 2 ≤ 2.4, 3 ≤ 2 (no) → 50 %; ranks of spread 2, 1, 4, 3 against 1, 2, 3, 4 → ρ = 0.6.
    #[test]
    fn spearman_and_coverage_on_a_hand_checked_case() {
        let labels = [1.0, 2.0, 3.0, 4.0];
        let predictions = [1.0, 3.0, 1.0, 7.0];
        let spreads = [0.5, 0.4, 1.2, 1.0];
        let record =
            UncertaintyRecord::compute("d", "NONA", 3, &labels, &predictions, &spreads).unwrap();
        assert_eq!(record.rows, 4);
        assert_eq!(record.coverage, 0.5);
        assert!((record.spearman - 0.6).abs() < 1e-12, "{}", record.spearman);
    }

    #[test]
    fn the_boundary_counts_as_covered_and_misaligned_input_is_refused() {
        let record =
            UncertaintyRecord::compute("d", "k-NN", 0, &[0.0, 0.0], &[2.0, 1.0], &[1.0, 0.1])
                .unwrap();
        assert_eq!(record.coverage, 0.5);
        let error = UncertaintyRecord::compute("d", "k-NN", 7, &[0.0, 1.0], &[0.0], &[1.0, 1.0])
            .unwrap_err()
            .to_string();
        assert!(error.contains("k-NN, seed 7"), "{error}");
    }

    #[test]
    fn the_section_shows_mean_and_sd_per_method_and_says_when_it_has_nothing() {
        let record = |method: &str, seed, spearman, coverage| UncertaintyRecord {
            dataset: "d".to_owned(),
            method: method.to_owned(),
            seed,
            rows: 10,
            spearman,
            coverage,
        };
        let records = [
            record("NONA", 0, 0.2, 0.9),
            record("NONA", 1, 0.4, 0.8),
            record("k-NN", 0, f64::NAN, 1.0),
            record("k-NN", 1, 0.5, 1.0),
        ];
        let section = render_uncertainty(&records, "unused");
        assert!(section.contains("≈ 95 %"), "{section}");
        assert!(
            section.contains("| NONA | 2 | 10 | 0.30 ± 0.14 | 85.0 ± 7.1 % |"),
            "{section}"
        );
        assert!(
            section.contains("| k-NN | 2 | 10 | 0.50 (1) | 100.0 ± 0.0 % |"),
            "{section}"
        );
        let empty = render_uncertainty(&[], "No explanations tables.");
        assert_eq!(empty, "## Uncertainty\n\nNo explanations tables.\n");
    }

    #[test]
    fn records_of_several_datasets_get_a_dataset_column() {
        let record = |dataset: &str, seed, coverage| UncertaintyRecord {
            dataset: dataset.to_owned(),
            method: "NONA".to_owned(),
            seed,
            rows: 4,
            spearman: 0.5,
            coverage,
        };
        let records = [
            record("a", 0, 0.5),
            record("a", 1, 0.7),
            record("b", 0, 1.0),
        ];
        let section = render_uncertainty(&records, "unused");
        assert!(section.contains("| dataset | method |"), "{section}");
        assert!(
            section.contains("| a | NONA | 2 | 4 | 0.50 ± 0.00 | 60.0 ± 14.1 % |"),
            "{section}"
        );
        assert!(
            section.contains("| b | NONA | 1 | 4 | 0.50 | 100.0 % |"),
            "{section}"
        );
    }
}
