//! The statistics a report shows, computed from the per-seed records: Friedman + Nemenyi over
//! datasets (on per-dataset mean MSE), and paired tests over seeds within each dataset.
//!
//! Both compare methods only on the seeds each compared method has: a paired test on the seeds
//! both of its methods have, the Friedman test on each dataset's mean over the seeds every
//! method has. A diverged cell therefore drops its seed from the comparison instead of leaving a
//! mean over 9 seeds next to one over 10.

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
    /// Per dataset (as `datasets`), the seeds every method has: the seeds its means are over.
    pub seeds: Vec<Vec<u64>>,
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
        let blocks = common_seed_means(table, records);
        let scores: Vec<Vec<f64>> = blocks.iter().map(|b| b.means.clone()).collect();
        let ranks = stats::friedman(&scores)
            .map(|friedman| {
                let nemenyi = stats::nemenyi(&friedman);
                let groups_05 = non_significant_groups(&friedman.average_ranks, nemenyi.cd_05);
                RankComparison {
                    datasets: blocks.iter().map(|b| b.dataset.clone()).collect(),
                    seeds: blocks.into_iter().map(|b| b.seeds).collect(),
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

/// One Friedman block: a dataset's mean per method over the seeds every method has.
struct Block {
    dataset: String,
    seeds: Vec<u64>,
    means: Vec<f64>,
}

/// A block per dataset where every method of `table` shares at least one seed, in table order.
fn common_seed_means(table: &ResultsTable, records: &[MseRecord]) -> Vec<Block> {
    let mut blocks = Vec::new();
    for dataset in table.datasets() {
        let per_method: Vec<Vec<(u64, f64)>> = table
            .methods()
            .iter()
            .map(|method| seed_values(records, dataset, method))
            .collect();
        let seeds: Vec<u64> = per_method
            .first()
            .map(|first| {
                first
                    .iter()
                    .map(|&(seed, _)| seed)
                    .filter(|seed| per_method.iter().all(|m| m.iter().any(|(s, _)| s == seed)))
                    .collect()
            })
            .unwrap_or_default();
        if seeds.is_empty() {
            continue;
        }
        let means = per_method
            .iter()
            .map(|values| {
                let kept = values.iter().filter(|(seed, _)| seeds.contains(seed));
                kept.map(|&(_, v)| v).sum::<f64>() / seeds.len() as f64
            })
            .collect();
        blocks.push(Block {
            dataset: dataset.clone(),
            seeds,
            means,
        });
    }
    blocks
}

/// `(seed, value)` of one method on one dataset, ordered by seed.
fn seed_values(records: &[MseRecord], dataset: &str, method: &str) -> Vec<(u64, f64)> {
    let mut values: Vec<(u64, f64)> = records
        .iter()
        .filter(|r| r.dataset == dataset && r.method == method)
        .map(|r| (r.seed, r.mse_x1e3))
        .collect();
    values.sort_by_key(|(seed, _)| *seed);
    values
}

/// Values of two methods on one dataset for the seeds both have, ordered by seed.
fn common_seed_values(
    records: &[MseRecord],
    dataset: &str,
    method_a: &str,
    method_b: &str,
) -> (Vec<f64>, Vec<f64>) {
    let b_values = seed_values(records, dataset, method_b);
    seed_values(records, dataset, method_a)
        .into_iter()
        .filter_map(|(seed, a)| {
            b_values
                .iter()
                .find(|(b_seed, _)| *b_seed == seed)
                .map(|&(_, b)| (a, b))
        })
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three methods on two datasets, seeds 0..3; `B` lost seed 2 on `d1`, where its value
    /// would have been the worst by far.
    fn records() -> Vec<MseRecord> {
        let mut records = Vec::new();
        for (dataset, offset) in [("d1", 0.0), ("d2", 1.0)] {
            for seed in 0..3u64 {
                let s = seed as f64;
                records.push(MseRecord::new(dataset, "A", seed, 5.0 + offset + s));
                if !(dataset == "d1" && seed == 2) {
                    records.push(MseRecord::new(dataset, "B", seed, 4.0 + offset + 0.5 * s));
                }
                records.push(MseRecord::new(dataset, "C", seed, 6.0 + offset - 0.1 * s));
            }
        }
        records
    }

    #[test]
    fn friedman_means_are_over_the_seeds_every_method_has() {
        let records = records();
        let table = ResultsTable::from_records(&records).unwrap();
        let ranks = Analysis::compute(&table, &records, &[]).ranks.unwrap();
        assert_eq!(ranks.datasets, ["d1", "d2"]);
        assert_eq!(ranks.seeds, [vec![0, 1], vec![0, 1, 2]]);
        // d1 over seeds 0 and 1: A 5.5, B 4.25, C 5.95, so A ranks 2 there (its mean over all
        // three of its seeds, 6.0, would rank it 3, behind C's 5.9); d2 ranks B, C, A.
        let blocks = common_seed_means(&table, &records);
        assert_eq!(blocks[0].means, [5.5, 4.25, 5.95]);
        assert_eq!(ranks.friedman.average_ranks, [2.5, 1.0, 2.5]);
    }

    #[test]
    fn paired_tests_use_the_seeds_both_methods_have() {
        let records = records();
        let table = ResultsTable::from_records(&records).unwrap();
        let analysis = Analysis::compute(&table, &records, &[("A", "B"), ("A", "C")]);
        let n = |i: usize| analysis.paired[i].t_test.as_ref().unwrap().n;
        assert_eq!(analysis.paired[0].dataset, "d1");
        assert_eq!((n(0), n(1)), (2, 3));
    }
}
