//! Training one cell: outputs, restored checkpoint, determinism, save/load, errors.

mod common;

use common::{OwnedData, feature_data};
use nona_heads::{MinMaxScaler, Similarity, SoftStepKind, SoftStepParams};
use nona_train::metrics::mse;
use nona_train::trainer::batch_ranges;
use nona_train::{
    CellConfig, Grid, GridSpec, HeadKind, ModelConfig, OptimConfig, Seeds, TrainError, TrainedCell,
    TrainedModel, train_cell,
};

fn small_cell(head: HeadKind, seed: u64) -> CellConfig {
    CellConfig {
        model: ModelConfig {
            head,
            hidden: vec![16],
            embedding_dim: 4,
            ..ModelConfig::default()
        },
        optim: OptimConfig {
            lr: 3e-3,
            batch_size: 16,
            max_epochs: 14,
            patience: 3,
            ..OptimConfig::default()
        },
        seed,
    }
}

fn data() -> OwnedData {
    feature_data(120, 40, 30, 6)
}

fn train(head: HeadKind, seed: u64) -> TrainedCell {
    train_cell(&data().view(), &small_cell(head, seed)).unwrap()
}

#[test]
fn outputs_have_the_right_shapes_and_consistent_metrics() {
    let data = data();
    for head in HeadKind::ALL {
        let cell = train_cell(&data.view(), &small_cell(head, 0)).unwrap();
        let scaler = MinMaxScaler::fit(&data.train.labels).unwrap();
        for (result, split) in [
            (&cell.train, &data.train),
            (&cell.validation, &data.validation),
            (&cell.test, &data.test),
        ] {
            let rows = split.labels.len();
            assert_eq!(result.predictions.scaled.len(), rows);
            assert_eq!(result.embeddings.len(), rows * 4);
            assert!(result.embeddings.iter().all(|v| v.abs() <= 1.0), "tanh");
            for (s, o) in result
                .predictions
                .scaled
                .iter()
                .zip(&result.predictions.original)
            {
                assert!((0.0..=1.0).contains(s), "clipped: {s}");
                assert!((scaler.inverse(*s) - o).abs() < 1e-9);
            }
            let scaled = scaler.transform_all(&split.labels);
            let expected = mse(&result.predictions.scaled, &scaled) * 1e3;
            assert!((result.metrics.mse_scaled_e3 - expected).abs() < 1e-9);
            let mse_original = mse(&result.predictions.original, &split.labels);
            assert!((result.metrics.mse - mse_original).abs() < 1e-9);
            assert!(result.metrics.mae <= result.metrics.mse.sqrt() + 1e-9);
        }
        assert_eq!(cell.curves.len(), cell.epochs_run);
        let summary = serde_json::to_string(&cell.summary()).unwrap();
        assert!(summary.contains("mse_scaled_e3"), "{summary}");
    }
}

#[test]
fn the_best_checked_epoch_is_restored() {
    for head in HeadKind::ALL {
        let cell = train(head, 1);
        let checked: Vec<_> = cell.curves.iter().filter(|r| r.epoch > 5).collect();
        let best = checked
            .iter()
            .min_by(|a, b| a.validation_mse.total_cmp(&b.validation_mse))
            .unwrap();
        assert_eq!(cell.best_epoch, best.epoch, "{:?}", cell.curves);
        // The returned validation predictions come from the restored variables, not the last.
        let recomputed = cell.validation.metrics.mse_scaled_e3 / 1e3;
        assert!(
            (recomputed - best.validation_mse).abs() < 1e-6,
            "{recomputed} vs {best:?}"
        );
        // Stopped by patience 3 after the best epoch, or by max_epochs.
        assert!(cell.epochs_run == 14 || cell.epochs_run == cell.best_epoch + 3);
    }
}

#[test]
fn patience_stops_training_before_max_epochs() {
    let mut config = small_cell(HeadKind::Nona, 0);
    config.optim.lr = 1e-1; // too high: validation stops improving quickly
    config.optim.max_epochs = 200;
    config.optim.patience = 2;
    let cell = train_cell(&data().view(), &config).unwrap();
    assert!(cell.epochs_run < 200);
    assert_eq!(cell.epochs_run, cell.best_epoch + 2);
    assert!(cell.best_epoch >= 6);
}

