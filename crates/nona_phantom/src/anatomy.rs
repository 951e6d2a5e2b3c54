//! Bone geometry of a left hand seen dorsally (a PA radiograph), as a function of bone age and sex.
//!
//! Coordinates are "hand units": the radiocarpal joint is at `y = 0`, the tip of an adult
//! middle finger at `y ≈ 1`, `+y` points to the fingers and `+x` to the thumb. The anatomy is
//! laid out at adult proportions; [`size_factor`] then says how large the whole hand is drawn.
//!
//! What bone age changes (the cues a radiologist reads, after Greulich & Pyle):
//! - overall hand size (and boys' hands are slightly larger at the same bone age);
//! - carpal ossification centres appear one by one (capitate and hamate in the first months,
//!   triquetrum ~2.5 y, lunate ~4 y, trapezium ~5 y, trapezoid and scaphoid ~6 y, pisiform
//!   ~11–12 y) and grow from small round dots into larger, shaped bones;
//! - epiphyses of the radius, ulna, metacarpals and phalanges appear as thin discs, widen to the
//!   width of their metaphysis and beyond ("capping"), while the growth-plate gap between
//!   epiphysis and shaft narrows and finally closes (fusion: distal phalanges first at ~13.5 y,
//!   the radius last at ~16.5 y);
//! - the cartilage between ossified parts thins, so joint spaces narrow;
//! - bones mineralise (denser, thicker cortex) and the thumb's sesamoid appears near puberty.
//!
//! The file is long on purpose: it is one anatomical description, the timing and profile
//! tables (with their sources) next to the one function, [`hand`], that lays them out; split
//! apart, each half would be read only with the other open beside it.

use crate::shape::{Plane, Primitive, Shape, Vec2};

/// Oldest bone age drawn (months); the labels go up to this.
pub const MAX_BONE_AGE: f32 = 228.0;

/// Whose hand: the label of an image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Subject {
    /// Bone age in months.
    pub boneage: f32,
    /// Sex (boys' hands are drawn slightly larger).
    pub male: bool,
}

/// Individual variation that does not depend on age: finger proportions, bone width,
/// small per-region maturity offsets, finger spread and curl.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Variation {
    /// Length factor per finger (thumb first).
    pub finger_length: [f32; 5],
    /// Width factor of all bones.
    pub width: f32,
    /// Maturity offset in months per region: forearm, carpus, metacarpals, proximal, middle and
    /// distal phalanges.
    pub maturity: [f32; 6],
    /// Finger spread: 1 is a relaxed hand, 0 fingers together, 2 widely spread.
    pub spread: f32,
    /// Extra angle (radians) at every joint of each finger (thumb first).
    pub curl: [f32; 5],
}

impl Default for Variation {
    fn default() -> Self {
        Self {
            finger_length: [1.0; 5],
            width: 1.0,
            maturity: [0.0; 6],
            spread: 1.0,
            curl: [0.0; 5],
        }
    }
}

/// One ossified piece to draw, in hand units.
#[derive(Clone, Debug, PartialEq)]
pub struct Bone {
    /// Outline.
    pub shape: Shape,
    /// Half-width of the tube whose projection is drawn (hand units).
    pub radius: f32,
    /// Cortical thickness as a fraction of `radius`.
    pub cortex: f32,
    /// Relative mineral density (1 for mature bone).
    pub density: f32,
    /// Attenuation of the interior relative to the cortex (low in the marrow cavity of a
    /// shaft, higher in the spongy bone of carpals and epiphyses).
    pub marrow: f32,
}

/// A hand: its bones and the soft-tissue silhouette around them, in hand units.
#[derive(Clone, Debug, PartialEq)]
pub struct Hand {
    /// Every ossified piece.
    pub bones: Vec<Bone>,
    /// Soft-tissue outline (forearm, palm, fingers).
    pub tissue: Shape,
    /// Depth (hand units) at which soft tissue reaches full thickness.
    pub tissue_depth: f32,
}

/// Hermite smoothstep from 0 at `e0` to 1 at `e1`.
pub fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Piecewise-linear interpolation through `knots` (sorted by x), constant outside.
fn interpolate(knots: &[(f32, f32)], x: f32) -> f32 {
    let (first, last) = (knots[0], knots[knots.len() - 1]);
    if x <= first.0 {
        return first.1;
    }
    if x >= last.0 {
        return last.1;
    }
    let i = knots
        .iter()
        .position(|k| k.0 > x)
        .unwrap_or(knots.len() - 1);
    let (a, b) = (knots[i - 1], knots[i]);
    a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0)
}

