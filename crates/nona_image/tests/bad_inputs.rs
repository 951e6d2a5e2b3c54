//! Bad inputs produce typed errors naming the file, never panics.

mod common;

use std::path::Path;

use common::input;
use nona_image::{Channels, ConfigError, ImageError, Normalize, Preprocessor, Resize, Transform};

fn preprocessor() -> Preprocessor {
    Preprocessor::new(
        Channels::Rgb,
        vec![Transform::Resize(Resize::ShorterSide(32))],
    )
    .unwrap()
}

/// Writes `bytes` to `name` in a fresh directory and processes it.
fn process_written(name: &str, bytes: &[u8]) -> (tempfile::TempDir, ImageError) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let error = preprocessor().process_path(&path).unwrap_err();
    assert_eq!(error.path(), path, "error must name the file");
    assert!(
        error.to_string().contains(name),
        "message must name the file: {error}"
    );
    (dir, error)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(input(name)).unwrap()
}

#[test]
fn missing_file_is_not_found() {
    let path = input("does_not_exist.png");
    let error = preprocessor().process_path(&path).unwrap_err();
    assert!(matches!(error, ImageError::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains("does_not_exist.png"));
}

#[test]
fn directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = preprocessor().process_path(dir.path()).unwrap_err();
    assert!(matches!(error, ImageError::Io { .. }), "{error:?}");
}

#[test]
fn empty_file_is_reported_as_empty() {
    let (_dir, error) = process_written("empty.png", b"");
    assert!(matches!(error, ImageError::EmptyFile { .. }), "{error:?}");
}

#[test]
fn truncated_png_is_truncated() {
    let bytes = fixture_bytes("rgb8.png");
    for keep in [bytes.len() / 2, 40, 8] {
        let (_dir, error) = process_written("cut.png", &bytes[..keep]);
        assert!(
            matches!(error, ImageError::Truncated { .. }),
            "kept {keep} bytes: {error:?}"
        );
    }
}

#[test]
fn truncated_lossless_files_never_decode() {
    for file in [
        "rgb8.png",
        "gray16.png",
        "rgb8.bmp",
        "rgb8.tiff",
        "gray16.tiff",
    ] {
        let bytes = fixture_bytes(file);
        for keep in [1, 7, 30, bytes.len() / 3, bytes.len() * 2 / 3] {
            let result = preprocessor().process_bytes(&bytes[..keep], Path::new(file));
            let Err(error) = result else {
                panic!("{file} cut to {keep} bytes decoded")
            };
            assert!(
                matches!(
                    error,
                    ImageError::Truncated { .. } | ImageError::Corrupt { .. }
                ),
                "{file} cut to {keep}: {error:?}"
            );
        }
    }
}

#[test]
fn truncated_jpeg_is_an_error() {
    // zune-jpeg (like libjpeg) fills a cut-off scan with grey; PIL refuses such files and so do we.
    let bytes = fixture_bytes("coffee.jpg");
    for keep in [2, 20, 300, bytes.len() / 2, bytes.len() - 2] {
        let result = preprocessor().process_bytes(&bytes[..keep], Path::new("coffee.jpg"));
        let Err(error) = result else {
            panic!("coffee.jpg cut to {keep} bytes decoded")
        };
        assert!(
            matches!(
                error,
                ImageError::Truncated { .. } | ImageError::Corrupt { .. }
            ),
            "cut to {keep}: {error:?}"
        );
    }
}

#[test]
fn random_bytes_named_png_are_corrupt() {
    let mut state = 0x2545_f491_u32;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    let (_dir, error) = process_written("noise.png", &noise);
    assert!(matches!(error, ImageError::Corrupt { .. }), "{error:?}");
}

#[test]
fn unknown_extension_with_unknown_content_is_unsupported() {
    let (_dir, error) = process_written("notes.xyz", b"just some text, not an image");
    assert!(
        matches!(error, ImageError::UnsupportedFormat { .. }),
        "{error:?}"
    );
}

