//! The paper's splits: 80/20 development/test, then development 85/15 train/validation, both
//! stratified on label quantile bins, optionally keeping groups (e.g. patients) whole.
//!
//! **Units.** Without groups every sample is a unit; with groups every group is a unit labelled
//! by the mean label of its samples, and whole units go to one side of a split. Fractions are
//! fractions of *units* (for groups of very different sizes the sample fractions deviate).
//!
//! **Bins.** Units are sorted by label (ties broken by a seeded shuffle) and cut by rank into
//! `min(bins, units)` quantile bins of equal size (±1), default 10 bins. Because bins are cut by
//! rank, tied labels may fall into neighbouring bins and no bin is ever empty, however many ties.
//!
//! **Allocation.** The held-out side gets `round(fraction · units)` units (at least 1, and at most
//! `units − 1`). Each bin gives its proportional share; the fractional remainders are settled by
//! largest remainder, ties in the remainder broken by a seeded shuffle of the bins, so small bins
//! do not systematically favour low or high labels. Within a bin the held-out units are a seeded
//! random choice.
//!
//! **Determinism.** Everything is drawn from one ChaCha8 stream seeded by `seed` (sequential, no
//! threads involved); grouped units are ordered by group key first, so the input order of groups
//! does not matter beyond the samples themselves.
//!
//! **Size.** At least [`MIN_UNITS`] units are required (so that test, validation and train are
//! non-empty and train can form a batch of two).

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// Fewest units (samples, or groups) that can be split.
pub const MIN_UNITS: usize = 10;

/// Split fractions and stratification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitConfig {
    /// Fraction of all units held out for testing (paper: 0.2).
    pub test_fraction: f64,
    /// Fraction of the development units held out for validation (paper: 0.15).
    pub validation_fraction: f64,
    /// Number of label quantile bins to stratify on.
    pub bins: usize,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            test_fraction: 0.2,
            validation_fraction: 0.15,
            bins: 10,
        }
    }
}

/// Sample indices of each split, each sorted ascending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Splits {
    /// Training samples.
    pub train: Vec<usize>,
    /// Validation samples (early stopping).
    pub validation: Vec<usize>,
    /// Test samples.
    pub test: Vec<usize>,
}

/// A unit of splitting: its samples and its (mean) label.
#[derive(Debug, Clone)]
struct Unit {
    samples: Vec<usize>,
    label: f64,
}

/// Splits samples with `labels` (one unit per sample).
pub fn split(labels: &[f64], config: &SplitConfig, seed: u64) -> Result<Splits> {
    check_labels(labels)?;
    let units = labels
        .iter()
        .enumerate()
        .map(|(i, &label)| Unit {
            samples: vec![i],
            label,
        })
        .collect();
    split_units(units, config, seed)
}

/// Splits samples with `labels` keeping each group (`groups[i]` is sample `i`'s group) inside one
/// split; groups are stratified by their mean label.
pub fn split_grouped<G: Ord>(
    labels: &[f64],
    groups: &[G],
    config: &SplitConfig,
    seed: u64,
) -> Result<Splits> {
    check_labels(labels)?;
    if groups.len() != labels.len() {
        return Err(TrainError::Split(format!(
            "{} groups for {} labels",
            groups.len(),
            labels.len()
        )));
    }
    let mut by_group: BTreeMap<&G, Vec<usize>> = BTreeMap::new();
    for (i, group) in groups.iter().enumerate() {
        by_group.entry(group).or_default().push(i);
    }
    let units = by_group
        .into_values()
        .map(|samples| {
            let label = samples.iter().map(|&i| labels[i]).sum::<f64>() / samples.len() as f64;
            Unit { samples, label }
        })
        .collect();
    split_units(units, config, seed)
}

fn check_labels(labels: &[f64]) -> Result<()> {
    match labels.iter().find(|v| !v.is_finite()) {
        Some(bad) => Err(TrainError::Split(format!("non-finite label {bad}"))),
        None => Ok(()),
    }
}

