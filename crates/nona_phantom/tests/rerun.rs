//! Re-running is a no-op when everything is in place; anything missing or stale is redone.

mod common;

use common::{mtimes, png_path, read_manifest, small, snapshot};
use nona_phantom::{FIRST_ID, IMAGE_DIR, MANIFEST_FILE, generate};

#[test]
fn rerun_with_the_same_config_touches_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = small(6, 0);
    generate(dir.path(), &config, |_| {}).expect("first");
    let before = mtimes(dir.path());
    let bytes = snapshot(dir.path());
    // Make a rewrite visible even on filesystems with coarse timestamps.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let summary =
        generate(dir.path(), &config, |_| panic!("no image may be written")).expect("second");
    assert!(summary.up_to_date(), "{summary:?}");
    assert_eq!(mtimes(dir.path()), before);
    assert_eq!(snapshot(dir.path()), bytes);
}

#[test]
fn a_changed_config_regenerates_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate(dir.path(), &small(8, 0), |_| {}).expect("first");
    let old = snapshot(dir.path());
    let summary = generate(dir.path(), &small(5, 0), |_| {}).expect("fewer, same seed");
    assert!(summary.regenerated);
    assert_eq!(summary.images_written, 5);
    // Images of rows that no longer exist are gone; the note names the new config.
    let new = snapshot(dir.path());
    assert_eq!(new.len(), 7);
    assert!(!png_path(dir.path(), FIRST_ID + 7).exists());
    assert_ne!(
        new[std::path::Path::new("GENERATED.txt")],
        old[std::path::Path::new("GENERATED.txt")]
    );
    assert_eq!(read_manifest(dir.path()).len(), 5);

    let summary = generate(dir.path(), &small(5, 1), |_| {}).expect("other seed");
    assert!(summary.regenerated && summary.images_written == 5);
    let reseeded = snapshot(dir.path());
    let rel = std::path::Path::new(IMAGE_DIR).join(format!("{FIRST_ID}.png"));
    assert_ne!(reseeded[&rel], new[&rel]);
}

#[test]
fn a_deleted_png_is_detected_and_rewritten_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = small(6, 0);
    generate(dir.path(), &config, |_| {}).expect("first");
    let complete = snapshot(dir.path());
    std::fs::remove_file(png_path(dir.path(), FIRST_ID + 2)).expect("delete");
    let summary = generate(dir.path(), &config, |_| {}).expect("repair");
    assert!(!summary.regenerated);
    assert_eq!(summary.images_written, 1);
    assert_eq!(snapshot(dir.path()), complete);
}

#[test]
fn a_missing_or_edited_csv_is_rewritten_without_redrawing_images() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = small(6, 0);
    generate(dir.path(), &config, |_| {}).expect("first");
    let complete = snapshot(dir.path());
    let manifest = dir.path().join(MANIFEST_FILE);

    std::fs::remove_file(&manifest).expect("delete");
    let summary = generate(dir.path(), &config, |_| {}).expect("repair");
    assert_eq!(
        (summary.images_written, summary.manifest_written),
        (0, true)
    );
    assert_eq!(snapshot(dir.path()), complete);

    std::fs::write(&manifest, "id,boneage,male\n1377,1,True\n").expect("edit");
    let summary = generate(dir.path(), &config, |_| {}).expect("repair");
    assert!(summary.manifest_written);
    assert_eq!(snapshot(dir.path()), complete);
}

#[test]
fn leftovers_of_an_interrupted_run_are_cleaned_and_completed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = small(6, 0);
    generate(dir.path(), &config, |_| {}).expect("first");
    let complete = snapshot(dir.path());
    // As if killed mid-way: CSV not yet written, two images missing, one half-written temp.
    std::fs::remove_file(dir.path().join(MANIFEST_FILE)).expect("csv");
    for k in [4, 5] {
        std::fs::remove_file(png_path(dir.path(), FIRST_ID + k)).expect("png");
    }
    let temp = dir.path().join(IMAGE_DIR).join(".1382.png.999.phantom-tmp");
    std::fs::write(&temp, b"\x89PNG partial").expect("temp");
    let summary = generate(dir.path(), &config, |_| {}).expect("resume");
    assert_eq!(summary.images_written, 2);
    assert!(!temp.exists());
    assert_eq!(snapshot(dir.path()), complete);
}
