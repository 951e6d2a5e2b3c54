//! Statistics for comparing methods: Friedman test across datasets (with the Iman–Davenport
//! F variant), Nemenyi critical differences and pairwise p-values, and paired tests across
//! seeds within one dataset (Wilcoxon signed-rank and paired t-test), and Spearman's rank
//! correlation (of an uncertainty with the absolute error).
//!
//! Conventions follow SciPy / scikit-posthocs, and the tests compare against fixtures made by
//! `tests/fixtures/report/make_stats_fixtures.py`:
//! - Friedman: `scipy.stats.friedmanchisquare` (average ranks for ties, tie-corrected χ²).
//! - Nemenyi: `scikit_posthocs.posthoc_nemenyi_friedman`; q_α is *computed* from the
//!   studentized range distribution with infinite degrees of freedom (not tabulated):
//!   q_α = q_{1−α}(k, ∞) / √2, which reproduces Demšar's (2006) table.
//! - Wilcoxon: `scipy.stats.wilcoxon` defaults (see [`wilcoxon_signed_rank`]).
//! - Spearman: `scipy.stats.spearmanr` (average ranks for ties).

use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor, StudentsT};
use statrs::function::erf::erfc;

use crate::ReportError;

/// Ranks `values` ascending from 1, giving tied values the average of their ranks
/// (`scipy.stats.rankdata(method="average")`). Lower MSE gets the better (smaller) rank.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) hold ranks start+1..=end; their average:
        let average = (start + 1 + end) as f64 / 2.0;
        for &index in &order[start..end] {
            ranks[index] = average;
        }
        start = end;
    }
    ranks
}

/// Spearman's rank correlation of paired samples: the Pearson correlation of their average
/// ranks (`scipy.stats.spearmanr(a, b).statistic`). NaN when either sample is constant, as in
/// SciPy. Errors on unequal lengths, fewer than two pairs or non-finite values.
pub fn spearman(a: &[f64], b: &[f64]) -> Result<f64, ReportError> {
    check_paired_samples(a, b, "Spearman correlation")?;
    let (ranks_a, ranks_b) = (average_ranks(a), average_ranks(b));
    // Both rank vectors have the same mean, (n + 1) / 2.
    let mean = (a.len() + 1) as f64 / 2.0;
    let (mut cross, mut square_a, mut square_b) = (0.0, 0.0, 0.0);
    for (x, y) in ranks_a.iter().zip(&ranks_b) {
        let (dx, dy) = (x - mean, y - mean);
        cross += dx * dy;
        square_a += dx * dx;
        square_b += dy * dy;
    }
    if square_a == 0.0 || square_b == 0.0 {
        return Ok(f64::NAN);
    }
    Ok((cross / (square_a * square_b).sqrt()).clamp(-1.0, 1.0))
}

/// Sizes of the groups of tied values (groups of one included).
fn tie_group_sizes(values: &[f64]) -> Vec<usize> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut sizes = Vec::new();
    let mut start = 0;
    while start < sorted.len() {
        let end = start
            + sorted[start..]
                .iter()
                .take_while(|&&v| v == sorted[start])
                .count();
        sizes.push(end - start);
        start = end;
    }
    sizes
}

/// Result of the Friedman test over `n` datasets (blocks) and `k` methods.
#[derive(Debug, Clone, PartialEq)]
pub struct FriedmanResult {
    /// Average rank of each method over datasets (1 = lowest MSE), in input column order.
    pub average_ranks: Vec<f64>,
    /// Number of datasets (blocks).
    pub n_datasets: usize,
    /// Tie-corrected Friedman χ² statistic (as `scipy.stats.friedmanchisquare`).
    pub chi_square: f64,
    /// Upper-tail p-value of χ² with k − 1 degrees of freedom.
    pub p_value: f64,
    /// Iman–Davenport statistic F = (n − 1)χ² / (n(k − 1) − χ²); infinite when all
    /// datasets rank the methods identically.
    pub iman_davenport_f: f64,
    /// Upper-tail p-value of F with (k − 1, (k − 1)(n − 1)) degrees of freedom.
    pub iman_davenport_p_value: f64,
}

impl FriedmanResult {
    /// Number of methods compared.
    pub fn n_methods(&self) -> usize {
        self.average_ranks.len()
    }
}

