//! The viridis colour scale and its colour bar.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::text::{HAlign, Label, VAlign};

use super::to_message;

/// Viridis colour map at `t` ∈ [0, 1] (linear interpolation between nine samples).
pub(super) fn viridis(t: f64) -> RGBColor {
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

/// Vertical viridis bar from `low` (bottom) to `high` (top) between rows `top..bottom` of `area`
/// (relative to the area); returns its labels.
pub(super) fn draw_vertical_colour_bar(
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