/// Drawn size of the whole hand relative to an adult's, at this bone age and sex.
///
/// A newborn's hand is about a third of an adult's; films of small children are framed closer,
/// so the drawn size grows less (0.56 at birth, 0.84 at 10 y, 1.0 from ~16 y). Boys are 3–6% larger.
pub fn size_factor(subject: &Subject) -> f32 {
    const KNOTS: [(f32, f32); 8] = [
        (0.0, 0.56),
        (12.0, 0.61),
        (36.0, 0.67),
        (72.0, 0.74),
        (120.0, 0.84),
        (156.0, 0.93),
        (192.0, 0.99),
        (228.0, 1.0),
    ];
    let sex = if subject.male {
        1.03 + 0.03 * smoothstep(96.0, 192.0, subject.boneage)
    } else {
        1.0
    };
    interpolate(&KNOTS, subject.boneage) * sex
}

/// How much of its final size an ossification centre has reached, `months` after it appeared:
/// 0 before, jumping to a small dot and saturating over ~10 years.
fn centre_growth(age: f32, appear: f32, time_constant: f32) -> f32 {
    if age < appear {
        0.0
    } else {
        1.0 - 0.82 * (-(age - appear) / time_constant).exp()
    }
}

/// Mineralisation of bone (relative density): young bone is fainter.
fn mineral(age: f32) -> f32 {
    0.7 + 0.3 * smoothstep(0.0, 150.0, age)
}

/// Cortical thickness of long bones as a fraction of their radius.
fn cortex(age: f32) -> f32 {
    0.18 + 0.14 * smoothstep(0.0, 180.0, age)
}

/// Attenuation of a shaft's marrow cavity relative to its cortex.
const MARROW: f32 = 0.2;

/// Attenuation of spongy bone (carpals, epiphyses) relative to their thin cortex.
const SPONGY: f32 = 0.5;

/// When a growth centre appears and when its growth plate closes (bone-age months).
#[derive(Clone, Copy, Debug)]
struct Timing {
    appear: f32,
    fuse_start: f32,
    fuse_end: f32,
}

/// Where the epiphysis of a long bone sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Proximal,
    Distal,
}

/// Outline of a long bone's shaft: widths (as fractions of its metaphyseal width `W`) at
/// positions along it (0 proximal end, 1 distal end). Ends where an epiphysis sits, and a
/// `flat_base`, are cut flat; others are rounded.
#[derive(Clone, Copy, Debug)]
struct Profile {
    knots: &'static [(f32, f32)],
    flat_base: bool,
    /// Adult height of the epiphysis (fraction of `W`).
    epiphysis_height: f32,
    /// Tilt of the epiphysis (radians; the distal radius slopes towards the ulna).
    epiphysis_tilt: f32,
}

const METACARPAL: Profile = Profile {
    knots: &[
        (0.0, 0.84),
        (0.12, 0.7),
        (0.3, 0.56),
        (0.7, 0.52),
        (0.88, 0.74),
        (1.0, 0.92),
    ],
    flat_base: true,
    epiphysis_height: 0.8,
    epiphysis_tilt: 0.0,
};

const THUMB_METACARPAL: Profile = Profile {
    knots: &[
        (0.0, 0.95),
        (0.15, 0.74),
        (0.35, 0.6),
        (0.75, 0.6),
        (0.92, 0.86),
        (1.0, 0.88),
    ],
    flat_base: false,
    epiphysis_height: 0.36,
    epiphysis_tilt: 0.0,
};

const PHALANX: Profile = Profile {
    knots: &[
        (0.0, 1.0),
        (0.15, 0.78),
        (0.35, 0.6),
        (0.7, 0.54),
        (0.9, 0.72),
        (1.0, 0.76),
    ],
    flat_base: false,
    epiphysis_height: 0.38,
    epiphysis_tilt: 0.0,
};

const DISTAL_PHALANX: Profile = Profile {
    knots: &[
        (0.0, 1.0),
        (0.2, 0.72),
        (0.5, 0.5),
        (0.8, 0.4),
        (0.94, 0.6),
        (1.0, 0.6),
    ],
    flat_base: false,
    epiphysis_height: 0.38,
    epiphysis_tilt: 0.0,
};

