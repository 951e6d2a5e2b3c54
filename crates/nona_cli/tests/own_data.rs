//! README's "Your own data" examples (an image folder, a CSV of texts, a folder of audio clips),
//! copied out of README.md as written, validated against the shipped bases in `pipelines/base/`
//! and run end to end on small generated datasets with the real weights that `make weights`
//! fetches. A test whose weights are absent says SKIPPED and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{
    error_rows, nona, read_embeddings, real_weights, repo_weights_dir, sine, stderr, stdout,
    table_metadata, write_wav,
};

/// README's "Your own data" examples as written: (the path its first line `# <path>` names, the
/// file's text), in README order.
fn readme_examples() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(Path::new(common::REPO_ROOT).join("README.md")).unwrap();
    let section = readme
        .split_once("\n### Your own data\n")
        .expect("README has a \"Your own data\" section")
        .1;
    let section = section.split_once("\n### ").map_or(section, |(s, _)| s);
    section
        .split("```toml\n")
        .skip(1)
        .filter_map(|block| block.split_once("```").map(|(toml, _)| toml))
        .map(|toml| {
            let name = toml.lines().next().and_then(|l| l.strip_prefix("# "));
            let name = name.expect("an example opens with `# pipelines/<name>.toml`");
            (name.to_owned(), toml.to_owned())
        })
        .collect()
}

/// The README example that names `name` (e.g. `pipelines/reviews.toml`).
fn readme_example(name: &str) -> String {
    let mut found = readme_examples().into_iter().filter(|(n, _)| n == name);
    let (_, example) = found
        .next()
        .unwrap_or_else(|| panic!("README's \"Your own data\" has no block `# {name}`"));
    assert!(found.next().is_none(), "README has two blocks `# {name}`");
    example
}

/// A scratch project in `dir`: copies of the shipped `pipelines/base/*.toml`, and the README's
/// example `name` at the path it names (relative to `dir`).
fn project_with_example(dir: &Path, name: &str) {
    let base = dir.join("pipelines/base");
    std::fs::create_dir_all(&base).unwrap();
    for entry in std::fs::read_dir(Path::new(common::REPO_ROOT).join("pipelines/base")).unwrap() {
        let file = entry.unwrap().path();
        std::fs::copy(&file, base.join(file.file_name().unwrap())).unwrap();
    }
    std::fs::write(dir.join(name), readme_example(name)).unwrap();
}

/// Every example, written as README writes it beside copies of the shipped bases and over a
/// manifest with its columns, passes `nona validate` with every stage of the bases; no weights
/// needed.
#[test]
fn every_readme_example_validates_against_the_shipped_bases() {
    let examples = readme_examples();
    let names: Vec<&str> = examples.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "pipelines/photos.toml",
            "pipelines/reviews.toml",
            "pipelines/calls.toml"
        ]
    );
    let tmp = tempfile::tempdir().unwrap();
    for (manifest, header) in [
        ("data/photos/labels.csv", "file,price,street"),
        ("data/reviews/reviews.csv", "review_id,body,stars,shop"),
        ("data/calls/calls.csv", "clip,temperature,site"),
    ] {
        let path = tmp.path().join(manifest);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, format!("{header}\n")).unwrap();
    }
    for name in names {
        project_with_example(tmp.path(), name);
        let out = nona()
            .current_dir(tmp.path())
            .args(["validate", name])
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("stages: preprocess → embed → train → knn → geometry → report"),
            "{name}: {}",
            stdout(&out)
        );
    }
}

