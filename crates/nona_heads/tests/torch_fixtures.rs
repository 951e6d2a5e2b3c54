//! (3) Parity with the PyTorch re-implementation of the reference code
//! (`tests/fixtures/nona/make_nona_fixtures.py`): outputs and gradients of all 48 NONA cases,
//! the projector (train/eval BatchNorm, running statistics, gradients) and Adam trajectories.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{Optimizer, VarBuilder, VarMap};
use common::{SoftStepValues, flat, head_with, matrix, mse, vector};
use nona_heads::{Adam, AdamConfig, FusedProjector, NonaConfig, Projector, ProjectorConfig};
use nona_testkit::Gap;
use serde_json::Value;

const TOLERANCE: f64 = 1e-5;

fn fixtures() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/nona/nona_fixtures.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file")).unwrap()
}

fn numbers(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(items) => items.iter().flat_map(numbers).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("not numeric: {other}"),
    }
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(numbers).collect()
}

/// A fixture's matrix or vector as an f64 tensor on `device`.
fn tensor(v: &Value, device: &Device) -> Tensor {
    let cpu = match v.as_array().unwrap().first() {
        Some(Value::Array(_)) => matrix(&rows(v), DType::F64),
        _ => vector(&numbers(v), DType::F64),
    };
    cpu.to_device(device).unwrap()
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap().to_owned()
}

nona_testkit::device_tests!(
    nona_outputs_and_gradients_match_torch,
    projector_matches_torch_batchnorm_linear_tanh,
    adam_matches_torch_adam_with_coupled_weight_decay
);

#[allow(clippy::print_stderr)] // reports the measured errors with --nocapture
fn nona_outputs_and_gradients_match_torch(device: &Device) {
    let fixtures = fixtures();
    let eps = fixtures["eps"].as_f64().unwrap();
    let inputs = &fixtures["inputs"];
    let values = SoftStepValues {
        theta: numbers(&inputs["theta"]),
        weight: rows(&inputs["weight"]),
        bias: numbers(&inputs["bias"]),
    };
    let cases = fixtures["nona"].as_array().unwrap();
    assert_eq!(cases.len(), 48);
    let (mut worst_output, mut worst_grad) = (0.0f64, 0.0f64);
    for case in cases {
        let config = NonaConfig {
            similarity: text(case, "similarity").parse().unwrap(),
            softstep: text(case, "softstep").parse().unwrap(),
            params: text(case, "params").parse().unwrap(),
            eps,
        };
        let label = format!(
            "{} {} {} {}",
            config.similarity,
            config.softstep,
            config.params,
            text(case, "mode")
        );
        let (varmap, head) = head_with(config, &values, DType::F64, device);
        let z;
        let mut leaves: Vec<(&str, Tensor)> = Vec::new();
        let (pred, target) = if text(case, "mode") == "train" {
            z = Var::from_tensor(&tensor(&inputs["z_train"], device)).unwrap();
            let pred = head
                .forward_train(z.as_tensor(), &tensor(&inputs["y_train"], device))
                .unwrap();
            (pred, tensor(&inputs["target_train"], device))
        } else {
            z = Var::from_tensor(&tensor(&inputs["z_query"], device)).unwrap();
            let bank = Var::from_tensor(&tensor(&inputs["z_bank"], device)).unwrap();
            leaves.push(("bank_z", bank.as_tensor().clone()));
            let pred = head
                .forward_eval(
                    z.as_tensor(),
                    bank.as_tensor(),
                    &tensor(&inputs["y_bank"], device),
                )
                .unwrap();
            (pred, tensor(&inputs["target_query"], device))
        };
        leaves.push(("z", z.as_tensor().clone()));
        let data = varmap.data().lock().unwrap().clone();
        for (fixture_name, var_name) in [
            ("theta", "softstep.theta"),
            ("weight", "softstep.linear.weight"),
            ("bias", "softstep.linear.bias"),
        ] {
            if let Some(var) = data.get(var_name) {
                leaves.push((fixture_name, var.as_tensor().clone()));
            }
        }

        let output_error = Gap::between(&flat(&pred), &numbers(&case["output"]));
        assert!(
            output_error.max_abs < TOLERANCE,
            "{label}: output differs by {output_error}"
        );
        worst_output = worst_output.max(output_error.max_abs);

        let grads = mse(&pred, &target).backward().unwrap();
        let expected = case["grads"].as_object().unwrap();
        for (name, leaf) in &leaves {
            let ours = grads.get(leaf).map(flat);
            match (expected.get(*name), ours) {
                (Some(theirs), Some(ours)) => {
                    let error = Gap::between(&ours, &numbers(theirs));
                    assert!(
                        error.max_abs < TOLERANCE,
                        "{label}: d loss/d {name} differs by {error}"
                    );
                    worst_grad = worst_grad.max(error.max_abs);
                }
                (None, Some(ours)) => assert!(
                    ours.iter().all(|g| *g == 0.0),
                    "{label}: {name} unused in torch"
                ),
                (Some(_), None) => panic!("{label}: no gradient for {name}"),
                (None, None) => {}
            }
        }
    }
    // Printed with `cargo test -- --nocapture`; quoted in the crate's report.
    eprintln!("torch parity: max output error {worst_output:e}, max gradient error {worst_grad:e}");
}

