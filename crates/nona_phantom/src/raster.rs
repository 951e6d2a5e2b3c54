//! Anti-aliased drawing of signed-distance shapes into an `f32` canvas.
//!
//! Shapes are given in pixel coordinates (pixel `(x, y)` covers `[x, x + 1) x [y, y + 1)`, its
//! centre is `(x + 0.5, y + 0.5)`). Every profile is a function of the signed distance alone
//! and is averaged over a one-pixel footprint across the boundary, which anti-aliases edges
//! without supersampling.

use crate::shape::{Bounds, Shape, Vec2, smooth_min};

/// Offsets (in pixels, along the distance gradient) averaged to integrate a profile over a pixel.
const FOOTPRINT: [f32; 4] = [-0.375, -0.125, 0.125, 0.375];

/// A square grid of `f32` values, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Canvas {
    side: usize,
    data: Vec<f32>,
}

/// How a bone attenuates: a tube with a dense cortical wall around less dense marrow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoneStyle {
    /// Nominal outer radius of the tube, in pixels (the half-width of the shaft).
    pub radius: f32,
    /// Cortical wall thickness as a fraction of `radius` (0..1).
    pub cortex: f32,
    /// Attenuation per unit path through cortex.
    pub density: f32,
    /// Attenuation of marrow relative to cortex (0..1).
    pub marrow: f32,
}

impl Canvas {
    /// A `side x side` canvas filled with zeros.
    pub fn new(side: usize) -> Self {
        Self {
            side,
            data: vec![0.0; side * side],
        }
    }

    /// Side length in pixels.
    pub fn side(&self) -> usize {
        self.side
    }

