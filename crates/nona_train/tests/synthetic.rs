//! Fig. 3 surfaces, the least squares baseline, and NONA against it on a non-linear target.

mod common;

use common::surface_data;
use nona_train::metrics::mse;
use nona_train::{
    CellConfig, HeadKind, LinearRegression, ModelConfig, OptimConfig, Surface, sample_surface,
    train_cell,
};

#[test]
fn surfaces_are_deterministic_and_on_the_square() {
    for surface in Surface::ALL {
        let a = sample_surface(surface, 200, 0.1, 4);
        assert_eq!(a, sample_surface(surface, 200, 0.1, 4));
        assert_ne!(a, sample_surface(surface, 200, 0.1, 5));
        assert_eq!(a.points.len(), 400);
        assert!(a.points.iter().all(|v| (-1.0..=1.0).contains(v)));
        let clean = sample_surface(surface, 200, 0.0, 4);
        for (p, y) in clean.points.chunks(2).zip(&clean.labels) {
            // Points are stored as f32; the spiral may wrap around 2π between the two.
            let gap = (surface.target(f64::from(p[0]), f64::from(p[1])) - y).abs();
            let wrapped = surface == Surface::Spiral && (gap - 1.0).abs() < 1e-4;
            assert!(gap < 1e-4 || wrapped, "{surface}: {gap}");
        }
    }
}

#[test]
fn targets_match_their_formulas() {
    assert_eq!(Surface::Linear.target(0.3, 1.0), 1.0);
    assert!((Surface::Radial.target(0.6, -0.8) - 1.0).abs() < 1e-12);
    assert_eq!(Surface::Pyramid.target(0.5, -0.25), 0.5);
    assert!((Surface::Checkerboard.target(0.1, 0.0) - 0.6_f64.sin()).abs() < 1e-12);
    // Along the positive x-axis the spiral's phase is 5r.
    let r: f64 = 0.7;
    let expected = (5.0 * r) / std::f64::consts::TAU;
    assert!((Surface::Spiral.target(r, 0.0) - expected).abs() < 1e-12);
}

#[test]
fn least_squares_recovers_a_linear_function() {
    let samples = sample_surface(Surface::Linear, 50, 0.0, 1);
    let model = LinearRegression::fit(&samples.points, 2, &samples.labels).unwrap();
    assert!((model.intercept - 0.5).abs() < 1e-6);
    assert!(model.coefficients[0].abs() < 1e-6);
    assert!((model.coefficients[1] - 0.5).abs() < 1e-6);
    assert!(mse(&model.predict(&samples.points), &samples.labels) < 1e-12);
    // A duplicated column makes the normal equations singular.
    let duplicated: Vec<f32> = samples
        .points
        .chunks(2)
        .flat_map(|p| [p[0], p[0]])
        .collect();
    assert!(LinearRegression::fit(&duplicated, 2, &samples.labels).is_err());
    assert!(LinearRegression::fit(&samples.points, 3, &samples.labels).is_err());
}

#[test]
fn nona_beats_linear_regression_on_non_linear_surfaces() {
    // (surface, largest accepted ratio of NONA's to linear regression's test MSE)
    for (surface, ratio) in [
        (Surface::Radial, 0.5),
        (Surface::Pyramid, 0.5),
        (Surface::Spiral, 0.9),
    ] {
        let data = surface_data(surface, 400, 100, 200);
        let linear = LinearRegression::fit(&data.train.features, 2, &data.train.labels).unwrap();
        let linear_mse = mse(&linear.predict(&data.test.features), &data.test.labels);
        let config = CellConfig {
            model: ModelConfig {
                head: HeadKind::Nona,
                hidden: vec![32],
                embedding_dim: 8,
                ..ModelConfig::default()
            },
            optim: OptimConfig {
                lr: 3e-3,
                max_epochs: 20,
                ..OptimConfig::default()
            },
            seed: 0,
        };
        let cell = train_cell(&data.view(), &config).unwrap();
        assert!(
            cell.test.metrics.mse < ratio * linear_mse,
            "{surface}: NONA {} vs linear {linear_mse}",
            cell.test.metrics.mse
        );
    }
}