const RADIUS: Profile = Profile {
    knots: &[
        (0.0, 0.5),
        (0.82, 0.5),
        (0.92, 0.7),
        (0.97, 0.94),
        (1.0, 1.0),
    ],
    flat_base: false,
    epiphysis_height: 0.3,
    epiphysis_tilt: -0.2,
};

const ULNA: Profile = Profile {
    knots: &[(0.0, 0.7), (0.88, 0.68), (0.97, 0.88), (1.0, 0.94)],
    flat_base: false,
    epiphysis_height: 0.6,
    epiphysis_tilt: 0.0,
};

/// A long bone between two joint centres.
struct LongBone {
    /// Proximal joint centre.
    start: Vec2,
    /// Unit vector from proximal to distal.
    dir: Vec2,
    /// Joint-centre to joint-centre length.
    length: f32,
    /// Metaphyseal width.
    width: f32,
    profile: Profile,
    epiphysis: End,
    timing: Timing,
}

/// Builds long bones and carpals for one subject.
struct Builder {
    age: f32,
    bones: Vec<Bone>,
    /// Width of joint spaces between the ossified ends of two bones (cartilage).
    joint: f32,
    mineral: f32,
    cortex: f32,
}

impl Builder {
    /// Adds the shaft and (once ossified) the epiphysis of `bone`, with maturity offset
    /// `offset` months; returns its distal joint centre.
    fn long_bone(&mut self, bone: &LongBone, offset: f32) -> Vec2 {
        let age = self.age + offset;
        let (w, p, t) = (bone.width, bone.profile, bone.timing);
        let at = |s: f32| bone.start + bone.dir * s;

        let growth = centre_growth(age, t.appear, 48.0);
        let fusion = smoothstep(t.fuse_start, t.fuse_end, age);
        let fused = fusion >= 0.6;
        // Growth-plate gap: wide in the young, narrowing to a line before it closes.
        let plate =
            w * (0.22 - 0.16 * smoothstep(t.appear, t.fuse_start, age)) * (1.0 - fusion).max(0.0);
        let zone = p.epiphysis_height * w;
        let (s0, s1) = (self.joint * 0.5, bone.length - self.joint * 0.5);
        let (body_start, body_end) = match bone.epiphysis {
            End::Proximal => (s0 + zone + plate, s1),
            End::Distal => (s0, s1 - zone - plate),
        };

        // Shaft: a chain of tapered tubes through the width knots; flat ends are cut.
        let flat_start = p.flat_base || bone.epiphysis == End::Proximal;
        let flat_end = bone.epiphysis == End::Distal;
        let (first, last) = (
            p.knots[0].1 * w * 0.5,
            p.knots[p.knots.len() - 1].1 * w * 0.5,
        );
        // Round ends are inset by their radius so the cap ends where the bone does.
        let from = body_start + if flat_start { 0.0 } else { first };
        let to = (body_end - if flat_end { 0.0 } else { last }).max(from + 1e-4);
        let along = |t: f32| at(from + (to - from) * t);
        let parts = p
            .knots
            .windows(2)
            .map(|k| {
                Primitive::capsule(
                    along(k[0].0),
                    along(k[1].0),
                    k[0].1 * w * 0.5,
                    k[1].1 * w * 0.5,
                )
            })
            .collect();
        let mut body = Shape::union(parts, 0.12 * w);
        if flat_start {
            body.cuts.push(Plane {
                point: at(body_start),
                normal: -bone.dir,
            });
        }
        if flat_end {
            body.cuts.push(Plane {
                point: at(body_end),
                normal: bone.dir,
            });
        }

        let mut epiphysis = None;
        if growth > 0.0 {
            // Appears as a thin disc, widens to the metaphysis and slightly beyond (capping).
            let ew = w * (0.22 + 0.84 * growth);
            let eh = zone * (0.3 + 0.7 * growth);
            let axis = bone.dir.perp();
            let tilt = Vec2::new(
                axis.x * p.epiphysis_tilt.cos() - axis.y * p.epiphysis_tilt.sin(),
                axis.x * p.epiphysis_tilt.sin() + axis.y * p.epiphysis_tilt.cos(),
            );
            let centre = match bone.epiphysis {
                // Sits against the joint; as it grows it fills its cartilage zone.
                End::Proximal => at(s0 + zone - eh * 0.5 - (zone - eh) * 0.3),
                End::Distal => at(s1 - zone + eh * 0.5 + (zone - eh) * 0.3),
            };
            epiphysis = Some(Primitive::ellipse(
                centre,
                tilt,
                Vec2::new(ew * 0.5, eh * 0.5),
            ));
        }
        let density = self.mineral;
        let radius = 0.3 * w;
        match epiphysis {
            Some(e) if fused => body.caps.push(e),
            Some(e) => {
                let Primitive::Ellipse { half, .. } = e else {
                    unreachable!("epiphyses are ellipses")
                };
                self.bones.push(Bone {
                    shape: Shape::single(e),
                    radius: half.y.min(half.x) * 1.1,
                    cortex: 0.3,
                    density: density * (0.75 + 0.25 * growth),
                    marrow: SPONGY,
                });
            }
            None => {}
        }
        self.bones.push(Bone {
            shape: body,
            radius,
            cortex: self.cortex,
            density,
            marrow: MARROW,
        });
        at(bone.length)
    }

