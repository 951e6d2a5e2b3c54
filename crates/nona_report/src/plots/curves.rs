//! Training runs over epochs (learning curves) and predictions against labels.

use std::path::Path;

use plotters::prelude::*;

use crate::ReportError;

use super::{PALETTE, axis_titles, font, render_png, to_message, with_title};

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
