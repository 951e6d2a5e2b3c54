//! Decoding, transforms and full chains compared with the references written by
//! `tests/fixtures/image/make_image_fixtures.py` (Pillow 13.0.0, numpy 2.4.6).

mod common;

use common::{input, pixel_diff, pixel_diffs, report, tensor_diff};
use nona_image::{
    Channels, ImageError, Normalize, Preprocessor, Resize, Samples, Transform, decode_bytes,
    decode_file,
};

/// Largest JPEG difference from PIL (libjpeg-turbo 3.2.0) accepted, in 8-bit units. The image
/// crate decodes with zune-jpeg, whose IDCT and chroma upsampling round differently; measured
/// on these fixtures: max 3 for 4:2:0 colour, see `jpeg_decodes_within_tolerance_of_libjpeg`.
const JPEG_TOLERANCE: u32 = 3;

fn channel_suffix(channels: Channels) -> &'static str {
    match channels {
        Channels::Rgb => "rgb",
        Channels::Gray => "gray",
    }
}

fn decode_case(file: &str, channels: Channels) -> u32 {
    let pixels = decode_file(&input(file), channels).unwrap();
    let reference = format!(
        "decode_{}_{}",
        file.replace('.', "_"),
        channel_suffix(channels)
    );
    let diff = pixel_diff(&pixels, &reference);
    report(&reference, diff);
    diff
}

#[test]
fn lossless_8bit_formats_decode_like_pil_convert() {
    let files = [
        "gray8.png",
        "gray_alpha8.png",
        "rgb8.png",
        "rgba8.png",
        "palette8.png",
        "bilevel1.png",
        "rgb8.bmp",
        "gray8.bmp",
        "rgb8.tiff",
    ];
    for file in files {
        for channels in [Channels::Rgb, Channels::Gray] {
            assert_eq!(decode_case(file, channels), 0, "{file} {channels:?}");
        }
    }
}

#[test]
fn sixteen_bit_formats_keep_full_precision() {
    for file in [
        "gray16.png",
        "gray_alpha16.png",
        "rgb16.png",
        "rgba16.png",
        "gray16.tiff",
    ] {
        for channels in [Channels::Rgb, Channels::Gray] {
            let pixels = decode_file(&input(file), channels).unwrap();
            assert!(
                matches!(pixels.samples(), Samples::U16(_)),
                "{file}: not 16-bit"
            );
            assert_eq!(decode_case(file, channels), 0, "{file} {channels:?}");
        }
    }
}

#[test]
fn jpeg_decodes_within_tolerance_of_libjpeg() {
    for file in ["rgb8.jpg", "gray8.jpg"] {
        for channels in [Channels::Rgb, Channels::Gray] {
            let pixels = decode_file(&input(file), channels).unwrap();
            let reference = format!(
                "decode_{}_{}",
                file.replace('.', "_"),
                channel_suffix(channels)
            );
            let diffs = pixel_diffs(&pixels, &reference);
            let max = diffs.iter().copied().max().unwrap_or(0);
            let exact = diffs.iter().filter(|&&d| d == 0).count() as f64 / diffs.len() as f64;
            let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
            report(
                &reference,
                format!("{max} (exact {:.1}%, mean {mean:.3})", exact * 100.0),
            );
            assert!(max <= JPEG_TOLERANCE, "{file} {channels:?}: {max}");
        }
    }
}

#[test]
fn format_comes_from_content_not_extension() {
    let bytes = std::fs::read(input("rgb8.png")).unwrap();
    let from_file = decode_file(&input("rgb8.png"), Channels::Rgb).unwrap();
    for label in ["photo.jpg", "no_extension", "x.xyz"] {
        let from_bytes = decode_bytes(&bytes, label.as_ref(), Channels::Rgb).unwrap();
        assert_eq!(from_bytes, from_file, "{label}");
    }
}

fn resize_case(file: &str, resize: Resize, reference: &str) -> u32 {
    let pixels = decode_file(&input(file), Channels::Rgb).unwrap();
    let pixels = if file.starts_with("xray") {
        decode_file(&input(file), Channels::Gray).unwrap()
    } else {
        pixels
    };
    let (height, width) = resize.output_size(pixels.height(), pixels.width());
    let diff = pixel_diff(&pixels.resize(height, width), reference);
    report(reference, diff);
    diff
}

