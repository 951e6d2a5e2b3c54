//! Property-based: random bytes and mutated valid files (byte flips, cuts, insertions,
//! deletions) never panic and give an error that names the file; valid files decoded next to
//! damaged ones come out exactly as when decoded alone ("never lose a good row").
//!
//! The normal run uses few cases; `PROPTEST_CASES=20000 cargo nextest run -p nona_image hostile`
//! runs a long one.

mod common;

use std::path::{Path, PathBuf};

use common::generated::valid_files;
use nona_image::{Channels, Normalize, Preprocessor, Resize, Transform, decode_bytes};
use nona_testkit::{cases, mutate, mutation};
use proptest::prelude::*;

/// Magic bytes that lead random data into each decoder.
const MAGIC: [&[u8]; 6] = [
    b"",
    b"\x89PNG\r\n\x1a\n",
    b"\xFF\xD8\xFF",
    b"BM",
    b"II*\0",
    b"MM\0*",
];

const NAMES: [&str; 5] = ["x.png", "x.jpg", "x.bmp", "x.tiff", "x.bin"];

/// Decodes `bytes` as `name`; an error must name it.
fn decode_names_file(bytes: &[u8], name: &str) -> Result<(), TestCaseError> {
    if let Err(error) = decode_bytes(bytes, Path::new(name), Channels::Rgb) {
        prop_assert_eq!(error.path(), Path::new(name));
        prop_assert!(error.to_string().contains(name), "{}", error);
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn random_bytes_never_panic(
        magic in 0..MAGIC.len(),
        tail in prop::collection::vec(any::<u8>(), 0..2048),
        name in 0..NAMES.len(),
    ) {
        let bytes = [MAGIC[magic], tail.as_slice()].concat();
        decode_names_file(&bytes, NAMES[name])?;
    }

    #[test]
    fn mutated_valid_files_never_panic(
        file in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let files = valid_files();
        let (name, bytes) = &files[file.index(files.len())];
        decode_names_file(&mutate(bytes.clone(), &mutations), name)?;
    }

    #[test]
    fn every_cut_of_a_valid_file_is_an_error(
        file in any::<prop::sample::Index>(),
        keep in any::<prop::sample::Index>(),
    ) {
        let files = valid_files();
        let (name, bytes) = &files[file.index(files.len())];
        let keep = keep.index(bytes.len());
        let result = decode_bytes(&bytes[..keep], Path::new(name), Channels::Rgb);
        prop_assert!(result.is_err(), "{} cut to {} of {} bytes decoded", name, keep, bytes.len());
    }
}

proptest! {
    #![proptest_config(cases(16))]

    #[test]
    fn good_files_decode_the_same_next_to_damaged_ones(
        mutations in prop::collection::vec(prop::collection::vec(mutation(), 1..3), 10),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let preprocessor = Preprocessor::new(
            Channels::Rgb,
            vec![
                Transform::Resize(Resize::Exact { height: 16, width: 16 }),
                Transform::Normalize(Normalize::imagenet()),
            ],
        )
        .unwrap();
        let mut paths: Vec<PathBuf> = Vec::new();
        let mut good = Vec::new();
        for ((name, bytes), edits) in valid_files().into_iter().zip(&mutations) {
            let good_path = dir.path().join(format!("good_{name}"));
            std::fs::write(&good_path, &bytes).unwrap();
            good.push((paths.len(), preprocessor.process_path(&good_path).unwrap()));
            paths.push(good_path);
            let bad_path = dir.path().join(format!("mutated_{name}"));
            std::fs::write(&bad_path, mutate(bytes, edits)).unwrap();
            paths.push(bad_path);
        }
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let results = preprocessor.process_paths(&paths, &pool);
        prop_assert_eq!(results.len(), paths.len());
        for (index, alone) in good {
            prop_assert_eq!(results[index].as_ref().ok(), Some(&alone), "{}", paths[index].display());
        }
        for (path, result) in paths.iter().zip(&results) {
            if let Err(error) = result {
                prop_assert_eq!(error.path(), path.as_path());
            }
        }
    }
}
