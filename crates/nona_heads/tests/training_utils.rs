//! The pieces around the heads: names, projector, dense head, early stopping, snapshots,
//! safetensors round trip, label scaling and one end-to-end training loop.

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, VarBuilder, VarMap};
use common::{Lcg, flat, matrix, mse, vector};
use nona_heads::{
    Adam, AdamConfig, DenseHead, EarlyStopping, EarlyStoppingConfig, HeadsError, MinMaxScaler,
    NonaConfig, NonaHead, Projector, ProjectorConfig, Similarity, SoftStepKind, SoftStepParams,
    VarSnapshot,
};
use nona_testkit::Gap;

#[test]
fn pipeline_names_round_trip() {
    for s in Similarity::ALL {
        assert_eq!(s.to_string().parse::<Similarity>().unwrap(), s);
    }
    for k in SoftStepKind::ALL {
        assert_eq!(k.to_string().parse::<SoftStepKind>().unwrap(), k);
    }
    for p in SoftStepParams::ALL {
        assert_eq!(p.to_string().parse::<SoftStepParams>().unwrap(), p);
    }
    let names: Vec<String> = Similarity::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["l2", "l1", "dot", "cos"]);
    assert_eq!(SoftStepKind::ALL.map(|k| k.name()), ["none", "s1", "s2"]);
    assert_eq!(
        SoftStepParams::ALL.map(|p| p.name()),
        ["global", "pointwise"]
    );
    let err = "L2".parse::<Similarity>().unwrap_err();
    assert!(err.to_string().contains("l2, l1, dot, cos"), "{err}");
    assert!("s3".parse::<SoftStepKind>().is_err());
    assert!("local".parse::<SoftStepParams>().is_err());
}

#[test]
fn cosine_is_another_name_for_cos() {
    assert_eq!("cosine".parse::<Similarity>().unwrap(), Similarity::Cos);
    assert_eq!(
        Similarity::Cos.to_string(),
        "cos",
        "tables keep the short name"
    );
    assert!("Cosine".parse::<Similarity>().is_err());
}

#[test]
fn projector_shapes_modes_and_batch_of_one() {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let projector = Projector::new(&ProjectorConfig::new(12), vb).unwrap();
    assert_eq!(projector.embedding_dim(), 25);
    let x = Tensor::randn(0f32, 1.0, (8, 12), &Device::Cpu).unwrap();
    let train = projector.forward_train(&x).unwrap();
    assert_eq!(train.dims(), [8, 25]);
    assert!(flat(&train).iter().all(|v| v.abs() <= 1.0), "tanh output");
    let eval = projector.forward_eval(&x.narrow(0, 0, 1).unwrap()).unwrap();
    assert_eq!(eval.dims(), [1, 25]);
    assert!(matches!(
        projector.forward_train(&x.narrow(0, 0, 1).unwrap()),
        Err(HeadsError::TrainBatchTooSmall { size: 1, .. })
    ));
    // 2 BatchNorm layers × 4 + 2 Linear layers × 2 variables.
    assert_eq!(varmap.all_vars().len(), 12);
}

#[test]
fn dense_head_predicts_one_value_per_row_and_clips() {
    let mut varmap = VarMap::new();
    let head = DenseHead::new(
        3,
        VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu),
    )
    .unwrap();
    varmap
        .set_one("linear.weight", matrix(&[vec![1.0, 2.0, -1.0]], DType::F64))
        .unwrap();
    varmap
        .set_one("linear.bias", vector(&[0.5], DType::F64))
        .unwrap();
    let z = matrix(
        &[
            vec![0.1, 0.1, 0.1],
            vec![1.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0],
        ],
        DType::F64,
    );
    assert!(Gap::between(&flat(&head.forward(&z).unwrap()), &[0.7, 3.5, -0.5]).max_abs < 1e-12);
    assert_eq!(flat(&head.predict(&z).unwrap()), vec![0.7, 1.0, 0.0]);
}

#[test]
fn early_stopping_keeps_the_lowest_mse_and_waits_for_patience() {
    let config = EarlyStoppingConfig {
        patience: 3,
        start_after_epoch: 2,
    };
    let mut stopper = EarlyStopping::<usize>::new(config);
    let mses = [0.01, 0.01, 0.5, 0.3, 0.4, f64::NAN, 0.2, 0.25, 0.21, 0.2];
    let mut stopped_at = None;
    for (i, &mse) in mses.iter().enumerate() {
        let epoch = i + 1;
        if stopper.observe(epoch, mse, || Ok(epoch)).unwrap() {
            stopped_at = Some(epoch);
            break;
        }
    }
    // Epochs 1–2 are ignored (their low MSE never counts); 4 improves on 3, 7 on 4;
    // 8, 9 and 10 (equal is not better) exhaust the patience.
    assert_eq!(stopped_at, Some(10));
    assert_eq!(stopper.best(), Some((7, 0.2)));
    assert_eq!(stopper.best_state(), Some(&7));
    assert!(!EarlyStopping::<()>::new(EarlyStoppingConfig::default()).is_checked(5));
}