#[test]
fn resize_8bit_matches_pil_bilinear_exactly() {
    let exact = |height, width| Resize::Exact { height, width };
    let cases = [
        ("cat.png", exact(100, 150), "resize_cat_100x150"),
        ("cat.png", exact(37, 53), "resize_cat_37x53"),
        ("cat.png", exact(60, 400), "resize_cat_60x400"),
        ("cat.png", Resize::ShorterSide(128), "resize_cat_short128"),
        ("rgb8.png", exact(97, 131), "resize_small_97x131"),
        ("rgb8.png", exact(30, 90), "resize_small_30x90"),
        ("rgb8.png", exact(47, 65), "resize_small_47x65"),
        (
            "rgb8.png",
            Resize::ShorterSide(100),
            "resize_small_short100",
        ),
    ];
    for (file, resize, reference) in cases {
        assert_eq!(resize_case(file, resize, reference), 0, "{reference}");
    }
}

#[test]
fn resize_8bit_gray_portrait_shorter_side() {
    let pixels = decode_file(&input("xray8.png"), Channels::Gray).unwrap();
    let Samples::U8(samples) = pixels.samples() else {
        panic!("xray8.png is 8-bit")
    };
    let (height, width) = (pixels.height(), pixels.width());
    let transposed: Vec<u8> = (0..width)
        .flat_map(|x| (0..height).map(move |y| samples[y * width + x]))
        .collect();
    let portrait = nona_image::Pixels::new(1, width, height, Samples::U8(transposed));
    let (h, w) = Resize::ShorterSide(96).output_size(portrait.height(), portrait.width());
    assert_eq!((h, w), (120, 96));
    let diff = pixel_diff(&portrait.resize(h, w), "resize_xray8_t_short96");
    report("resize_xray8_t_short96", diff);
    assert_eq!(diff, 0);
}

#[test]
fn resize_16bit_matches_pil_i16_exactly() {
    let cases = [
        (
            "xray16.png",
            Resize::ShorterSide(100),
            "resize_xray16_short100",
        ),
        (
            "xray16.png",
            Resize::Exact {
                height: 300,
                width: 97,
            },
            "resize_xray16_300x97",
        ),
        (
            "xray16.png",
            Resize::Exact {
                height: 40,
                width: 300,
            },
            "resize_xray16_40x300",
        ),
        (
            "rgb16.png",
            Resize::Exact {
                height: 70,
                width: 90,
            },
            "resize_rgb16_70x90",
        ),
        (
            "rgb16.png",
            Resize::Exact {
                height: 20,
                width: 30,
            },
            "resize_rgb16_20x30",
        ),
    ];
    for (file, resize, reference) in cases {
        assert_eq!(resize_case(file, resize, reference), 0, "{reference}");
    }
}

#[test]
fn shorter_side_follows_torchvision_rounding() {
    let short = Resize::ShorterSide(224);
    assert_eq!(short.output_size(480, 640), (224, 298)); // 298.67 truncates
    assert_eq!(short.output_size(640, 480), (298, 224));
    assert_eq!(short.output_size(100, 100), (224, 224));
    assert_eq!(Resize::ShorterSide(128).output_size(180, 240), (128, 170));
    assert_eq!(Resize::ShorterSide(256).output_size(1, 1000), (256, 256000));
}

#[test]
fn center_crop_matches_torchvision() {
    let pixels = decode_file(&input("rgb8.png"), Channels::Rgb).unwrap();
    for (height, width) in [(32, 32), (45, 59), (43, 57), (60, 50), (53, 75), (48, 64)] {
        let reference = format!("crop_small_{height}x{width}");
        assert_eq!(
            pixel_diff(&pixels.center_crop(height, width), &reference),
            0,
            "{reference}"
        );
    }
}

fn run_chain(
    channels: Channels,
    transforms: Vec<Transform>,
    file: &str,
    reference: &str,
    repeat: usize,
) -> f32 {
    let preprocessor = Preprocessor::new(channels, transforms).unwrap();
    let tensor = preprocessor.process_path(&input(file)).unwrap();
    let diff = tensor_diff(
        &tensor.data,
        (tensor.channels, tensor.height, tensor.width),
        reference,
        repeat,
    );
    report(reference, diff);
    diff
}