fn split_units(units: Vec<Unit>, config: &SplitConfig, seed: u64) -> Result<Splits> {
    check_config(config)?;
    if units.len() < MIN_UNITS {
        return Err(TrainError::Split(format!(
            "{} units (samples or groups); at least {MIN_UNITS} are needed for train, validation and test",
            units.len()
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (development, test) =
        stratified_holdout(units, config.test_fraction, config.bins, &mut rng);
    let (train, validation) = stratified_holdout(
        development,
        config.validation_fraction,
        config.bins,
        &mut rng,
    );
    Ok(Splits {
        train: sorted_samples(&train),
        validation: sorted_samples(&validation),
        test: sorted_samples(&test),
    })
}

fn check_config(config: &SplitConfig) -> Result<()> {
    let valid = |f: f64| f > 0.0 && f < 1.0;
    if !valid(config.test_fraction) || !valid(config.validation_fraction) || config.bins == 0 {
        return Err(TrainError::Split(format!(
            "fractions must lie in (0, 1) and bins be positive: {config:?}"
        )));
    }
    Ok(())
}

fn sorted_samples(units: &[Unit]) -> Vec<usize> {
    let mut samples: Vec<usize> = units
        .iter()
        .flat_map(|u| u.samples.iter().copied())
        .collect();
    samples.sort_unstable();
    samples
}

/// Splits `units` into `(kept, held_out)` with `held_out` ≈ `fraction` of the units, stratified.
fn stratified_holdout(
    mut units: Vec<Unit>,
    fraction: f64,
    bins: usize,
    rng: &mut ChaCha8Rng,
) -> (Vec<Unit>, Vec<Unit>) {
    let count = units.len();
    let held_total = ((fraction * count as f64).round() as usize).clamp(1, count - 1);
    // A seeded shuffle before the stable sort breaks label ties at random.
    units.shuffle(rng);
    units.sort_by(|a, b| a.label.total_cmp(&b.label));
    let bins = quantile_bins(units, bins);
    let quotas = largest_remainder_quotas(&bins, held_total, fraction, rng);
    let mut kept = Vec::with_capacity(count - held_total);
    let mut held = Vec::with_capacity(held_total);
    for (mut bin, quota) in bins.into_iter().zip(quotas) {
        bin.shuffle(rng);
        let rest = bin.split_off(quota);
        held.extend(bin);
        kept.extend(rest);
    }
    (kept, held)
}

/// Cuts label-sorted units into `min(bins, len)` consecutive bins of equal size (±1).
fn quantile_bins(sorted: Vec<Unit>, bins: usize) -> Vec<Vec<Unit>> {
    let len = sorted.len();
    let bins = bins.min(len);
    let mut out: Vec<Vec<Unit>> = (0..bins).map(|_| Vec::new()).collect();
    for (rank, unit) in sorted.into_iter().enumerate() {
        out[rank * bins / len].push(unit);
    }
    out
}

/// Units each bin holds out: floor of its share, plus one for the bins with the largest
/// remainders (random order among equal remainders) until `total` is reached.
fn largest_remainder_quotas(
    bins: &[Vec<Unit>],
    total: usize,
    fraction: f64,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let shares: Vec<f64> = bins.iter().map(|b| b.len() as f64 * fraction).collect();
    let mut quotas: Vec<usize> = shares
        .iter()
        .zip(bins)
        .map(|(share, bin)| (share.floor() as usize).min(bin.len()))
        .collect();
    let mut order: Vec<usize> = (0..bins.len()).collect();
    order.shuffle(rng);
    order.sort_by(|&a, &b| {
        let remainder = |i: usize| shares[i] - quotas[i] as f64;
        remainder(b).total_cmp(&remainder(a))
    });
    let mut missing = total.saturating_sub(quotas.iter().sum());
    // Cycling covers totals that rounding pushed above the sum of ceilings.
    while missing > 0 {
        let before = missing;
        for &i in &order {
            if missing > 0 && quotas[i] < bins[i].len() {
                quotas[i] += 1;
                missing -= 1;
            }
        }
        if missing == before {
            break;
        }
    }
    quotas
}

/// The rows `indices` of row-major `features` with `dim` columns, in the order given.
///
/// # Panics
/// If an index is out of range.
pub fn gather_rows(features: &[f32], dim: usize, indices: &[usize]) -> Vec<f32> {
    indices
        .iter()
        .flat_map(|&i| &features[i * dim..(i + 1) * dim])
        .copied()
        .collect()
}

/// The values at `indices`, in the order given.
///
/// # Panics
/// If an index is out of range.
pub fn gather<T: Copy>(values: &[T], indices: &[usize]) -> Vec<T> {
    indices.iter().map(|&i| values[i]).collect()
}
