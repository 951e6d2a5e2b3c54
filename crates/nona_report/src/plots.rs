//! PNG plots for the report: critical-difference diagram, 2-D PCA maps of two embeddings side
//! by side (the paper's Fig. 4, with PCA instead of UMAP), learning curves, predicted vs
//! true scatter, and rows of surface heatmaps (the paper's Fig. 3).
//!
//! Text is drawn with DejaVu Sans embedded in the crate (`assets/`), so plotting needs no
//! system fonts: words through [`crate::text`], tick numbers and legends through plotters.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::ReportError;
use crate::pca::Pca;
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

/// Inputs of a critical-difference diagram.
#[derive(Debug, Clone, PartialEq)]
pub struct CdDiagram<'a> {
    /// Method names.
    pub methods: &'a [String],
    /// Average rank of each method (1 = best), same order as `methods`.
    pub average_ranks: &'a [f64],
    /// Critical difference drawn as the reference bar.
    pub critical_difference: f64,
    /// Significance level the critical difference belongs to (for the label).
    pub alpha: f64,
    /// Groups of method indices that are not significantly different (joined by a bar),
    /// e.g. from [`crate::stats::non_significant_groups`].
    pub groups: &'a [Vec<usize>],
}

/// Critical-difference diagram (Demšar 2006): methods on an average-rank axis (best on the
/// left), a bar of length CD, and thick bars joining non-significantly different methods.
pub fn critical_difference_diagram(
    path: &Path,
    diagram: &CdDiagram<'_>,
) -> Result<(), ReportError> {
    let k = diagram.methods.len();
    if k < 2 || diagram.average_ranks.len() != k {
        return Err(ReportError::InvalidInput(
            "CD diagram needs >= 2 methods with one average rank each".into(),
        ));
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| diagram.average_ranks[a].total_cmp(&diagram.average_ranks[b]));
    let left_count = k.div_ceil(2);
    let rows = left_count.max(k - left_count);
    let width = 900;
    let axis_y = 90;
    let group_spacing = 10;
    let first_label_y = axis_y + 30 + diagram.groups.len() as i32 * group_spacing;
    let height = (first_label_y + rows as i32 * 28 + 20) as u32;
    let (x0, x1) = (230.0, f64::from(width) - 230.0);
    let x_of = |rank: f64| (x0 + (rank - 1.0) / (k as f64 - 1.0) * (x1 - x0)).round() as i32;

    render_png(path, (width, height), |root| {
        let mut labels = Vec::new();
        let black = BLACK.stroke_width(2);
        root.draw(&PathElement::new(
            vec![(x_of(1.0), axis_y), (x_of(k as f64), axis_y)],
            black,
        ))
        .map_err(to_message)?;
        for rank in 1..=k {
            let x = x_of(rank as f64);
            root.draw(&PathElement::new(vec![(x, axis_y - 8), (x, axis_y)], black))
                .map_err(to_message)?;
            labels.push(Label::new(
                rank.to_string(),
                (x, axis_y - 12),
                16.0,
                HAlign::Center,
                VAlign::Bottom,
            ));
        }
        // Reference bar of length CD above the axis, starting at rank 1.
        let cd_end = x_of(1.0 + diagram.critical_difference);
        let bar_y = 30;
        root.draw(&PathElement::new(
            vec![(x_of(1.0), bar_y), (cd_end, bar_y)],
            black,
        ))
        .map_err(to_message)?;
        for x in [x_of(1.0), cd_end] {
            root.draw(&PathElement::new(
                vec![(x, bar_y - 5), (x, bar_y + 5)],
                black,
            ))
            .map_err(to_message)?;
        }
        let cd_label = format!(
            "CD = {:.3} (α = {})",
            diagram.critical_difference, diagram.alpha
        );
        labels.push(Label::new(
            cd_label,
            (cd_end + 10, bar_y),
            15.0,
            HAlign::Left,
            VAlign::Center,
        ));

        for (position, &method) in order.iter().enumerate() {
            let rank = diagram.average_ranks[method];
            let x = x_of(rank);
            let on_left = position < left_count;
            let row = if on_left { position } else { k - 1 - position };
            let y = first_label_y + row as i32 * 28;
            let (edge, anchor, text_x) = if on_left {
                (x_of(1.0) - 20, HAlign::Right, x_of(1.0) - 26)
            } else {
                (x_of(k as f64) + 20, HAlign::Left, x_of(k as f64) + 26)
            };
            root.draw(&PathElement::new(
                vec![(x, axis_y), (x, y), (edge, y)],
                BLACK.stroke_width(1),
            ))
            .map_err(to_message)?;
            let label = format!("{} ({:.2})", diagram.methods[method], rank);
            labels.push(Label::new(label, (text_x, y), 16.0, anchor, VAlign::Center));
        }
        for (g, group) in diagram.groups.iter().enumerate() {
            let ranks = group.iter().map(|&m| diagram.average_ranks[m]);
            let low = ranks.clone().fold(f64::INFINITY, f64::min);
            let high = ranks.fold(f64::NEG_INFINITY, f64::max);
            let y = axis_y + 18 + g as i32 * group_spacing;
            root.draw(&PathElement::new(
                vec![(x_of(low) - 6, y), (x_of(high) + 6, y)],
                BLACK.stroke_width(4),
            ))
            .map_err(to_message)?;
        }
        Ok(labels)
    })
}

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
        labels.extend(draw_colour_bar(&colour_bar, label_min, label_max)?);
        Ok(labels)
    })
}

