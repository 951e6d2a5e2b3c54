//! Splits: proportions, stratification, groups, determinism, small inputs.

use std::collections::{BTreeMap, BTreeSet};

use nona_train::{SplitConfig, Splits, TrainError, gather, gather_rows, split, split_grouped};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn skewed_labels(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Skewed, with many ties (rounded to integers).
    (0..n)
        .map(|_| (rng.random::<f64>().powi(3) * 50.0).round())
        .collect()
}

fn assert_partition(splits: &Splits, n: usize) {
    let mut all: Vec<usize> = [&splits.train, &splits.validation, &splits.test]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>(), "every sample exactly once");
    for part in [&splits.train, &splits.validation, &splits.test] {
        assert!(part.windows(2).all(|w| w[0] < w[1]), "sorted");
    }
}

#[test]
fn proportions_are_the_papers() {
    let labels = skewed_labels(1000, 1);
    let splits = split(&labels, &SplitConfig::default(), 7).unwrap();
    assert_partition(&splits, 1000);
    assert_eq!(splits.test.len(), 200);
    assert_eq!(splits.validation.len(), 120); // 15 % of 800
    assert_eq!(splits.train.len(), 680);
}

/// Fraction of `values` in each decile bin of `reference`.
fn decile_shares(reference: &[f64], values: &[f64]) -> Vec<f64> {
    let mut sorted = reference.to_vec();
    sorted.sort_by(f64::total_cmp);
    let edges: Vec<f64> = (1..10).map(|k| sorted[k * sorted.len() / 10]).collect();
    let mut counts = [0usize; 10];
    for v in values {
        counts[edges.iter().filter(|&&e| *v >= e).count()] += 1;
    }
    counts
        .iter()
        .map(|&c| c as f64 / values.len() as f64)
        .collect()
}

#[test]
fn every_split_follows_the_label_distribution() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let labels: Vec<f64> = (0..2000).map(|_| rng.random::<f64>().powi(2)).collect();
    let whole = decile_shares(&labels, &labels);
    for seed in 0..3 {
        let splits = split(&labels, &SplitConfig::default(), seed).unwrap();
        for part in [&splits.train, &splits.validation, &splits.test] {
            let shares = decile_shares(&labels, &gather(&labels, part));
            for (s, w) in shares.iter().zip(&whole) {
                // Stratified: within a unit or two per bin (a random split of 300 would deviate
                // by several percentage points).
                assert!((s - w).abs() < 0.012, "{shares:?} vs {whole:?}");
            }
        }
    }
}

#[test]
fn stratification_beats_chance_on_the_test_mean() {
    // With a heavy tail, unstratified 20 % samples vary a lot in mean; stratified ones barely.
    let labels = skewed_labels(500, 9);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let whole = mean(&labels);
    let worst = (0..20)
        .map(|seed| {
            let splits = split(&labels, &SplitConfig::default(), seed).unwrap();
            (mean(&gather(&labels, &splits.test)) - whole).abs()
        })
        .fold(0.0, f64::max);
    assert!(
        worst < 0.8,
        "test means deviate by up to {worst} (labels 0–50)"
    );
}

#[test]
fn groups_never_straddle_splits() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut groups = Vec::new();
    let mut labels = Vec::new();
    for group in 0..300u32 {
        let size = rng.random_range(1..=6);
        let centre: f64 = rng.random::<f64>() * 10.0;
        for _ in 0..size {
            groups.push(format!("patient-{group}"));
            labels.push(centre + rng.random::<f64>());
        }
    }
    let splits = split_grouped(&labels, &groups, &SplitConfig::default(), 1).unwrap();
    assert_partition(&splits, labels.len());
    let mut side: BTreeMap<&str, usize> = BTreeMap::new();
    for (k, part) in [&splits.train, &splits.validation, &splits.test]
        .into_iter()
        .enumerate()
    {
        for &i in part {
            let previous = side.insert(&groups[i], k);
            assert!(
                previous.is_none_or(|p| p == k),
                "group {} straddles",
                groups[i]
            );
        }
    }
    let groups_in = |part: &[usize]| {
        part.iter()
            .map(|&i| groups[i].as_str())
            .collect::<BTreeSet<_>>()
            .len()
    };
    assert_eq!(groups_in(&splits.test), 60); // 20 % of 300 groups
    assert_eq!(groups_in(&splits.validation), 36); // 15 % of 240
    assert_eq!(groups_in(&splits.train), 204);
}

#[test]
fn same_seed_same_split_other_seed_other_split() {
    let labels = skewed_labels(300, 2);
    let config = SplitConfig::default();
    let a = split(&labels, &config, 42).unwrap();
    assert_eq!(a, split(&labels, &config, 42).unwrap());
    let b = split(&labels, &config, 43).unwrap();
    assert_ne!(a.test, b.test);
    assert_ne!(a.validation, b.validation);
    let groups: Vec<u32> = (0..300).map(|i| i / 3).collect();
    assert_eq!(
        split_grouped(&labels, &groups, &config, 3).unwrap(),
        split_grouped(&labels, &groups, &config, 3).unwrap()
    );
}

#[test]
fn tiny_inputs_error_or_split_sanely() {
    let err = split(&skewed_labels(9, 1), &SplitConfig::default(), 0).unwrap_err();
    assert!(matches!(err, TrainError::Split(_)));
    assert!(err.to_string().contains("at least 10"), "{err}");

    let labels: Vec<f64> = (0..10).map(f64::from).collect();
    let splits = split(&labels, &SplitConfig::default(), 0).unwrap();
    assert_partition(&splits, 10);
    assert_eq!(
        [
            splits.train.len(),
            splits.validation.len(),
            splits.test.len()
        ],
        [7, 1, 2]
    );
    // 30 samples in only 5 groups: too few groups.
    let groups: Vec<u8> = (0..30).map(|i| i % 5).collect();
    let labels = skewed_labels(30, 1);
    assert!(split_grouped(&labels, &groups, &SplitConfig::default(), 0).is_err());
}

#[test]
fn all_equal_labels_still_split_in_proportion() {
    let splits = split(&[3.0; 100], &SplitConfig::default(), 0).unwrap();
    assert_partition(&splits, 100);
    assert_eq!(splits.test.len(), 20);
    assert_eq!(splits.validation.len(), 12);
}

#[test]
fn bad_inputs_are_rejected() {
    let config = SplitConfig::default();
    let mut labels = skewed_labels(50, 1);
    labels[3] = f64::NAN;
    assert!(split(&labels, &config, 0).is_err());
    assert!(split_grouped(&skewed_labels(50, 1), &[1, 2, 3], &config, 0).is_err());
    let bad = SplitConfig {
        test_fraction: 1.0,
        ..SplitConfig::default()
    };
    assert!(split(&skewed_labels(50, 1), &bad, 0).is_err());
}

#[test]
fn gather_helpers_pick_rows() {
    let features = [0.0, 1.0, 10.0, 11.0, 20.0, 21.0];
    assert_eq!(
        gather_rows(&features, 2, &[2, 0]),
        vec![20.0, 21.0, 0.0, 1.0]
    );
    assert_eq!(gather(&["a", "b", "c"], &[1]), vec!["b"]);
}
