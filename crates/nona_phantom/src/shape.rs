//! 2-D geometry: points, signed-distance primitives, smooth unions and similarity transforms.
//!
//! Distances are negative inside a shape and positive outside. Primitives are exact signed
//! distance functions except the ellipse, whose distance is a first-order approximation that is
//! accurate near the boundary (all that anti-aliasing and the bone profiles need).

use std::ops::{Add, Mul, Neg, Sub};

/// A point or vector in the plane.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Vec2 {
    /// Horizontal coordinate.
    pub x: f32,
    /// Vertical coordinate.
    pub y: f32,
}

impl Vec2 {
    /// The vector `(x, y)`.
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    /// The unit vector at `angle` radians from the +y axis, turning towards +x
    /// (`0` points up the hand, positive angles lean towards the thumb).
    pub fn from_angle(angle: f32) -> Self {
        Self::new(angle.sin(), angle.cos())
    }

    /// Dot product.
    pub fn dot(self, other: Self) -> f32 {
        self.x * other.x + self.y * other.y
    }

    /// Euclidean length.
    pub fn length(self) -> f32 {
        self.dot(self).sqrt()
    }

    /// The vector turned a quarter turn (towards -x for a vector pointing up).
    pub fn perp(self) -> Self {
        Self::new(-self.y, self.x)
    }

    /// The vector scaled to unit length (returned unchanged when it is zero).
    pub fn normalized(self) -> Self {
        let length = self.length();
        if length > 0.0 {
            self * (1.0 / length)
        } else {
            self
        }
    }

    /// Componentwise minimum.
    pub fn min(self, other: Self) -> Self {
        Self::new(self.x.min(other.x), self.y.min(other.y))
    }

    /// Componentwise maximum.
    pub fn max(self, other: Self) -> Self {
        Self::new(self.x.max(other.x), self.y.max(other.y))
    }
}

impl Add for Vec2 {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self::new(self.x + other.x, self.y + other.y)
    }
}

impl Sub for Vec2 {
    type Output = Self;
    fn sub(self, other: Self) -> Self {
        Self::new(self.x - other.x, self.y - other.y)
    }
}

impl Mul<f32> for Vec2 {
    type Output = Self;
    fn mul(self, factor: f32) -> Self {
        Self::new(self.x * factor, self.y * factor)
    }
}

impl Neg for Vec2 {
    type Output = Self;
    fn neg(self) -> Self {
        Self::new(-self.x, -self.y)
    }
}

/// An axis-aligned rectangle `[min, max]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// Lower corner.
    pub min: Vec2,
    /// Upper corner.
    pub max: Vec2,
}

impl Bounds {
    /// The smallest rectangle holding both.
    pub fn union(self, other: Self) -> Self {
        Self {
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }

    /// The rectangle grown by `margin` on every side.
    pub fn expanded(self, margin: f32) -> Self {
        let m = Vec2::new(margin, margin);
        Self {
            min: self.min - m,
            max: self.max + m,
        }
    }

    /// Whether the two rectangles share any point.
    pub fn overlaps(&self, other: &Self) -> bool {
        self.min.x <= other.max.x
            && other.min.x <= self.max.x
            && self.min.y <= other.max.y
            && other.min.y <= self.max.y
    }

    /// Whether `p` lies inside (borders included).
    pub fn contains(&self, p: Vec2) -> bool {
        p.x >= self.min.x && p.x <= self.max.x && p.y >= self.min.y && p.y <= self.max.y
    }
}

/// One signed-distance primitive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Primitive {
    /// The convex hull of a disc of radius `ra` at `a` and one of radius `rb` at `b`
    /// (a capsule when the radii agree, a tapered "uneven capsule" otherwise).
    Capsule {
        /// First end.
        a: Vec2,
        /// Second end.
        b: Vec2,
        /// Radius at `a`.
        ra: f32,
        /// Radius at `b`.
        rb: f32,
    },
    /// An ellipse with semi-axis `half.x` along the unit vector `axis` and `half.y` across it.
    Ellipse {
        /// Centre.
        centre: Vec2,
        /// Unit vector of the first semi-axis.
        axis: Vec2,
        /// Semi-axes.
        half: Vec2,
    },
    /// A rectangle with half-extent `half.x` along the unit vector `axis` and `half.y` across it.
    Rect {
        /// Centre.
        centre: Vec2,
        /// Unit vector of the first half-extent.
        axis: Vec2,
        /// Half-extents.
        half: Vec2,
    },
}