/// `nona run FILE` in `dir` with the repository's weights and `overrides` (`--set` values that
/// keep the test small); asserts it succeeds.
fn run_small(dir: &Path, file: &str, overrides: &[&str]) -> Output {
    let mut command = nona();
    command
        .current_dir(dir)
        .env("NONA_WEIGHTS_DIR", repo_weights_dir())
        .args(["run", file]);
    for value in overrides {
        command.args(["--set", value]);
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

/// The report of run `name` in `dir`: real data (no warning banner) embedded by `backbone`, its
/// neighbour evidence showing samples as `shown` says.
fn assert_plain_report(dir: &Path, name: &str, backbone: &str, shown: &str) {
    let report =
        std::fs::read_to_string(dir.join(format!("runs/{name}/report/report.md"))).unwrap();
    assert!(
        !report.contains("Warning"),
        "real data, real weights: {report}"
    );
    assert!(report.contains(backbone), "{report}");
    assert!(report.contains("| Dataset | Dense | Dense + k-NN | NONA | NONA + k-NN | k-NN |"));
    let evidence = &report[report.find("## Neighbour evidence").expect("the evidence")..];
    assert!(evidence.contains(shown), "{evidence}");
}

/// Few seeds and a narrow projector: the protocol of the bases, at test size.
const SMALL: [&str; 2] = ["train.grid.seeds=2", "train.grid.hidden=[32]"];

/// A scratch directory holding the empty folder `data`, or `None` (SKIPPED, naming `test`)
/// without the real `weights` file.
fn scratch(test: &str, weights: &str, data: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    real_weights(test, weights)?;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join(data);
    std::fs::create_dir_all(&data).unwrap();
    Some((tmp, data))
}

#[test]
fn the_readme_image_example_runs_on_a_folder_of_photos() {
    let Some((tmp, data)) = scratch(
        "the_readme_image_example_runs_on_a_folder_of_photos",
        "efficientnet-lite0-57934424.pth",
        "data/photos",
    ) else {
        return;
    };
    std::fs::create_dir(data.join("img")).unwrap();
    let mut csv = String::from("file,price,street\n");
    for i in 0..36u32 {
        let size = 40 + (i % 7) * 6;
        let image = image::RgbImage::from_fn(size, size + 10, |x, y| {
            let inside = (x as i64 - size as i64 / 2).pow(2) + (y as i64 - size as i64 / 2).pow(2)
                < ((i % 9) as i64 * 3 + 4).pow(2);
            if inside {
                image::Rgb([230, 200, 40])
            } else {
                image::Rgb([(x * 3) as u8, 40, (y * 2) as u8])
            }
        });
        image.save(data.join(format!("img/p{i}.jpg"))).unwrap();
        csv.push_str(&format!("p{i}.jpg,{},s{}\n", 100 + (i % 9) * 25, i % 12));
    }
    std::fs::write(data.join("labels.csv"), csv).unwrap();
    project_with_example(tmp.path(), "pipelines/photos.toml");

    let mut overrides = SMALL.to_vec();
    overrides.push("preprocess.image.transforms=[{ resize = [64, 64] }, { normalize = \"half\" }]");
    let out = run_small(tmp.path(), "pipelines/photos.toml", &overrides);
    assert!(stdout(&out).contains("| Photos |"), "{}", stdout(&out));
    assert_plain_report(tmp.path(), "photos", "efficientnet_lite0", ".jpg | ");
}

/// What a reviewer at each star rating says.
const OPINIONS: [&str; 5] = [
    "broke after one day, a complete waste of money",
    "pretty disappointing, not worth the price",
    "it's okay, does the job I guess",
    "really good, works well with minor issues",
    "absolutely love it, perfect in every way",
];
const ITEMS: [&str; 6] = [
    "kettle",
    "headphones",
    "desk lamp",
    "backpack",
    "umbrella",
    "café table",
];

#[test]
fn the_readme_text_example_runs_on_a_csv_of_reviews() {
    let Some((tmp, data)) = scratch(
        "the_readme_text_example_runs_on_a_csv_of_reviews",
        "all-MiniLM-L6-v2/model.safetensors",
        "data/reviews",
    ) else {
        return;
    };
    // Quoted texts with commas and a line break; one blank text, which becomes an errors row.
    let mut csv = String::from("review_id,body,stars,shop\n");
    let count = 40;
    for i in 0..count {
        let stars = i % 5;
        let body = match i {
            17 => "   ".to_owned(),
            _ if i % 7 == 3 => format!("The {}:\n{}!", ITEMS[i % 6], OPINIONS[stars]),
            _ => format!("the {}, {}", ITEMS[i % 6], OPINIONS[stars]),
        };
        csv.push_str(&format!("r{i},\"{body}\",{},shop{}\n", stars + 1, i % 10));
    }
    std::fs::write(data.join("reviews.csv"), csv).unwrap();
    project_with_example(tmp.path(), "pipelines/reviews.toml");

    let out = run_small(tmp.path(), "pipelines/reviews.toml", &SMALL);
    assert!(stdout(&out).contains("| Reviews |"), "{}", stdout(&out));

    let runs = tmp.path().join("runs/reviews");
    let errors = error_rows(&runs.join("preprocess/_errors"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "r17");
    let (ids, values, dim) = read_embeddings(&runs.join("embed"));
    assert_eq!((ids.len(), dim), (count - 1, 384));
    for row in values.chunks(dim) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "the base L2-normalises: {norm}");
    }
    let metadata = table_metadata(&runs.join("embed"));
    assert_eq!(metadata["nona.model_id"], "minilm_l6");
    assert_eq!(metadata["nona.pooling"], "mean");
    assert_eq!(metadata["nona.normalize"], "true");
    // Texts cut to 80 characters, line breaks flattened, in the evidence tables.
    assert_plain_report(tmp.path(), "reviews", "minilm_l6", "| the ");
}

/// A cricket's chirps: bursts of a 3 kHz tone at `rate` chirps per second, `seconds` long.
fn chirps(rate: f32, seconds: f32, sample_rate: u32) -> Vec<f32> {
    let tone = sine(3000.0, 0.4, seconds, sample_rate);
    tone.iter()
        .enumerate()
        .map(|(i, s)| {
            let phase = (i as f32 / sample_rate as f32 * rate).fract();
            if phase < 0.3 { *s } else { 0.01 * s }
        })
        .collect()
}

#[test]
fn the_readme_audio_example_runs_on_a_folder_of_clips() {
    let Some((tmp, data)) = scratch(
        "the_readme_audio_example_runs_on_a_folder_of_clips",
        "whisper-tiny.en-ct2.bin",
        "data/calls",
    ) else {
        return;
    };
    std::fs::create_dir(data.join("wav")).unwrap();
    // Dolbear's law: a cricket chirps faster when it is warmer. Clips of 3-7 s at several rates,
    // mono and stereo, at 11 sites (the split needs 10 groups); one silent clip, which the base's
    // `silence = "error"` makes an errors row.
    let mut csv = String::from("clip,temperature,site\n");
    let count = 12;
    for i in 0..count {
        let temperature = 12.0 + 2.0 * i as f32;
        let (sample_rate, channels) = [(16_000, 1), (22_050, 2), (44_100, 1)][i % 3];
        let seconds = 3.0 + (i % 5) as f32;
        let samples = match i {
            11 => vec![0.0; sample_rate as usize * 3],
            _ => chirps(temperature / 5.0, seconds, sample_rate),
        };
        write_wav(
            &data.join(format!("wav/c{i:02}.wav")),
            &samples,
            sample_rate,
            channels,
        );
        csv.push_str(&format!("c{i:02},{temperature},site{}\n", i % 11));
    }
    std::fs::write(data.join("calls.csv"), csv).unwrap();
    project_with_example(tmp.path(), "pipelines/calls.toml");

    // Whisper's encoder reads 30 s per clip however short the window, so the set is tiny; its
    // k-NN folds hold only a few training rows, hence k = 3.
    let mut overrides = SMALL.to_vec();
    overrides.push("knn.k=[3]");
    let out = run_small(tmp.path(), "pipelines/calls.toml", &overrides);
    assert!(stdout(&out).contains("| Calls |"), "{}", stdout(&out));

    let runs = tmp.path().join("runs/calls");
    let errors = error_rows(&runs.join("embed/_errors"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "c11");
    assert!(errors[0].2.contains("silence only"), "{errors:?}");
    let (ids, _, dim) = read_embeddings(&runs.join("embed"));
    assert_eq!((ids.len(), dim), (count - 1, 384));
    let metadata = table_metadata(&runs.join("embed"));
    assert_eq!(metadata["nona.model_id"], "whisper_tiny_en");
    assert_eq!(metadata["nona.pooling"], "mean");
    let preprocess: serde_json::Value = serde_json::from_str(&metadata["nona.preprocess"]).unwrap();
    assert_eq!(
        preprocess["window_samples"], 80_000,
        "the example's 5 s at 16 kHz: {preprocess}"
    );
    assert_eq!(
        preprocess["silence_threshold"], 1e-4,
        "the base's silence check: {preprocess}"
    );
    assert_plain_report(tmp.path(), "calls", "whisper_tiny_en", ".wav | ");
}
