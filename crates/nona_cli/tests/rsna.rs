//! `make rsna` in miniature: a small generated phantom through the shipped
//! `pipelines/rsna-demo.toml` (which extends `rsna.toml`), with the real EfficientNet-Lite0
//! weights that `make weights` fetches, from preprocessing to the report.

mod common;

use std::path::PathBuf;

use common::{assert_conforms, nona, schema_file, stderr, stdout, table_rows};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_rsna_demo_pipeline_runs_end_to_end_on_a_small_phantom() {
    let weights = repo().join("weights");
    assert!(
        weights.join("efficientnet-lite0-57934424.pth").is_file(),
        "run `make weights` first (make test does)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let phantom = tmp.path().join("phantom");
    let generate = nona()
        .args(["phantom", "rsna", "--count", "40", "--size", "64", "--out"])
        .arg(&phantom)
        .output()
        .unwrap();
    assert!(generate.status.success(), "{}", stderr(&generate));

    // The shipped files, made small: fewer seeds and epochs, smaller images.
    std::fs::write(
        tmp.path().join("mini.toml"),
        format!(
            r#"extends = "{}"
name = "mini"

[preprocess.image]
transforms = [{{ resize = [64, 64] }}, {{ normalize = "half" }}]

[train.grid]
seeds = 2
hidden = [32]

[train.grid.optim]
max_epochs = 8
"#,
            repo().join("pipelines/rsna-demo.toml").display()
        ),
    )
    .unwrap();
    let run = || {
        nona()
            .current_dir(tmp.path())
            .env("NONA_RSNA_PHANTOM_ROOT", &phantom)
            .env("NONA_WEIGHTS_DIR", &weights)
            .args(["run", "mini.toml"])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("| RSNA phantom |"), "{printed}");
    assert!(
        stderr(&out).contains("GENERATED (synthetic) data"),
        "{}",
        stderr(&out)
    );

    let runs = tmp.path().join("runs/mini");
    assert_eq!(table_rows(&runs.join("embed")).len(), 40);
    let report = std::fs::read_to_string(runs.join("report/report.md")).unwrap();
    assert!(report.starts_with("> **Warning"), "{report}");
    assert!(report.contains("the data is generated"), "{report}");
    assert!(
        report.contains("efficientnet_lite0 in place of the paper's ResNet-18"),
        "{report}"
    );
    assert!(report.contains("| Dataset | Dense | Dense + k-NN | NONA | NONA + k-NN | k-NN |"));
    let metadata = nona_table::Dataset::open(&runs.join("train/predictions"))
        .unwrap()
        .metadata()
        .clone();
    assert_eq!(metadata["nona.synthetic"], "true");
    assert_eq!(metadata["nona.model_id"], "efficientnet_lite0");
    // The neighbour evidence of both seeds' NONA cells: 5 rows per validation or test sample.
    let explanations = runs.join("train/explanations");
    assert_conforms(
        &schema_file("train-explanations.schema.json"),
        &explanations,
    );
    let evaluated = table_rows(&runs.join("train/predictions"))
        .iter()
        .filter(|row| row.contains("|nona|") && !row.contains("|train|"))
        .count();
    assert!(evaluated > 0);
    assert_eq!(table_rows(&explanations).len(), 5 * evaluated);

    let again = run();
    assert!(again.status.success(), "{}", stderr(&again));
    let printed = stdout(&again);
    for stage in ["preprocess", "embed", "train", "knn", "report"] {
        assert!(
            printed.contains(&format!("{stage:<11} up to date")),
            "{printed}"
        );
    }
}

#[test]
fn a_folder_of_images_and_a_csv_need_only_a_short_pipeline_file() {
    let weights = repo().join("weights");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data/photos");
    std::fs::create_dir_all(data.join("img")).unwrap();
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
    // The README's example, verbatim but for the path to the base.
    let pipelines = tmp.path().join("pipelines");
    std::fs::create_dir_all(&pipelines).unwrap();
    std::fs::write(
        pipelines.join("photos.toml"),
        format!(
            r#"extends = "{}"
description = "Curbside photos -> price"

[dataset]
root = "../data/photos"
manifest = "labels.csv"
id_column = "file"         # unique per row
input_column = "file"
input_template = "img/{{}}"
label_column = "price"
group_column = "street"

[report]
dataset = "Photos"
"#,
            repo()
                .join("pipelines/base/image-regression.toml")
                .display()
        ),
    )
    .unwrap();
    let out = nona()
        .current_dir(tmp.path())
        .env("NONA_WEIGHTS_DIR", &weights)
        .args([
            "run",
            "pipelines/photos.toml",
            "--set",
            "train.grid.seeds=2",
            "--set",
            "train.grid.hidden=[32]",
            "--set",
            "preprocess.image.transforms=[{ resize = [64, 64] }, { normalize = \"half\" }]",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("| Photos |"), "{}", stdout(&out));
    let report = std::fs::read_to_string(tmp.path().join("runs/photos/report/report.md")).unwrap();
    assert!(
        !report.contains("Warning"),
        "real data, real weights: {report}"
    );
    assert!(report.contains("efficientnet_lite0"), "{report}");
}
