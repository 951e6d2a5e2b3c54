//! One radiograph: anatomy placed by the pose, projected, exposed, marked and quantised.

use image::GrayImage;
use rand::Rng;

use crate::anatomy::{Subject, hand, size_factor};
use crate::nuisance::{Nuisance, draw_markers, expose};
use crate::raster::{BoneStyle, Canvas};
use crate::shape::{Similarity, Vec2};

/// Side of the image (as a fraction) that an adult hand's unit length spans at pose scale 1.
const FRAME: f32 = 0.74;

/// The hand-unit point the pose rotates about and centres horizontally (middle of the palm).
const HAND_CENTRE: Vec2 = Vec2::new(0.0, 0.45);

/// Image row (fraction of the side) of the wrist before rotation and shift: films are framed
/// with the wrist near the bottom edge, so a small hand leaves background above its fingers
/// rather than showing a long stretch of forearm.
const WRIST_ROW: f32 = 0.82;

/// Attenuation of mature cortical bone per unit of (radius-normalised) path.
const BONE_GAIN: f32 = 1.35;

/// Renders `subject` under `nuisance` as a `size x size` 8-bit grayscale radiograph;
/// `rng` supplies the film grain and mottle.
pub fn render(subject: &Subject, nuisance: &Nuisance, size: u32, rng: &mut impl Rng) -> GrayImage {
    let side = size as usize;
    let pose = &nuisance.pose;
    let scale = size as f32 * FRAME * size_factor(subject) * pose.scale;
    let centre = Vec2::new(
        size as f32 * (0.5 + pose.shift.x),
        size as f32 * (WRIST_ROW + pose.shift.y) - HAND_CENTRE.y * scale,
    );
    let rotated_origin =
        Similarity::new(scale, pose.rotation, true, Vec2::default()).point(HAND_CENTRE);
    let to_pixels = Similarity::new(scale, pose.rotation, true, centre - rotated_origin);

    let anatomy = hand(subject, &nuisance.variation);
    let mut tissue = Canvas::new(side);
    tissue.max_tissue(
        &anatomy.tissue.transformed(&to_pixels),
        anatomy.tissue_depth * scale,
    );
    let mut bone = Canvas::new(side);
    for b in &anatomy.bones {
        let style = BoneStyle {
            radius: b.radius * scale,
            cortex: b.cortex,
            density: b.density * BONE_GAIN,
            marrow: b.marrow,
        };
        bone.add_bone(&b.shape.transformed(&to_pixels), &style);
    }

    let mut film = expose(&tissue, &bone, &nuisance.exposure, rng);
    draw_markers(&mut film, &nuisance.markers);
    let pixels = film
        .data()
        .iter()
        .map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect();
    GrayImage::from_raw(size, size, pixels).expect("side * side pixels")
}
