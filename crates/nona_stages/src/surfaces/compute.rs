//! One work unit: the points of one surface and seed, every method fitted and evaluated, and the
//! learned surfaces on a grid for the PNG.

use anyhow::Context;
use nona_heads::MinMaxScaler;
use nona_knn::{KnnBaseline, Matrix};
use nona_pipeline::RowError;
use nona_train::metrics::{mae, mse};
use nona_train::{
    LinearRegression, SplitData, Surface, TrainData, TrainError, gather, gather_rows,
    sample_surface, split, train_cell,
};

use super::config::{Method, SurfacesConfig};
use super::tables::{MetricRow, PredictionRows};

/// Split names, in table order.
pub const SPLITS: [&str; 3] = ["train", "validation", "test"];

/// Rows of one split.
pub struct Part {
    /// Row-major `(x₁, x₂)`.
    pub points: Vec<f32>,
    /// Noisy labels in original units.
    pub labels: Vec<f64>,
    /// The labels min-max scaled with the training split's range.
    pub labels_scaled: Vec<f64>,
}

/// What one method produced.
pub struct MethodResult {
    /// The method.
    pub method: Method,
    /// Predictions in original units (from clipped scaled predictions) per split.
    pub original: [Vec<f64>; 3],
    /// Predictions on the scaled range, clipped to `[0, 1]`, per split.
    pub scaled: [Vec<f64>; 3],
    /// Predictions in original units on the plot grid.
    pub grid: Vec<f64>,
    /// Its row of the metrics table.
    pub metrics: MetricRow,
}

/// Everything one unit computed.
pub struct UnitResult {
    /// The surface.
    pub surface: Surface,
    /// The seed.
    pub seed: u64,
    /// Train, validation and test rows.
    pub parts: [Part; 3],
    /// The training labels' min-max scaling.
    pub scaler: MinMaxScaler,
    /// The noise-free target on the plot grid.
    pub truth: Vec<f64>,
    /// One result per method that finished, in configured order.
    pub methods: Vec<MethodResult>,
    /// Methods that failed (NONA diverging).
    pub errors: Vec<RowError>,
}

impl UnitResult {
    /// The `predictions` rows of every method and split.
    pub fn prediction_rows(&self) -> Vec<PredictionRows<'_>> {
        let surface = surface_name(self.surface);
        let mut rows = Vec::new();
        for result in &self.methods {
            for (s, part) in self.parts.iter().enumerate() {
                rows.push(PredictionRows {
                    surface,
                    seed: self.seed,
                    method: result.method.name(),
                    split: SPLITS[s],
                    points: &part.points,
                    labels: &part.labels,
                    predictions: &result.original[s],
                    labels_scaled: &part.labels_scaled,
                    predictions_scaled: &result.scaled[s],
                });
            }
        }
        rows
    }
}

/// The static name of a surface (its `Display`).
pub fn surface_name(surface: Surface) -> &'static str {
    match surface {
        Surface::Linear => "linear",
        Surface::Radial => "radial",
        Surface::Pyramid => "pyramid",
        Surface::Spiral => "spiral",
        Surface::Checkerboard => "checkerboard",
    }
}

/// Cell centres of a `resolution × resolution` grid on `[−1, 1]²`, row-major with rows along
/// `x₂` (row 0 lowest) and columns along `x₁`: `(x₁, x₂)` per cell.
pub fn grid_points(resolution: usize) -> Vec<f32> {
    let centre = |k: usize| -1.0 + (k as f64 + 0.5) * 2.0 / resolution as f64;
    let mut points = Vec::with_capacity(2 * resolution * resolution);
    for row in 0..resolution {
        for column in 0..resolution {
            points.extend([centre(column) as f32, centre(row) as f32]);
        }
    }
    points
}