/// Friedman test. `scores[dataset][method]` (e.g. mean test MSE); lower is better.
/// Needs at least 3 methods and 2 datasets, all values finite.
pub fn friedman(scores: &[Vec<f64>]) -> Result<FriedmanResult, ReportError> {
    let n = scores.len();
    let k = scores.first().map_or(0, Vec::len);
    if k < 3 || n < 2 {
        return Err(ReportError::InvalidInput(format!(
            "Friedman test needs >= 3 methods and >= 2 datasets, got {k} methods and {n} datasets"
        )));
    }
    if scores
        .iter()
        .any(|row| row.len() != k || row.iter().any(|v| !v.is_finite()))
    {
        return Err(ReportError::InvalidInput(
            "Friedman test needs one finite score per method for every dataset".into(),
        ));
    }
    let (nf, kf) = (n as f64, k as f64);
    let mut rank_sums = vec![0.0; k];
    let mut tie_sum = 0.0;
    for row in scores {
        for (sum, rank) in rank_sums.iter_mut().zip(average_ranks(row)) {
            *sum += rank;
        }
        tie_sum += tie_group_sizes(row)
            .iter()
            .map(|&t| (t * t * t - t) as f64)
            .sum::<f64>();
    }
    let tie_correction = 1.0 - tie_sum / (kf * (kf * kf - 1.0) * nf);
    let sum_sq: f64 = rank_sums.iter().map(|r| r * r).sum();
    let chi_square =
        (12.0 / (nf * kf * (kf + 1.0)) * sum_sq - 3.0 * nf * (kf + 1.0)) / tie_correction;
    let p_value = ChiSquared::new(kf - 1.0).map_err(invalid)?.sf(chi_square);

    let df1 = kf - 1.0;
    let df2 = (kf - 1.0) * (nf - 1.0);
    let denominator = nf * (kf - 1.0) - chi_square;
    let (iman_davenport_f, iman_davenport_p_value) = if denominator <= 0.0 {
        (f64::INFINITY, 0.0)
    } else {
        let f = (nf - 1.0) * chi_square / denominator;
        (f, FisherSnedecor::new(df1, df2).map_err(invalid)?.sf(f))
    };
    Ok(FriedmanResult {
        average_ranks: rank_sums.iter().map(|r| r / nf).collect(),
        n_datasets: n,
        chi_square,
        p_value,
        iman_davenport_f,
        iman_davenport_p_value,
    })
}

fn invalid(error: impl std::fmt::Display) -> ReportError {
    ReportError::InvalidInput(error.to_string())
}

/// Standard normal CDF Φ(x), accurate in both tails.
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Φ(b) − Φ(a) for a ≤ b without cancellation in the upper tail.
fn normal_interval(a: f64, b: f64) -> f64 {
    if a > 0.0 {
        normal_cdf(-a) - normal_cdf(-b)
    } else {
        normal_cdf(b) - normal_cdf(a)
    }
}

/// CDF of the studentized range of `k` standard normals with infinite degrees of freedom:
/// P(R ≤ q) = k ∫ φ(z) [Φ(z) − Φ(z − q)]^(k−1) dz.
///
/// The integrand is smooth and decays like a Gaussian, so the trapezoidal rule with step
/// 1/64 on [−12, 12 + q] is accurate to rounding error.
pub fn studentized_range_cdf(q: f64, k: usize) -> f64 {
    if q <= 0.0 {
        return 0.0;
    }
    const STEP: f64 = 1.0 / 64.0;
    let lower = -12.0;
    let upper = 12.0 + q;
    let steps = ((upper - lower) / STEP).ceil() as usize;
    let density = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let integral: f64 = (0..=steps)
        .map(|i| {
            let z = lower + i as f64 * STEP;
            let weight = if i == 0 || i == steps { 0.5 } else { 1.0 };
            weight * density(z) * normal_interval(z - q, z).powi(k as i32 - 1)
        })
        .sum::<f64>()
        * STEP;
    (k as f64 * integral).clamp(0.0, 1.0)
}

