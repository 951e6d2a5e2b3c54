//! Writing the dataset in the RSNA training-set layout, atomically and only when needed.
//!
//! ```text
//! out_dir/
//!   GENERATED.txt                  what this is, generator version and config (the stamp)
//!   boneage-training-dataset.csv                    id,boneage,male   (written last: its presence means complete)
//!   boneage-training-dataset/<id>.png
//! ```
//!
//! Order of writing, so that an interruption at any point is detected and repaired by the next
//! call: when the stamp differs, `boneage-training-dataset.csv` is removed first, then the old images, then the
//! new `GENERATED.txt` is written; images follow (each to a temporary name, then renamed);
//! `boneage-training-dataset.csv` comes last. Under a matching stamp every image present is therefore one of
//! this config's, and only missing images (and a missing or altered CSV) are rewritten.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use rayon::prelude::*;

use crate::{GENERATOR_VERSION, Label, PhantomConfig, PhantomError, image_for, labels};

/// The manifest, as in the RSNA challenge's training set.
pub const MANIFEST_FILE: &str = "boneage-training-dataset.csv";
/// The image directory, as in the RSNA challenge's training set.
pub const IMAGE_DIR: &str = "boneage-training-dataset";
/// The note saying the data is synthetic; it also holds the stamp compared on re-runs.
pub const README_FILE: &str = "GENERATED.txt";

const STAMP_PREFIX: &str = "stamp: ";

/// What [`generate`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Path of `boneage-training-dataset.csv`.
    pub manifest: PathBuf,
    /// Path of `boneage-training-dataset/`.
    pub image_dir: PathBuf,
    /// Number of samples in the dataset.
    pub count: usize,
    /// Images written by this call (0 when everything was already in place).
    pub images_written: usize,
    /// Whether this call (re)wrote `boneage-training-dataset.csv`.
    pub manifest_written: bool,
    /// Whether a missing or different stamp (config or generator version) made this call
    /// discard what was there and write everything.
    pub regenerated: bool,
}

impl Summary {
    /// True when the call found the dataset complete and wrote nothing.
    pub fn up_to_date(&self) -> bool {
        self.images_written == 0 && !self.manifest_written && !self.regenerated
    }
}

/// The line identifying a config and generator version; a dataset is reused only under an
/// identical stamp.
pub fn stamp(config: &PhantomConfig) -> String {
    format!(
        "nona_phantom/{GENERATOR_VERSION} count={} size={} seed={}",
        config.count, config.size, config.seed
    )
}

/// Writes (or completes, or leaves alone) the phantom dataset for `config` under `out_dir`.
///
/// `progress` is called after each image is written with the number written so far by this
/// call; it runs on worker threads, so calls may arrive slightly out of order. At most
/// `config.count` images are written.
///
/// Refuses ([`PhantomError::NotAPhantom`]) to touch a directory that holds `boneage-training-dataset.csv` or
/// images but no `GENERATED.txt` of ours, so a real dataset is never overwritten. Two
/// processes must not generate into the same directory at once.
pub fn generate(
    out_dir: &Path,
    config: &PhantomConfig,
    progress: impl Fn(usize) + Sync,
) -> Result<Summary, PhantomError> {
    config.validate()?;
    let manifest = out_dir.join(MANIFEST_FILE);
    let image_dir = out_dir.join(IMAGE_DIR);
    let readme = out_dir.join(README_FILE);
    let stamp = stamp(config);

    let existing = read_stamp(out_dir)?;
    let regenerated = existing.as_deref() != Some(stamp.as_str());
    fs::create_dir_all(out_dir).map_err(PhantomError::io(out_dir))?;
    if regenerated {
        remove_if_present(&manifest)?;
        clear_images(&image_dir)?;
        write_atomic(&readme, readme_text(config, &stamp).as_bytes())?;
    }
    remove_temporaries(out_dir)?;
    fs::create_dir_all(&image_dir).map_err(PhantomError::io(&image_dir))?;
    remove_temporaries(&image_dir)?;

    let labels = labels(config);
    let missing: Vec<&Label> = labels
        .iter()
        .filter(|l| regenerated || !image_path(&image_dir, l.id).is_file())
        .collect();
    if !missing.is_empty() {
        // The CSV marks completeness: it goes while any image is missing.
        remove_if_present(&manifest)?;
    }
    let written = AtomicUsize::new(0);
    missing.par_iter().try_for_each(|label| {
        let path = image_path(&image_dir, label.id);
        let image = image_for(config, label);
        let mut png = Vec::with_capacity(image.as_raw().len() / 2);
        PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Adaptive)
            .write_image(
                image.as_raw(),
                image.width(),
                image.height(),
                image::ExtendedColorType::L8,
            )
            .map_err(|source| PhantomError::Png {
                path: path.clone(),
                source,
            })?;
        write_atomic(&path, &png)?;
        progress(written.fetch_add(1, Ordering::Relaxed) + 1);
        Ok::<(), PhantomError>(())
    })?;

    let csv = manifest_text(&labels);
    let manifest_written = match fs::read(&manifest) {
        Ok(bytes) if bytes == csv.as_bytes() => false,
        _ => {
            write_atomic(&manifest, csv.as_bytes())?;
            true
        }
    };
    Ok(Summary {
        manifest,
        image_dir,
        count: labels.len(),
        images_written: missing.len(),
        manifest_written,
        regenerated,
    })
}

