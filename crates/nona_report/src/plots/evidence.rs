//! Neighbour evidence for image datasets: per row, a query image (its label and prediction)
//! beside the training images that voted for it (their labels and weights).

use std::path::Path;

use image::RgbImage;
use image::imageops::FilterType;
use plotters::prelude::*;

use crate::ReportError;
use crate::text::{HAlign, Label, VAlign};

use super::{render_png, to_message, with_title};

/// Side of a tile's square, in pixels.
const TILE: u32 = 128;
/// Space between tiles, and the extra space after the query.
const GAP: u32 = 14;
const QUERY_GAP: u32 = 36;
/// Heights of a row's title and of the two caption lines under each tile.
const ROW_TITLE: u32 = 26;
const CAPTION_LINE: u32 = 17;
const FIGURE_TITLE: u32 = 40;

/// One image with the two caption lines drawn under it.
#[derive(Debug, Clone)]
pub struct EvidenceTile {
    /// The image (scaled to fit the tile, aspect kept).
    pub image: RgbImage,
    /// Two short lines, e.g. `label 120` and `weight 0.135`.
    pub caption: [String; 2],
}

/// One query and its neighbours, heaviest first.
#[derive(Debug, Clone)]
pub struct EvidenceRow {
    /// Shown above the row, e.g. `lowest error: 1403.png`.
    pub title: String,
    /// The test image.
    pub query: EvidenceTile,
    /// Its neighbours.
    pub neighbours: Vec<EvidenceTile>,
}

/// Size of the figure for `rows`.
fn figure_size(rows: &[EvidenceRow]) -> (u32, u32) {
    let columns = rows.iter().map(|r| r.neighbours.len()).max().unwrap_or(0) as u32;
    let width = GAP + TILE + QUERY_GAP + columns * (TILE + GAP);
    let height = FIGURE_TITLE + rows.len() as u32 * row_height();
    (width.max(480), height)
}

fn row_height() -> u32 {
    ROW_TITLE + TILE + 2 * CAPTION_LINE + GAP
}

/// Draws `rows` under `title` into the PNG at `path`.
pub fn neighbour_evidence(
    path: &Path,
    title: &str,
    rows: &[EvidenceRow],
) -> Result<(), ReportError> {
    if rows.is_empty() {
        return Err(ReportError::InvalidInput(
            "neighbour evidence: no rows to draw".into(),
        ));
    }
    render_png(path, figure_size(rows), |root| {
        let (area, title_label) = with_title(root, title, FIGURE_TITLE, 19.0);
        let mut labels = vec![title_label];
        let (x0, y0) = {
            let (x, y) = area.get_pixel_range();
            (x.start, y.start)
        };
        for (r, row) in rows.iter().enumerate() {
            let top = y0 + (r as u32 * row_height()) as i32;
            labels.push(Label::new(
                &row.title,
                (x0 + GAP as i32, top + ROW_TITLE as i32 / 2),
                15.0,
                HAlign::Left,
                VAlign::Center,
            ));
            let tiles_top = top + ROW_TITLE as i32;
            let mut left = x0 + GAP as i32;
            for (t, tile) in std::iter::once(&row.query)
                .chain(&row.neighbours)
                .enumerate()
            {
                // Pixel positions are the figure's, like the labels'.
                draw_tile(root, tile, (left, tiles_top))?;
                for (line, text) in tile.caption.iter().enumerate() {
                    labels.push(Label::new(
                        text,
                        (
                            left + TILE as i32 / 2,
                            tiles_top + (TILE + 2 + line as u32 * CAPTION_LINE) as i32,
                        ),
                        13.0,
                        HAlign::Center,
                        VAlign::Top,
                    ));
                }
                left += (TILE + if t == 0 { QUERY_GAP } else { GAP }) as i32;
            }
        }
        Ok(labels)
    })
}

/// The tile's image, scaled to fit a TILE square and centred in it, with a grey frame.
fn draw_tile(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    tile: &EvidenceTile,
    (left, top): (i32, i32),
) -> Result<(), String> {
    let (w, h) = tile.image.dimensions();
    let scale = TILE as f64 / w.max(h).max(1) as f64;
    let (sw, sh) = (
        ((w as f64 * scale).round() as u32).max(1),
        ((h as f64 * scale).round() as u32).max(1),
    );
    let scaled = image::imageops::resize(&tile.image, sw, sh, FilterType::Triangle);
    let (dx, dy) = (((TILE - sw) / 2) as i32, ((TILE - sh) / 2) as i32);
    for (x, y, pixel) in scaled.enumerate_pixels() {
        let [red, green, blue] = pixel.0;
        area.draw_pixel(
            (left + dx + x as i32, top + dy + y as i32),
            &RGBColor(red, green, blue),
        )
        .map_err(to_message)?;
    }
    area.draw(&Rectangle::new(
        [(left - 1, top - 1), (left + TILE as i32, top + TILE as i32)],
        RGBColor(160, 160, 160).stroke_width(1),
    ))
    .map_err(to_message)
}
