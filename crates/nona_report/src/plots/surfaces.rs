//! Rows of surface heatmaps (the paper's Fig. 3).

use std::path::Path;

use plotters::prelude::*;

use crate::ReportError;

use super::colour::{draw_vertical_colour_bar, viridis};
use super::{axis_titles, font, render_png, to_message, with_title};

/// One heatmap of a [`SurfacePanels`] row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfacePanel<'a> {
    /// Panel title, e.g. `"NONA: test MSE 2.51"`.
    pub title: &'a str,
    /// `resolution × resolution` values on a regular grid, row-major: row 0 is the lowest
    /// `x₂` (drawn at the bottom), column 0 the lowest `x₁` (drawn at the left). Non-finite
    /// values are drawn grey.
    pub values: &'a [f64],
}

/// A row of heatmaps of functions on the same square, e.g. a target surface next to the
/// surfaces learned by several methods (the paper's Fig. 3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfacePanels<'a> {
    /// Figure title above the row.
    pub title: &'a str,
    /// Grid cells per side of every panel.
    pub resolution: usize,
    /// Range of both axes, e.g. `(-1.0, 1.0)`.
    pub extent: (f64, f64),
    /// Colour scale shared by all panels (low, high); values outside are clamped to its ends.
    pub range: (f64, f64),
    /// The panels, left to right.
    pub panels: &'a [SurfacePanel<'a>],
}

/// Side of a surface panel's plotting area in pixels.
const SURFACE_PANEL_SIDE: u32 = 300;

/// Size of the PNG [`surface_panels`] writes for `panels` panels.
pub fn surface_panels_size(panels: usize) -> (u32, u32) {
    // Per panel: y tick labels (44) + plotting area + right margin (20); title strips (44 + 30),
    // top margin (6) and x tick labels (36) around a square plotting area.
    (
        40 + panels as u32 * (SURFACE_PANEL_SIDE + 64) + 110,
        44 + 30 + 6 + SURFACE_PANEL_SIDE + 36,
    )
}

/// A row of heatmaps with one viridis colour scale (dark = low, yellow = high) and a colour bar
/// on the right; axes `x₁` (horizontal) and `x₂` (vertical). The PNG's size is
/// [`surface_panels_size`].
pub fn surface_panels(path: &Path, plot: &SurfacePanels<'_>) -> Result<(), ReportError> {
    let cells = plot.resolution * plot.resolution;
    if plot.panels.is_empty() || plot.resolution == 0 {
        return Err(ReportError::InvalidInput(
            "surface panels need at least one panel and a positive resolution".into(),
        ));
    }
    if let Some(bad) = plot.panels.iter().find(|p| p.values.len() != cells) {
        return Err(ReportError::InvalidInput(format!(
            "surface panel `{}` has {} values, expected {} × {}",
            bad.title,
            bad.values.len(),
            plot.resolution,
            plot.resolution
        )));
    }
    let (low, high) = plot.range;
    let (x0, x1) = plot.extent;
    let usable = low.is_finite() && high.is_finite() && low <= high && x0 < x1;
    if !usable {
        return Err(ReportError::InvalidInput(format!(
            "surface panels: bad colour range {:?} or extent {:?}",
            plot.range, plot.extent
        )));
    }
    let span = (high - low).max(f64::MIN_POSITIVE);
    let size = surface_panels_size(plot.panels.len());
    render_png(path, size, |figure| {
        let (root, title) = with_title(figure, plot.title, 44, 20.0);
        let mut labels = vec![title];
        let (row, colour_bar) = root.split_horizontally(size.0 - 110);
        let (_, row) = row.split_horizontally(40);
        let areas = row.split_evenly((1, plot.panels.len()));
        for (area, panel) in areas.iter().zip(plot.panels) {
            let (area, caption) = with_title(area, panel.title, 30, 16.0);
            labels.push(caption);
            let mut chart = ChartBuilder::on(&area)
                .margin_top(6)
                .margin_right(20)
                .x_label_area_size(36)
                .y_label_area_size(44)
                .build_cartesian_2d(x0..x1, x0..x1)
                .map_err(to_message)?;
            let (px, py) = chart.plotting_area().get_pixel_range();
            let (width, height) = (px.end - px.start, py.end - py.start);
            // Fill the plotting area pixel by pixel with the grid cell under each pixel.
            let resolution = plot.resolution as i32;
            for y in 0..height {
                let row = ((height - 1 - y) * resolution / height).clamp(0, resolution - 1);
                for x in 0..width {
                    let column = (x * resolution / width).clamp(0, resolution - 1);
                    let value = panel.values[(row * resolution + column) as usize];
                    let colour = if value.is_finite() {
                        viridis((value - low) / span)
                    } else {
                        RGBColor(160, 160, 160)
                    };
                    // `figure`'s coordinates are the image's pixels.
                    figure
                        .draw_pixel((px.start + x, py.start + y), &colour)
                        .map_err(to_message)?;
                }
            }
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(5)
                .y_labels(5)
                .label_style(font(13.0))
                .x_label_formatter(&|v| format!("{v:.1}"))
                .y_label_formatter(&|v| format!("{v:.1}"))
                .draw()
                .map_err(to_message)?;
            let [mut x_title, mut y_title] = axis_titles(&chart, "x₁", "x₂", 38);
            x_title.at.1 -= 4;
            y_title.at.0 += 2;
            labels.extend([x_title, y_title]);
        }
        labels.extend(draw_vertical_colour_bar(
            &colour_bar,
            (74, size.1 as i32 - 80),
            low,
            high,
            "value",
        )?);
        Ok(labels)
    })
}
