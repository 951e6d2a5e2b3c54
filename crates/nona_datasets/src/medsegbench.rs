//! MedSegBench (Kuş & Aydin 2024, zenodo.org/records/13358372), e.g. BriFiSeg: one NumPy archive
//! per dataset and size, `<name>_<size>.npz` (`brifiseg_256.npz`), holding for each split
//! (`train`, `val`, `test`) the images `<split>_images` (uint8, N×H×W grey or N×H×W×3) and the
//! segmentation masks `<split>_label` (uint8, N×H×W, 0 = background). A sample is one image;
//! its label is the mask's area: the number of foreground pixels (mask value > 0) at the
//! archive's resolution. The images are written once as PNG files (`<split>-<index>.png`) under
//! the stage's work directory, each through a temporary file and a rename, so an interrupted run
//! keeps the finished ones; the id is `<split>-<index>`.

use std::path::{Path, PathBuf};

use candle_core::npy::NpzTensors;
use candle_core::{DType, Tensor};

use crate::{DatasetError, Layout, Modality, Row, Source};

/// The `medsegbench` layout.
pub struct MedSegBench;

const SPLITS: [&str; 3] = ["train", "val", "test"];

fn npz_error(path: &Path, what: &str, error: &candle_core::Error) -> DatasetError {
    DatasetError::new(path, format!("{what}: {error}"))
}

/// The splits whose images and masks the archive holds.
fn splits(path: &Path, npz: &NpzTensors) -> Result<Vec<&'static str>, DatasetError> {
    let names: Vec<&String> = npz.names();
    let has = |name: String| names.iter().any(|n| **n == name);
    let found: Vec<&'static str> = SPLITS
        .into_iter()
        .filter(|split| has(format!("{split}_images")) && has(format!("{split}_label")))
        .collect();
    if found.is_empty() {
        let mut listed: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
        listed.sort_unstable();
        return Err(DatasetError::new(
            path,
            format!(
                "no `<split>_images` with `<split>_label` for split train, val or test (arrays: {})",
                listed.join(", ")
            ),
        ));
    }
    Ok(found)
}

/// Shape checks: images N×H×W or N×H×W×{1,3}, masks N'×H×W, both uint8.
fn check_shapes(
    path: &Path,
    npz: &NpzTensors,
    split: &str,
) -> Result<(Vec<usize>, Vec<usize>), DatasetError> {
    let images = format!("{split}_images");
    let masks = format!("{split}_label");
    let (image_shape, image_type) = npz
        .get_shape_and_dtype(&images)
        .map_err(|e| npz_error(path, &images, &e))?;
    let (mask_shape, mask_type) = npz
        .get_shape_and_dtype(&masks)
        .map_err(|e| npz_error(path, &masks, &e))?;
    let (image_dims, mask_dims) = (image_shape.dims().to_vec(), mask_shape.dims().to_vec());
    let image_ok = match image_dims.as_slice() {
        [_, _, _] => true,
        [_, _, _, channels] => *channels == 1 || *channels == 3,
        _ => false,
    };
    if !image_ok || image_type != DType::U8 {
        return Err(DatasetError::new(
            path,
            format!("`{images}` is {image_type:?} {image_dims:?}; expected uint8 N×H×W or N×H×W×3"),
        ));
    }
    if mask_dims.len() != 3 || mask_dims[1..] != image_dims[1..3] {
        return Err(DatasetError::new(
            path,
            format!(
                "`{masks}` is {mask_dims:?}; expected N×{}×{} like `{images}`",
                image_dims[1], image_dims[2]
            ),
        ));
    }
    if !matches!(mask_type, DType::U8 | DType::I64 | DType::I32 | DType::U32) {
        return Err(DatasetError::new(
            path,
            format!("`{masks}` is {mask_type:?}; expected an integer mask"),
        ));
    }
    Ok((image_dims, mask_dims))
}

fn load(path: &Path, npz: &NpzTensors, name: &str) -> Result<Tensor, DatasetError> {
    npz.get(name)
        .map_err(|e| npz_error(path, name, &e))?
        .ok_or_else(|| DatasetError::new(path, format!("no array `{name}`")))
}

