//! Writes a few phantoms side by side for looking at them:
//! `cargo run --release -p nona_phantom --example phantom_gallery -- OUT.png [SIZE] [SEED]`.
//! Top row: ages 6, 30, 72, 120, 156, 200 months without nuisance; bottom row: the same ages
//! with the nuisance of rows 0..6.

use image::GrayImage;
use nona_phantom::{Nuisance, Subject, image, render};
use rand::SeedableRng;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = args.get(1).map_or("gallery.png", String::as_str);
    let size: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(256);
    let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(0);
    let ages = [6.0, 30.0, 72.0, 120.0, 156.0, 200.0];
    let mut sheet = GrayImage::new(size * ages.len() as u32, size * 2);
    for (k, &boneage) in ages.iter().enumerate() {
        let subject = Subject {
            boneage,
            male: k % 2 == 0,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let clean = render(&subject, &Nuisance::none(), size, &mut rng);
        let noisy = image(seed, k, &subject, size);
        image::imageops::replace(&mut sheet, &clean, (k as u32 * size).into(), 0);
        image::imageops::replace(&mut sheet, &noisy, (k as u32 * size).into(), size.into());
    }
    sheet.save(out).expect("write the gallery");
}
