//! The fused projector (hand-written forward, backward and Adam) against candle's autograd
//! projector with the tensor Adam: same values after several training steps, same errors.

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, VarBuilder, VarMap};
use common::{Lcg, flat};
use nona_heads::{Adam, AdamConfig, FusedProjector, HeadsError, Projector, ProjectorConfig};
use nona_testkit::Gap;

fn config() -> ProjectorConfig {
    ProjectorConfig {
        input_dim: 6,
        hidden: vec![7, 5],
        embedding_dim: 3,
    }
}

/// A projector's variables in `dtype`, drawn from `seed` (BatchNorm affine parameters too, so
/// that their gradients matter).
fn varmap(config: &ProjectorConfig, dtype: DType, seed: u64) -> (VarMap, Projector) {
    let varmap = VarMap::new();
    let projector = Projector::new(
        config,
        VarBuilder::from_varmap(&varmap, dtype, &Device::Cpu),
    )
    .unwrap();
    let mut rng = Lcg::new(seed);
    let data = varmap.data().lock().unwrap();
    let mut names: Vec<_> = data.keys().cloned().collect();
    names.sort();
    for name in names {
        let var = &data[&name];
        let values: Vec<f64> = (0..var.elem_count())
            .map(|_| {
                let u = rng.uniform();
                if name.ends_with("running_var") {
                    0.5 + u
                } else {
                    u - 0.5
                }
            })
            .collect();
        let tensor = Tensor::from_vec(values, var.shape(), &Device::Cpu)
            .unwrap()
            .to_dtype(dtype)
            .unwrap();
        var.set(&tensor).unwrap();
    }
    drop(data);
    (varmap, projector)
}

/// An f64 projector's variables drawn from `seed`, and a fused projector reading them.
fn fused_f64(config: &ProjectorConfig, seed: u64) -> (VarMap, FusedProjector<f64>) {
    let (vars, _) = varmap(config, DType::F64, seed);
    let fused =
        FusedProjector::<f64>::from_varmap(&vars, "", config, AdamConfig::default()).unwrap();
    (vars, fused)
}

fn uniform(rng: &mut Lcg, len: usize, scale: f64) -> Vec<f64> {
    (0..len)
        .map(|_| scale * (2.0 * rng.uniform() - 1.0))
        .collect()
}

fn values(varmap: &VarMap) -> Vec<(String, Vec<f64>)> {
    let data = varmap.data().lock().unwrap();
    let mut all: Vec<_> = data
        .iter()
        .map(|(name, var)| (name.clone(), flat(var.as_tensor())))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

#[test]
fn training_steps_match_autograd_and_tensor_adam() {
    let config = config();
    let adam = AdamConfig {
        lr: 0.05,
        weight_decay: 0.01,
        ..AdamConfig::default()
    };
    let (reference_vars, reference) = varmap(&config, DType::F64, 7);
    let (fused_vars, _) = varmap(&config, DType::F64, 7);
    let mut optimizer = Adam::new(reference_vars.all_vars(), adam).unwrap();
    let mut fused = FusedProjector::<f64>::from_varmap(&fused_vars, "", &config, adam).unwrap();

    let mut rng = Lcg::new(11);
    for (step, rows) in [5, 2, 9, 4, 3, 8].into_iter().enumerate() {
        let x = uniform(&mut rng, rows * config.input_dim, 2.0);
        let target = uniform(&mut rng, rows * config.embedding_dim, 1.0);

        // Reference: loss = Σ (z − target)² through candle's autograd.
        let x_tensor = Tensor::from_vec(x.clone(), (rows, config.input_dim), &Device::Cpu).unwrap();
        let target_tensor =
            Tensor::from_vec(target.clone(), (rows, config.embedding_dim), &Device::Cpu).unwrap();
        let z = reference.forward_train(&x_tensor).unwrap();
        let loss = (&z - &target_tensor)
            .unwrap()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap();
        optimizer.backward_step(&loss).unwrap();

        let z_fused = fused.forward_train(&x).unwrap().to_vec();
        let error = Gap::between(&z_fused, &flat(&z));
        assert!(
            error.max_abs < 1e-12,
            "step {step}: embeddings differ by {error}"
        );
        let grad: Vec<f64> = z_fused
            .iter()
            .zip(&target)
            .map(|(z, t)| 2.0 * (z - t))
            .collect();
        fused.backward(&grad).unwrap();
        fused.adam_step();
    }
    fused.write_to_varmap(&fused_vars, "").unwrap();
    for ((name, ours), (_, expected)) in values(&fused_vars).iter().zip(values(&reference_vars)) {
        let error = Gap::between(ours, &expected);
        assert!(
            error.max_abs < 1e-10,
            "{name} differs by {error} after 6 steps"
        );
    }
}

#[test]
fn f32_forward_matches_autograd_projector() {
    let config = ProjectorConfig::new(64);
    let (vars, projector) = varmap(&config, DType::F32, 3);
    let mut fused =
        FusedProjector::<f32>::from_varmap(&vars, "", &config, AdamConfig::default()).unwrap();
    let mut rng = Lcg::new(5);
    let x: Vec<f32> = uniform(&mut rng, 32 * 64, 3.0)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let z = fused.forward_train(&x).unwrap();
    let ours: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
    let x = Tensor::from_vec(x, (32, 64), &Device::Cpu).unwrap();
    let expected = flat(&projector.forward_train(&x).unwrap());
    let error = Gap::between(&ours, &expected);
    assert!(error.max_abs < 1e-5, "f32 embeddings differ by {error}");
}

#[test]
fn bad_shapes_and_tiny_batches_are_errors() {
    let config = config();
    let (vars, mut fused) = fused_f64(&config, 1);
    assert!(matches!(
        fused.backward(&[0.0; 6]),
        Err(HeadsError::Shape(message)) if message.contains("forward_train first")
    ));
    assert!(matches!(
        fused.forward_train(&[0.5; 6]),
        Err(HeadsError::TrainBatchTooSmall { size: 1, min: 2 })
    ));
    assert!(matches!(
        fused.forward_train(&[0.5; 7]),
        Err(HeadsError::Shape(_))
    ));
    fused.forward_train(&[0.5; 12]).unwrap();
    assert!(matches!(
        fused.backward(&[0.0; 5]),
        Err(HeadsError::Shape(_))
    ));

    let missing =
        FusedProjector::<f64>::from_varmap(&vars, "projector", &config, AdamConfig::default());
    assert!(matches!(
        missing,
        Err(HeadsError::Shape(message)) if message.contains("projector.layers.0.norm.weight")
    ));
}

#[test]
fn all_equal_feature_columns_stay_finite() {
    // A constant feature has zero batch variance: x̂ = 0 and ∂x stays finite thanks to ε.
    let config = config();
    let (_, mut fused) = fused_f64(&config, 2);
    let x = vec![0.25; 4 * config.input_dim];
    let z = fused.forward_train(&x).unwrap().to_vec();
    assert!(z.iter().all(|v| v.is_finite()));
    fused.backward(&vec![1.0; z.len()]).unwrap();
    for (name, grad) in fused.gradients() {
        assert!(
            grad.iter().all(|v| v.is_finite()),
            "{name} gradient not finite"
        );
    }
}
