//! The statistics a report shows, computed from the per-seed records: Friedman + Nemenyi over
//! datasets (on per-dataset mean MSE), and paired tests over seeds within each dataset.

use crate::stats::{
    self, FriedmanResult, NemenyiResult, PairedTest, non_significant_groups, paired_t_test,
    wilcoxon_signed_rank,
};
use crate::table::{MseRecord, ResultsTable};

/// Friedman test over datasets with its Nemenyi post-hoc analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct RankComparison {
    /// Datasets that had a result for every method (the Friedman blocks).
    pub datasets: Vec<String>,
    /// Methods compared (the table's columns).
    pub methods: Vec<String>,
    /// Friedman χ² and Iman–Davenport F.
    pub friedman: FriedmanResult,
    /// Critical differences and pairwise p-values.
    pub nemenyi: NemenyiResult,
    /// Method groups not significantly different at α = 0.05.
    pub groups_05: Vec<Vec<usize>>,
}

/// Paired tests of two methods over the seeds they share on one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedComparison {
    /// Dataset name.
    pub dataset: String,
    /// First method (differences are `a − b`).
    pub method_a: String,
    /// Second method.
    pub method_b: String,
    /// Wilcoxon signed-rank test, or why it could not run.
    pub wilcoxon: Result<PairedTest, String>,
    /// Paired t-test, or why it could not run.
    pub t_test: Result<PairedTest, String>,
}

/// Everything the statistics section of the report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// Friedman/Nemenyi over datasets, or why it was skipped.
    pub ranks: Result<RankComparison, String>,
    /// Paired comparisons per dataset, in request order.
    pub paired: Vec<PairedComparison>,
}

impl Analysis {
    /// Runs the Friedman/Nemenyi comparison on `table` and, for each dataset, paired tests
    /// between each `(method_a, method_b)` in `pairs` over their common seeds.
    pub fn compute(table: &ResultsTable, records: &[MseRecord], pairs: &[(&str, &str)]) -> Self {
        let (datasets, scores) = table.complete_mean_rows();
        let ranks = stats::friedman(&scores)
            .map(|friedman| {
                let nemenyi = stats::nemenyi(&friedman);
                let groups_05 = non_significant_groups(&friedman.average_ranks, nemenyi.cd_05);
                RankComparison {
                    datasets,
                    methods: table.methods().to_vec(),
                    friedman,
                    nemenyi,
                    groups_05,
                }
            })
            .map_err(|e| e.to_string());
        let mut paired = Vec::new();
        for dataset in table.datasets() {
            for &(method_a, method_b) in pairs {
                let (a, b) = common_seed_values(records, dataset, method_a, method_b);
                if a.is_empty() {
                    continue;
                }
                paired.push(PairedComparison {
                    dataset: dataset.clone(),
                    method_a: method_a.to_owned(),
                    method_b: method_b.to_owned(),
                    wilcoxon: wilcoxon_signed_rank(&a, &b).map_err(|e| e.to_string()),
                    t_test: paired_t_test(&a, &b).map_err(|e| e.to_string()),
                });
            }
        }
        Self { ranks, paired }
    }
}

/// Values of two methods on one dataset for the seeds both have, ordered by seed.
fn common_seed_values(
    records: &[MseRecord],
    dataset: &str,
    method_a: &str,
    method_b: &str,
) -> (Vec<f64>, Vec<f64>) {
    let of_method = |method: &str| {
        let mut values: Vec<(u64, f64)> = records
            .iter()
            .filter(|r| r.dataset == dataset && r.method == method)
            .map(|r| (r.seed, r.mse_x1e3))
            .collect();
        values.sort_by_key(|(seed, _)| *seed);
        values
    };
    let b_values = of_method(method_b);
    of_method(method_a)
        .into_iter()
        .filter_map(|(seed, a)| {
            b_values
                .iter()
                .find(|(b_seed, _)| *b_seed == seed)
                .map(|&(_, b)| (a, b))
        })
        .unzip()
}
