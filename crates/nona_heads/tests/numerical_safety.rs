//! (4) No NaN/inf in outputs or gradients at the numerically delicate points: duplicate
//! embeddings (sqrt at 0), all-equal rows (min-max 0/0), zero vectors (cosine), batches of size
//! 1 and 2, extreme SoftStep parameters (t at ε and 1 − ε), all-equal labels; in f64 and f32.

mod common;

use candle_core::{DType, Device, Var};
use common::{
    Lcg, SoftStepValues, all_configs, all_finite, flat, head_with, matrix, mse, softstep_vars,
    vector,
};
use nona_heads::{HeadsError, MIN_TRAIN_BATCH, MinMaxScaler, NonaConfig};

const DTYPES: [DType; 2] = [DType::F64, DType::F32];

/// Runs training and evaluation on the given embeddings; asserts finite outputs and gradients
/// (w.r.t. the embeddings and every SoftStep variable). Returns the training output.
fn assert_finite(
    config: NonaConfig,
    values: &SoftStepValues,
    dtype: DType,
    batch: &[Vec<f64>],
    labels: &[f64],
    what: &str,
) -> Vec<f64> {
    let (varmap, head) = head_with(config, values, dtype, &Device::Cpu);
    let params = softstep_vars(&varmap);
    let z = Var::from_tensor(&matrix(batch, dtype)).unwrap();
    let y = vector(labels, dtype);
    let target = vector(&vec![0.25; labels.len()], dtype);

    let pred = head.forward_train(z.as_tensor(), &y).unwrap();
    assert!(
        all_finite(&pred),
        "{what} {config:?} {dtype:?}: train output {:?}",
        flat(&pred)
    );
    let grads = mse(&pred, &target).backward().unwrap();
    for (name, tensor) in std::iter::once(("z".to_string(), z.as_tensor().clone())).chain(
        params
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().clone())),
    ) {
        if let Some(g) = grads.get(&tensor) {
            assert!(
                all_finite(g),
                "{what} {config:?} {dtype:?}: train grad {name} {:?}",
                flat(g)
            );
        }
    }

    // Evaluation against the batch itself as the bank (duplicates of every query, self included).
    let bank = Var::from_tensor(&matrix(batch, dtype)).unwrap();
    let eval = head
        .forward_eval(z.as_tensor(), bank.as_tensor(), &y)
        .unwrap();
    assert!(
        all_finite(&eval),
        "{what} {config:?} {dtype:?}: eval output {:?}",
        flat(&eval)
    );
    let grads = mse(&eval, &target).backward().unwrap();
    for tensor in [z.as_tensor(), bank.as_tensor()] {
        if let Some(g) = grads.get(tensor) {
            assert!(
                all_finite(g),
                "{what} {config:?} {dtype:?}: eval grad {:?}",
                flat(g)
            );
        }
    }
    flat(&pred)
}

fn values(dim: usize) -> SoftStepValues {
    SoftStepValues::random(&mut Lcg::new(99), dim)
}

#[test]
fn duplicate_embeddings_stay_finite() {
    let mut rng = Lcg::new(1);
    let mut batch = rng.matrix(5, 3);
    batch[3] = batch[1].clone();
    batch[4] = batch[1].clone();
    for dtype in DTYPES {
        for config in all_configs() {
            assert_finite(
                config,
                &values(3),
                dtype,
                &batch,
                &rng.vector(5),
                "duplicates",
            );
        }
    }
}

#[test]
fn identical_embeddings_give_all_equal_rows_and_the_label_mean() {
    // Every similarity row is constant: min-max normalisation would be 0/0.
    let batch = vec![vec![0.3, -1.2, 0.7]; 4];
    let labels = [0.1, 0.2, 0.6, 0.9];
    for dtype in DTYPES {
        for config in all_configs() {
            let pred = assert_finite(config, &values(3), dtype, &batch, &labels, "all-equal rows");
            // Each sample gets the mean of the other three labels.
            let total: f64 = labels.iter().sum();
            for (i, p) in pred.iter().enumerate() {
                let expected = (total - labels[i]) / 3.0;
                assert!(
                    (p - expected).abs() < 1e-5,
                    "{config:?} {dtype:?}: {p} vs {expected}"
                );
            }
        }
    }
}

