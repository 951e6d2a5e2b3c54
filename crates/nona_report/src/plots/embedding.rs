//! Two embeddings side by side on their first two principal components (the paper's Fig. 4,
//! with PCA instead of UMAP).

use std::path::Path;

use plotters::prelude::*;

use crate::ReportError;
use crate::pca::Pca;

use super::colour::{draw_vertical_colour_bar, viridis};
use super::{axis_titles, font, render_png, to_message, with_title};

/// One embedding to map: rows (n × d), one label per row, and a panel title.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmbeddingPanel<'a> {
    /// Panel title, e.g. `"Dense"`.
    pub title: &'a str,
    /// Embedding rows, all of the same length d ≥ 2.
    pub rows: &'a [Vec<f32>],
    /// Label of each row (colours the points).
    pub labels: &'a [f64],
}

/// Two embeddings side by side, each projected on its own first two principal components and
/// coloured by label (viridis, dark = low, yellow = high; one colour scale shared by both).
pub fn embedding_maps(
    path: &Path,
    left: &EmbeddingPanel<'_>,
    right: &EmbeddingPanel<'_>,
) -> Result<(), ReportError> {
    let mut panels = Vec::new();
    for panel in [left, right] {
        if panel.rows.len() != panel.labels.len() {
            return Err(ReportError::InvalidInput(format!(
                "{}: {} rows but {} labels",
                panel.title,
                panel.rows.len(),
                panel.labels.len()
            )));
        }
        let pca = Pca::fit(panel.rows, 2)?;
        let points: Vec<(f64, f64)> = panel
            .rows
            .iter()
            .map(|row| {
                let p = pca.project(row);
                (p[0], p[1])
            })
            .collect();
        panels.push((panel, pca, points));
    }
    let all_labels = left.labels.iter().chain(right.labels);
    let label_min = all_labels.clone().copied().fold(f64::INFINITY, f64::min);
    let label_max = all_labels.copied().fold(f64::NEG_INFINITY, f64::max);
    let label_span = (label_max - label_min).max(f64::MIN_POSITIVE);

    render_png(path, (1300, 620), |root| {
        let mut labels = Vec::new();
        let (maps, colour_bar) = root.split_horizontally(1200);
        for (area, (panel, pca, points)) in maps.split_evenly((1, 2)).iter().zip(&panels) {
            let (x_range, y_range) = padded_ranges(points);
            let share = |c: usize| 100.0 * pca.explained_variance[c] / pca.total_variance;
            let caption = format!(
                "{}: PCA, PC1 {:.1} % and PC2 {:.1} % of variance",
                panel.title,
                share(0),
                share(1)
            );
            let (area, title) = with_title(area, &caption, 34, 18.0);
            labels.push(title);
            let mut chart = ChartBuilder::on(&area)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d(x_range, y_range)
                .map_err(to_message)?;
            chart
                .configure_mesh()
                .label_style(font(13.0))
                .light_line_style(WHITE.mix(0.0))
                .draw()
                .map_err(to_message)?;
            labels.extend(axis_titles(&chart, "PC1", "PC2", 48));
            chart
                .draw_series(points.iter().zip(panel.labels).map(|(&(x, y), &label)| {
                    let colour = viridis((label - label_min) / label_span);
                    Circle::new((x, y), 3, colour.filled())
                }))
                .map_err(to_message)?;
        }
        labels.extend(draw_vertical_colour_bar(
            &colour_bar,
            (60, 540),
            label_min,
            label_max,
            "label",
        )?);
        Ok(labels)
    })
}

/// Axis ranges covering `points` with 5 % padding (and a non-empty span).
fn padded_ranges(points: &[(f64, f64)]) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let range = |values: Vec<f64>| {
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let pad = ((high - low) * 0.05).max(1e-9);
        (low - pad)..(high + pad)
    };
    (
        range(points.iter().map(|p| p.0).collect()),
        range(points.iter().map(|p| p.1).collect()),
    )
}
