//! The label is visible in the pixels, and the nuisance is there too.
//!
//! Measured on the written PNGs only, never on the generator's internal geometry.

mod common;

use common::{png_path, ranks, read_gray, read_manifest, small, spearman};
use nona_phantom::{Subject, generate, image};

/// Share of pixels that are bright bone: above 60% of the way from the background (10th
/// percentile) to the brightest bone (99.5th percentile). Relative levels make it insensitive
/// to brightness, contrast and gamma; soft tissue stays below the threshold.
fn bone_area(image: &image::GrayImage) -> f64 {
    let mut values: Vec<u8> = image.as_raw().clone();
    values.sort_unstable();
    let at = |q: f64| values[((values.len() - 1) as f64 * q) as usize] as f64;
    let (low, high) = (at(0.10), at(0.995));
    let threshold = low + 0.6 * (high - low);
    let bright = image
        .as_raw()
        .iter()
        .filter(|&&v| v as f64 > threshold)
        .count();
    bright as f64 / values.len() as f64
}

#[test]
fn spearman_of_monotone_and_reversed_data() {
    let a = [1.0, 2.0, 3.0, 4.0];
    assert!((spearman(&a, &[10.0, 20.0, 25.0, 100.0]) - 1.0).abs() < 1e-12);
    assert!((spearman(&a, &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    assert_eq!(ranks(&[5.0, 1.0, 5.0]), vec![2.5, 1.0, 2.5]);
}

#[test]
fn bright_bone_area_tracks_bone_age() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate(dir.path(), &small(60, 0), |_| {}).expect("generate");
    let rows = read_manifest(dir.path());
    let ages: Vec<f64> = rows.iter().map(|r| r.boneage as f64).collect();
    let areas: Vec<f64> = rows
        .iter()
        .map(|r| bone_area(&read_gray(&png_path(dir.path(), r.id))))
        .collect();
    let rho = spearman(&ages, &areas);
    assert!(rho > 0.7, "Spearman(boneage, bone area) = {rho:.3}");
    // The labels themselves span the range (so the correlation is not a fluke of few ages).
    let spread = ages.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        - ages.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(spread > 100.0, "bone ages span only {spread} months");
}

/// Mean absolute difference of two equally sized images, in grey levels.
fn mean_abs_diff(a: &image::GrayImage, b: &image::GrayImage) -> f64 {
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (x as i64 - y as i64).unsigned_abs())
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[test]
fn same_age_and_sex_under_different_nuisance_look_different() {
    let subject = Subject {
        boneage: 120.0,
        male: true,
    };
    let a = image(0, 1, &subject, 128);
    let b = image(0, 2, &subject, 128);
    assert_eq!(a, image(0, 1, &subject, 128), "deterministic");
    let d = mean_abs_diff(&a, &b);
    assert!(d > 8.0, "only {d:.2} grey levels apart");
    // Many pixels change, not just a corner marker.
    let changed = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .filter(|(x, y)| x.abs_diff(**y) > 20)
        .count();
    assert!(
        changed > a.as_raw().len() / 5,
        "{changed} pixels changed by > 20"
    );
}

#[test]
fn under_the_same_nuisance_an_older_hand_has_more_bone() {
    let young = Subject {
        boneage: 24.0,
        male: false,
    };
    let old = Subject {
        boneage: 180.0,
        male: false,
    };
    for index in 0..4 {
        let (y, o) = (image(7, index, &young, 128), image(7, index, &old, 128));
        assert!(
            bone_area(&o) > bone_area(&y) * 1.3,
            "row {index}: {} vs {}",
            bone_area(&o),
            bone_area(&y)
        );
    }
}
