//! Table 1: test MSE × 10³ per dataset (rows) and method (columns), `mean ± sd` over seeds.
//!
//! The standard deviation is the sample standard deviation (ddof = 1), as in the paper's
//! "± standard deviation across ten random splits". Method names are plain strings, so new
//! methods need no code change; rows and columns keep the order in which they first appear.
//!
//! A method with fewer results than the seeds asked for (a diverged cell) is averaged over the
//! seeds it has, and its cell says so: `4.25 ± 0.354 (n = 9 of 10)`.

use crate::ReportError;

/// One measured result: a method's test MSE (× 10³) on one dataset/pipeline for one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct MseRecord {
    /// Dataset or pipeline name (a table row).
    pub dataset: String,
    /// Method name, e.g. `"Dense"`, `"NONA + k-NN"` (a table column).
    pub method: String,
    /// Seed of the split / training run.
    pub seed: u64,
    /// Test MSE on the [0, 1]-scaled labels, multiplied by 10³.
    pub mse_x1e3: f64,
}

impl MseRecord {
    /// Convenience constructor.
    pub fn new(dataset: &str, method: &str, seed: u64, mse_x1e3: f64) -> Self {
        Self {
            dataset: dataset.to_owned(),
            method: method.to_owned(),
            seed,
            mse_x1e3,
        }
    }
}

/// Mean and sample standard deviation of one cell's seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellSummary {
    /// Mean over seeds.
    pub mean: f64,
    /// Sample standard deviation (ddof = 1); `None` with a single seed.
    pub sd: Option<f64>,
    /// Number of seeds.
    pub n: usize,
}

impl CellSummary {
    pub(crate) fn from_values(values: &[f64]) -> Self {
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = (n > 1).then(|| {
            let sum_sq: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            (sum_sq / (n - 1) as f64).sqrt()
        });
        Self { mean, sd, n }
    }
}

/// Datasets × methods summary table built from [`MseRecord`]s (several datasets combine into
/// one table, one row each).
#[derive(Debug, Clone, PartialEq)]
pub struct ResultsTable {
    datasets: Vec<String>,
    methods: Vec<String>,
    /// `cells[dataset][method]`; `None` where no seed was recorded.
    cells: Vec<Vec<Option<CellSummary>>>,
    /// Seeds asked for per dataset (default: the distinct seeds recorded for it).
    requested_seeds: Vec<usize>,
}

impl ResultsTable {
    /// Groups records by (dataset, method) and summarises each group over its seeds.
    ///
    /// Fails on an empty input, a non-finite MSE, or the same (dataset, method, seed) twice.
    pub fn from_records(records: &[MseRecord]) -> Result<Self, ReportError> {
        if records.is_empty() {
            return Err(ReportError::InvalidInput("no MSE records".into()));
        }
        let mut datasets: Vec<String> = Vec::new();
        let mut methods: Vec<String> = Vec::new();
        for record in records {
            if !record.mse_x1e3.is_finite() {
                return Err(ReportError::InvalidInput(format!(
                    "non-finite MSE {} for {} / {} / seed {}",
                    record.mse_x1e3, record.dataset, record.method, record.seed
                )));
            }
            if !datasets.contains(&record.dataset) {
                datasets.push(record.dataset.clone());
            }
            if !methods.contains(&record.method) {
                methods.push(record.method.clone());
            }
        }
        let mut seeds_and_values =
            vec![vec![Vec::<(u64, f64)>::new(); methods.len()]; datasets.len()];
        for record in records {
            let row = datasets.iter().position(|d| *d == record.dataset);
            let col = methods.iter().position(|m| *m == record.method);
            let (Some(row), Some(col)) = (row, col) else {
                unreachable!("every dataset and method was collected above");
            };
            let cell = &mut seeds_and_values[row][col];
            if cell.iter().any(|(seed, _)| *seed == record.seed) {
                return Err(ReportError::InvalidInput(format!(
                    "duplicate record for {} / {} / seed {}",
                    record.dataset, record.method, record.seed
                )));
            }
            cell.push((record.seed, record.mse_x1e3));
        }
        let requested_seeds = seeds_and_values
            .iter()
            .map(|row| {
                let mut seeds: Vec<u64> = row.iter().flatten().map(|(seed, _)| *seed).collect();
                seeds.sort_unstable();
                seeds.dedup();
                seeds.len()
            })
            .collect();
        let cells = seeds_and_values
            .iter()
            .map(|row| {
                row.iter()
                    .map(|cell| {
                        let values: Vec<f64> = cell.iter().map(|(_, v)| *v).collect();
                        (!values.is_empty()).then(|| CellSummary::from_values(&values))
                    })
                    .collect()
            })
            .collect();
        Ok(Self {
            datasets,
            methods,
            cells,
            requested_seeds,
        })
    }

