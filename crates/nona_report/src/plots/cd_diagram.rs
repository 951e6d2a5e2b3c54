//! The critical-difference diagram (Demšar 2006) of the Friedman / Nemenyi analysis.

use std::path::Path;

use plotters::prelude::*;

use crate::ReportError;
use crate::text::{HAlign, Label, VAlign};

use super::{render_png, to_message};

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