#[test]
fn known_but_disabled_format_is_unsupported() {
    let (_dir, error) = process_written("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
    assert!(
        matches!(error, ImageError::UnsupportedFormat { .. }),
        "{error:?}"
    );
}

#[test]
fn zero_width_headers_are_rejected() {
    // Decoders reject zero dimensions in the header themselves (BMP reports it as unsupported
    // dimensions, PNG as a corrupt IHDR); `ZeroSize` guards against any that let one through.
    let zero_size_error = |error: &ImageError| {
        matches!(
            error,
            ImageError::ZeroSize { .. }
                | ImageError::Corrupt { .. }
                | ImageError::UnsupportedFormat { .. }
        )
    };
    let mut png = fixture_bytes("rgb8.png");
    png[16..20].copy_from_slice(&0u32.to_be_bytes()); // IHDR width
    let (_dir, error) = process_written("zero.png", &png);
    assert!(zero_size_error(&error), "{error:?}");

    // A 24-bit BMP header declaring 0 x 4 pixels.
    let mut bmp = Vec::new();
    bmp.extend_from_slice(b"BM");
    bmp.extend_from_slice(&54u32.to_le_bytes()); // file size
    bmp.extend_from_slice(&0u32.to_le_bytes()); // reserved
    bmp.extend_from_slice(&54u32.to_le_bytes()); // pixel data offset
    bmp.extend_from_slice(&40u32.to_le_bytes()); // info header size
    bmp.extend_from_slice(&0i32.to_le_bytes()); // width
    bmp.extend_from_slice(&4i32.to_le_bytes()); // height
    bmp.extend_from_slice(&1u16.to_le_bytes()); // planes
    bmp.extend_from_slice(&24u16.to_le_bytes()); // bits per pixel
    bmp.extend_from_slice(&[0; 24]); // compression, sizes, resolution, palette counts
    let (_dir, error) = process_written("zero.bmp", &bmp);
    assert!(zero_size_error(&error), "{error:?}");
}

#[test]
fn invalid_transform_lists_are_rejected() {
    let resize = Transform::Resize(Resize::Exact {
        height: 8,
        width: 8,
    });
    let cases = [
        (
            Channels::Rgb,
            vec![Transform::Resize(Resize::ShorterSide(0))],
        ),
        (
            Channels::Rgb,
            vec![Transform::CenterCrop {
                height: 4,
                width: 0,
            }],
        ),
        (
            Channels::Rgb,
            vec![Transform::Normalize(Normalize::half()), resize.clone()],
        ),
        (
            Channels::Gray,
            vec![Transform::Normalize(Normalize::imagenet())],
        ),
        (
            Channels::Rgb,
            vec![Transform::Normalize(Normalize {
                mean: vec![0.5, 0.5],
                std: vec![0.5, 0.5],
            })],
        ),
        (
            Channels::Rgb,
            vec![Transform::Normalize(Normalize {
                mean: vec![0.5],
                std: vec![0.0],
            })],
        ),
        (
            Channels::Rgb,
            vec![Transform::Normalize(Normalize {
                mean: vec![f32::NAN],
                std: vec![1.0],
            })],
        ),
    ];
    for (channels, transforms) in cases {
        let result = Preprocessor::new(channels, transforms.clone());
        assert!(result.is_err(), "{transforms:?} accepted");
    }
    let error = Preprocessor::new(
        Channels::Rgb,
        vec![Transform::Normalize(Normalize::half()), resize],
    )
    .unwrap_err();
    assert_eq!(
        error,
        ConfigError::GeometryAfterNormalize {
            index: 1,
            transform: "Resize"
        }
    );
}

#[test]
fn extreme_aspect_ratio_is_too_large_instead_of_aborting() {
    // 4000x1 under ShorterSide(224) would need 224 x 896000 x 3 samples.
    let strip = image::GrayImage::from_pixel(4000, 1, image::Luma([7]));
    let mut png = std::io::Cursor::new(Vec::new());
    strip.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let pre = Preprocessor::new(
        Channels::Rgb,
        vec![Transform::Resize(Resize::ShorterSide(224))],
    )
    .unwrap();
    let error = pre
        .process_bytes(png.get_ref(), Path::new("strip.png"))
        .unwrap_err();
    assert!(matches!(error, ImageError::TooLarge { .. }), "{error:?}");
}