    /// Adds a carpal (or sesamoid) ossification centre.
    fn round_bone(&mut self, carpal: &Carpal, offset: f32) {
        let growth = centre_growth(self.age + offset, carpal.appear, 40.0);
        if growth <= 0.0 {
            return;
        }
        // Young centres are round dots; they take their adult shape as they grow.
        let mean = (carpal.half.x + carpal.half.y) * 0.5;
        let shaped = smoothstep(0.2, 1.0, growth);
        let half = Vec2::new(
            (mean + (carpal.half.x - mean) * shaped) * growth,
            (mean + (carpal.half.y - mean) * shaped) * growth,
        );
        let axis = Vec2::new(carpal.angle.cos(), carpal.angle.sin());
        self.bones.push(Bone {
            shape: Shape::single(Primitive::ellipse(carpal.centre, axis, half)),
            radius: half.x.min(half.y),
            cortex: 0.3,
            density: self.mineral * (0.8 + 0.2 * growth),
            marrow: SPONGY,
        });
    }
}

/// A carpal bone at adult size.
struct Carpal {
    centre: Vec2,
    /// Semi-axes (first along `angle`).
    half: Vec2,
    /// Angle of the first semi-axis from +x (radians).
    angle: f32,
    /// Bone age (months) at which it starts to ossify.
    appear: f32,
}

const fn carpal(x: f32, y: f32, hx: f32, hy: f32, angle_deg: f32, appear: f32) -> Carpal {
    Carpal {
        centre: Vec2::new(x, y),
        half: Vec2::new(hx, hy),
        angle: angle_deg * std::f32::consts::PI / 180.0,
        appear,
    }
}

/// The eight carpals, in order of appearance.
const CARPALS: [Carpal; 8] = [
    carpal(0.016, 0.108, 0.024, 0.046, 0.0, 2.0), // capitate
    carpal(-0.036, 0.112, 0.022, 0.036, -15.0, 4.0), // hamate
    carpal(-0.058, 0.062, 0.021, 0.018, 30.0, 30.0), // triquetrum
    carpal(0.004, 0.046, 0.024, 0.021, 0.0, 45.0), // lunate
    carpal(0.097, 0.108, 0.023, 0.021, 30.0, 60.0), // trapezium
    carpal(0.062, 0.128, 0.018, 0.022, 0.0, 70.0), // trapezoid
    carpal(0.058, 0.055, 0.04, 0.019, 55.0, 72.0), // scaphoid
    carpal(-0.068, 0.044, 0.014, 0.014, 0.0, 140.0), // pisiform
];

/// One finger's bones: (length, width) of the metacarpal, then of each phalanx.
struct Ray {
    /// Metacarpal base (carpometacarpal joint centre).
    base: Vec2,
    /// Metacarpal direction (degrees from +y towards the thumb).
    angle: f32,
    /// Extra angle of the phalanges at a spread of 1 (degrees).
    spread: f32,
    /// (length, width) of the metacarpal and the phalanges, proximal first.
    bones: &'static [(f32, f32)],
}