#[test]
fn nona_and_dense_learn_a_non_linear_target() {
    let data = data();
    let scaler = MinMaxScaler::fit(&data.train.labels).unwrap();
    let mean = scaler.transform_all(&data.train.labels).iter().sum::<f64>()
        / data.train.labels.len() as f64;
    let constant = mse(
        &vec![mean; data.test.labels.len()],
        &scaler.transform_all(&data.test.labels),
    ) * 1e3;
    for head in HeadKind::ALL {
        let mut config = small_cell(head, 0);
        config.optim.max_epochs = 30;
        let cell = train_cell(&data.view(), &config).unwrap();
        let first = cell.curves[0].train_loss;
        let last = cell.curves[cell.best_epoch - 1].train_loss;
        assert!(last < first, "{head}: train loss {first} → {last}");
        assert!(
            cell.test.metrics.mse_scaled_e3 < 0.7 * constant,
            "{head}: test {} vs predicting the mean {constant}",
            cell.test.metrics.mse_scaled_e3
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_cell() {
    for head in HeadKind::ALL {
        let a = train(head, 5);
        let b = train(head, 5);
        assert_eq!(a.curves, b.curves);
        assert_eq!(a.test.predictions, b.test.predictions);
        assert_eq!(a.test.embeddings, b.test.embeddings);
        let c = train(head, 6);
        assert_ne!(a.curves, c.curves);
    }
}

#[test]
fn every_nona_variant_trains_finitely() {
    let data = data();
    for similarity in Similarity::ALL {
        for softstep in SoftStepKind::ALL {
            for params in SoftStepParams::ALL {
                let mut config = small_cell(HeadKind::Nona, 2);
                config.model.similarity = similarity;
                config.model.softstep = softstep;
                config.model.params = params;
                config.optim.max_epochs = 7;
                let cell = train_cell(&data.view(), &config).unwrap();
                let tag = format!("{similarity}/{softstep}/{params}");
                assert!(cell.test.metrics.mse.is_finite(), "{tag}");
                assert!(
                    cell.curves.iter().all(|r| r.train_loss.is_finite()),
                    "{tag}"
                );
            }
        }
    }
}

#[test]
fn saved_models_reload_and_predict_the_same() {
    let data = data();
    let dir = tempfile::tempdir().unwrap();
    for head in HeadKind::ALL {
        let cell = train_cell(&data.view(), &small_cell(head, 3)).unwrap();
        let path = dir.path().join(head.name());
        std::fs::create_dir(&path).unwrap();
        cell.model.save(&path).unwrap();
        let loaded = TrainedModel::load(&path).unwrap();
        assert_eq!(loaded.description(), cell.model.description());
        let predictions = loaded.predict(&data.test.features).unwrap();
        assert_eq!(predictions, cell.test.predictions, "{head}");
        assert_eq!(
            loaded.embed(&data.validation.features).unwrap(),
            cell.validation.embeddings
        );
    }
    let json = std::fs::read_to_string(dir.path().join("nona/model.json")).unwrap();
    assert!(json.contains("\"similarity\": \"l2\""), "{json}");
}

#[test]
fn a_trailing_batch_of_one_is_merged() {
    assert_eq!(batch_ranges(65, 32), vec![0..32, 32..65]);
    assert_eq!(batch_ranges(66, 32), vec![0..32, 32..64, 64..66]);
    assert_eq!(batch_ranges(64, 32), vec![0..32, 32..64]);
    assert_eq!(batch_ranges(5, 32), vec![0..5]);
    // Training on 33 rows with batch 32 works (it would fail on a batch of one).
    let data = feature_data(33, 10, 10, 3);
    let mut config = small_cell(HeadKind::Nona, 0);
    config.optim.batch_size = 32;
    config.optim.max_epochs = 2;
    let cell = train_cell(&data.view(), &config).unwrap();
    assert_eq!(cell.best_epoch, 2, "no checked epoch: the last one is kept");
}

#[test]
fn inconsistent_inputs_are_rejected() {
    let data = data();
    let mut view = data.view();
    view.validation.labels = &data.validation.labels[1..];
    assert!(matches!(
        train_cell(&view, &small_cell(HeadKind::Dense, 0)),
        Err(TrainError::Input(_))
    ));
    let mut view = data.view();
    view.dim = 5;
    assert!(train_cell(&view, &small_cell(HeadKind::Dense, 0)).is_err());
    let mut config = small_cell(HeadKind::Nona, 0);
    config.optim.batch_size = 1;
    assert!(matches!(
        train_cell(&data.view(), &config),
        Err(TrainError::Config(_))
    ));
}

#[test]
fn configs_deserialise_with_defaults_and_reject_unknown_fields() {
    let config: CellConfig =
        serde_json::from_str(r#"{"model": {"head": "dense"}, "optim": {"lr": 0.01}}"#).unwrap();
    assert_eq!(config.model.head, HeadKind::Dense);
    assert_eq!(config.model.embedding_dim, 25);
    assert_eq!(config.optim.lr, 0.01);
    assert_eq!(config.optim.patience, 10);
    assert_eq!(config.optim.start_after_epoch, 5);
    let round_trip: CellConfig =
        serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
    assert_eq!(round_trip, config);
    assert!(serde_json::from_str::<CellConfig>(r#"{"optim": {"learning_rate": 1}}"#).is_err());
    let err = serde_json::from_str::<ModelConfig>(r#"{"similarity": "L2"}"#).unwrap_err();
    assert!(err.to_string().contains("l2, l1, dot, cos"), "{err}");
}

/// The reference code clips NONA's predictions to [0, 1] but not the dense head's; a grid does
/// the same unless its `clip` list names the dense head too.
#[test]
fn dense_predictions_are_clipped_only_when_the_grid_asks() {
    let spec = GridSpec {
        seeds: Seeds::Count(1),
        hidden: vec![16],
        embedding_dims: vec![4],
        batch_sizes: vec![16],
        // No epoch is checked by early stopping (max_epochs = start_after_epoch), so clipping,
        // which changes only the validation MSE, leaves both runs with the same weights.
        optim: OptimConfig {
            lr: 1e-2,
            max_epochs: 5,
            start_after_epoch: 5,
            ..OptimConfig::default()
        },
        ..GridSpec::default()
    };
    let reference = Grid::new(&spec).unwrap();
    let (dense, nona) = (reference.cell(0).unwrap(), reference.cell(1).unwrap());
    assert_eq!(
        (dense.model.head, nona.model.head),
        (HeadKind::Dense, HeadKind::Nona)
    );
    assert!(
        !dense.model.clip && nona.model.clip,
        "the reference's default"
    );
    let both = Grid::new(&GridSpec {
        clip: vec![HeadKind::Dense, HeadKind::Nona],
        ..spec.clone()
    })
    .unwrap();
    let none = Grid::new(&GridSpec {
        clip: vec![],
        ..spec
    })
    .unwrap();
    assert!(both.cell(0).unwrap().model.clip);
    assert!(!none.cell(1).unwrap().model.clip);

    // Test inputs beyond the training range, where the linear head extrapolates past [0, 1].
    let mut data = data();
    data.test.features.iter_mut().for_each(|v| *v *= 3.0);
    let raw = train_cell(&data.view(), dense).unwrap();
    let clipped = train_cell(&data.view(), both.cell(0).unwrap()).unwrap();
    let raw_scaled = &raw.test.predictions.scaled;
    assert!(
        raw_scaled.iter().any(|p| !(0.0..=1.0).contains(p)),
        "{raw_scaled:?}"
    );
    let expected: Vec<f64> = raw_scaled.iter().map(|p| p.clamp(0.0, 1.0)).collect();
    assert_eq!(clipped.test.predictions.scaled, expected);
    // The metrics are of the predictions as given.
    let scaler = MinMaxScaler::fit(&data.train.labels).unwrap();
    let labels = scaler.transform_all(&data.test.labels);
    assert_eq!(
        raw.test.metrics.mse_scaled_e3,
        mse(raw_scaled, &labels) * 1e3
    );
    assert_eq!(
        clipped.test.metrics.mse_scaled_e3,
        mse(&expected, &labels) * 1e3
    );
    assert_ne!(
        raw.test.metrics.mse_scaled_e3,
        clipped.test.metrics.mse_scaled_e3
    );

    // A saved model keeps its setting; a model.json from before the setting existed clipped.
    let dir = tempfile::tempdir().unwrap();
    raw.model.save(dir.path()).unwrap();
    let loaded = TrainedModel::load(dir.path()).unwrap();
    assert_eq!(
        loaded.predict(&data.test.features).unwrap(),
        raw.test.predictions
    );
    let old: ModelConfig = serde_json::from_str(r#"{"head": "dense"}"#).unwrap();
    assert!(old.clip);
}

/// The evidence of a trained NONA cell's validation and test predictions: the neighbours are
/// training rows whose scaled labels, weighted over the whole bank, give the prediction; the
/// top 5 are the 5 largest weights. The dense head has no evidence.
#[test]
fn nona_evidence_reproduces_the_cells_predictions() {
    let data = data();
    let cell = train(HeadKind::Nona, 5);
    let scaler = MinMaxScaler::fit(&data.train.labels).unwrap();
    let bank = data.train.labels.len();
    for result in [&cell.validation, &cell.test] {
        let top = cell.model.explain(&result.embeddings, 5).unwrap().unwrap();
        let all = cell
            .model
            .explain(&result.embeddings, bank)
            .unwrap()
            .unwrap();
        assert_eq!(top.len(), result.predictions.scaled.len());
        for ((top, all), &prediction) in top.iter().zip(&all).zip(&result.predictions.scaled) {
            let vote: f64 = all
                .top
                .iter()
                .map(|n| n.weight * scaler.transform(data.train.labels[n.index]))
                .sum();
            assert!((vote - prediction).abs() < 1e-6, "{vote} vs {prediction}");
            assert!((all.top_mass - 1.0).abs() < 1e-5);
            assert_eq!(top.top[..], all.top[..5]);
            assert!(top.top_mass <= 1.0 && top.spread >= 0.0 && top.entropy >= 0.0);
        }
    }
    let dense = train(HeadKind::Dense, 5);
    assert!(
        dense
            .model
            .explain(&dense.test.embeddings, 5)
            .unwrap()
            .is_none()
    );
}