    /// Declares how many seeds `dataset` was asked to run, so that a method with results for
    /// fewer shows its n even when every method lost the same seed. Unknown datasets are ignored.
    pub fn set_requested_seeds(&mut self, dataset: &str, count: usize) {
        if let Some(row) = self.datasets.iter().position(|d| d == dataset) {
            self.requested_seeds[row] = count;
        }
    }

    /// The number of seeds `dataset` (a row index) was asked to run.
    pub fn requested_seeds(&self, dataset: usize) -> usize {
        self.requested_seeds.get(dataset).copied().unwrap_or(0)
    }

    /// Whether a cell has results for fewer seeds than its dataset was asked to run.
    pub fn is_short(&self, dataset: usize, method: usize) -> bool {
        self.cell(dataset, method)
            .is_some_and(|cell| cell.n < self.requested_seeds(dataset))
    }

    /// Row names, in order of first appearance.
    pub fn datasets(&self) -> &[String] {
        &self.datasets
    }

    /// Column names, in order of first appearance.
    pub fn methods(&self) -> &[String] {
        &self.methods
    }

    /// The summary of one cell, if any seed was recorded for it.
    pub fn cell(&self, dataset: usize, method: usize) -> Option<&CellSummary> {
        self.cells.get(dataset)?.get(method)?.as_ref()
    }

    /// Indices of the methods whose mean is the lowest in a row (several on an exact tie).
    pub fn best_methods(&self, dataset: usize) -> Vec<usize> {
        let means: Vec<Option<f64>> = (0..self.methods.len())
            .map(|m| self.cell(dataset, m).map(|c| c.mean))
            .collect();
        let best = means
            .iter()
            .flatten()
            .copied()
            .fold(f64::INFINITY, f64::min);
        (0..means.len())
            .filter(|&m| means[m] == Some(best))
            .collect()
    }

    /// The paper's Table 1 as Markdown: `mean ± sd`, three significant digits, best mean per
    /// row in bold, `—` for a missing cell, `(n = k of N)` for a method with results for only k
    /// of the N seeds asked for, followed by a legend.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("| Dataset |");
        for method in &self.methods {
            out.push_str(&format!(" {} |", escape_markdown_cell(method)));
        }
        out.push_str("\n|---|");
        out.push_str(&"---:|".repeat(self.methods.len()));
        out.push('\n');
        for (d, dataset) in self.datasets.iter().enumerate() {
            let best = self.best_methods(d);
            out.push_str(&format!("| {} |", escape_markdown_cell(dataset)));
            for m in 0..self.methods.len() {
                let text = match self.cell(d, m) {
                    None => "—".to_owned(),
                    Some(cell) => format_cell(cell, self.requested_seeds(d)),
                };
                if best.contains(&m) {
                    out.push_str(&format!(" **{text}** |"));
                } else {
                    out.push_str(&format!(" {text} |"));
                }
            }
            out.push('\n');
        }
        out.push_str(
            "\nTest MSE × 10³: mean ± sample standard deviation (ddof = 1) over seeds; \
             best mean per dataset in **bold**.",
        );
        let any_short =
            (0..self.datasets.len()).any(|d| (0..self.methods.len()).any(|m| self.is_short(d, m)));
        if any_short {
            out.push_str(
                " (n = k of N): the method has results for only k of the N seeds asked for \
                 and is averaged over those; report.md lists the missing seeds.",
            );
        }
        out.push('\n');
        out
    }

    /// Machine-readable long form: one line per (dataset, method) with
    /// `dataset,method,mean,sd,n,best` (`sd` empty for a single seed, `best` is `true`/`false`).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("dataset,method,mean_mse_x1e3,sd_mse_x1e3,n_seeds,best\n");
        for (d, dataset) in self.datasets.iter().enumerate() {
            let best = self.best_methods(d);
            for (m, method) in self.methods.iter().enumerate() {
                let Some(cell) = self.cell(d, m) else {
                    continue;
                };
                let sd = cell.sd.map(|s| s.to_string()).unwrap_or_default();
                out.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    csv_field(dataset),
                    csv_field(method),
                    cell.mean,
                    sd,
                    cell.n,
                    best.contains(&m)
                ));
            }
        }
        out
    }
}

/// `mean ± sd`, with the seed count when it is short of `requested` or there is no sd.
fn format_cell(cell: &CellSummary, requested: usize) -> String {
    let mean = format_significant(cell.mean);
    let value = match cell.sd {
        Some(sd) => format!("{mean} ± {}", format_significant(sd)),
        None => mean,
    };
    if cell.n < requested {
        format!("{value} (n = {} of {requested})", cell.n)
    } else if cell.sd.is_none() {
        format!("{value} (n = 1)")
    } else {
        value
    }
}

/// Three significant digits in plain (non-scientific) notation: 5.12, 0.0602, 303.
pub fn format_significant(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    // Rounding can add a digit (9.996 -> "10.00"); redo with the new magnitude.
    let rounded: f64 = text.parse().unwrap_or(value);
    let new_magnitude = rounded.abs().log10().floor() as i32;
    if new_magnitude != magnitude {
        let decimals = (2 - new_magnitude).max(0) as usize;
        return format!("{rounded:.decimals$}");
    }
    text
}