#[test]
fn zero_vectors_stay_finite() {
    let batch = vec![
        vec![0.0; 3],
        vec![0.0; 3],
        vec![1.0, -2.0, 0.5],
        vec![0.2, 0.1, -0.3],
    ];
    for dtype in DTYPES {
        for config in all_configs() {
            assert_finite(
                config,
                &values(3),
                dtype,
                &batch,
                &[0.0, 0.5, 1.0, 0.3],
                "zero vectors",
            );
        }
    }
}

#[test]
fn batch_of_two_stays_finite_and_each_sample_gets_the_other_label() {
    let batch = Lcg::new(4).matrix(2, 3);
    for dtype in DTYPES {
        for config in all_configs() {
            let pred = assert_finite(config, &values(3), dtype, &batch, &[0.2, 0.8], "batch of 2");
            assert!(
                (pred[0] - 0.8).abs() < 1e-6 && (pred[1] - 0.2).abs() < 1e-6,
                "{config:?}: {pred:?}"
            );
        }
    }
}

#[test]
fn batch_of_one_is_rejected_in_training_and_fine_in_evaluation() {
    for config in all_configs() {
        let (_, head) = head_with(config, &values(3), DType::F64, &Device::Cpu);
        let z = matrix(&[vec![0.1, 0.2, 0.3]], DType::F64);
        let y = vector(&[0.5], DType::F64);
        match head.forward_train(&z, &y) {
            Err(HeadsError::TrainBatchTooSmall { size: 1, min }) => {
                assert_eq!(min, MIN_TRAIN_BATCH)
            }
            other => panic!("{config:?}: expected TrainBatchTooSmall, got {other:?}"),
        }
        // One query against a bank of one neighbour (even itself) predicts that neighbour's label.
        let pred = head.predict(&z, &z, &y).unwrap();
        assert_eq!(flat(&pred), vec![0.5], "{config:?}");
    }
}

#[test]
fn extreme_softstep_parameters_stay_finite() {
    // sigmoid(±40) rounds to 0/1 (f32 already from ±17): t, a, b hit the clamp ε / 1 − ε.
    let mut rng = Lcg::new(8);
    let batch = rng.matrix(6, 3);
    let labels = rng.vector(6);
    for dtype in DTYPES {
        for signs in 0..8u32 {
            let theta: Vec<f64> = (0..3)
                .map(|k| if signs >> k & 1 == 1 { 40.0 } else { -40.0 })
                .collect();
            let weight = vec![vec![0.0; 3]; 3];
            let extreme = SoftStepValues {
                bias: theta.clone(),
                theta,
                weight,
            };
            for config in all_configs() {
                assert_finite(
                    config,
                    &extreme,
                    dtype,
                    &batch,
                    &labels,
                    "extreme parameters",
                );
            }
        }
    }
}

#[test]
fn all_equal_labels_predict_that_label_with_zero_gradient() {
    let batch = Lcg::new(5).matrix(5, 3);
    for dtype in DTYPES {
        for config in all_configs() {
            let pred = assert_finite(config, &values(3), dtype, &batch, &[0.4; 5], "equal labels");
            assert!(
                pred.iter().all(|p| (p - 0.4).abs() < 1e-6),
                "{config:?}: {pred:?}"
            );
        }
    }
    let scaler = MinMaxScaler::fit(&[3.0, 3.0, 3.0]).unwrap();
    assert_eq!(scaler.transform_all(&[3.0, 4.0]), vec![0.0, 1.0]);
    assert_eq!(scaler.inverse(0.0), 3.0);
}

#[test]
fn s2_clamps_the_row_minimum_to_eps_before_the_log() {
    // At x = 0 the unclamped S2 is ln 0 = −∞ (NaN gradients); the clamp gives a finite ln ε term.
    let x = matrix(&[vec![0.0, 0.5, 1.0]], DType::F64);
    let b = matrix(&[vec![0.8]], DType::F64);
    let t = matrix(&[vec![0.5]], DType::F64);
    let mask = flat(&nona_heads::softstep::s2_log_mask(&x, &b, &t, 1e-6).unwrap());
    let expected = 1.0 * (0.8 - 1e-6) * (1e-6f64 / 0.8).ln();
    assert!((mask[0] - expected).abs() < 1e-12, "{mask:?}");
    assert_eq!(mask[2], 0.0);
}
