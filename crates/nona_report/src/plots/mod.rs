//! PNG plots for the report: critical-difference diagram, 2-D PCA maps of two embeddings side
//! by side (the paper's Fig. 4, with PCA instead of UMAP), learning curves, predicted vs
//! true scatter, rows of surface heatmaps (the paper's Fig. 3), and query images beside their
//! neighbours (neighbour evidence).
//!
//! Text is drawn with DejaVu Sans embedded in the crate (`assets/`), so plotting needs no
//! system fonts: words through [`crate::text`], tick numbers and legends through plotters.
//! This module holds what every figure shares (fonts, palette, PNG rendering, titles); each
//! figure is a module of its own.

mod cd_diagram;
mod colour;
mod curves;
mod embedding;
mod evidence;
mod surfaces;

pub use cd_diagram::{CdDiagram, critical_difference_diagram};
pub use curves::{LearningCurve, learning_curves, predicted_vs_true};
pub use embedding::{EmbeddingPanel, embedding_maps};
pub use evidence::{EvidenceRow, EvidenceTile, neighbour_evidence};
pub use surfaces::{SurfacePanel, SurfacePanels, surface_panels, surface_panels_size};

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::ReportError;
use crate::text::{DEJAVU_SANS, HAlign, Label, VAlign, draw_labels};

const FONT_FAMILY: &str = "sans-serif";

/// Colours for per-seed lines and similar categorical series.
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn ensure_font_registered() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, DEJAVU_SANS)
                .map_err(|_| "embedded DejaVu Sans could not be parsed".to_owned())
        })
        .clone()
}

fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT_FAMILY, size).into_font())
}

/// Draws into an RGB buffer with `draw`, adds the labels it returns, then writes the buffer
/// to `path` as PNG.
fn render_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<Vec<Label>, String>,
) -> Result<(), ReportError> {
    let plot_error = |message: String| ReportError::Plot {
        path: path.to_path_buf(),
        message,
    };
    ensure_font_registered().map_err(plot_error)?;
    let mut pixels = vec![255u8; size.0 as usize * size.1 as usize * 3];
    let labels = {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(e.to_string()))?;
        let labels = draw(&root).map_err(plot_error)?;
        root.present().map_err(|e| plot_error(e.to_string()))?;
        labels
    };
    draw_labels(&mut pixels, size, &labels).map_err(plot_error)?;
    image::save_buffer(
        path,
        &pixels,
        size.0,
        size.1,
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| plot_error(e.to_string()))
}

fn to_message<E: std::fmt::Display>(error: E) -> String {
    error.to_string()
}

/// Splits a title strip of `height` pixels off the top of `area` and returns the rest with the
/// title's label.
fn with_title<'a>(
    area: &DrawingArea<BitMapBackend<'a>, Shift>,
    title: &str,
    height: u32,
    size: f32,
) -> (DrawingArea<BitMapBackend<'a>, Shift>, Label) {
    let (strip, rest) = area.split_vertically(height);
    let (x, y) = strip.get_pixel_range();
    let centre = ((x.start + x.end) / 2, (y.start + y.end) / 2);
    (
        rest,
        Label::new(title, centre, size, HAlign::Center, VAlign::Center),
    )
}

/// Axis titles below and left of a chart's plotting area.
fn axis_titles<DB: DrawingBackend, CT: CoordTranslate>(
    chart: &ChartContext<'_, DB, CT>,
    x_title: &str,
    y_title: &str,
    y_title_offset: i32,
) -> [Label; 2] {
    let (x, y) = chart.plotting_area().get_pixel_range();
    [
        Label::new(
            x_title,
            ((x.start + x.end) / 2, y.end + 26),
            15.0,
            HAlign::Center,
            VAlign::Top,
        ),
        Label::vertical(
            y_title,
            (x.start - y_title_offset, (y.start + y.end) / 2),
            15.0,
        ),
    ]
}