/// Runs every method of `config` on `surface` with `seed`; `progress` is called after each.
pub fn run_unit(
    config: &SurfacesConfig,
    surface: Surface,
    seed: u64,
    mut progress: impl FnMut(),
) -> anyhow::Result<UnitResult> {
    let samples = sample_surface(surface, config.points, config.noise, seed);
    let splits = split(&samples.labels, &config.split, seed)
        .with_context(|| format!("splitting {surface} points with seed {seed}"))?;
    let scaler = MinMaxScaler::fit(&gather(&samples.labels, &splits.train))?;
    let part = |rows: &[usize]| {
        let labels = gather(&samples.labels, rows);
        Part {
            points: gather_rows(&samples.points, 2, rows),
            labels_scaled: scaler.transform_all(&labels),
            labels,
        }
    };
    let parts = [
        part(&splits.train),
        part(&splits.validation),
        part(&splits.test),
    ];
    let grid = grid_points(config.plot_resolution);
    let truth = grid
        .chunks_exact(2)
        .map(|p| surface.target(f64::from(p[0]), f64::from(p[1])))
        .collect();

    let mut methods = Vec::new();
    let mut errors = Vec::new();
    for &method in &config.methods {
        let fitted = match method {
            Method::Linear => {
                let model = LinearRegression::fit(&parts[0].points, 2, &parts[0].labels)?;
                Some(Fitted::raw(
                    &parts,
                    &grid,
                    &scaler,
                    |x| Ok(model.predict(x)),
                    None,
                )?)
            }
            Method::Knn => {
                let matrix = |x: &[f32]| Matrix::from_f32(x, x.len() / 2, 2);
                let model = KnnBaseline::fit(
                    &matrix(&parts[0].points)?,
                    &parts[0].labels,
                    &config.knn.grid_spec(seed)?,
                )?;
                let best = model.search.best();
                let chosen = (
                    best.n_neighbors,
                    best.metric.p(),
                    match best.weights {
                        nona_knn::Weights::Uniform => "uniform",
                        nona_knn::Weights::Distance => "distance",
                    },
                );
                Some(Fitted::raw(
                    &parts,
                    &grid,
                    &scaler,
                    |x| Ok(model.predict(&matrix(x)?)?),
                    Some(chosen),
                )?)
            }
            Method::Nona | Method::NonaSoftstep => {
                fn view(p: &Part) -> SplitData<'_> {
                    SplitData {
                        features: &p.points,
                        labels: &p.labels,
                    }
                }
                let data = TrainData {
                    dim: 2,
                    train: view(&parts[0]),
                    validation: view(&parts[1]),
                    test: view(&parts[2]),
                };
                let cell = config.nona.cell(method, seed);
                match train_cell(&data, &cell) {
                    Ok(trained) => {
                        let split_predictions =
                            [&trained.train, &trained.validation, &trained.test]
                                .map(|s| s.predictions.clone());
                        Some(Fitted {
                            original: split_predictions.clone().map(|p| p.original),
                            scaled: split_predictions.map(|p| p.scaled),
                            grid: trained.model.predict(&grid)?.original,
                            best_epoch: Some(trained.best_epoch),
                            epochs_run: Some(trained.epochs_run),
                            knn: None,
                        })
                    }
                    Err(error @ TrainError::Diverged { .. }) => {
                        errors.push(RowError {
                            id: None,
                            source: format!("{surface}, seed {seed}, {method}"),
                            message: error.to_string(),
                        });
                        None
                    }
                    Err(error) => {
                        return Err(error).context(format!("{method} on {surface}, seed {seed}"));
                    }
                }
            }
        };
        if let Some(fitted) = fitted {
            methods.push(fitted.finish(method, surface, seed, config.points, &parts));
        }
        progress();
    }
    Ok(UnitResult {
        surface,
        seed,
        parts,
        scaler,
        truth,
        methods,
        errors,
    })
}

