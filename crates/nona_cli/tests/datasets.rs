//! The datasets of the paper: every shipped `pipelines/*.toml` validates (on the committed
//! fixtures in each dataset's own layout), each pipeline's preprocess reads its fixture into the
//! expected samples and errors, layout mistakes are config errors, and a miniature pipeline runs
//! end to end on a dataset in the `houses` layout with synthetic weights.
//!
//! Long because it is one table of cases, a section per dataset of the paper, over the same
//! committed fixtures; each section is short.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{REPO_ROOT, nona, stderr, stdout, table_rows};

fn repo() -> PathBuf {
    PathBuf::from(REPO_ROOT)
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/datasets").join(name)
}

/// The environment variable a pipeline's `[dataset] root` reads (`${VAR:-default}`).
fn root_variable(pipeline: &Path) -> Option<String> {
    let text = std::fs::read_to_string(pipeline).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    let root = table.get("dataset")?.get("root")?.as_str()?;
    let start = root.find("${")? + 2;
    let end = start + root[start..].find([':', '}'])?;
    Some(root[start..end].to_owned())
}

/// A directory holding `labels.csv` with just `header`, enough for `nona validate`.
fn header_only(dir: &Path, header: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("labels.csv"), format!("{header}\n")).unwrap();
    dir.to_path_buf()
}