/// Upper quantile q with P(R ≤ q) = 1 − `alpha` of the studentized range (k, ∞), by bisection.
pub fn studentized_range_quantile(alpha: f64, k: usize) -> f64 {
    let (mut low, mut high) = (0.0, 50.0);
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if studentized_range_cdf(mid, k) < 1.0 - alpha {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}

/// Nemenyi's q_α for `k` methods: the studentized range quantile divided by √2
/// (Demšar 2006, Table 5a: 2.343 for k = 3 at α = 0.05).
pub fn nemenyi_q_alpha(k: usize, alpha: f64) -> f64 {
    studentized_range_quantile(alpha, k) / std::f64::consts::SQRT_2
}

/// Nemenyi critical difference of average ranks: q_α √(k(k + 1) / (6n)).
pub fn critical_difference(k: usize, n_datasets: usize, alpha: f64) -> f64 {
    nemenyi_q_alpha(k, alpha) * rank_standard_error(k, n_datasets)
}

fn rank_standard_error(k: usize, n_datasets: usize) -> f64 {
    let kf = k as f64;
    (kf * (kf + 1.0) / (6.0 * n_datasets as f64)).sqrt()
}

/// Nemenyi post-hoc analysis after a Friedman test.
#[derive(Debug, Clone, PartialEq)]
pub struct NemenyiResult {
    /// Critical difference at α = 0.05.
    pub cd_05: f64,
    /// Critical difference at α = 0.10.
    pub cd_10: f64,
    /// `p_values[i][j]`: Nemenyi p-value for methods i and j (1 on the diagonal), as
    /// `scikit_posthocs.posthoc_nemenyi_friedman`.
    pub p_values: Vec<Vec<f64>>,
}

/// Critical differences and pairwise p-values from a Friedman result's average ranks.
pub fn nemenyi(friedman: &FriedmanResult) -> NemenyiResult {
    let k = friedman.n_methods();
    let n = friedman.n_datasets;
    let se = rank_standard_error(k, n);
    let ranks = &friedman.average_ranks;
    let p_values = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| {
                    if i == j {
                        1.0
                    } else {
                        let q = (ranks[i] - ranks[j]).abs() / se * std::f64::consts::SQRT_2;
                        1.0 - studentized_range_cdf(q, k)
                    }
                })
                .collect()
        })
        .collect();
    NemenyiResult {
        cd_05: critical_difference(k, n, 0.05),
        cd_10: critical_difference(k, n, 0.10),
        p_values,
    }
}

/// Groups of methods whose average ranks lie within `cd` of each other (the bars that join
/// methods in a critical-difference diagram). Each group lists method indices sorted by rank;
/// only maximal groups of two or more are returned, ordered by their best rank.
pub fn non_significant_groups(average_ranks: &[f64], cd: f64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..average_ranks.len()).collect();
    order.sort_by(|&a, &b| average_ranks[a].total_cmp(&average_ranks[b]));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut last_end = 0;
    for start in 0..order.len() {
        let end = (start..order.len())
            .take_while(|&j| average_ranks[order[j]] - average_ranks[order[start]] < cd)
            .last()
            .unwrap_or(start);
        if end > start && end > last_end {
            groups.push(order[start..=end].to_vec());
            last_end = end;
        }
    }
    groups
}

/// How a paired test's p-value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PValueMethod {
    /// Exact null distribution of the signed-rank statistic (no ties, no zeros, n ≤ 50).
    Exact,
    /// Enumeration of all 2ⁿ sign flips (ties or zeros, n ≤ 13), as SciPy's permutation test.
    SignFlipEnumeration,
    /// Normal approximation with tie correction, no continuity correction.
    Normal,
    /// Student's t distribution (paired t-test).
    StudentT,
}

/// Result of a two-sided paired test between two methods over the same seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedTest {
    /// Wilcoxon: min(W⁺, W⁻); paired t-test: the t statistic of `a − b`.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// How `p_value` was computed.
    pub method: PValueMethod,
    /// Number of pairs used (Wilcoxon: non-zero differences only).
    pub n: usize,
}

/// Checks that `a` and `b` are paired samples `what` can use: equal lengths >= 2, finite.
fn check_paired_samples(a: &[f64], b: &[f64], what: &str) -> Result<(), ReportError> {
    if a.len() != b.len() || a.len() < 2 {
        return Err(ReportError::InvalidInput(format!(
            "{what} needs two samples of equal length >= 2, got {} and {}",
            a.len(),
            b.len()
        )));
    }
    if a.iter().chain(b).any(|v| !v.is_finite()) {
        return Err(ReportError::InvalidInput(format!(
            "{what} values must be finite"
        )));
    }
    Ok(())
}

/// The differences `a − b` of paired samples a paired test can use.
fn check_pairs(a: &[f64], b: &[f64]) -> Result<Vec<f64>, ReportError> {
    check_paired_samples(a, b, "paired test")?;
    Ok(a.iter().zip(b).map(|(x, y)| x - y).collect())
}