/// Thumb first, then index to little finger.
const RAYS: [Ray; 5] = [
    Ray {
        base: Vec2::new(0.112, 0.128),
        angle: 36.0,
        spread: 10.0,
        bones: &[(0.235, 0.056), (0.16, 0.052), (0.12, 0.044)],
    },
    Ray {
        base: Vec2::new(0.064, 0.168),
        angle: 9.0,
        spread: 5.0,
        bones: &[(0.36, 0.052), (0.215, 0.05), (0.125, 0.043), (0.09, 0.036)],
    },
    Ray {
        base: Vec2::new(0.02, 0.172),
        angle: 1.0,
        spread: 0.0,
        bones: &[(0.345, 0.052), (0.24, 0.052), (0.15, 0.046), (0.095, 0.038)],
    },
    Ray {
        base: Vec2::new(-0.026, 0.165),
        angle: -7.0,
        spread: -5.0,
        bones: &[(0.3, 0.047), (0.225, 0.049), (0.14, 0.043), (0.09, 0.036)],
    },
    Ray {
        base: Vec2::new(-0.066, 0.152),
        angle: -15.0,
        spread: -10.0,
        bones: &[(0.275, 0.045), (0.175, 0.042), (0.1, 0.037), (0.08, 0.032)],
    },
];

/// Builds the hand of `subject` with individual `variation`, in hand units at adult size.
pub fn hand(subject: &Subject, variation: &Variation) -> Hand {
    let age = subject.boneage.clamp(0.0, MAX_BONE_AGE);
    let young = 1.0 - smoothstep(0.0, 150.0, age);
    let mut b = Builder {
        age,
        bones: Vec::new(),
        joint: 0.012 + 0.012 * young,
        mineral: mineral(age),
        cortex: cortex(age),
    };
    let m = variation.maturity;
    let wf = variation.width;

    // Forearm: radius (thumb side) and ulna, running off the bottom of the film.
    let forearm = Timing {
        appear: 10.0,
        fuse_start: 190.0,
        fuse_end: 208.0,
    };
    b.long_bone(
        &LongBone {
            start: Vec2::new(0.034, -1.4),
            dir: Vec2::new(0.0, 1.0),
            length: 1.4,
            width: 0.13 * wf,
            profile: RADIUS,
            epiphysis: End::Distal,
            timing: forearm,
        },
        m[0],
    );
    b.long_bone(
        &LongBone {
            start: Vec2::new(-0.074, -1.42),
            dir: Vec2::new(0.0, 1.0),
            length: 1.4,
            width: 0.056 * wf,
            profile: ULNA,
            epiphysis: End::Distal,
            timing: Timing {
                appear: 84.0,
                ..forearm
            },
        },
        m[0],
    );

    for c in &CARPALS {
        b.round_bone(c, m[1]);
    }

    let tissue_scale = 1.0 + 0.22 * (1.0 - smoothstep(0.0, 96.0, age));
    let mut tissue = vec![
        // Forearm and wrist.
        Primitive::capsule(
            Vec2::new(-0.02, -1.6),
            Vec2::new(0.01, 0.02),
            0.17,
            0.15 * tissue_scale,
        ),
    ];
    let palm_root = Vec2::new(0.01, 0.06);

    for (finger, ray) in RAYS.iter().enumerate() {
        let thumb = finger == 0;
        let lengths = variation.finger_length[finger];
        let mut dir = Vec2::from_angle(ray.angle.to_radians());
        let mut start = ray.base;
        let mut joints = vec![start];
        let mut widths = Vec::new();
        for (k, &(length, width)) in ray.bones.iter().enumerate() {
            let (profile, epiphysis, timing, offset) = match (k, thumb) {
                (0, true) => (
                    THUMB_METACARPAL,
                    End::Proximal,
                    Timing {
                        appear: 26.0,
                        fuse_start: 166.0,
                        fuse_end: 180.0,
                    },
                    m[2],
                ),
                (0, false) => (
                    METACARPAL,
                    End::Distal,
                    Timing {
                        appear: 20.0,
                        fuse_start: 168.0,
                        fuse_end: 182.0,
                    },
                    m[2],
                ),
                (k, _) if k == ray.bones.len() - 1 => (
                    DISTAL_PHALANX,
                    End::Proximal,
                    Timing {
                        appear: if thumb { 20.0 } else { 26.0 },
                        fuse_start: 158.0,
                        fuse_end: 172.0,
                    },
                    m[5],
                ),
                (1, _) => (
                    PHALANX,
                    End::Proximal,
                    Timing {
                        appear: if thumb { 24.0 } else { 18.0 },
                        fuse_start: 168.0,
                        fuse_end: 182.0,
                    },
                    m[3],
                ),
                _ => (
                    PHALANX,
                    End::Proximal,
                    Timing {
                        appear: 28.0,
                        fuse_start: 172.0,
                        fuse_end: 186.0,
                    },
                    m[4],
                ),
            };
            if k == 1 {
                // Fingers fan out at the knuckles.
                let extra = (ray.spread * variation.spread).to_radians();
                dir = rotate(dir, extra);
            }
            if k >= 1 {
                dir = rotate(dir, variation.curl[finger]);
            }
            let length = length * lengths;
            let end = b.long_bone(
                &LongBone {
                    start,
                    dir,
                    length,
                    width: width * wf,
                    profile,
                    epiphysis,
                    timing,
                },
                offset,
            );
            if k == 0 && thumb {
                // The thumb's sesamoid, on the ulnar side of the metacarpal head, near puberty.
                let across = dir.perp();
                let centre = end - dir * (0.02) + across * (0.028);
                b.round_bone(
                    &Carpal {
                        centre,
                        half: Vec2::new(0.011, 0.01),
                        angle: 0.0,
                        appear: 138.0,
                    },
                    m[1],
                );
            }
            start = end;
            joints.push(end);
            widths.push(width * wf);
        }
        // Soft tissue: palm towards the knuckle, then the finger around its phalanges.
        let knuckle = joints[1];
        let palm_width = if thumb { 0.07 } else { 0.06 };
        let root = if thumb {
            Vec2::new(0.06, 0.06)
        } else {
            palm_root + (ray.base - palm_root) * 0.5
        };
        tissue.push(Primitive::capsule(
            root,
            knuckle,
            palm_width * tissue_scale,
            widths[1] * 1.05 * tissue_scale,
        ));
        for k in 1..ray.bones.len() {
            let (a, z) = (joints[k], joints[k + 1]);
            let last = k == ray.bones.len() - 1;
            let tip = if last {
                z + (z - a).normalized() * 0.012
            } else {
                z
            };
            let rb = if last {
                widths[k] * 0.75
            } else {
                widths[k + 1] * 0.95
            };
            tissue.push(Primitive::capsule(
                a,
                tip,
                widths[k] * 1.0 * tissue_scale,
                rb * tissue_scale,
            ));
        }
    }
    // The palm between the rays and the hypothenar edge.
    tissue.push(Primitive::ellipse(
        Vec2::new(0.0, 0.27),
        Vec2::new(1.0, 0.0),
        Vec2::new(0.14, 0.2),
    ));
    tissue.push(Primitive::capsule(
        Vec2::new(-0.06, 0.05),
        Vec2::new(-0.12, 0.4),
        0.06 * tissue_scale,
        0.055 * tissue_scale,
    ));

    Hand {
        bones: b.bones,
        tissue: Shape::union(tissue, 0.05),
        tissue_depth: 0.04,
    }
}

