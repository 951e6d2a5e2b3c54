//! The files look exactly like the RSNA training set's, plus GENERATED.txt.

mod common;

use std::collections::BTreeSet;

use common::{png_path, read_gray, read_manifest, small};
use nona_phantom::{FIRST_ID, IMAGE_DIR, PhantomConfig, PhantomError, README_FILE, generate};

#[test]
fn csv_pngs_and_note_follow_the_rsna_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("phantom");
    let config = small(12, 3);
    let summary = generate(&out, &config, |_| {}).expect("generate");
    assert_eq!(summary.count, 12);
    assert_eq!(summary.images_written, 12);
    assert!(summary.manifest_written && summary.regenerated);

    let rows = read_manifest(&out);
    assert_eq!(rows.len(), 12);
    let ids: Vec<u64> = rows.iter().map(|r| r.id).collect();
    assert_eq!(ids, (FIRST_ID..FIRST_ID + 12).collect::<Vec<_>>());
    assert!(rows.iter().all(|r| (1..=228).contains(&r.boneage)));

    // Exactly one 8-bit grayscale 128 x 128 PNG per row, named by its id.
    let files: BTreeSet<String> = std::fs::read_dir(out.join(IMAGE_DIR))
        .expect("image dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = ids.iter().map(|id| format!("{id}.png")).collect();
    assert_eq!(files, expected);
    for id in &ids {
        let image = read_gray(&png_path(&out, *id));
        assert_eq!(image.dimensions(), (128, 128));
    }

    let note = std::fs::read_to_string(out.join(README_FILE)).expect("GENERATED.txt");
    assert!(note.starts_with("SYNTHETIC DATA"), "{note}");
    assert!(note.contains("count = 12, size = 128, seed = 3"), "{note}");
    assert!(note.contains(&format!("stamp: {}", nona_phantom::stamp(&config))));
}

#[test]
fn progress_counts_every_written_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = std::sync::Mutex::new(Vec::new());
    generate(dir.path(), &small(5, 0), |n| {
        calls.lock().expect("lock").push(n)
    })
    .expect("generate");
    let mut calls = calls.into_inner().expect("lock");
    calls.sort_unstable();
    assert_eq!(calls, vec![1, 2, 3, 4, 5]);
}

#[test]
fn a_directory_with_foreign_data_is_never_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let real_csv = "id,boneage,male\n1377,180,False\n";
    std::fs::write(dir.path().join("boneage-training-dataset.csv"), real_csv).expect("write");
    let err = generate(dir.path(), &small(3, 0), |_| {}).expect_err("must refuse");
    assert!(matches!(err, PhantomError::NotAPhantom { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("boneage-training-dataset.csv")).expect("read"),
        real_csv
    );

    // The same for an image folder without a manifest.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join(IMAGE_DIR)).expect("mkdir");
    std::fs::write(dir.path().join(IMAGE_DIR).join("1377.png"), b"real").expect("write");
    let err = generate(dir.path(), &small(3, 0), |_| {}).expect_err("must refuse");
    assert!(matches!(err, PhantomError::NotAPhantom { .. }), "{err}");
}

#[test]
fn config_defaults_validation_and_unknown_keys() {
    let config: PhantomConfig = toml::from_str("count = 5").expect("parse");
    assert_eq!(
        config,
        PhantomConfig {
            count: 5,
            size: 256,
            seed: 0
        }
    );
    assert_eq!(
        toml::from_str::<PhantomConfig>("").expect("parse"),
        PhantomConfig::default()
    );
    assert_eq!(PhantomConfig::default().count, 800);
    assert!(toml::from_str::<PhantomConfig>("cout = 5").is_err());

    let dir = tempfile::tempdir().expect("tempdir");
    for bad in [
        small(0, 0),
        PhantomConfig {
            size: 8,
            ..small(1, 0)
        },
    ] {
        let err = generate(dir.path(), &bad, |_| {}).expect_err("invalid");
        assert!(matches!(err, PhantomError::InvalidConfig(_)), "{err}");
    }
    // Nothing is written for an invalid config.
    assert_eq!(std::fs::read_dir(dir.path()).expect("read").count(), 0);
}