/// `<image_dir>/<id>.png`.
fn image_path(image_dir: &Path, id: u64) -> PathBuf {
    image_dir.join(format!("{id}.png"))
}

/// The CSV text: header `id,boneage,male`, then one row per label, `male` as `True`/`False`.
pub fn manifest_text(labels: &[Label]) -> String {
    let mut csv = String::with_capacity(16 + labels.len() * 16);
    csv.push_str("id,boneage,male\n");
    for l in labels {
        let male = if l.male { "True" } else { "False" };
        csv.push_str(&format!("{},{},{male}\n", l.id, l.boneage));
    }
    csv
}

fn readme_text(config: &PhantomConfig, stamp: &str) -> String {
    format!(
        "SYNTHETIC DATA -- generated phantom hand radiographs, not images of patients.\n\
         \n\
         They imitate the layout of the RSNA Pediatric Bone Age Challenge training set\n\
         (boneage-training-dataset.csv with id,boneage,male and boneage-training-dataset/<id>.png) so that the\n\
         bone-age pipeline runs where the real data is not available. Bone age (months) and sex\n\
         were drawn at random; each image was then drawn from them: carpal ossification centres,\n\
         epiphyses, growth plates and hand size follow bone age, while rotation, scale, position,\n\
         finger spread, exposure, background, grain and corner markers vary independently.\n\
         Results on this data say nothing about real radiographs.\n\
         \n\
         generator: nona_phantom {} (image format {GENERATOR_VERSION})\n\
         config: count = {}, size = {}, seed = {}\n\
         {STAMP_PREFIX}{stamp}\n",
        env!("CARGO_PKG_VERSION"),
        config.count,
        config.size,
        config.seed,
    )
}

/// The stamp of a dataset we wrote before; `None` for an empty or absent directory.
fn read_stamp(out_dir: &Path) -> Result<Option<String>, PhantomError> {
    let readme = out_dir.join(README_FILE);
    let foreign = || PhantomError::NotAPhantom {
        path: out_dir.to_path_buf(),
    };
    match fs::read_to_string(&readme) {
        Ok(text) => text
            .lines()
            .find_map(|line| line.strip_prefix(STAMP_PREFIX))
            .filter(|s| s.starts_with("nona_phantom/"))
            .map(|s| Some(s.to_owned()))
            .ok_or_else(foreign),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let image_dir = out_dir.join(IMAGE_DIR);
            let has_images = match fs::read_dir(&image_dir) {
                Ok(mut entries) => entries.next().is_some(),
                Err(_) => false,
            };
            if out_dir.join(MANIFEST_FILE).exists() || has_images {
                Err(foreign())
            } else {
                Ok(None)
            }
        }
        Err(e) => Err(PhantomError::io(readme)(e)),
    }
}

fn remove_if_present(path: &Path) -> Result<(), PhantomError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PhantomError::io(path)(e)),
        _ => Ok(()),
    }
}

/// Removes our images (`<digits>.png`) and temporaries from `image_dir`; other files stay.
fn clear_images(image_dir: &Path) -> Result<(), PhantomError> {
    let entries = match fs::read_dir(image_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(PhantomError::io(image_dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(PhantomError::io(image_dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name
            .strip_suffix(".png")
            .is_some_and(|stem| !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()));
        if ours || is_temporary(&name) {
            remove_if_present(&entry.path())?;
        }
    }
    Ok(())
}

/// Removes temporaries an interrupted run left in `dir`.
fn remove_temporaries(dir: &Path) -> Result<(), PhantomError> {
    for entry in fs::read_dir(dir).map_err(PhantomError::io(dir))? {
        let entry = entry.map_err(PhantomError::io(dir))?;
        if is_temporary(&entry.file_name().to_string_lossy()) {
            remove_if_present(&entry.path())?;
        }
    }
    Ok(())
}

fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".phantom-tmp")
}

/// Writes `bytes` to a temporary name next to `path`, then renames it into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PhantomError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.phantom-tmp", std::process::id()));
    fs::write(&tmp, bytes).map_err(PhantomError::io(&tmp))?;
    fs::rename(&tmp, path).map_err(PhantomError::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_rows_look_like_rsna() {
        let labels = [
            Label {
                id: 1377,
                boneage: 180,
                male: false,
            },
            Label {
                id: 1378,
                boneage: 12,
                male: true,
            },
        ];
        assert_eq!(
            manifest_text(&labels),
            "id,boneage,male\n1377,180,False\n1378,12,True\n"
        );
    }

    #[test]
    fn stamp_names_every_config_value() {
        let s = stamp(&PhantomConfig {
            count: 5,
            size: 64,
            seed: 9,
        });
        assert_eq!(
            s,
            format!("nona_phantom/{GENERATOR_VERSION} count=5 size=64 seed=9")
        );
        let text = readme_text(&PhantomConfig::default(), &s);
        assert!(text.starts_with("SYNTHETIC DATA"));
        assert!(text.lines().any(|l| l == format!("{STAMP_PREFIX}{s}")));
    }

    #[test]
    fn temporaries_are_recognised() {
        assert!(is_temporary(".1377.png.42.phantom-tmp"));
        assert!(!is_temporary("1377.png"));
    }
}
