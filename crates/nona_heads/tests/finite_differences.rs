//! (2) Gradients of every head variant w.r.t. the embeddings (queries, batch, neighbour bank) and
//! the SoftStep parameters match (fourth-order) central finite differences in f64.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use common::{
    Lcg, SoftStepValues, all_configs, flat, head_with, matrix, mse, softstep_vars, vector,
};
use nona_heads::NonaConfig;

const STEP: f64 = 1e-5;
const TOLERANCE: f64 = 1e-6;

/// Largest `|analytic − numeric| / max(1, |numeric|)` over every element of every variable.
fn worst_gradient_error(loss: &dyn Fn() -> Tensor, vars: &[(String, Var)]) -> (f64, String) {
    let grads = loss().backward().unwrap();
    let mut worst = (0.0, String::new());
    for (name, var) in vars {
        let analytic = grads
            .get(var.as_tensor())
            .map_or_else(|| vec![0.0; var.elem_count()], flat);
        let original = flat(var.as_tensor());
        let shape = var.shape().clone();
        let set = |values: &[f64]| {
            let t = Tensor::from_vec(values.to_vec(), shape.clone(), var.device()).unwrap();
            var.set(&t).unwrap();
        };
        for k in 0..original.len() {
            let at = |offset: f64| {
                let mut shifted = original.clone();
                shifted[k] += offset;
                set(&shifted);
                loss().to_scalar::<f64>().unwrap()
            };
            // Fourth-order central difference: S2's ln(x/b) is steep for x near the row minimum.
            let numeric =
                (8.0 * (at(STEP) - at(-STEP)) - (at(2.0 * STEP) - at(-2.0 * STEP))) / (12.0 * STEP);
            set(&original);
            let error = (analytic[k] - numeric).abs() / numeric.abs().max(1.0);
            assert!(
                analytic[k].is_finite(),
                "{name}[{k}]: gradient {}",
                analytic[k]
            );
            if error > worst.0 {
                worst = (
                    error,
                    format!("{name}[{k}]: analytic {} numeric {numeric}", analytic[k]),
                );
            }
        }
    }
    worst
}

fn check(config: NonaConfig, seed: u64) -> f64 {
    let dim = 4;
    let mut rng = Lcg::new(seed);
    let values = SoftStepValues::random(&mut rng, dim);
    let (varmap, head) = head_with(config, &values, DType::F64, &Device::Cpu);
    let params = softstep_vars(&varmap);

    let batch = Var::from_tensor(&matrix(&rng.matrix(6, dim), DType::F64)).unwrap();
    let batch_labels = vector(&rng.vector(6), DType::F64);
    let batch_target = vector(&rng.vector(6), DType::F64);
    let train_loss = || {
        mse(
            &head
                .forward_train(batch.as_tensor(), &batch_labels)
                .unwrap(),
            &batch_target,
        )
    };
    let mut vars = vec![("batch".to_string(), batch.clone())];
    vars.extend(params.iter().cloned());
    let (train_error, train_at) = worst_gradient_error(&train_loss, &vars);
    assert!(
        train_error < TOLERANCE,
        "{config:?} train seed {seed}: {train_error:e} at {train_at}"
    );

    let queries = Var::from_tensor(&matrix(&rng.matrix(4, dim), DType::F64)).unwrap();
    let bank = Var::from_tensor(&matrix(&rng.matrix(8, dim), DType::F64)).unwrap();
    let bank_labels = vector(&rng.vector(8), DType::F64);
    let query_target = vector(&rng.vector(4), DType::F64);
    let eval_loss = || {
        let pred = head
            .forward_eval(queries.as_tensor(), bank.as_tensor(), &bank_labels)
            .unwrap();
        mse(&pred, &query_target)
    };
    let mut vars = vec![
        ("queries".to_string(), queries.clone()),
        ("bank".to_string(), bank.clone()),
    ];
    vars.extend(params);
    let (eval_error, eval_at) = worst_gradient_error(&eval_loss, &vars);
    assert!(
        eval_error < TOLERANCE,
        "{config:?} eval seed {seed}: {eval_error:e} at {eval_at}"
    );
    train_error.max(eval_error)
}

#[test]
#[allow(clippy::print_stderr)] // reports the measured error with --nocapture
fn gradients_match_central_finite_differences() {
    let mut worst: f64 = 0.0;
    for seed in [11, 12] {
        for config in all_configs() {
            worst = worst.max(check(config, seed));
        }
    }
    assert!(worst < TOLERANCE, "worst relative gradient error {worst:e}");
    eprintln!("finite differences: worst relative gradient error {worst:e}");
}

#[test]
fn the_check_detects_a_wrong_gradient() {
    // A loss whose backward differs from its forward (detach) must be flagged.
    let var = Var::from_tensor(&vector(&[0.3, -0.2], DType::F64)).unwrap();
    let loss = || {
        let t = var.as_tensor();
        (t.sqr().unwrap().sum_all().unwrap() + t.detach().sqr().unwrap().sum_all().unwrap())
            .unwrap()
    };
    let (error, _) = worst_gradient_error(&loss, &[("v".to_string(), var.clone())]);
    assert!(error > 0.1, "error {error}");
}