#[test]
fn snapshots_restore_and_safetensors_round_trip() {
    let config = NonaConfig::default();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let projector = Projector::new(
        &ProjectorConfig {
            input_dim: 6,
            hidden: vec![8],
            embedding_dim: 4,
        },
        vb.pp("projector"),
    )
    .unwrap();
    let head = NonaHead::new(config, 4, vb.pp("nona")).unwrap();
    let x = Tensor::randn(0f32, 1.0, (10, 6), &Device::Cpu).unwrap();
    let y = Tensor::rand(0f32, 1.0, 10, &Device::Cpu).unwrap();
    let predict = || {
        let z = projector.forward_eval(&x).unwrap();
        flat(&head.predict(&z, &z, &y).unwrap())
    };
    let before = predict();
    let snapshot = VarSnapshot::capture(&varmap).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    varmap.save(&path).unwrap();

    let mut adam = Adam::new(
        varmap.all_vars(),
        AdamConfig {
            lr: 0.1,
            ..AdamConfig::default()
        },
    )
    .unwrap();
    let z = projector.forward_train(&x).unwrap();
    adam.backward_step(&mse(
        &head.forward_train(&z, &y).unwrap(),
        &y.affine(0.0, 0.5).unwrap(),
    ))
    .unwrap();
    assert!(
        Gap::between(&predict(), &before).max_abs > 1e-4,
        "the step changed nothing"
    );

    snapshot.restore(&varmap).unwrap();
    assert_eq!(predict(), before);

    adam.backward_step(&mse(
        &head
            .forward_train(&projector.forward_train(&x).unwrap(), &y)
            .unwrap(),
        &y,
    ))
    .unwrap();
    let mut loaded = varmap.clone();
    loaded.load(&path).unwrap();
    assert_eq!(predict(), before);
}

#[test]
fn min_max_scaler_maps_training_range_to_unit_interval() {
    let scaler = MinMaxScaler::fit(&[2.0, 6.0, 4.0]).unwrap();
    assert_eq!(
        scaler.transform_all(&[2.0, 4.0, 6.0, 8.0]),
        vec![0.0, 0.5, 1.0, 1.5]
    );
    assert_eq!(scaler.inverse(0.25), 3.0);
    assert!(MinMaxScaler::fit(&[]).is_err());
    assert!(MinMaxScaler::fit(&[1.0, f64::NAN]).is_err());
}

#[test]
fn a_few_training_epochs_reduce_the_validation_error() {
    // Labels are a smooth function of the input; projector + NONA (l2, S2, pointwise) with Adam.
    let mut rng = Lcg::new(21);
    let make = |rng: &mut Lcg, n: usize| {
        let x = rng.matrix(n, 4);
        let y: Vec<f64> = x
            .iter()
            .map(|r| (0.5 + 0.4 * (r[0] + 0.5 * r[1]).tanh()).clamp(0.0, 1.0))
            .collect();
        (matrix(&x, DType::F32), vector(&y, DType::F32))
    };
    let (train_x, train_y) = make(&mut rng, 96);
    let (val_x, val_y) = make(&mut rng, 32);
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let projector = Projector::new(
        &ProjectorConfig {
            input_dim: 4,
            hidden: vec![16],
            embedding_dim: 8,
        },
        vb.pp("projector"),
    )
    .unwrap();
    let head = NonaHead::new(NonaConfig::default(), 8, vb.pp("nona")).unwrap();
    let mut adam = Adam::new(
        varmap.all_vars(),
        AdamConfig {
            lr: 1e-2,
            ..AdamConfig::default()
        },
    )
    .unwrap();
    let validate = || {
        let bank = projector.forward_eval(&train_x).unwrap();
        let pred = head
            .predict(&projector.forward_eval(&val_x).unwrap(), &bank, &train_y)
            .unwrap();
        mse(&pred, &val_y).to_scalar::<f32>().unwrap()
    };
    let initial = validate();
    for _epoch in 0..15 {
        for start in (0..96).step_by(32) {
            let z = projector
                .forward_train(&train_x.narrow(0, start, 32).unwrap())
                .unwrap();
            let batch_y = train_y.narrow(0, start, 32).unwrap();
            let loss = mse(&head.forward_train(&z, &batch_y).unwrap(), &batch_y);
            assert!(loss.to_scalar::<f32>().unwrap().is_finite());
            adam.backward_step(&loss).unwrap();
        }
    }
    let trained = validate();
    assert!(
        trained < 0.7 * initial,
        "validation MSE {initial} → {trained}"
    );
}
