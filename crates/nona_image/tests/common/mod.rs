//! Shared helpers: fixture paths, a minimal `.npy` reader and array comparisons.

#![allow(dead_code)] // each test binary uses a different subset

pub mod generated;

use std::path::PathBuf;

use nona_image::{Pixels, Samples};

/// `tests/fixtures/image` at the workspace root.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/image")
}

/// A file under `tests/fixtures/image/inputs`.
pub fn input(name: &str) -> PathBuf {
    fixture_dir().join("inputs").join(name)
}

/// Array contents of a `.npy` file.
#[derive(Debug)]
pub enum NpyData {
    /// `|u1`
    U8(Vec<u8>),
    /// `<u2`
    U16(Vec<u16>),
    /// `<f4`
    F32(Vec<f32>),
}

/// A C-ordered array read from `.npy`.
#[derive(Debug)]
pub struct Npy {
    pub shape: Vec<usize>,
    pub data: NpyData,
}

/// Reads `tests/fixtures/image/expected/<name>.npy` (format 1.x/2.x, C order, little endian).
pub fn expected(name: &str) -> Npy {
    let path = fixture_dir().join("expected").join(format!("{name}.npy"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{name}: not an .npy file");
    let (header_len, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(&bytes[header_start..header_start + header_len]).unwrap();
    assert!(
        header.contains("'fortran_order': False"),
        "{name}: Fortran order unsupported"
    );
    let descr = header
        .split("'descr': '")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let body = &bytes[header_start + header_len..];
    let data = match descr {
        "|u1" => NpyData::U8(body.to_vec()),
        "<u2" => NpyData::U16(
            body.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect(),
        ),
        "<f4" => NpyData::F32(
            body.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        other => panic!("{name}: unsupported dtype {other}"),
    };
    Npy { shape, data }
}

/// `(height, width, channels)` of an HWC or HW array.
fn hwc_shape(npy: &Npy) -> (usize, usize, usize) {
    match npy.shape[..] {
        [h, w] => (h, w, 1),
        [h, w, c] => (h, w, c),
        _ => panic!("expected a 2-D or 3-D pixel array, got {:?}", npy.shape),
    }
}

/// Reorders HWC samples to CHW.
fn hwc_to_chw<T: Copy>(values: &[T], (h, w, c): (usize, usize, usize)) -> Vec<T> {
    (0..c)
        .flat_map(|ch| (0..h * w).map(move |i| values[i * c + ch]))
        .collect()
}

/// Largest absolute difference between `pixels` and the HWC pixel array `name`, in sample units.
/// Panics when shapes or sample widths differ.
pub fn pixel_diff(pixels: &Pixels, name: &str) -> u32 {
    pixel_diffs(pixels, name).into_iter().max().unwrap_or(0)
}

/// Per-sample absolute differences between `pixels` and the HWC pixel array `name` (CHW order).
pub fn pixel_diffs(pixels: &Pixels, name: &str) -> Vec<u32> {
    let npy = expected(name);
    let (h, w, c) = hwc_shape(&npy);
    assert_eq!(
        (pixels.channels(), pixels.height(), pixels.width()),
        (c, h, w),
        "{name}: shape (c, h, w) differs"
    );
    let diff = |a: &[u32], b: &[u32]| a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).collect();
    match (pixels.samples(), &npy.data) {
        (Samples::U8(got), NpyData::U8(want)) => {
            let got: Vec<u32> = got.iter().map(|&v| v.into()).collect();
            let want: Vec<u32> = hwc_to_chw(want, (h, w, c))
                .into_iter()
                .map(Into::into)
                .collect();
            diff(&got, &want)
        }
        (Samples::U16(got), NpyData::U16(want)) => {
            let got: Vec<u32> = got.iter().map(|&v| v.into()).collect();
            let want: Vec<u32> = hwc_to_chw(want, (h, w, c))
                .into_iter()
                .map(Into::into)
                .collect();
            diff(&got, &want)
        }
        (got, want) => panic!("{name}: sample type differs: got {got:?}, want {want:?}"),
    }
}

/// Largest absolute difference between `data` (CHW) and the CHW `f32` array `name`, after
/// repeating the expected channels `repeat` times (1-channel references for replicated RGB).
pub fn tensor_diff(data: &[f32], shape: (usize, usize, usize), name: &str, repeat: usize) -> f32 {
    let npy = expected(name);
    let NpyData::F32(want) = &npy.data else {
        panic!("{name}: not float32")
    };
    assert_eq!(npy.shape.len(), 3, "{name}: expected CHW");
    assert_eq!(
        shape,
        (npy.shape[0] * repeat, npy.shape[1], npy.shape[2]),
        "{name}: shape differs"
    );
    let want = want.repeat(repeat);
    data.iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// Prints a measured difference (visible with `--nocapture`) so tolerances can be reported.
#[allow(clippy::print_stderr)]
pub fn report(case: &str, diff: impl std::fmt::Display) {
    eprintln!("measured max |diff| {case}: {diff}");
}
