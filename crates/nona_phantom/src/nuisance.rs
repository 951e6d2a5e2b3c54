//! Variation that must NOT carry the label: pose, exposure, background, film grain and the
//! side markers and label stickers that real films carry. Drawn per image, independently of
//! bone age and sex.

use rand::Rng;

use crate::anatomy::Variation;
use crate::random::{normal, uniform};
use crate::raster::Canvas;
use crate::shape::{Primitive, Shape, Vec2};

/// Placement of the hand on the film.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pose {
    /// In-plane rotation (radians, within ±15°).
    pub rotation: f32,
    /// Scale factor (0.9..1.1) on top of the age- and sex-dependent hand size.
    pub scale: f32,
    /// Offset of the hand's centre from the image centre, as a fraction of the side (±0.05).
    pub shift: Vec2,
}

/// Exposure and film: how attenuation becomes grey levels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exposure {
    /// Background grey level (0..1).
    pub background: f32,
    /// Linear background gradient: amplitude and direction (radians).
    pub gradient: (f32, f32),
    /// Weight of full-thickness soft tissue.
    pub tissue: f32,
    /// Gain on bone attenuation.
    pub bone: f32,
    /// Contrast around mid-grey.
    pub contrast: f32,
    /// Brightness offset.
    pub brightness: f32,
    /// Gamma applied to the result.
    pub gamma: f32,
    /// Standard deviation of per-pixel grain.
    pub grain: f32,
    /// Standard deviation of low-frequency mottle.
    pub mottle: f32,
}

/// A lead side marker ("L" or "R") or a printed label in a corner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Marker {
    /// A bright letter: `right` picks "R" over "L"; corner 0..4 clockwise from top-left.
    Letter {
        /// "R" instead of "L".
        right: bool,
        /// Corner index.
        corner: u8,
        /// Letter height as a fraction of the side.
        height: f32,
    },
    /// A light rectangle with dark text-like dashes.
    Label {
        /// Corner index.
        corner: u8,
        /// Seed of the dash pattern.
        pattern: u64,
    },
}

/// Everything about an image that is not its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Nuisance {
    /// Where the hand lies.
    pub pose: Pose,
    /// Finger proportions, spread and curl, bone widths, per-region maturity offsets.
    pub variation: Variation,
    /// Grey-level mapping.
    pub exposure: Exposure,
    /// Markers in the corners.
    pub markers: Vec<Marker>,
}

impl Nuisance {
    /// Draws a nuisance configuration.
    pub fn sample(rng: &mut impl Rng) -> Self {
        let pose = Pose {
            rotation: uniform(rng, -15.0, 15.0).to_radians(),
            scale: uniform(rng, 0.9, 1.1),
            shift: Vec2::new(uniform(rng, -0.05, 0.05), uniform(rng, -0.05, 0.05)),
        };
        let mut gauss = |sd: f32| normal(rng) as f32 * sd;
        let global_length = 1.0 + gauss(0.025);
        let mut finger_length = [0.0; 5];
        for f in &mut finger_length {
            *f = global_length * (1.0 + gauss(0.02));
        }
        let width = 1.0 + gauss(0.05);
        let mut maturity = [0.0; 6];
        for m in &mut maturity {
            *m = gauss(4.0);
        }
        let mut curl = [0.0; 5];
        for c in &mut curl {
            *c = gauss(2.0).to_radians();
        }
        let variation = Variation {
            finger_length,
            width,
            maturity,
            spread: uniform(rng, 0.3, 1.8),
            curl,
        };
        let exposure = Exposure {
            background: uniform(rng, 0.02, 0.14),
            gradient: (
                uniform(rng, 0.0, 0.12),
                uniform(rng, 0.0, std::f32::consts::TAU),
            ),
            tissue: uniform(rng, 0.22, 0.34),
            bone: uniform(rng, 0.85, 1.15),
            contrast: uniform(rng, 0.85, 1.2),
            brightness: uniform(rng, -0.05, 0.05),
            gamma: uniform(rng, 0.8, 1.25),
            grain: uniform(rng, 0.006, 0.03),
            mottle: uniform(rng, 0.0, 0.025),
        };
        let mut markers = Vec::new();
        let letter_corner = rng.random_range(0..4u8);
        if rng.random_bool(0.6) {
            markers.push(Marker::Letter {
                right: rng.random_bool(0.3),
                corner: letter_corner,
                height: uniform(rng, 0.06, 0.11),
            });
        }
        if rng.random_bool(0.3) {
            markers.push(Marker::Label {
                corner: (letter_corner + rng.random_range(1..4u8)) % 4,
                pattern: rng.random(),
            });
        }
        Self {
            pose,
            variation,
            exposure,
            markers,
        }
    }