/// A method's predictions before scoring.
struct Fitted {
    original: [Vec<f64>; 3],
    scaled: [Vec<f64>; 3],
    grid: Vec<f64>,
    best_epoch: Option<usize>,
    epochs_run: Option<usize>,
    knn: Option<(usize, u32, &'static str)>,
}

impl Fitted {
    /// From a model's raw predictions in original units: they are scaled with the training
    /// labels' range and clipped to `[0, 1]`, as NONA's are, then mapped back.
    fn raw(
        parts: &[Part; 3],
        grid: &[f32],
        scaler: &MinMaxScaler,
        predict: impl Fn(&[f32]) -> anyhow::Result<Vec<f64>>,
        knn: Option<(usize, u32, &'static str)>,
    ) -> anyhow::Result<Self> {
        let clip = |raw: Vec<f64>| -> Vec<f64> {
            raw.iter()
                .map(|&p| scaler.transform(p).clamp(0.0, 1.0))
                .collect()
        };
        let mut scaled: [Vec<f64>; 3] = Default::default();
        for (slot, part) in scaled.iter_mut().zip(parts) {
            *slot = clip(predict(&part.points)?);
        }
        let original = scaled
            .clone()
            .map(|s| s.iter().map(|&p| scaler.inverse(p)).collect());
        let grid = clip(predict(grid)?)
            .iter()
            .map(|&p| scaler.inverse(p))
            .collect();
        Ok(Self {
            original,
            scaled,
            grid,
            best_epoch: None,
            epochs_run: None,
            knn,
        })
    }

    fn finish(
        self,
        method: Method,
        surface: Surface,
        seed: u64,
        points: usize,
        parts: &[Part; 3],
    ) -> MethodResult {
        let scaled_mse = |s: usize| mse(&self.scaled[s], &parts[s].labels_scaled) * 1e3;
        let metrics = MetricRow {
            surface: surface_name(surface).to_owned(),
            seed,
            method: method.name().to_owned(),
            points,
            train_rows: parts[0].labels.len(),
            validation_rows: parts[1].labels.len(),
            test_rows: parts[2].labels.len(),
            test_mse_scaled_e3: scaled_mse(2),
            test_mse: mse(&self.original[2], &parts[2].labels),
            test_mae: mae(&self.original[2], &parts[2].labels),
            validation_mse_scaled_e3: scaled_mse(1),
            best_epoch: self.best_epoch,
            epochs_run: self.epochs_run,
            knn: self.knn,
        };
        MethodResult {
            method,
            original: self.original,
            scaled: self.scaled,
            grid: self.grid,
            metrics,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_rows_run_along_x2() {
        let points = grid_points(4);
        assert_eq!(points.len(), 32);
        assert_eq!(&points[..2], &[-0.75, -0.75]);
        assert_eq!(&points[2..4], &[-0.25, -0.75], "next column: x1 grows");
        assert_eq!(&points[8..10], &[-0.75, -0.25], "next row: x2 grows");
        assert_eq!(&points[30..], &[0.75, 0.75]);
    }

    #[test]
    fn linear_and_knn_on_a_linear_surface() {
        let config: SurfacesConfig = toml::from_str(
            r#"
            surfaces = ["linear"]
            points = 200
            noise = 0.0
            methods = ["linear", "knn"]
            plot_resolution = 8
            "#,
        )
        .unwrap();
        let mut calls = 0;
        let result = run_unit(&config, Surface::Linear, 1, || calls += 1).unwrap();
        assert_eq!(calls, 2);
        assert_eq!(result.truth.len(), 64);
        let [linear, knn] = &result.methods[..] else {
            panic!("two methods");
        };
        // Noise-free linear target: least squares is exact; k-NN is close but not exact.
        assert!(linear.metrics.test_mse_scaled_e3 < 1e-9);
        assert!(knn.metrics.test_mse_scaled_e3 > 1e-6);
        assert!(knn.metrics.knn.is_some());
        for (got, want) in linear.grid.iter().zip(&result.truth) {
            // Clipping to the training range may move grid values at the square's edges.
            assert!((got - want).abs() < 0.01, "{got} vs {want}");
        }
        let rows = linear.metrics.train_rows + linear.metrics.validation_rows;
        assert_eq!(rows + linear.metrics.test_rows, 200);
        assert_eq!(linear.scaled[2].len(), linear.metrics.test_rows);
    }
}
