//! Synthetic hand radiographs in the layout of the RSNA Pediatric Bone Age training set.
//!
//! The real data needs a registration; where it is absent the bone-age pipeline runs on a
//! phantom dataset generated here, written exactly as the challenge's training set is:
//! `boneage-training-dataset.csv` (`id,boneage,male`, bone age in whole months 1..=228, `True`/`False`) and
//! `boneage-training-dataset/<id>.png` (8-bit grayscale), plus `GENERATED.txt` saying the data
//! is synthetic and how it was made.
//!
//! Labels follow the RSNA distribution roughly: bone age normal with mean 127 and sd 41 months,
//! clipped to 1..=228, and 54% boys. Each image is a left hand seen dorsally whose bones
//! ([`anatomy`]) follow bone age the way a radiologist reads it (carpal ossification centres,
//! epiphyses and growth plates, hand size), drawn with anti-aliased signed-distance shapes
//! ([`raster`]) under nuisance that carries no label ([`nuisance`]: pose, finger spread,
//! exposure, background, grain, markers).
//!
//! Everything is deterministic: image `i` depends only on `(seed, i)` and `size`, never on the
//! thread that draws it, and row `i`'s label does not depend on `count` or `size`.
//!
//! ```no_run
//! use nona_phantom::{PhantomConfig, generate};
//!
//! let config = PhantomConfig::default(); // 800 images of 256 x 256, seed 0
//! let summary = generate("data/rsna-phantom".as_ref(), &config, |_written| {})?;
//! assert_eq!(summary.count, 800);
//! # Ok::<(), nona_phantom::PhantomError>(())
//! ```

pub mod anatomy;
mod config;
mod error;
mod layout;
pub mod nuisance;
mod random;
pub mod raster;
mod render;
pub mod shape;

pub use anatomy::Subject;
pub use config::PhantomConfig;
pub use error::PhantomError;
pub use layout::{IMAGE_DIR, MANIFEST_FILE, README_FILE, Summary, generate, manifest_text, stamp};
pub use nuisance::Nuisance;
pub use render::render;

use image::GrayImage;
use rand::Rng;
use random::{Stream, normal, rng_for};

/// Version of what the generator draws; bump it whenever the labels or images for a given
/// config change, so that existing datasets are regenerated.
pub const GENERATOR_VERSION: u32 = 2;

/// Id of the first row (the RSNA training set's ids start at 1377).
pub const FIRST_ID: u64 = 1377;

/// Mean bone age of the label distribution (months).
pub const BONEAGE_MEAN: f64 = 127.0;
/// Standard deviation of the label distribution (months), before clipping to 1..=228.
pub const BONEAGE_SD: f64 = 41.0;
/// Share of boys.
pub const MALE_SHARE: f64 = 0.54;

/// One row of `boneage-training-dataset.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label {
    /// Image id (`<id>.png`).
    pub id: u64,
    /// Bone age in months, 1..=228.
    pub boneage: u32,
    /// Sex.
    pub male: bool,
}

impl Label {
    /// The subject an image of this row shows.
    pub fn subject(&self) -> Subject {
        Subject {
            boneage: self.boneage as f32,
            male: self.male,
        }
    }
}

/// The label of row `index` under `seed`.
pub fn label(seed: u64, index: usize) -> Label {
    let mut rng = rng_for(seed, index, Stream::Label);
    let boneage = (BONEAGE_MEAN + BONEAGE_SD * normal(&mut rng)).round();
    let male = rng.random_bool(MALE_SHARE);
    Label {
        id: FIRST_ID + index as u64,
        boneage: boneage.clamp(1.0, anatomy::MAX_BONE_AGE as f64) as u32,
        male,
    }
}

/// Every label of `config`, in row order.
pub fn labels(config: &PhantomConfig) -> Vec<Label> {
    (0..config.count).map(|i| label(config.seed, i)).collect()
}

/// The image of `subject` drawn with the nuisance of row `index` under `seed`.
///
/// [`generate`] writes `image(seed, i, &label(seed, i).subject(), size)` for row `i`; calling
/// it with another subject shows the same pose, exposure and noise on a different hand.
pub fn image(seed: u64, index: usize, subject: &Subject, size: u32) -> GrayImage {
    let mut rng = rng_for(seed, index, Stream::Image);
    let nuisance = Nuisance::sample(&mut rng);
    render(subject, &nuisance, size, &mut rng)
}

/// The image [`generate`] writes for `label` (whose id gives the row).
pub(crate) fn image_for(config: &PhantomConfig, label: &Label) -> GrayImage {
    let index = (label.id - FIRST_ID) as usize;
    image(config.seed, index, &label.subject(), config.size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_rsna_distribution() {
        let labels = labels(&PhantomConfig {
            count: 4000,
            ..PhantomConfig::default()
        });
        let n = labels.len() as f64;
        let ages: Vec<f64> = labels.iter().map(|l| l.boneage as f64).collect();
        let mean = ages.iter().sum::<f64>() / n;
        let sd = (ages.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n).sqrt();
        let male = labels.iter().filter(|l| l.male).count() as f64 / n;
        assert!((mean - 127.0).abs() < 3.0, "mean {mean}");
        assert!((sd - 41.0).abs() < 3.0, "sd {sd}");
        assert!((male - 0.54).abs() < 0.03, "male share {male}");
        assert!(labels.iter().all(|l| (1..=228).contains(&l.boneage)));
        assert_eq!(labels[0].id, FIRST_ID);
        assert_eq!(labels[3999].id, FIRST_ID + 3999);
    }

    #[test]
    fn a_label_does_not_depend_on_count() {
        let small = labels(&PhantomConfig {
            count: 10,
            ..PhantomConfig::default()
        });
        assert_eq!(small[..], labels(&PhantomConfig::default())[..10]);
    }
}