    /// The identity nuisance: centred, upright, default exposure, no noise, no markers.
    pub fn none() -> Self {
        Self {
            pose: Pose {
                rotation: 0.0,
                scale: 1.0,
                shift: Vec2::default(),
            },
            variation: Variation::default(),
            exposure: Exposure {
                background: 0.06,
                gradient: (0.0, 0.0),
                tissue: 0.28,
                bone: 1.0,
                contrast: 1.0,
                brightness: 0.0,
                gamma: 1.0,
                grain: 0.0,
                mottle: 0.0,
            },
            markers: Vec::new(),
        }
    }
}

/// Turns soft-tissue thickness (0..1) and bone attenuation into film grey levels (0..1), with
/// background gradient, film response, contrast, gamma, mottle and grain.
pub(crate) fn expose(tissue: &Canvas, bone: &Canvas, e: &Exposure, rng: &mut impl Rng) -> Canvas {
    let side = tissue.side();
    let mottle = mottle_field(side, e.mottle, rng);
    let (amp, angle) = e.gradient;
    let (gx, gy) = (angle.cos() * amp, angle.sin() * amp);
    let gamma = GammaTable::new(e.gamma);
    let mut out = Canvas::new(side);
    let inv = 1.0 / side as f32;
    let rows = out
        .data_mut()
        .chunks_mut(side)
        .zip(tissue.data().chunks(side))
        .zip(bone.data().chunks(side))
        .zip(mottle.data().chunks(side));
    for (y, (((out, tissue), bone), mottle)) in rows.enumerate() {
        let row_background = e.background + gy * (y as f32 * inv - 0.5);
        for x in 0..side {
            let background = (row_background + gx * (x as f32 * inv - 0.5)).max(0.0);
            let attenuation = e.tissue * tissue[x] + e.bone * bone[x];
            // Film response: saturating, so overlapping bones stay brighter but never clip.
            let film = background + (1.0 - background) * (1.0 - (-attenuation).exp());
            let v = ((film - 0.5) * e.contrast + 0.5 + e.brightness).clamp(0.0, 1.0);
            let grain = e.grain * irwin_hall(rng);
            out[x] = gamma.apply(v) + mottle[x] + grain;
        }
    }
    out
}

/// `v.powf(gamma)` on `[0, 1]` by linear interpolation in a table (the exact `powf` per pixel
/// was a sixth of the generation time).
struct GammaTable {
    values: Vec<f32>,
}

impl GammaTable {
    const STEPS: usize = 1024;

    fn new(gamma: f32) -> Self {
        let values = (0..=Self::STEPS + 1)
            .map(|i| (i.min(Self::STEPS) as f32 / Self::STEPS as f32).powf(gamma))
            .collect();
        Self { values }
    }

    fn apply(&self, v: f32) -> f32 {
        let x = v.clamp(0.0, 1.0) * Self::STEPS as f32;
        let i = x as usize;
        let f = x - i as f32;
        self.values[i] + (self.values[i + 1] - self.values[i]) * f
    }
}

/// An approximately normal draw from four uniforms (cheap film grain).
fn irwin_hall(rng: &mut impl Rng) -> f32 {
    let bits = rng.next_u64();
    let sum: u32 = (0..4).map(|k| ((bits >> (16 * k)) & 0xffff) as u32).sum();
    // Sum of 4 uniforms on [0, 1): mean 2, variance 1/3.
    (sum as f32 / 65536.0 - 2.0) * 3.0_f32.sqrt()
}

/// Smooth noise: a coarse grid of normal draws, bilinearly upsampled.
fn mottle_field(side: usize, sd: f32, rng: &mut impl Rng) -> Canvas {
    let mut out = Canvas::new(side);
    if sd <= 0.0 {
        return out;
    }
    let cells = 8usize;
    let grid: Vec<f32> = (0..(cells + 1) * (cells + 1))
        .map(|_| irwin_hall(rng) * sd)
        .collect();
    let step = cells as f32 / side as f32;
    let at = |x: usize, y: usize| grid[y * (cells + 1) + x];
    for (y, row) in out.data_mut().chunks_mut(side).enumerate() {
        let gy = y as f32 * step;
        let cy = (gy as usize).min(cells - 1);
        let fy = gy - cy as f32;
        for (x, value) in row.iter_mut().enumerate() {
            let gx = x as f32 * step;
            let cx = (gx as usize).min(cells - 1);
            let fx = gx - cx as f32;
            let top = at(cx, cy) * (1.0 - fx) + at(cx + 1, cy) * fx;
            let bottom = at(cx, cy + 1) * (1.0 - fx) + at(cx + 1, cy + 1) * fx;
            *value = top * (1.0 - fy) + bottom * fy;
        }
    }
    out
}

