//! Small valid images made in the test, in every format and layout nona decodes.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbImage};

/// A 40x48 image with smooth and busy regions, in RGB or gray.
pub fn picture(gray: bool) -> DynamicImage {
    let rgb = RgbImage::from_fn(40, 48, |x, y| {
        image::Rgb([(x * 6) as u8, (y * 5) as u8, ((x * y) % 256) as u8])
    });
    if gray {
        DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(rgb).to_luma8())
    } else {
        DynamicImage::ImageRgb8(rgb)
    }
}

pub fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

pub fn progressive_jpeg(image: &DynamicImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, 90);
    encoder.set_progressive(true);
    let (width, height) = (image.width() as u16, image.height() as u16);
    match image {
        DynamicImage::ImageLuma8(gray) => encoder
            .encode(gray.as_raw(), width, height, jpeg_encoder::ColorType::Luma)
            .unwrap(),
        other => encoder
            .encode(
                other.to_rgb8().as_raw(),
                width,
                height,
                jpeg_encoder::ColorType::Rgb,
            )
            .unwrap(),
    }
    bytes
}

/// `(file name, bytes)` of valid files: gray and RGB, JPEG baseline and progressive, PNG, TIFF,
/// BMP.
pub fn valid_files() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for (layout, gray) in [("rgb", false), ("gray", true)] {
        let image = picture(gray);
        files.push((
            format!("{layout}_baseline.jpg"),
            encode(&image, ImageFormat::Jpeg),
        ));
        files.push((
            format!("{layout}_progressive.jpg"),
            progressive_jpeg(&image),
        ));
        for (extension, format) in [
            ("png", ImageFormat::Png),
            ("tiff", ImageFormat::Tiff),
            ("bmp", ImageFormat::Bmp),
        ] {
            files.push((format!("{layout}.{extension}"), encode(&image, format)));
        }
    }
    files
}