/// Writes `image` to `path` unless it is there already (a finished earlier write).
fn write_png(path: &Path, image: &[u8], dims: &[usize]) -> Result<(), DatasetError> {
    if path.is_file() {
        return Ok(());
    }
    let (height, width) = (dims[1] as u32, dims[2] as u32);
    let channels = dims.get(3).copied().unwrap_or(1);
    let partial = path.with_extension("png.partial");
    let encoded = if channels == 3 {
        image::RgbImage::from_raw(width, height, image.to_vec())
            .map(|i| i.save_with_format(&partial, image::ImageFormat::Png))
    } else {
        image::GrayImage::from_raw(width, height, image.to_vec())
            .map(|i| i.save_with_format(&partial, image::ImageFormat::Png))
    };
    match encoded {
        Some(Ok(())) => std::fs::rename(&partial, path).map_err(|e| {
            DatasetError::new(path, format!("cannot rename {}: {e}", partial.display()))
        }),
        Some(Err(e)) => Err(DatasetError::new(
            &partial,
            format!("cannot write PNG: {e}"),
        )),
        None => Err(DatasetError::new(path, "image buffer has the wrong size")),
    }
}

impl Layout for MedSegBench {
    fn name(&self) -> &'static str {
        "medsegbench"
    }

    fn modality(&self) -> Modality {
        Modality::Image
    }

    fn check(&self, source: &Source) -> Result<(), DatasetError> {
        let path = source.manifest_path();
        let npz =
            NpzTensors::new(&path).map_err(|e| npz_error(&path, "not a NumPy .npz archive", &e))?;
        for split in splits(&path, &npz)? {
            check_shapes(&path, &npz, split)?;
        }
        Ok(())
    }

    fn read(&self, source: &Source) -> Result<Vec<Row>, DatasetError> {
        let path = source.manifest_path();
        let npz =
            NpzTensors::new(&path).map_err(|e| npz_error(&path, "not a NumPy .npz archive", &e))?;
        let work_dir: Option<PathBuf> = source.work_dir.clone();
        if let Some(dir) = &work_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| DatasetError::new(dir, format!("cannot create: {e}")))?;
        }
        let mut rows = Vec::new();
        for split in splits(&path, &npz)? {
            let (image_dims, mask_dims) = check_shapes(&path, &npz, split)?;
            let images = load(&path, &npz, &format!("{split}_images"))?
                .flatten_all()
                .and_then(|t| t.to_vec1::<u8>())
                .map_err(|e| npz_error(&path, split, &e))?;
            // Foreground flags, one byte per pixel (MedSegBench's masks are uint8 already).
            let masks = load(&path, &npz, &format!("{split}_label"))?;
            let masks = match masks.dtype() {
                DType::U8 => masks.flatten_all().and_then(|t| t.to_vec1::<u8>()),
                _ => masks
                    .flatten_all()
                    .and_then(|t| t.to_dtype(DType::I64))
                    .and_then(|t| t.to_vec1::<i64>())
                    .map(|v| v.into_iter().map(|x| u8::from(x > 0)).collect()),
            }
            .map_err(|e| npz_error(&path, split, &e))?;
            let image_size = image_dims[1..].iter().product::<usize>();
            let mask_size = mask_dims[1..].iter().product::<usize>();
            for index in 0..image_dims[0] {
                let id = format!("{split}-{index:05}");
                let mut row = Row::at(format!("{split}_images[{index}]"));
                row.id = Some(id.clone());
                if let Some(dir) = &work_dir {
                    let file = dir.join(format!("{id}.png"));
                    let pixels = &images[index * image_size..(index + 1) * image_size];
                    write_png(&file, pixels, &image_dims)?;
                    row.input = Some(file.to_string_lossy().into_owned());
                }
                if index < mask_dims[0] {
                    let mask = &masks[index * mask_size..(index + 1) * mask_size];
                    let area = mask.iter().filter(|&&v| v > 0).count();
                    row.label = Some(area.to_string());
                } else {
                    row.problem = Some(format!(
                        "no mask: `{split}_label` holds {} masks for {} images",
                        mask_dims[0], image_dims[0]
                    ));
                }
                rows.push(row);
            }
        }
        Ok(rows)
    }
}