impl Primitive {
    /// A capsule from `a` to `b`; radii are adjusted so the shape stays well defined
    /// (when one disc would swallow the other, the larger disc alone is returned).
    pub fn capsule(a: Vec2, b: Vec2, ra: f32, rb: f32) -> Self {
        let length = (b - a).length();
        if length <= (ra - rb).abs() + 1e-6 {
            let (centre, r) = if ra >= rb { (a, ra) } else { (b, rb) };
            return Self::circle(centre, r);
        }
        Self::Capsule { a, b, ra, rb }
    }

    /// A disc.
    pub fn circle(centre: Vec2, r: f32) -> Self {
        Self::Ellipse {
            centre,
            axis: Vec2::new(1.0, 0.0),
            half: Vec2::new(r, r),
        }
    }

    /// An ellipse whose first semi-axis points along `axis` (normalised here).
    pub fn ellipse(centre: Vec2, axis: Vec2, half: Vec2) -> Self {
        Self::Ellipse {
            centre,
            axis: axis.normalized(),
            half,
        }
    }

    /// A rectangle whose first half-extent points along `axis` (normalised here).
    pub fn rect(centre: Vec2, axis: Vec2, half: Vec2) -> Self {
        Self::Rect {
            centre,
            axis: axis.normalized(),
            half,
        }
    }

    /// Signed distance from `p`.
    pub fn distance(&self, p: Vec2) -> f32 {
        match *self {
            Self::Capsule { a, b, ra, rb } => uneven_capsule(p - a, b - a, ra, rb),
            Self::Ellipse { centre, axis, half } => {
                let d = p - centre;
                let local = Vec2::new(d.dot(axis), d.dot(axis.perp()));
                ellipse(local, half)
            }
            Self::Rect { centre, axis, half } => {
                let d = p - centre;
                let q = Vec2::new(
                    d.dot(axis).abs() - half.x,
                    d.dot(axis.perp()).abs() - half.y,
                );
                q.max(Vec2::default()).length() + q.x.max(q.y).min(0.0)
            }
        }
    }

    /// A rectangle holding the shape.
    pub fn bounds(&self) -> Bounds {
        match *self {
            Self::Capsule { a, b, ra, rb } => {
                let ba = Bounds {
                    min: a - Vec2::new(ra, ra),
                    max: a + Vec2::new(ra, ra),
                };
                ba.union(Bounds {
                    min: b - Vec2::new(rb, rb),
                    max: b + Vec2::new(rb, rb),
                })
            }
            Self::Ellipse { centre, axis, half } | Self::Rect { centre, axis, half } => {
                // Extent of a (rotated) ellipse, or of the rectangle's corners, along x and y.
                let (u, v) = (axis * half.x, axis.perp() * half.y);
                let ext = if matches!(self, Self::Ellipse { .. }) {
                    Vec2::new(u.x.hypot(v.x), u.y.hypot(v.y))
                } else {
                    Vec2::new(u.x.abs() + v.x.abs(), u.y.abs() + v.y.abs())
                };
                Bounds {
                    min: centre - ext,
                    max: centre + ext,
                }
            }
        }
    }

    /// The primitive mapped through `t`.
    pub fn transformed(&self, t: &Similarity) -> Self {
        match *self {
            Self::Capsule { a, b, ra, rb } => Self::Capsule {
                a: t.point(a),
                b: t.point(b),
                ra: ra * t.scale,
                rb: rb * t.scale,
            },
            Self::Ellipse { centre, axis, half } => Self::Ellipse {
                centre: t.point(centre),
                axis: t.vector(axis).normalized(),
                half: half * t.scale,
            },
            Self::Rect { centre, axis, half } => Self::Rect {
                centre: t.point(centre),
                axis: t.vector(axis).normalized(),
                half: half * t.scale,
            },
        }
    }
}

/// Inigo Quilez's exact distance to an uneven capsule, with `p` and `b` relative to the first end.
fn uneven_capsule(p: Vec2, b: Vec2, ra: f32, rb: f32) -> f32 {
    let h = b.dot(b);
    let qx = (p.x * b.y - p.y * b.x).abs() / h;
    let qy = p.dot(b) / h;
    let diff = ra - rb;
    let (cx, cy) = ((h - diff * diff).sqrt(), diff);
    let k = cx * qy - cy * qx;
    let m = cx * qx + cy * qy;
    let n = qx * qx + qy * qy;
    if k < 0.0 {
        (h * n).sqrt() - ra
    } else if k > cx {
        (h * (n + 1.0 - 2.0 * qy)).max(0.0).sqrt() - rb
    } else {
        m - ra
    }
}

/// Approximate signed distance to the ellipse with semi-axes `half`, in its own frame.
fn ellipse(p: Vec2, half: Vec2) -> f32 {
    let k0 = Vec2::new(p.x / half.x, p.y / half.y).length();
    let k1 = Vec2::new(p.x / (half.x * half.x), p.y / (half.y * half.y)).length();
    if k1 < 1e-9 {
        -half.x.min(half.y)
    } else {
        k0 * (k0 - 1.0) / k1
    }
}

