//! Titles and labels rasterised with ab_glyph straight into the finished RGB buffer.
//!
//! plotters 0.3.7's `ab_glyph` text backend places each glyph's bounding box at the pen
//! position and drops the left side bearing, which visibly garbles words ("CD" overlaps).
//! The report draws its own words with this module; only plotters' tick numbers and legend
//! entries still go through plotters.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

/// The embedded font: DejaVu Sans (Bitstream Vera licence, see `assets/`).
pub(crate) const DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Horizontal anchor of a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HAlign {
    Left,
    Center,
    Right,
}

/// Vertical anchor of a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VAlign {
    Top,
    Center,
    Bottom,
}

/// One line of black text at an absolute pixel position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Label {
    pub text: String,
    pub at: (i32, i32),
    pub size: f32,
    pub h_align: HAlign,
    pub v_align: VAlign,
    /// Rotated 90° counter-clockwise (reads bottom to top), for y-axis titles.
    pub vertical: bool,
}

impl Label {
    /// Horizontal text anchored at `at`.
    pub(crate) fn new(
        text: impl Into<String>,
        at: (i32, i32),
        size: f32,
        h_align: HAlign,
        v_align: VAlign,
    ) -> Self {
        Self {
            text: text.into(),
            at,
            size,
            h_align,
            v_align,
            vertical: false,
        }
    }

    /// Text centred on `at`, reading bottom to top.
    pub(crate) fn vertical(text: impl Into<String>, at: (i32, i32), size: f32) -> Self {
        Self {
            vertical: true,
            ..Self::new(text, at, size, HAlign::Center, VAlign::Center)
        }
    }
}

/// Draws `labels` in black into a row-major RGB8 buffer of `size` pixels.
pub(crate) fn draw_labels(
    pixels: &mut [u8],
    size: (u32, u32),
    labels: &[Label],
) -> Result<(), String> {
    let font = FontRef::try_from_slice(DEJAVU_SANS).map_err(|e| format!("embedded font: {e}"))?;
    for label in labels {
        let scale = PxScale::from(label.size);
        let scaled = font.as_scaled(scale);
        let mut glyphs = Vec::new();
        let mut pen = 0.0;
        let mut previous = None;
        for c in label.text.chars() {
            let id = font.glyph_id(c);
            if let Some(previous) = previous {
                pen += scaled.kern(previous, id);
            }
            glyphs.push(id.with_scale_and_position(scale, point(pen, scaled.ascent())));
            pen += scaled.h_advance(id);
            previous = Some(id);
        }
        let height = scaled.ascent() - scaled.descent();
        let dx = match label.h_align {
            HAlign::Left => 0.0,
            HAlign::Center => -pen / 2.0,
            HAlign::Right => -pen,
        };
        let dy = match label.v_align {
            VAlign::Top => 0.0,
            VAlign::Center => -height / 2.0,
            VAlign::Bottom => -height,
        };
        for glyph in glyphs {
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            // Round the glyph origin once so that rows and columns map one-to-one to pixels.
            let origin_x = (bounds.min.x + dx).round() as i32;
            let origin_y = (bounds.min.y + dy).round() as i32;
            outline.draw(|x, y, coverage| {
                let tx = origin_x + x as i32;
                let ty = origin_y + y as i32;
                let (px, py) = if label.vertical {
                    (label.at.0 + ty, label.at.1 - tx)
                } else {
                    (label.at.0 + tx, label.at.1 + ty)
                };
                darken(pixels, size, (px, py), coverage);
            });
        }
    }
    Ok(())
}

/// Blends black into one pixel with the glyph's coverage as opacity.
fn darken(pixels: &mut [u8], size: (u32, u32), (x, y): (i32, i32), coverage: f32) {
    if x < 0 || y < 0 || x >= size.0 as i32 || y >= size.1 as i32 {
        return;
    }
    let start = (y as usize * size.0 as usize + x as usize) * 3;
    let keep = 1.0 - coverage.clamp(0.0, 1.0);
    for channel in &mut pixels[start..start + 3] {
        *channel = (f32::from(*channel) * keep).round() as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dark_columns(label: Label) -> Vec<usize> {
        let size = (120, 40);
        let mut pixels = vec![255u8; 120 * 40 * 3];
        draw_labels(&mut pixels, size, &[label]).unwrap();
        (0..120)
            .filter(|&x| (0..40).any(|y| pixels[(y * 120 + x) * 3] < 128))
            .collect()
    }

    #[test]
    fn anchors_place_text_left_and_right_of_the_point() {
        let left = dark_columns(Label::new(
            "CD",
            (60, 20),
            16.0,
            HAlign::Left,
            VAlign::Center,
        ));
        let right = dark_columns(Label::new(
            "CD",
            (60, 20),
            16.0,
            HAlign::Right,
            VAlign::Center,
        ));
        assert!(left.iter().all(|&x| x >= 60) && !left.is_empty());
        assert!(right.iter().all(|&x| x < 60) && !right.is_empty());
        // "C" and "D" are separate glyphs: some column between them stays blank.
        let (first, last) = (left[0], left[left.len() - 1]);
        assert!((first..=last).any(|x| !left.contains(&x)), "{left:?}");
    }
}