    /// The values, row by row.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The values, row by row, mutably.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Value at column `x`, row `y`.
    pub fn get(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.side + x]
    }

    /// Calls `f(pixel centre, value)` for every pixel of `bounds` (clipped to the canvas).
    fn for_each_in(&mut self, bounds: Bounds, mut f: impl FnMut(Vec2, &mut f32)) {
        let side = self.side as f32;
        let x0 = bounds.min.x.floor().clamp(0.0, side) as usize;
        let x1 = bounds.max.x.ceil().clamp(0.0, side) as usize;
        let y0 = bounds.min.y.floor().clamp(0.0, side) as usize;
        let y1 = bounds.max.y.ceil().clamp(0.0, side) as usize;
        for y in y0..y1 {
            let row = &mut self.data[y * self.side..(y + 1) * self.side];
            for (x, value) in row.iter_mut().enumerate().take(x1).skip(x0) {
                f(Vec2::new(x as f32 + 0.5, y as f32 + 0.5), value);
            }
        }
    }

    /// Adds the projected attenuation of a bone: the path length through a tube of radius
    /// `style.radius` at the pixel's distance from the shape's edge, cortex weighted fully and
    /// marrow by `style.marrow`, so the cortex shows as bright lines along the edges.
    pub fn add_bone(&mut self, shape: &Shape, style: &BoneStyle) {
        let r = style.radius.max(0.5);
        let inner = r * (1.0 - style.cortex.clamp(0.0, 1.0));
        let profile = |d: f32| {
            // Distance from the tube's axis; deep inside wide parts the path saturates.
            let x = (r + d).max(0.0);
            let outer_chord = (r * r - x * x).max(0.0).sqrt();
            let inner_chord = (inner * inner - x * x).max(0.0).sqrt();
            ((outer_chord - inner_chord) + style.marrow * inner_chord) / r
        };
        let bounds = shape.bounds().expanded(1.0);
        self.for_each_in(bounds, |p, value| {
            let d = shape.distance(p);
            if d < 0.5 {
                let sum: f32 = FOOTPRINT.iter().map(|o| profile(d + o)).sum();
                *value += style.density * sum * 0.25;
            }
        });
    }

    /// Raises every pixel to at least the soft-tissue thickness of `shape`: a dome that rises
    /// from 0 at the edge to 1 at depth `depth` pixels (the union of overlapping parts is taken
    /// by the shape itself, so parts never add up).
    pub fn max_tissue(&mut self, shape: &Shape, depth: f32) {
        const TILE: usize = 16;
        let depth = depth.max(0.5);
        let profile = |d: f32| {
            let t = (-d / depth).clamp(0.0, 1.0);
            (t * (2.0 - t)).sqrt()
        };
        // A part farther than the blend width changes neither the smooth union nor any pixel
        // that is drawn, so each tile evaluates only the parts whose grown bounds reach it.
        let part_bounds: Vec<Bounds> = shape
            .parts
            .iter()
            .map(|p| p.bounds().expanded(shape.blend + 1.0))
            .collect();
        let mut active = Vec::with_capacity(shape.parts.len());
        for ty in (0..self.side).step_by(TILE) {
            for tx in (0..self.side).step_by(TILE) {
                let tile = Bounds {
                    min: Vec2::new(tx as f32, ty as f32),
                    max: Vec2::new((tx + TILE) as f32, (ty + TILE) as f32),
                };
                active.clear();
                active.extend((0..shape.parts.len()).filter(|&i| part_bounds[i].overlaps(&tile)));
                if active.is_empty() && shape.caps.is_empty() {
                    continue;
                }
                for y in ty..(ty + TILE).min(self.side) {
                    for x in tx..(tx + TILE).min(self.side) {
                        let p = Vec2::new(x as f32 + 0.5, y as f32 + 0.5);
                        let mut d = f32::INFINITY;
                        for &i in &active {
                            if part_bounds[i].contains(p) {
                                d = smooth_min(d, shape.parts[i].distance(p), shape.blend);
                            }
                        }
                        for cut in &shape.cuts {
                            d = d.max(cut.distance(p));
                        }
                        for cap in &shape.caps {
                            d = smooth_min(d, cap.distance(p), shape.blend);
                        }
                        if d < 0.5 {
                            let sum: f32 = FOOTPRINT.iter().map(|o| profile(d + o)).sum();
                            let value = &mut self.data[y * self.side + x];
                            *value = value.max(sum * 0.25);
                        }
                    }
                }
            }
        }
    }

    /// Paints `shape` with `level`, anti-aliased (over what is there, by coverage).
    pub fn paint(&mut self, shape: &Shape, level: f32) {
        let bounds = shape.bounds().expanded(1.0);
        self.for_each_in(bounds, |p, value| {
            let coverage = (0.5 - shape.distance(p)).clamp(0.0, 1.0);
            *value += (level - *value) * coverage;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Primitive;

    fn bar(side: f32) -> Shape {
        Shape::single(Primitive::capsule(
            Vec2::new(side * 0.5, 2.0),
            Vec2::new(side * 0.5, side - 2.0),
            8.0,
            8.0,
        ))
    }

    #[test]
    fn bone_cortex_is_brighter_than_marrow_and_edges_are_smooth() {
        let mut c = Canvas::new(64);
        let style = BoneStyle {
            radius: 8.0,
            cortex: 0.3,
            density: 1.0,
            marrow: 0.3,
        };
        c.add_bone(&bar(64.0), &style);
        let row: Vec<f32> = (0..64).map(|x| c.get(x, 32)).collect();
        // Outside the bone nothing is added.
        assert_eq!(row[20], 0.0);
        assert_eq!(row[44], 0.0);
        let centre = row[32];
        let wall = row[26].max(row[27]);
        assert!(wall > centre * 1.2, "wall {wall} vs centre {centre}");
        // The profile rises over more than one pixel: no hard step from 0 to the wall value.
        assert!(row[24] > 0.0 && row[24] < wall);
    }

    #[test]
    fn tissue_is_a_union_not_a_sum() {
        let mut c = Canvas::new(32);
        let a = Primitive::circle(Vec2::new(14.0, 16.0), 6.0);
        let b = Primitive::circle(Vec2::new(18.0, 16.0), 6.0);
        c.max_tissue(&Shape::union(vec![a, b], 2.0), 4.0);
        assert!(c.data().iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert_eq!(c.get(16, 16), 1.0);
        assert_eq!(c.get(0, 0), 0.0);
    }

    #[test]
    fn paint_antialiases_the_edge() {
        let mut c = Canvas::new(16);
        let rect = Primitive::rect(
            Vec2::new(8.0, 8.0),
            Vec2::new(1.0, 0.0),
            Vec2::new(3.25, 3.0),
        );
        c.paint(&Shape::single(rect), 1.0);
        assert_eq!(c.get(8, 8), 1.0);
        assert_eq!(c.get(0, 8), 0.0);
        // Column 4 spans x in [4, 5); the edge at 4.75 covers a quarter of it.
        assert!((c.get(4, 8) - 0.25).abs() < 1e-5, "{}", c.get(4, 8));
    }
}