/// Vertical viridis bar from `label_min` (bottom) to `label_max` (top); returns its labels.
fn draw_colour_bar(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    label_min: f64,
    label_max: f64,
) -> Result<Vec<Label>, String> {
    let (top, bottom, left) = (60, 540, 10);
    for y in top..bottom {
        let fraction = f64::from(bottom - 1 - y) / f64::from(bottom - 1 - top);
        area.draw(&PathElement::new(
            vec![(left, y), (left + 20, y)],
            viridis(fraction),
        ))
        .map_err(to_message)?;
    }
    let x0 = area.get_pixel_range().0.start;
    let mut labels: Vec<Label> = [(label_max, top), (label_min, bottom)]
        .iter()
        .map(|(value, y)| {
            Label::new(
                format!("{value:.3}"),
                (x0 + left + 25, *y),
                13.0,
                HAlign::Left,
                VAlign::Center,
            )
        })
        .collect();
    labels.push(Label::new(
        "label",
        (x0 + left, top - 10),
        14.0,
        HAlign::Left,
        VAlign::Bottom,
    ));
    Ok(labels)
}

/// Viridis colour map at `t` ∈ [0, 1] (linear interpolation between nine samples).
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let scaled = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let index = (scaled.floor() as usize).min(STOPS.len() - 2);
    let fraction = scaled - index as f64;
    let lerp =
        |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * fraction).round() as u8;
    let (a, b) = (STOPS[index], STOPS[index + 1]);
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
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

/// Picks one of a run's per-epoch series.
type CurveValues = fn(&LearningCurve) -> &[f64];

/// Per-epoch losses of one training run.
#[derive(Debug, Clone, PartialEq)]
pub struct LearningCurve {
    /// Legend label, e.g. `"seed 3"`.
    pub label: String,
    /// Training loss per epoch (epoch 1 first).
    pub train_loss: Vec<f64>,
    /// Validation MSE per epoch (epoch 1 first).
    pub val_mse: Vec<f64>,
}

