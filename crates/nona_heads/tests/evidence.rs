//! [`NonaHead::explain`]: the evidence of each evaluation prediction is taken from the same
//! attention weights as the prediction (Σ weight × label over the whole bank reproduces it), and
//! its top k are the k largest of those weights.

mod common;

use candle_core::{DType, Device};
use common::{Lcg, SoftStepValues, all_configs, flat, head_with, matrix, vector};
use nona_heads::{NonaConfig, Similarity, SoftStepKind};

/// Query 0 and neighbours at 1, 2 and 4 on a line, −L2 without SoftStep: similarities −1, −2,
/// −4, weights `e^{−s}/(e^{−1} + e^{−2} + e^{−4})`.
#[test]
fn three_neighbours_on_a_line() {
    let config = NonaConfig {
        similarity: Similarity::L2,
        softstep: SoftStepKind::None,
        ..NonaConfig::default()
    };
    let values = SoftStepValues::random(&mut Lcg::new(0), 1);
    let (_, head) = head_with(config, &values, DType::F64, &Device::Cpu);
    let query = matrix(&[vec![0.0]], DType::F64);
    let bank = matrix(&[vec![4.0], vec![1.0], vec![2.0]], DType::F64);
    let labels = vector(&[1.0, 0.0, 0.5], DType::F64);
    let evidence = head.explain(&query, &bank, &labels, 2).unwrap();
    assert_eq!(evidence.len(), 1);
    let evidence = &evidence[0];
    let total = (-1f64).exp() + (-2f64).exp() + (-4f64).exp();
    let [w1, w2, w4] = [1.0, 2.0, 4.0].map(|d: f64| (-d).exp() / total);
    let top: Vec<(usize, f64, f64)> = evidence
        .top
        .iter()
        .map(|n| (n.index, n.weight, n.similarity))
        .collect();
    assert_eq!(top.len(), 2);
    assert_eq!((top[0].0, top[0].2), (1, -1.0));
    assert_eq!((top[1].0, top[1].2), (2, -2.0));
    assert!((top[0].1 - w1).abs() < 1e-15 && (top[1].1 - w2).abs() < 1e-15);
    assert!((evidence.top_mass - (w1 + w2)).abs() < 1e-15);
    let mean = 0.5 * w2 + w4;
    assert!((evidence.mean - mean).abs() < 1e-15);
    let variance = w1 * mean.powi(2) + w2 * (0.5 - mean).powi(2) + w4 * (1.0 - mean).powi(2);
    assert!((evidence.spread - variance.sqrt()).abs() < 1e-15);
    let entropy = -[w1, w2, w4].iter().map(|w| w * w.ln()).sum::<f64>();
    assert!((evidence.entropy - entropy).abs() < 1e-15);
    let prediction = flat(&head.forward_eval(&query, &bank, &labels).unwrap());
    assert!((prediction[0] - mean).abs() < 1e-15);
}

/// Every configuration, f64 and f32: the weighted mean over all neighbours is the prediction,
/// the weights sum to 1, and the top 3 are the 3 largest of all the weights, largest first.
#[test]
fn evidence_reproduces_every_prediction() {
    let (queries, neighbours, dim) = (6, 13, 5);
    for (dtype, tolerance) in [(DType::F64, 1e-12), (DType::F32, 1e-6)] {
        for (seed, config) in all_configs().into_iter().enumerate() {
            let mut rng = Lcg::new(seed as u64);
            let values = SoftStepValues::random(&mut rng, dim);
            let (_, head) = head_with(config, &values, dtype, &Device::Cpu);
            let z = matrix(&rng.matrix(queries, dim), dtype);
            let bank = matrix(&rng.matrix(neighbours, dim), dtype);
            let bank_labels = rng.vector(neighbours);
            let labels = vector(&bank_labels, dtype);
            let predictions = flat(&head.predict_unclipped(&z, &bank, &labels).unwrap());
            let all = head.explain(&z, &bank, &labels, neighbours).unwrap();
            let top = head.explain(&z, &bank, &labels, 3).unwrap();
            assert_eq!((all.len(), top.len()), (queries, queries));
            for ((all, top), prediction) in all.iter().zip(&top).zip(&predictions) {
                let context = format!("{config:?} {dtype:?}");
                assert!((all.mean - prediction).abs() < tolerance, "{context}");
                let vote: f64 = all
                    .top
                    .iter()
                    .map(|n| n.weight * bank_labels[n.index])
                    .sum();
                assert!((vote - prediction).abs() < tolerance, "{context}");
                assert!((all.top_mass - 1.0).abs() < tolerance, "{context}");
                assert!(all.top.windows(2).all(|w| w[0].weight >= w[1].weight));
                assert_eq!(top.top[..], all.top[..3], "{context}");
                assert!(top.top_mass <= all.top_mass && top.top_mass > 0.0);
                assert_eq!((top.mean, top.spread), (all.mean, all.spread));
            }
        }
    }
}

#[test]
fn an_empty_bank_or_mismatched_labels_are_refused() {
    let (_, head) = head_with(
        NonaConfig::default(),
        &SoftStepValues::random(&mut Lcg::new(1), 2),
        DType::F32,
        &Device::Cpu,
    );
    let z = matrix(&[vec![0.0, 1.0]], DType::F32);
    let empty = matrix(&[], DType::F32).reshape((0, 2)).unwrap();
    let error = head
        .explain(&z, &empty, &vector(&[], DType::F32), 1)
        .unwrap_err();
    assert!(error.to_string().contains("empty"), "{error}");
    let bank = matrix(&[vec![0.0, 0.0], vec![1.0, 1.0]], DType::F32);
    let error = head
        .explain(&z, &bank, &vector(&[0.5], DType::F32), 1)
        .unwrap_err();
    assert!(error.to_string().contains("1 bank labels for 2"), "{error}");
}