/// Draws the markers onto the exposed film.
pub(crate) fn draw_markers(film: &mut Canvas, markers: &[Marker]) {
    let side = film.side() as f32;
    let corner_origin = |corner: u8, w: f32, h: f32| {
        let margin = 0.04 * side;
        let x = if corner == 1 || corner == 2 {
            side - margin - w
        } else {
            margin
        };
        let y = if corner >= 2 {
            side - margin - h
        } else {
            margin
        };
        Vec2::new(x, y)
    };
    for marker in markers {
        match *marker {
            Marker::Letter {
                right,
                corner,
                height,
            } => {
                let h = height * side;
                let w = 0.65 * h;
                let o = corner_origin(corner, w, h);
                let stroke = (0.09 * h).max(0.6);
                let p = |x: f32, y: f32| o + Vec2::new(x * w, y * h);
                let line = |a: Vec2, b: Vec2| Primitive::capsule(a, b, stroke, stroke);
                let parts = if right {
                    vec![
                        line(p(0.1, 0.05), p(0.1, 0.95)),
                        line(p(0.1, 0.05), p(0.6, 0.05)),
                        line(p(0.1, 0.5), p(0.6, 0.5)),
                        line(p(0.6, 0.05), p(0.85, 0.2)),
                        line(p(0.85, 0.2), p(0.85, 0.35)),
                        line(p(0.85, 0.35), p(0.6, 0.5)),
                        line(p(0.45, 0.5), p(0.9, 0.95)),
                    ]
                } else {
                    vec![
                        line(p(0.15, 0.05), p(0.15, 0.95)),
                        line(p(0.15, 0.95), p(0.85, 0.95)),
                    ]
                };
                film.paint(&Shape::union(parts, 0.0), 0.97);
            }
            Marker::Label { corner, pattern } => {
                let (w, h) = (0.26 * side, 0.09 * side);
                let o = corner_origin(corner, w, h);
                let rect = |x0: f32, y0: f32, x1: f32, y1: f32| {
                    Primitive::rect(
                        Vec2::new((x0 + x1) * 0.5, (y0 + y1) * 0.5),
                        Vec2::new(1.0, 0.0),
                        Vec2::new((x1 - x0) * 0.5, (y1 - y0) * 0.5),
                    )
                };
                film.paint(&Shape::single(rect(o.x, o.y, o.x + w, o.y + h)), 0.82);
                // Two lines of "words": dashes of pseudo-random lengths.
                let mut bits = pattern;
                let mut dashes = Vec::new();
                for line in 0..2 {
                    let y = o.y + h * (0.3 + 0.4 * line as f32);
                    let mut x = o.x + 0.06 * w;
                    while x < o.x + 0.9 * w {
                        let len = (0.06 + 0.04 * (bits & 3) as f32) * w;
                        bits = bits.rotate_right(2) ^ 0x9e37_79b9;
                        let end = (x + len).min(o.x + 0.94 * w);
                        dashes.push(rect(x, y - 0.09 * h, end, y + 0.09 * h));
                        x = end + 0.04 * w;
                    }
                }
                film.paint(&Shape::union(dashes, 0.0), 0.2);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{Stream, rng_for};

    #[test]
    fn sampled_nuisance_stays_in_range() {
        for i in 0..200 {
            let n = Nuisance::sample(&mut rng_for(3, i, Stream::Image));
            assert!(n.pose.rotation.abs() <= 15f32.to_radians());
            assert!((0.9..=1.1).contains(&n.pose.scale));
            assert!(n.pose.shift.x.abs() <= 0.05 && n.pose.shift.y.abs() <= 0.05);
            assert!(n.markers.len() <= 2);
        }
    }

    #[test]
    fn gamma_table_matches_powf() {
        for gamma in [0.8f32, 1.0, 1.25] {
            let table = GammaTable::new(gamma);
            for k in 0..=1000 {
                let v = k as f32 / 1000.0;
                assert!((table.apply(v) - v.powf(gamma)).abs() < 2e-3, "{gamma} {v}");
            }
        }
    }

    #[test]
    fn irwin_hall_is_roughly_standard() {
        let mut rng = rng_for(1, 1, Stream::Image);
        let draws: Vec<f32> = (0..20_000).map(|_| irwin_hall(&mut rng)).collect();
        let mean = draws.iter().sum::<f32>() / draws.len() as f32;
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f32>() / draws.len() as f32;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
    }
}