fn escape_markdown_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records() -> Vec<MseRecord> {
        vec![
            MseRecord::new("RSNA", "Dense", 0, 5.0),
            MseRecord::new("RSNA", "Dense", 1, 6.0),
            MseRecord::new("RSNA", "NONA", 0, 4.0),
            MseRecord::new("RSNA", "NONA", 1, 4.5),
            MseRecord::new("Books, v2", "Dense", 0, 8.0),
            MseRecord::new("Books, v2", "NONA", 0, 9.0),
        ]
    }

    #[test]
    fn summary_uses_sample_sd() {
        let table = ResultsTable::from_records(&records()).unwrap();
        let cell = table.cell(0, 0).unwrap();
        assert_eq!(cell.mean, 5.5);
        assert_eq!(cell.n, 2);
        // ddof = 1: sqrt(((5-5.5)^2 + (6-5.5)^2) / 1)
        assert!((cell.sd.unwrap() - 0.5f64.sqrt()).abs() < 1e-15);
        assert_eq!(table.cell(1, 0).unwrap().sd, None);
    }

    #[test]
    fn markdown_bolds_best_mean_per_row() {
        let table = ResultsTable::from_records(&records()).unwrap();
        let md = table.to_markdown();
        assert!(
            md.contains("| RSNA | 5.50 ± 0.707 | **4.25 ± 0.354** |"),
            "{md}"
        );
        assert!(
            md.contains("| Books, v2 | **8.00 (n = 1)** | 9.00 (n = 1) |"),
            "{md}"
        );
        assert!(md.contains("ddof = 1"));
    }

    #[test]
    fn csv_has_separate_columns_and_quotes_commas() {
        let table = ResultsTable::from_records(&records()).unwrap();
        let csv = table.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "dataset,method,mean_mse_x1e3,sd_mse_x1e3,n_seeds,best"
        );
        assert_eq!(lines[2], "RSNA,NONA,4.25,0.3535533905932738,2,true");
        assert_eq!(lines[3], "\"Books, v2\",Dense,8,,1,true");
    }

    #[test]
    fn rejects_duplicates_and_non_finite() {
        let mut dup = records();
        dup.push(MseRecord::new("RSNA", "NONA", 1, 1.0));
        assert!(ResultsTable::from_records(&dup).is_err());
        assert!(ResultsTable::from_records(&[MseRecord::new("a", "b", 0, f64::NAN)]).is_err());
        assert!(ResultsTable::from_records(&[]).is_err());
    }

    #[test]
    fn missing_cells_are_dashes() {
        let mut recs = records();
        recs.push(MseRecord::new("Austin", "NONA", 0, 2.0));
        let table = ResultsTable::from_records(&recs).unwrap();
        assert!(
            table
                .to_markdown()
                .contains("| Austin | — | **2.00 (n = 1)** |")
        );
    }

    #[test]
    fn a_method_short_of_the_seeds_asked_for_shows_its_n() {
        let mut recs = records();
        recs.push(MseRecord::new("RSNA", "Dense", 2, 7.0));
        let mut table = ResultsTable::from_records(&recs).unwrap();
        // NONA lacks seed 2, which Dense has.
        let md = table.to_markdown();
        assert!(
            md.contains("| RSNA | 6.00 ± 1.00 | **4.25 ± 0.354 (n = 2 of 3)** |"),
            "{md}"
        );
        assert!(md.contains("report.md lists the missing seeds"), "{md}");
        // Every method of Books lost a seed: only the requested count can tell.
        assert!(
            md.contains("| Books, v2 | **8.00 (n = 1)** | 9.00 (n = 1) |"),
            "{md}"
        );
        table.set_requested_seeds("Books, v2", 2);
        let md = table.to_markdown();
        assert!(
            md.contains("| Books, v2 | **8.00 (n = 1 of 2)** | 9.00 (n = 1 of 2) |"),
            "{md}"
        );
        assert!(!table.is_short(0, 0) && table.is_short(0, 1));
    }

    #[test]
    fn no_n_and_no_legend_when_every_seed_is_there() {
        let table = ResultsTable::from_records(&records()[..4]).unwrap();
        let md = table.to_markdown();
        assert!(
            md.contains("| RSNA | 5.50 ± 0.707 | **4.25 ± 0.354** |"),
            "{md}"
        );
        assert!(!md.contains("n = "), "{md}");
    }

    #[test]
    fn significant_digits_match_the_paper_style() {
        assert_eq!(format_significant(5.1234), "5.12");
        assert_eq!(format_significant(0.06021), "0.0602");
        assert_eq!(format_significant(303.4), "303");
        assert_eq!(format_significant(9.996), "10.0");
        assert_eq!(format_significant(1670.2), "1670");
    }
}