/// Polynomial smooth minimum: `min(a, b)` with the corner rounded over a width `k`.
pub fn smooth_min(a: f32, b: f32, k: f32) -> f32 {
    if k <= 0.0 {
        return a.min(b);
    }
    let h = (k - (a - b).abs()).max(0.0) / k;
    a.min(b) - h * h * k * 0.25
}

/// A half-plane: points with `dot(p - point, normal) > 0` are outside.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plane {
    /// A point on the boundary line.
    pub point: Vec2,
    /// Unit normal pointing outside.
    pub normal: Vec2,
}

impl Plane {
    /// Signed distance from `p`.
    pub fn distance(&self, p: Vec2) -> f32 {
        (p - self.point).dot(self.normal)
    }
}

/// A smooth union of primitives (`blend` is the width over which their joins are rounded),
/// clipped by half-planes, then smoothly joined with further primitives:
/// `smin(max(smin(parts), cuts), caps)`.
///
/// The cuts make flat ends (a metaphysis facing its growth plate); the caps are what is added
/// after cutting (an epiphysis fused onto that end).
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    /// The parts.
    pub parts: Vec<Primitive>,
    /// Width of the rounding where parts meet (0 for a plain union).
    pub blend: f32,
    /// Half-planes intersected with the union of `parts`.
    pub cuts: Vec<Plane>,
    /// Primitives joined (with `blend`) after cutting.
    pub caps: Vec<Primitive>,
}

impl Shape {
    /// A shape of one primitive.
    pub fn single(part: Primitive) -> Self {
        Self::union(vec![part], 0.0)
    }

    /// The smooth union of `parts`.
    pub fn union(parts: Vec<Primitive>, blend: f32) -> Self {
        Self {
            parts,
            blend,
            cuts: Vec::new(),
            caps: Vec::new(),
        }
    }

    /// Signed distance from `p`.
    pub fn distance(&self, p: Vec2) -> f32 {
        let mut d = self
            .parts
            .iter()
            .map(|part| part.distance(p))
            .reduce(|a, b| smooth_min(a, b, self.blend))
            .unwrap_or(f32::INFINITY);
        for cut in &self.cuts {
            d = d.max(cut.distance(p));
        }
        for cap in &self.caps {
            d = smooth_min(d, cap.distance(p), self.blend);
        }
        d
    }

    /// A rectangle holding the shape (cuts are ignored: they only remove).
    pub fn bounds(&self) -> Bounds {
        self.parts
            .iter()
            .chain(&self.caps)
            .map(Primitive::bounds)
            .reduce(Bounds::union)
            .unwrap_or(Bounds {
                min: Vec2::default(),
                max: Vec2::default(),
            })
    }

    /// The shape mapped through `t`.
    pub fn transformed(&self, t: &Similarity) -> Self {
        Self {
            parts: self.parts.iter().map(|p| p.transformed(t)).collect(),
            blend: self.blend * t.scale,
            cuts: self
                .cuts
                .iter()
                .map(|c| Plane {
                    point: t.point(c.point),
                    normal: t.vector(c.normal).normalized(),
                })
                .collect(),
            caps: self.caps.iter().map(|p| p.transformed(t)).collect(),
        }
    }
}

/// A map `p -> offset + scale * R(rotation) * (p.x, flip * p.y)`: rotation, uniform scale,
/// optional mirror of the y axis (hand coordinates point up, image rows point down) and
/// translation. Distances scale by `scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Similarity {
    /// Uniform scale factor.
    pub scale: f32,
    cos: f32,
    sin: f32,
    flip: f32,
    /// Translation applied last.
    pub offset: Vec2,
}

impl Similarity {
    /// Scale, then rotate by `rotation` radians (counter-clockwise in a y-up frame), then
    /// translate; with `flip_y` the input's y axis is mirrored first.
    pub fn new(scale: f32, rotation: f32, flip_y: bool, offset: Vec2) -> Self {
        Self {
            scale,
            cos: rotation.cos(),
            sin: rotation.sin(),
            flip: if flip_y { -1.0 } else { 1.0 },
            offset,
        }
    }

    /// The image of the direction `v` (no translation).
    pub fn vector(&self, v: Vec2) -> Vec2 {
        let y = v.y * self.flip;
        Vec2::new(self.cos * v.x - self.sin * y, self.sin * v.x + self.cos * y) * self.scale
    }

    /// The image of the point `p`.
    pub fn point(&self, p: Vec2) -> Vec2 {
        self.vector(p) + self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-4
    }