#[test]
fn every_shipped_pipeline_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let phantom = tmp.path().join("phantom");
    let generate = nona()
        .args(["phantom", "rsna", "--count", "3", "--size", "32", "--out"])
        .arg(&phantom)
        .output()
        .unwrap();
    assert!(generate.status.success(), "{}", stderr(&generate));
    // Where each pipeline's data is in this test: a committed fixture in the dataset's layout, or
    // for the generated demos, a manifest header.
    let roots: BTreeMap<&str, PathBuf> = [
        ("NONA_RSNA_ROOT", phantom.clone()),
        ("NONA_RSNA_PHANTOM_ROOT", phantom),
        (
            "NONA_DEMO_ROOT",
            header_only(&tmp.path().join("demo-images"), "id,path,label,site"),
        ),
        (
            "NONA_DEMO_TEXT_ROOT",
            header_only(&tmp.path().join("demo-text"), "id,text,label,shop"),
        ),
        (
            "NONA_DEMO_AUDIO_ROOT",
            header_only(&tmp.path().join("demo-audio"), "id,path,label,session"),
        ),
        ("NONA_HOUSES_ROOT", fixture("houses")),
        ("NONA_UDACITY_ROOT", fixture("udacity/simulator")),
        ("NONA_AUSTIN_ROOT", fixture("austin")),
        ("NONA_ADRESSO_ROOT", fixture("adresso")),
        ("NONA_COUGHVID_ROOT", fixture("coughvid")),
        ("NONA_NOSEMIC_ROOT", fixture("nosemic")),
        ("NONA_PITCHFORK_ROOT", fixture("pitchfork")),
        ("NONA_BOOKS_ROOT", fixture("books")),
        ("NONA_BRIFISEG_ROOT", fixture("medsegbench")),
    ]
    .into_iter()
    .collect();
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let mut failures = Vec::new();
    for file in &files {
        let mut command = nona();
        command.current_dir(tmp.path()).arg("validate").arg(file);
        let variable = root_variable(file);
        if let Some(variable) = &variable {
            let Some(root) = roots.get(variable.as_str()) else {
                failures.push(format!(
                    "{}: reads ${{{variable}}}; give it a fixture in this test",
                    file.display()
                ));
                continue;
            };
            command.env(variable, root);
        }
        if variable.as_deref() == Some("NONA_BRIFISEG_ROOT") {
            // The fixture is an 8 x 8 archive, named after its size as MedSegBench's are.
            command.args(["--set", "dataset.manifest=brifiseg_8.npz"]);
        }
        let out = command.output().unwrap();
        if !out.status.success() {
            failures.push(format!("{}:\n{}", file.display(), stderr(&out)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The backbone of each dataset in the NONA paper's reference code (`utils.py: fe_for_data` of
/// `aviadsusman/nona_anon`), by shipped pipeline file. `None`: a backbone nona does not have, so
/// the pipeline necessarily substitutes one.
const PAPER_BACKBONES: &[(&str, Option<&str>)] = &[
    ("adresso", Some("distilbert_base")),
    ("austin", Some("distilbert_base")),
    ("books", Some("distilbert_base")),
    ("coughvid", Some("hubert_base")),
    ("houses", Some("resnet34")),
    ("medsegbench", Some("efficientnet_b0")),
    // `whisper.load_model('tiny')`: the multilingual Whisper tiny, not tiny.en.
    ("nosemic", None),
    ("pitchfork", Some("bert_base")),
    ("rsna", Some("resnet18")),
    ("rsna-demo", Some("resnet18")),
    ("udacity", Some("efficientnet_b0")),
];

/// A shipped pipeline with a report either runs the paper's backbone for its dataset or says in
/// `[report] substitutes_for` which one it stands in for, so that its report warns.
#[test]
fn shipped_pipelines_name_every_backbone_that_stands_in_for_the_papers() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(repo().join("pipelines")).unwrap() {
        let file = entry.unwrap().path();
        if file.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let pipeline = nona_pipeline::config::Pipeline::load(&file, nona_stages::STAGES).unwrap();
        let Some(report) = pipeline
            .section::<nona_stages::report::ReportConfig>("report")
            .unwrap()
        else {
            continue;
        };
        let stem = file.file_stem().unwrap().to_str().unwrap();
        let Some(&(_, paper)) = PAPER_BACKBONES.iter().find(|(name, _)| *name == stem) else {
            failures.push(format!(
                "{stem}: add the paper's backbone to PAPER_BACKBONES"
            ));
            continue;
        };
        let embed = pipeline.section::<toml::Table>("embed").unwrap().unwrap();
        let backbone = embed["backbone"].as_str().unwrap();
        match (paper == Some(backbone), &report.substitutes_for) {
            (false, None) => failures.push(format!(
                "{stem}: runs {backbone}, not the paper's backbone, without `substitutes_for`"
            )),
            (true, Some(original)) => failures.push(format!(
                "{stem}: runs the paper's {backbone} but says it substitutes for {original}"
            )),
            _ => {}
        }
        checked += 1;
    }
    assert_eq!(checked, PAPER_BACKBONES.len(), "{failures:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs the shipped pipeline `name`'s preprocess stage with `variable` pointing at `root`;
/// returns the samples (id|input|label|group|source_row) and errors (id|stage|source|message).
fn preprocess(
    name: &str,
    variable: &str,
    root: &Path,
    extra: &[&str],
) -> (Vec<String>, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let out = nona()
        .current_dir(tmp.path())
        .env(variable, root)
        .arg("run")
        .arg(repo().join(format!("pipelines/{name}.toml")))
        .args(["--stage", "preprocess"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let run = tmp.path().join("runs").join(name).join("preprocess");
    let errors = if run.join("_errors").is_dir() {
        table_rows(&run.join("_errors"))
    } else {
        Vec::new()
    };
    (table_rows(&run), errors)
}

/// The (id, label) pairs of samples rows.
fn ids_and_labels(samples: &[String]) -> Vec<(String, f64)> {
    samples
        .iter()
        .map(|row| {
            let cells: Vec<&str> = row.split('|').collect();
            (cells[0].to_owned(), cells[2].parse().unwrap())
        })
        .collect()
}

fn assert_labels(samples: &[String], expected: &[(&str, f64)]) {
    let got = ids_and_labels(samples);
    assert_eq!(got.len(), expected.len(), "{samples:#?}");
    for ((id, label), (want_id, want)) in got.iter().zip(expected) {
        assert_eq!(id, want_id, "{samples:#?}");
        assert!((label - want).abs() < 1e-9, "{id}: {label} vs {want}");
    }
}

/// Asserts one error row for `id` whose source ends with `source` and message contains `message`.
fn assert_error(errors: &[String], id: &str, source: &str, message: &str) {
    let found = errors.iter().any(|row| {
        let cells: Vec<&str> = row.splitn(4, '|').collect();
        cells[0] == id && cells[2].ends_with(source) && cells[3].contains(message)
    });
    assert!(
        found,
        "no error for `{id}` at `…{source}` with `{message}` in {errors:#?}"
    );
}

#[test]
fn houses_pipeline_reads_the_public_layout_with_log_prices() {
    let (samples, errors) = preprocess("houses", "NONA_HOUSES_ROOT", &fixture("houses"), &[]);
    assert_labels(
        &samples,
        &[
            ("1", 869500f64.ln()),
            ("2", 865200f64.ln()),
            ("5", 505000f64.ln()),
        ],
    );
    assert!(
        samples[0].contains("houses/1_frontal.jpg|"),
        "{}",
        samples[0]
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_error(
        &errors,
        "3",
        "HousesInfo.txt:line 4",
        "is not positive, so `label_transform = \"log\"`",
    );
    assert_error(
        &errors,
        "4",
        "HousesInfo.txt:line 5",
        "expected the 5 space-separated fields",
    );
}

#[test]
fn udacity_pipeline_reads_both_public_layouts() {
    let (samples, errors) = preprocess(
        "udacity",
        "NONA_UDACITY_ROOT",
        &fixture("udacity/simulator"),
        &[],
    );
    assert_labels(
        &samples,
        &[
            ("center_2016_12_01_13_30_48_287", 0.0),
            ("center_2016_12_01_13_30_48_404", -0.1426245),
        ],
    );
    assert_error(
        &errors,
        "center_2016_12_01_13_31_12_818",
        "driving_log.csv:line 3",
        "expected the 7 fields",
    );
    assert_error(
        &errors,
        "center_2016_12_01_13_31_12_937",
        "IMG/center_2016_12_01_13_31_12_937.jpg",
        "cannot read file",
    );
    let (samples, errors) = preprocess(
        "udacity",
        "NONA_UDACITY_ROOT",
        &fixture("udacity/challenge"),
        &["--set", "dataset.manifest=interpolated.csv"],
    );
    assert_labels(
        &samples,
        &[
            ("1479425441182877835", -0.0488692180812358),
            ("1479425441232704425", 0.0523598790168762),
        ],
    );
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn austin_pipeline_reads_the_kaggle_csv_with_log_prices() {
    let (samples, errors) = preprocess("austin", "NONA_AUSTIN_ROOT", &fixture("austin"), &[]);
    assert_labels(
        &samples,
        &[("111373431", 305000f64.ln()), ("120900430", 295000f64.ln())],
    );
    // A quoted description spanning two lines, with doubled quotes, arrives whole.
    assert!(
        samples[1].contains("2 full baths.\nFantastic open floor plan, \"move-in ready\""),
        "{}",
        samples[1]
    );
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_error(
        &errors,
        "2084491383",
        "austinHousingData.csv:line 5",
        "label 0 is not positive",
    );
    assert_error(
        &errors,
        "120901374",
        "austinHousingData.csv:line 6",
        "empty input (column `description`)",
    );
    assert_error(
        &errors,
        "111373431",
        "austinHousingData.csv:line 7",
        "duplicate id `111373431` (first seen at line 2)",
    );
}

#[test]
fn adresso_pipeline_reads_transcript_files_and_mmse() {
    let (samples, errors) = preprocess("adresso", "NONA_ADRESSO_ROOT", &fixture("adresso"), &[]);
    assert_labels(
        &samples,
        &[("adrso024", 20.0), ("adrso025", 11.0), ("adrso002", 29.0)],
    );
    assert!(
        samples[0].contains("transcripts/adrso024.txt|"),
        "{}",
        samples[0]
    );
    assert_error(
        &errors,
        "adrso003",
        "adresso-train-mmse-scores.csv:line 5",
        "missing label (column `mmse`)",
    );
    assert_error(
        &errors,
        "adrso005",
        "transcripts/adrso005.txt",
        "empty or whitespace-only text",
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

#[test]
fn coughvid_pipeline_reads_converted_recordings_and_age() {
    let (samples, errors) = preprocess("coughvid", "NONA_COUGHVID_ROOT", &fixture("coughvid"), &[]);
    assert_labels(
        &samples,
        &[
            ("00039425-7f3a-42aa-ac13-834aaa2b6b92", 15.0),
            ("0007c6f1-5441-40e6-9aaf-a761d8f2da3b", 46.0),
        ],
    );
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_error(
        &errors,
        "00014dcc-0f06-4c27-8c7b-737b18a2cf4c",
        "metadata_compiled.csv:line 2",
        "missing label (column `age`)",
    );
    // Only the original WebM is there: not converted.
    assert_error(
        &errors,
        "0009eb28-d8be-4dc1-92bb-907e53bc5c7a",
        "0009eb28-d8be-4dc1-92bb-907e53bc5c7a.wav",
        "0009eb28-d8be-4dc1-92bb-907e53bc5c7a.webm is there: a file in another format (convert it",
    );
    assert_error(
        &errors,
        "0012c608-33d0-4ef7-bde3-75a0b1a0024e",
        "0012c608-33d0-4ef7-bde3-75a0b1a0024e.wav",
        "",
    );
}

#[test]
fn nosemic_pipeline_reads_the_plain_layout() {
    let (samples, errors) = preprocess("nosemic", "NONA_NOSEMIC_ROOT", &fixture("nosemic"), &[]);
    assert_labels(&samples, &[("p01-rest-1", 64.5), ("p01-walk-1", 97.0)]);
    assert_error(
        &errors,
        "p02-rest-1",
        "labels.csv:line 4",
        "missing label (column `heart_rate`)",
    );
}

#[test]
fn pitchfork_pipeline_reads_the_sqlite_database() {
    let (samples, errors) = preprocess(
        "pitchfork",
        "NONA_PITCHFORK_ROOT",
        &fixture("pitchfork"),
        &[],
    );
    assert_labels(&samples, &[("22703", 9.3), ("22721", 7.9)]);
    assert!(
        samples[1].contains("|Krallice’s new album is dense"),
        "{}",
        samples[1]
    );
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_error(
        &errors,
        "22659",
        "database.sqlite:reviews rowid 3",
        "no `content` row with reviewid 22659",
    );
    assert_error(
        &errors,
        "22661",
        "database.sqlite:reviews rowid 4",
        "missing label (the `pitchfork` layout's label)",
    );
    assert_error(
        &errors,
        "22703",
        "database.sqlite:reviews rowid 5",
        "duplicate id `22703` (first seen at reviews rowid 1)",
    );
}

#[test]
fn books_pipeline_reads_the_spreadsheet_with_log_prices() {
    let (samples, errors) = preprocess("books", "NONA_BOOKS_ROOT", &fixture("books"), &[]);
    assert_labels(&samples, &[("row2", 220f64.ln()), ("row3", 202.93f64.ln())]);
    assert!(
        samples[1].contains("|A concise handbook on sustainable travel & ecology"),
        "{}",
        samples[1]
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_error(
        &errors,
        "row4",
        "Data_Train.xlsx:row 4",
        "empty input (the `books` layout's input)",
    );
    assert_error(
        &errors,
        "row5",
        "Data_Train.xlsx:row 5",
        "label `n/a` (the `books` layout's label) is not a finite number",
    );
}

#[test]
fn medsegbench_pipeline_extracts_images_and_mask_areas() {
    let (samples, errors) = preprocess(
        "medsegbench",
        "NONA_BRIFISEG_ROOT",
        &fixture("medsegbench"),
        &["--set", "dataset.manifest=brifiseg_8.npz"],
    );
    assert_labels(
        &samples,
        &[
            ("train-00000", 5.0),
            ("train-00001", 0.0),
            ("train-00002", 12.0),
            ("val-00000", 64.0),
            ("test-00000", 20.0),
        ],
    );
    assert!(
        samples[0].contains("preprocess/files/train-00000.png|"),
        "{}",
        samples[0]
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_error(
        &errors,
        "val-00001",
        "brifiseg_8.npz:val_images[1]",
        "no mask",
    );
}

#[test]
fn layout_mistakes_are_config_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let root = fixture("houses");
    let write = |name: &str, dataset: &str| {
        std::fs::write(
            tmp.path().join(format!("{name}.toml")),
            format!(
                "[dataset]\nroot = \"{}\"\nmanifest = \"HousesInfo.txt\"\n{dataset}\n[preprocess]\n",
                root.display()
            ),
        )
        .unwrap();
        let out = nona()
            .current_dir(tmp.path())
            .args(["validate", &format!("{name}.toml")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        stderr(&out)
    };
    let err = write("typo", "layout = \"house\"\nmodality = \"image\"");
    assert!(
        err.contains("typo.toml:4:1: unknown layout `house`; did you mean `houses`?"),
        "{err}"
    );
    let err = write(
        "columns",
        "layout = \"houses\"\nmodality = \"image\"\nlabel_column = \"price\"",
    );
    assert!(
        err.contains("columns.toml:6:1: `label_column` is for plain manifests"),
        "{err}"
    );
    let err = write("modality", "layout = \"houses\"\nmodality = \"text\"");
    assert!(
        err.contains("the `houses` layout holds image samples, but `dataset.modality` is Text"),
        "{err}"
    );
    let err = write(
        "transform",
        "layout = \"houses\"\nmodality = \"image\"\nlabel_transform = \"sqrt\"",
    );
    assert!(err.contains("unknown value `sqrt`"), "{err}");
    // Another layout's file.
    let err = write("other", "layout = \"udacity\"\nmodality = \"image\"");
    assert!(err.contains("not the `udacity` layout"), "{err}");
}

/// `make rsna` in miniature for a dataset of the paper: 40 generated houses in the `houses`
/// layout through the shipped `pipelines/houses.toml` (made small: synthetic ResNet-34 weights,
/// 32 x 32 images, 2 seeds, a few epochs), from preprocess to the report.
#[test]
fn houses_pipeline_runs_end_to_end_on_a_generated_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("Houses Dataset");
    std::fs::create_dir_all(&data).unwrap();
    let mut info = String::new();
    for n in 1..=40u32 {
        // Brighter houses cost more.
        let price = 100_000.0 * (1.0 + f64::from(n) / 10.0);
        info.push_str(&format!("3 2.0 {} 85255 {price}\n", 1500 + n * 10));
        let shade = (n * 6) as u8;
        image::RgbImage::from_fn(20, 16, |x, _| image::Rgb([shade, shade, (x * 8) as u8]))
            .save(data.join(format!("{n}_frontal.jpg")))
            .unwrap();
    }
    std::fs::write(data.join("HousesInfo.txt"), info).unwrap();
    std::fs::write(
        tmp.path().join("mini.toml"),
        format!(
            r#"extends = "{}"
name = "mini-houses"

[preprocess.image]
transforms = [{{ resize = [32, 32] }}, {{ normalize = "imagenet" }}]

[embed]
weights = "synthetic"

[train.grid]
seeds = 2
hidden = [16]

[train.grid.optim]
max_epochs = 6

[knn]
k = [3]
p = [2]
weights = ["uniform"]
"#,
            repo().join("pipelines/houses.toml").display()
        ),
    )
    .unwrap();
    let run = || {
        nona()
            .current_dir(tmp.path())
            .env("NONA_HOUSES_ROOT", &data)
            .args(["run", "mini.toml"])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let runs = tmp.path().join("runs/mini-houses");
    let samples = table_rows(&runs.join("preprocess"));
    assert_eq!(samples.len(), 40);
    let (id, label) = ids_and_labels(&samples)[0].clone();
    assert_eq!(id, "1");
    assert!((label - 110_000f64.ln()).abs() < 1e-9);
    assert_eq!(table_rows(&runs.join("embed")).len(), 40);
    let report = std::fs::read_to_string(runs.join("report/report.md")).unwrap();
    assert!(report.contains("Houses"), "{report}");
    // Cached: a second run does nothing.
    let again = run();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("up to date"), "{}", stdout(&again));
}

/// The layouts whose inputs are texts (Pitchfork, Books) or extracted images (MedSegBench) reach
/// their backbones: each shipped pipeline's preprocess and embed on its fixture, with synthetic
/// weights (and a tiny vocabulary for the BERT family).
#[test]
fn adapter_samples_embed_with_synthetic_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let vocab = tmp.path().join("vocab.txt");
    let tokens = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "is", "and", "album", "novel",
        ".", ",",
    ];
    std::fs::write(&vocab, tokens.join("\n") + "\n").unwrap();
    let cases = [
        (
            "pitchfork",
            "NONA_PITCHFORK_ROOT",
            "pitchfork",
            2,
            "tokenizer = \"vocab.txt\"",
        ),
        (
            "books",
            "NONA_BOOKS_ROOT",
            "books",
            2,
            "tokenizer = \"vocab.txt\"",
        ),
        ("medsegbench", "NONA_BRIFISEG_ROOT", "medsegbench", 5, ""),
    ];
    for (name, variable, root, rows, tokenizer) in cases {
        let mut text = format!(
            "extends = \"{}\"\nname = \"mini-{name}\"\n\n[embed]\nweights = \"synthetic\"\nbatch_size = 2\n{tokenizer}\n",
            repo().join(format!("pipelines/{name}.toml")).display()
        );
        if name == "medsegbench" {
            // 64 x 64: at 32 x 32 EfficientNet-B0's last stages are 1 x 1, which
            // nona_backbones' depthwise convolution does not handle yet.
            text.push_str(
                "\n[preprocess.image]\ntransforms = [{ resize = [64, 64] }, { normalize = \"imagenet\" }]\n\n[dataset]\nmanifest = \"brifiseg_8.npz\"\n",
            );
        } else {
            text.push_str("\n[preprocess.text]\nmax_tokens = 16\n");
        }
        std::fs::write(tmp.path().join(format!("{name}.toml")), &text).unwrap();
        for stage in ["preprocess", "embed"] {
            let out = nona()
                .current_dir(tmp.path())
                .env(variable, fixture(root))
                .args(["run", &format!("{name}.toml"), "--stage", stage])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name} {stage}:\n{text}\n{}",
                stderr(&out)
            );
        }
        let embed = tmp.path().join(format!("runs/mini-{name}/embed"));
        assert_eq!(table_rows(&embed).len(), rows, "{name}");
    }
}