/// Two panels: training loss and validation MSE against epoch, one line per run.
pub fn learning_curves(
    path: &Path,
    title: &str,
    curves: &[LearningCurve],
) -> Result<(), ReportError> {
    if curves.is_empty()
        || curves
            .iter()
            .any(|c| c.train_loss.is_empty() && c.val_mse.is_empty())
    {
        return Err(ReportError::InvalidInput(
            "learning curves need at least one non-empty run".into(),
        ));
    }
    render_png(path, (1200, 520), |root| {
        let (root, title) = with_title(root, title, 40, 20.0);
        let mut labels = vec![title];
        let panels = root.split_evenly((1, 2));
        let series: [(&str, CurveValues); 2] = [
            ("training loss", |c| c.train_loss.as_slice()),
            ("validation MSE", |c| c.val_mse.as_slice()),
        ];
        for (area, (name, values_of)) in panels.iter().zip(series) {
            let epochs = curves
                .iter()
                .map(|c| values_of(c).len())
                .max()
                .unwrap_or(1)
                .max(2);
            let finite = curves
                .iter()
                .flat_map(|c| values_of(c).iter().copied())
                .filter(|v| v.is_finite());
            let high = finite.clone().fold(f64::NEG_INFINITY, f64::max);
            let low = finite.fold(f64::INFINITY, f64::min);
            let (low, high) = if low <= high { (low, high) } else { (0.0, 1.0) };
            let pad = ((high - low) * 0.05).max(1e-12);
            let (area, caption) = with_title(area, name, 28, 17.0);
            labels.push(caption);
            let mut chart = ChartBuilder::on(&area)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(70)
                .build_cartesian_2d(1.0..epochs as f64, (low - pad)..(high + pad))
                .map_err(to_message)?;
            chart
                .configure_mesh()
                .label_style(font(13.0))
                .x_label_formatter(&|epoch| format!("{epoch:.0}"))
                .draw()
                .map_err(to_message)?;
            labels.extend(axis_titles(&chart, "epoch", name, 60));
            for (index, curve) in curves.iter().enumerate() {
                let colour = PALETTE[index % PALETTE.len()];
                let points = values_of(curve)
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(epoch, &v)| ((epoch + 1) as f64, v));
                chart
                    .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                    .map_err(to_message)?
                    .label(curve.label.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .label_font(font(13.0))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(to_message)?;
        }
        Ok(labels)
    })
}

/// Predicted against true values with the y = x line; both axes share one range.
pub fn predicted_vs_true(
    path: &Path,
    title: &str,
    y_true: &[f64],
    y_pred: &[f64],
) -> Result<(), ReportError> {
    if y_true.len() != y_pred.len() || y_true.is_empty() {
        return Err(ReportError::InvalidInput(format!(
            "predicted vs true needs equal non-empty lengths, got {} and {}",
            y_true.len(),
            y_pred.len()
        )));
    }
    let all = y_true
        .iter()
        .chain(y_pred)
        .copied()
        .filter(|v| v.is_finite());
    let low = all.clone().fold(f64::INFINITY, f64::min);
    let high = all.fold(f64::NEG_INFINITY, f64::max);
    if low > high {
        return Err(ReportError::InvalidInput(
            "predicted vs true: no finite values".into(),
        ));
    }
    let pad = ((high - low) * 0.05).max(1e-9);
    let range = (low - pad)..(high + pad);
    render_png(path, (640, 640), |root| {
        let (area, title) = with_title(root, title, 34, 18.0);
        let mut chart = ChartBuilder::on(&area)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(range.clone(), range.clone())
            .map_err(to_message)?;
        chart
            .configure_mesh()
            .label_style(font(13.0))
            .draw()
            .map_err(to_message)?;
        let [x_title, y_title] = axis_titles(&chart, "true", "predicted", 50);
        chart
            .draw_series(
                y_true
                    .iter()
                    .zip(y_pred)
                    .map(|(&t, &p)| Circle::new((t, p), 3, PALETTE[0].mix(0.6).filled())),
            )
            .map_err(to_message)?;
        chart
            .draw_series(LineSeries::new(
                [(range.start, range.start), (range.end, range.end)],
                PALETTE[3].stroke_width(2),
            ))
            .map_err(to_message)?
            .label("y = x")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[3].stroke_width(2))
            });
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(font(14.0))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(to_message)?;
        Ok(vec![title, x_title, y_title])
    })
}

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

/// Vertical viridis bar from `low` (bottom) to `high` (top) between rows `top..bottom` of `area`
/// (relative to the area); returns its labels.
fn draw_vertical_colour_bar(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    (top, bottom): (i32, i32),
    low: f64,
    high: f64,
    name: &str,
) -> Result<Vec<Label>, String> {
    let left = 10;
    for y in top..bottom {
        let fraction = f64::from(bottom - 1 - y) / f64::from((bottom - 1 - top).max(1));
        area.draw(&PathElement::new(
            vec![(left, y), (left + 20, y)],
            viridis(fraction),
        ))
        .map_err(to_message)?;
    }
    let (x0, y0) = (
        area.get_pixel_range().0.start,
        area.get_pixel_range().1.start,
    );
    let mut labels: Vec<Label> = [(high, top), (low, bottom)]
        .iter()
        .map(|(value, y)| {
            Label::new(
                format!("{value:.3}"),
                (x0 + left + 25, y0 + *y),
                13.0,
                HAlign::Left,
                VAlign::Center,
            )
        })
        .collect();
    labels.push(Label::new(
        name,
        (x0 + left, y0 + top - 10),
        14.0,
        HAlign::Left,
        VAlign::Bottom,
    ));
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_endpoints() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(2.0), RGBColor(253, 231, 37));
    }
}