fn rsna() -> Vec<Transform> {
    vec![
        Transform::Resize(Resize::Exact {
            height: 224,
            width: 224,
        }),
        Transform::Normalize(Normalize::half()),
    ]
}

fn houses() -> Vec<Transform> {
    vec![
        Transform::Resize(Resize::ShorterSide(128)),
        Transform::CenterCrop {
            height: 112,
            width: 112,
        },
        Transform::Normalize(Normalize::imagenet()),
    ]
}

#[test]
fn rsna_chain_is_bit_exact_for_8_and_16_bit_xrays() {
    // Gray X-rays replicated to RGB: each of the 3 channels must equal the 1-channel reference.
    assert_eq!(
        run_chain(Channels::Rgb, rsna(), "xray8.png", "chain_rsna_xray8", 3),
        0.0
    );
    assert_eq!(
        run_chain(Channels::Rgb, rsna(), "xray16.png", "chain_rsna_xray16", 3),
        0.0
    );
    assert_eq!(
        run_chain(Channels::Gray, rsna(), "xray8.png", "chain_rsna_xray8", 1),
        0.0
    );
}

#[test]
fn houses_chain_is_bit_exact_on_png() {
    assert_eq!(
        run_chain(
            Channels::Rgb,
            houses(),
            "coffee.png",
            "chain_houses_coffee_png",
            1
        ),
        0.0
    );
}

#[test]
fn houses_chain_on_jpeg_within_decoder_tolerance() {
    // JPEG_TOLERANCE 8-bit steps, scaled by 1/255 and the smallest ImageNet std.
    let bound = JPEG_TOLERANCE as f32 / 255.0 / 0.224 + 1e-6;
    assert!(
        run_chain(
            Channels::Rgb,
            houses(),
            "coffee.jpg",
            "chain_houses_coffee_jpg",
            1
        ) <= bound
    );
}

#[test]
fn gray_chain_with_custom_normalize_is_bit_exact() {
    let transforms = vec![
        Transform::Resize(Resize::Exact {
            height: 90,
            width: 120,
        }),
        Transform::CenterCrop {
            height: 64,
            width: 64,
        },
        Transform::Normalize(Normalize {
            mean: vec![0.5],
            std: vec![0.25],
        }),
    ];
    assert_eq!(
        run_chain(Channels::Gray, transforms, "cat.png", "chain_gray_cat", 1),
        0.0
    );
}

#[test]
fn without_normalize_the_output_is_to_tensor() {
    let preprocessor = Preprocessor::new(Channels::Gray, vec![]).unwrap();
    let tensor = preprocessor.process_path(&input("gray16.png")).unwrap();
    let pixels = decode_file(&input("gray16.png"), Channels::Gray).unwrap();
    let Samples::U16(samples) = pixels.samples() else {
        panic!("gray16.png is 16-bit")
    };
    let expected: Vec<f32> = samples.iter().map(|&v| f32::from(v) / 65535.0).collect();
    assert_eq!(tensor.data, expected);
    assert!(tensor.data.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn parallel_paths_keep_input_order_and_per_item_errors() {
    let preprocessor = Preprocessor::new(Channels::Rgb, houses()).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let paths = [
        input("coffee.png"),
        input("missing.png"),
        input("cat.png"),
        input("rgb8.jpg"),
        input("coffee.png"),
    ];
    let results = preprocessor.process_paths(&paths, &pool);
    assert_eq!(results.len(), paths.len());
    for (path, result) in paths.iter().zip(&results) {
        match result {
            Ok(tensor) => assert_eq!(
                *tensor,
                preprocessor.process_path(path).unwrap(),
                "{}",
                path.display()
            ),
            Err(error) => {
                assert!(matches!(error, ImageError::NotFound { .. }));
                assert_eq!(error.path(), path);
            }
        }
    }
    assert!(results[1].is_err());
    assert_eq!(results[0].as_ref().unwrap(), results[4].as_ref().unwrap());
}

#[test]
fn preprocessor_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Preprocessor>();
    assert_send_sync::<ImageError>();
}