/// The projector fixture, its configuration, and an f64 projector on `device` holding its
/// variables.
fn fixture_projector(device: &Device) -> (Value, ProjectorConfig, VarMap, Projector) {
    let fixture = fixtures()["projector"].clone();
    let dims: Vec<usize> = numbers(&fixture["dims"])
        .into_iter()
        .map(|d| d as usize)
        .collect();
    let config = ProjectorConfig {
        input_dim: dims[0],
        hidden: dims[1..dims.len() - 1].to_vec(),
        embedding_dim: dims[dims.len() - 1],
    };
    let mut varmap = VarMap::new();
    let projector = Projector::new(
        &config,
        VarBuilder::from_varmap(&varmap, DType::F64, device),
    )
    .unwrap();
    for (name, value) in fixture["variables"].as_object().unwrap() {
        varmap.set_one(name, tensor(value, device)).unwrap();
    }
    (fixture, config, varmap, projector)
}

fn projector_matches_torch_batchnorm_linear_tanh(device: &Device) {
    let (fixture, _, varmap, projector) = fixture_projector(device);
    let out = projector
        .forward_train(&tensor(&fixture["x_train"], device))
        .unwrap();
    let error = Gap::between(&flat(&out), &numbers(&fixture["train_output"]));
    assert!(error.max_abs < TOLERANCE, "train output differs by {error}");

    let grads = out.sqr().unwrap().sum_all().unwrap().backward().unwrap();
    let data = varmap.data().lock().unwrap().clone();
    for (name, expected) in fixture["grads_of_sum_of_squares"].as_object().unwrap() {
        let ours = flat(grads.get(data[name].as_tensor()).unwrap());
        let error = Gap::between(&ours, &numbers(expected));
        assert!(
            error.max_abs < TOLERANCE,
            "gradient of {name} differs by {error}"
        );
    }
    for (name, expected) in fixture["running_after_train"].as_object().unwrap() {
        let error = Gap::between(&flat(data[name].as_tensor()), &numbers(expected));
        assert!(error.max_abs < TOLERANCE, "{name} differs by {error}");
    }
    let eval = projector
        .forward_eval(&tensor(&fixture["x_eval"], device))
        .unwrap();
    let error = Gap::between(&flat(&eval), &numbers(&fixture["eval_output"]));
    assert!(error.max_abs < TOLERANCE, "eval output differs by {error}");
}

#[test]
fn fused_projector_matches_torch_batchnorm_linear_tanh() {
    let (fixture, config, varmap, _) = fixture_projector(&Device::Cpu);
    let mut fused =
        FusedProjector::<f64>::from_varmap(&varmap, "", &config, AdamConfig::default()).unwrap();
    let out = fused
        .forward_train(&numbers(&fixture["x_train"]))
        .unwrap()
        .to_vec();
    let error = Gap::between(&out, &numbers(&fixture["train_output"]));
    assert!(error.max_abs < TOLERANCE, "train output differs by {error}");

    // ∂(Σ out²)/∂out = 2 out
    let grad_out: Vec<f64> = out.iter().map(|v| 2.0 * v).collect();
    fused.backward(&grad_out).unwrap();
    let expected = fixture["grads_of_sum_of_squares"].as_object().unwrap();
    let gradients: std::collections::HashMap<String, &[f64]> =
        fused.gradients().into_iter().collect();
    for (name, expected) in expected {
        let error = Gap::between(gradients[name], &numbers(expected));
        assert!(
            error.max_abs < TOLERANCE,
            "gradient of {name} differs by {error}"
        );
    }
    fused.write_to_varmap(&varmap, "").unwrap();
    let data = varmap.data().lock().unwrap().clone();
    for (name, expected) in fixture["running_after_train"].as_object().unwrap() {
        let error = Gap::between(&flat(data[name].as_tensor()), &numbers(expected));
        assert!(error.max_abs < TOLERANCE, "{name} differs by {error}");
    }
}

fn adam_matches_torch_adam_with_coupled_weight_decay(device: &Device) {
    for case in fixtures()["adam"].as_array().unwrap() {
        let theta = Var::from_tensor(&tensor(&case["start"], device)).unwrap();
        let target = tensor(&case["target"], device);
        let scale = tensor(&case["scale"], device);
        let config = AdamConfig {
            lr: case["lr"].as_f64().unwrap(),
            weight_decay: case["weight_decay"].as_f64().unwrap(),
            ..AdamConfig::default()
        };
        let mut adam = Adam::new(vec![theta.clone()], config).unwrap();
        for (step, expected) in case["trajectory"].as_array().unwrap().iter().enumerate() {
            let diff = theta.as_tensor().sub(&target).unwrap();
            let loss = diff
                .sqr()
                .unwrap()
                .sqr()
                .unwrap()
                .mul(&scale)
                .unwrap()
                .sum_all()
                .unwrap();
            adam.backward_step(&loss).unwrap();
            let error = Gap::between(&flat(theta.as_tensor()), &numbers(expected));
            assert!(
                error.max_abs < 1e-12,
                "wd {}: step {step} differs by {error}",
                config.weight_decay
            );
        }
    }
}