/// `v` turned by `angle` radians towards +x (the thumb) — clockwise in the y-up hand frame.
fn rotate(v: Vec2, angle: f32) -> Vec2 {
    let (s, c) = angle.sin_cos();
    Vec2::new(v.x * c + v.y * s, -v.x * s + v.y * c)
}

/// Number of carpal ossification centres visible at this bone age (0 at birth, 8 by ~12 y).
pub fn carpal_count(boneage: f32) -> usize {
    CARPALS.iter().filter(|c| boneage >= c.appear).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(boneage: f32) -> Subject {
        Subject {
            boneage,
            male: true,
        }
    }

    #[test]
    fn carpals_appear_in_order() {
        assert_eq!(carpal_count(0.0), 0);
        assert_eq!(carpal_count(12.0), 2);
        assert_eq!(carpal_count(60.0), 5);
        assert_eq!(carpal_count(156.0), 8);
    }

    #[test]
    fn older_hands_have_more_and_larger_bones() {
        let v = Variation::default();
        let count = |age| hand(&subject(age), &v).bones.len();
        assert!(count(1.0) < count(60.0));
        assert!(count(60.0) < count(150.0));
        // Once the growth plates close, epiphyses merge into their shafts.
        assert!(count(228.0) < count(150.0));
        assert!(size_factor(&subject(1.0)) < size_factor(&subject(120.0)));
        let girl = Subject {
            boneage: 150.0,
            male: false,
        };
        assert!(size_factor(&girl) < size_factor(&subject(150.0)));
    }

    #[test]
    fn thumb_turns_towards_plus_x() {
        let v = rotate(Vec2::new(0.0, 1.0), 0.3);
        assert!(v.x > 0.0 && v.y > 0.0);
        assert!((Vec2::from_angle(0.3) - v).length() < 1e-6);
    }
}