/// Two-sided Wilcoxon signed-rank test of `a − b`, following `scipy.stats.wilcoxon(a, b)`
/// defaults in SciPy 1.17 (`zero_method="wilcox"`, `correction=False`, `method="auto"`):
/// zero differences are dropped; with n (zeros included) > 50 the normal approximation is
/// used; otherwise with no ties and no zeros the exact distribution; otherwise for n ≤ 13
/// every sign flip is enumerated; otherwise the tie-corrected normal approximation.
pub fn wilcoxon_signed_rank(a: &[f64], b: &[f64]) -> Result<PairedTest, ReportError> {
    let differences = check_pairs(a, b)?;
    let n_total = differences.len();
    let nonzero: Vec<f64> = differences.iter().copied().filter(|d| *d != 0.0).collect();
    let n = nonzero.len();
    if n == 0 {
        return Err(ReportError::InvalidInput(
            "Wilcoxon test: all paired differences are zero".into(),
        ));
    }
    let magnitudes: Vec<f64> = nonzero.iter().map(|d| d.abs()).collect();
    let ranks = average_ranks(&magnitudes);
    let positive_rank_sum = |signs_positive: &dyn Fn(usize) -> bool| -> f64 {
        // Fold from +0.0: an empty f64 `sum()` is -0.0, which would print as "-0".
        (0..n)
            .filter(|&i| signs_positive(i))
            .fold(0.0, |total, i| total + ranks[i])
    };
    let r_plus = positive_rank_sum(&|i| nonzero[i] > 0.0);
    let r_minus = positive_rank_sum(&|i| nonzero[i] < 0.0);
    let tie_sizes = tie_group_sizes(&magnitudes);
    let has_ties = tie_sizes.iter().any(|&t| t > 1);
    let has_zeros = n < n_total;

    let (p_value, method) = if n_total <= 50 && !has_ties && !has_zeros {
        (wilcoxon_exact_p(r_plus, n), PValueMethod::Exact)
    } else if n_total <= 13 {
        let observed = r_plus;
        let tolerance = (100.0 * f64::EPSILON * observed).abs();
        let flips = 1usize << n_total;
        let (mut at_most, mut at_least) = (0usize, 0usize);
        for mask in 0..flips {
            // Bits beyond n flip the signs of zero differences, which leaves W⁺ unchanged;
            // SciPy enumerates those too, so the counts keep the same proportions.
            let flipped = positive_rank_sum(&|i| (nonzero[i] > 0.0) != ((mask >> i) & 1 == 1));
            at_most += usize::from(flipped <= observed + tolerance);
            at_least += usize::from(flipped >= observed - tolerance);
        }
        let p = 2.0 * at_most.min(at_least) as f64 / flips as f64;
        (p.min(1.0), PValueMethod::SignFlipEnumeration)
    } else {
        let nf = n as f64;
        let mean = nf * (nf + 1.0) / 4.0;
        let tie_term: f64 = tie_sizes.iter().map(|&t| (t * t * t - t) as f64).sum();
        let se = ((nf * (nf + 1.0) * (2.0 * nf + 1.0) - tie_term / 2.0) / 24.0).sqrt();
        let z = (r_plus - mean) / se;
        ((2.0 * normal_cdf(-z.abs())).min(1.0), PValueMethod::Normal)
    };
    Ok(PairedTest {
        statistic: r_plus.min(r_minus),
        p_value,
        method,
        n,
    })
}

/// Exact two-sided p-value of W⁺ = `r_plus` for n untied non-zero differences:
/// 2 · min(P(W⁺ ≥ ⌊r⌋), P(W⁺ ≤ ⌈r⌉)), capped at 1.
fn wilcoxon_exact_p(r_plus: f64, n: usize) -> f64 {
    let max_sum = n * (n + 1) / 2;
    // counts[s] = number of subsets of {1..n} whose elements sum to s.
    let mut counts = vec![0.0f64; max_sum + 1];
    counts[0] = 1.0;
    for rank in 1..=n {
        for s in (rank..=max_sum).rev() {
            counts[s] += counts[s - rank];
        }
    }
    let total = 2f64.powi(n as i32);
    let lower = r_plus.floor() as usize;
    let upper = r_plus.ceil() as usize;
    let sf: f64 = counts[lower..].iter().sum::<f64>() / total;
    let cdf: f64 = counts[..=upper].iter().sum::<f64>() / total;
    (2.0 * sf.min(cdf)).min(1.0)
}

/// Two-sided paired t-test of `a − b` (`scipy.stats.ttest_rel(a, b)`).
pub fn paired_t_test(a: &[f64], b: &[f64]) -> Result<PairedTest, ReportError> {
    let differences = check_pairs(a, b)?;
    let n = differences.len();
    let nf = n as f64;
    let mean = differences.iter().sum::<f64>() / nf;
    let variance = differences
        .iter()
        .map(|d| (d - mean) * (d - mean))
        .sum::<f64>()
        / (nf - 1.0);
    if variance == 0.0 {
        return Err(ReportError::InvalidInput(
            "paired t-test: the differences have zero variance".into(),
        ));
    }
    let t = mean / (variance / nf).sqrt();
    let distribution = StudentsT::new(0.0, 1.0, nf - 1.0).map_err(invalid)?;
    Ok(PairedTest {
        statistic: t,
        p_value: (2.0 * distribution.sf(t.abs())).min(1.0),
        method: PValueMethod::StudentT,
        n,
    })
}
