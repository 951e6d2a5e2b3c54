//! The report's PNGs, drawn from the tables of one dense and one NONA cell of the first seed.

use std::path::Path;

use nona_report::markdown::PlotLink;
use nona_report::plots::{self, EmbeddingPanel, LearningCurve};

use super::collect::Cell;

/// Where plots go, relative to `report.md`.
pub(super) const PLOTS_DIR: &str = "plots";

/// Rows of one cell's part of a train table (each cell is one unit, so one part).
fn cell_part(
    train: &Path,
    table: &str,
    cell: i64,
) -> anyhow::Result<Vec<arrow::record_batch::RecordBatch>> {
    let path = train.join(table).join(format!("part-{cell:05}.parquet"));
    Ok(nona_table::Dataset::open(&path)?.read_all()?)
}

fn curve(train: &Path, cell: &Cell, label: &str) -> anyhow::Result<LearningCurve> {
    let mut curve = LearningCurve {
        label: label.to_owned(),
        train_loss: Vec::new(),
        val_mse: Vec::new(),
    };
    for batch in cell_part(train, "curves", cell.index)? {
        let path = Path::new("curves");
        curve
            .train_loss
            .extend(nona_table::f64_column(&batch, "train_loss", path)?.values());
        curve
            .val_mse
            .extend(nona_table::f64_column(&batch, "validation_mse", path)?.values());
    }
    Ok(curve)
}

/// Embedding rows and labels of a cell's train and test samples.
fn embeddings(train: &Path, cell: &Cell) -> anyhow::Result<(Vec<Vec<f32>>, Vec<f64>)> {
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for batch in cell_part(train, "embeddings", cell.index)? {
        let path = Path::new("embeddings");
        let splits = nona_table::string_column(&batch, "split", path)?;
        let label = nona_table::f64_column(&batch, "label", path)?;
        let (values, dim) = nona_table::embedding_rows(&batch, "embedding", path)?;
        for row in (0..batch.num_rows()).filter(|&r| splits.value(r) != "validation") {
            rows.push(values[row * dim..(row + 1) * dim].to_vec());
            labels.push(label.value(row));
        }
    }
    Ok((rows, labels))
}

/// Test labels and predictions (original units) of a cell.
fn test_predictions(train: &Path, cell: &Cell) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let (mut truth, mut predicted) = (Vec::new(), Vec::new());
    for batch in cell_part(train, "predictions", cell.index)? {
        let path = Path::new("predictions");
        let splits = nona_table::string_column(&batch, "split", path)?;
        let labels = nona_table::f64_column(&batch, "label", path)?;
        let predictions = nona_table::f64_column(&batch, "prediction", path)?;
        for row in (0..batch.num_rows()).filter(|&r| splits.value(r) == "test") {
            truth.push(labels.value(row));
            predicted.push(predictions.value(row));
        }
    }
    Ok((truth, predicted))
}

/// Draws learning curves, the dense-versus-NONA embedding map and predicted-versus-true plots
/// into `out/plots/`, for the given cells (`(method name, cell)`, dense first when present).
pub(super) fn draw(
    out: &Path,
    train: &Path,
    shown: &[(String, &Cell)],
) -> anyhow::Result<Vec<PlotLink>> {
    let dir = out.join(PLOTS_DIR);
    std::fs::create_dir_all(&dir)?;
    let mut links = Vec::new();
    let mut link = |file: &str, caption: String| {
        links.push(PlotLink {
            caption,
            relative_path: format!("{PLOTS_DIR}/{file}"),
        })
    };
    let Some((_, first)) = shown.first() else {
        return Ok(links);
    };
    let seed = first.seed;

    let curves = shown
        .iter()
        .map(|(name, cell)| curve(train, cell, name))
        .collect::<anyhow::Result<Vec<_>>>()?;
    plots::learning_curves(
        &dir.join("learning_curves.png"),
        &format!("Learning curves, seed {seed}"),
        &curves,
    )?;
    link(
        "learning_curves.png",
        format!("Learning curves (seed {seed}): training loss and validation MSE, scaled labels"),
    );

    if let [(left_name, left), (right_name, right), ..] = shown {
        let (left_rows, left_labels) = embeddings(train, left)?;
        let (right_rows, right_labels) = embeddings(train, right)?;
        plots::embedding_maps(
            &dir.join("embedding_maps.png"),
            &EmbeddingPanel {
                title: left_name,
                rows: &left_rows,
                labels: &left_labels,
            },
            &EmbeddingPanel {
                title: right_name,
                rows: &right_rows,
                labels: &right_labels,
            },
        )?;
        link(
            "embedding_maps.png",
            format!(
                "Head embeddings of the training and test samples (seed {seed}), first two principal components (PCA), coloured by label"
            ),
        );
    }

    for (name, cell) in shown {
        let (truth, predicted) = test_predictions(train, cell)?;
        let file = format!(
            "predicted_vs_true_{}.png",
            name.to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        plots::predicted_vs_true(
            &dir.join(&file),
            &format!("{name}: test predictions, seed {seed}"),
            &truth,
            &predicted,
        )?;
        link(
            &file,
            format!("{name}: predicted versus true on the test split (seed {seed})"),
        );
    }
    Ok(links)
}