    #[test]
    fn capsule_distances() {
        let c = Primitive::capsule(Vec2::new(0.0, 0.0), Vec2::new(10.0, 0.0), 2.0, 2.0);
        assert!(close(c.distance(Vec2::new(5.0, 0.0)), -2.0));
        assert!(close(c.distance(Vec2::new(5.0, 5.0)), 3.0));
        assert!(close(c.distance(Vec2::new(-3.0, 0.0)), 1.0));
        assert!(close(c.distance(Vec2::new(14.0, 0.0)), 2.0));
        // Tapered: the ends keep their own radii.
        let t = Primitive::capsule(Vec2::new(0.0, 0.0), Vec2::new(10.0, 0.0), 3.0, 1.0);
        assert!(close(t.distance(Vec2::new(-5.0, 0.0)), 2.0));
        assert!(close(t.distance(Vec2::new(13.0, 0.0)), 2.0));
        assert!(t.distance(Vec2::new(1.0, 2.5)) < 0.0);
        assert!(t.distance(Vec2::new(9.0, 1.5)) > 0.0);
    }

    #[test]
    fn ellipse_and_rect_distances() {
        let e = Primitive::ellipse(
            Vec2::new(1.0, 1.0),
            Vec2::new(0.0, 1.0),
            Vec2::new(4.0, 2.0),
        );
        // The long axis points along y.
        assert!(close(e.distance(Vec2::new(1.0, 5.0)), 0.0));
        assert!(close(e.distance(Vec2::new(3.0, 1.0)), 0.0));
        assert!(close(e.distance(Vec2::new(1.0, 1.0)), -2.0));
        assert!(e.distance(Vec2::new(4.0, 1.0)) > 0.9);
        let r = Primitive::rect(
            Vec2::new(0.0, 0.0),
            Vec2::new(1.0, 0.0),
            Vec2::new(3.0, 1.0),
        );
        assert!(close(r.distance(Vec2::new(0.0, 0.0)), -1.0));
        assert!(close(r.distance(Vec2::new(5.0, 0.0)), 2.0));
        assert!(close(r.distance(Vec2::new(6.0, 5.0)), 5.0));
    }

    #[test]
    fn bounds_hold_the_shape() {
        let e = Primitive::ellipse(
            Vec2::new(0.0, 0.0),
            Vec2::new(1.0, 1.0),
            Vec2::new(5.0, 1.0),
        );
        let b = e.bounds();
        for i in 0..360 {
            let a = (i as f32).to_radians();
            let p = Vec2::new(a.cos(), a.sin()) * 6.0;
            if e.distance(p) <= 0.0 {
                assert!(b.contains(p), "{p:?} outside {b:?}");
            }
        }
    }

    #[test]
    fn similarity_scales_distances_and_flips() {
        let t = Similarity::new(
            2.0,
            std::f32::consts::FRAC_PI_2,
            true,
            Vec2::new(10.0, 10.0),
        );
        let c = Primitive::circle(Vec2::new(0.0, 1.0), 1.0).transformed(&t);
        // (0, 1) -> flip (0, -1) -> rotate 90 deg (1, 0) -> scale (2, 0) -> offset (12, 10).
        assert!(close(c.distance(Vec2::new(12.0, 10.0)), -2.0));
        assert!(close(c.distance(Vec2::new(16.0, 10.0)), 2.0));
    }

    #[test]
    fn cuts_flatten_and_caps_add() {
        let bar = Primitive::capsule(Vec2::new(0.0, 0.0), Vec2::new(0.0, 10.0), 2.0, 2.0);
        let mut s = Shape::single(bar);
        s.cuts.push(Plane {
            point: Vec2::new(0.0, 10.0),
            normal: Vec2::new(0.0, 1.0),
        });
        // The round end above y = 10 is cut off flat.
        assert!(close(s.distance(Vec2::new(0.0, 11.0)), 1.0));
        assert!(close(s.distance(Vec2::new(1.5, 10.5)), 0.5));
        s.caps.push(Primitive::circle(Vec2::new(0.0, 12.0), 1.0));
        assert!(close(s.distance(Vec2::new(0.0, 12.0)), -1.0));
        let t = Similarity::new(2.0, 0.0, true, Vec2::default());
        assert!(close(
            s.transformed(&t).distance(Vec2::new(0.0, -24.0)),
            -2.0
        ));
        assert!(close(
            s.transformed(&t).distance(Vec2::new(3.0, -21.0)),
            1.0
        ));
    }

    #[test]
    fn smooth_union_is_below_the_plain_minimum() {
        assert_eq!(smooth_min(1.0, 3.0, 0.5), 1.0);
        assert!(smooth_min(1.0, 1.0, 0.5) < 1.0);
    }
}
