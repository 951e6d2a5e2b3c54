//! `embed`: decode → transforms → backbone → embeddings, matching PyTorch end to end.

mod common;

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use common::{
    assert_conforms, error_rows, image_dataset, run_in, schema_file, stderr, stdout, table_rows,
};
use nona_testkit::Gap;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn embeddings(dir: &Path) -> (Vec<String>, Vec<f32>, usize) {
    let dataset = nona_table::Dataset::open(dir).unwrap();
    let (mut ids, mut values, mut dim) = (Vec::new(), Vec::new(), 0);
    for batch in dataset.read_all().unwrap() {
        let id = nona_table::string_column(&batch, "id", dir).unwrap();
        ids.extend((0..batch.num_rows()).map(|r| id.value(r).to_owned()));
        let (v, d) = nona_table::embedding_rows(&batch, "embedding", dir).unwrap();
        values.extend(v);
        dim = d;
    }
    (ids, values, dim)
}

/// The two photos of the backbone parity fixture, through PNG files, the pipeline and the real
/// EfficientNet-Lite0 weights, give PyTorch's ImageNet logits.
#[test]
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
fn pipeline_embeddings_match_pytorch_with_real_lite0_weights() {
    let weights = PathBuf::from(ROOT).join("weights/efficientnet-lite0-57934424.pth");
    if !weights.is_file() {
        eprintln!(
            "SKIPPED: {} is missing; run `make weights`",
            weights.display()
        );
        return;
    }
    let fixture = candle_core::safetensors::load(
        format!("{ROOT}/tests/fixtures/backbones/lite0_real.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    let images = fixture["images"].to_dtype(candle_core::DType::U8).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut csv = String::from("id,path,label\n");
    for index in 0..images.dim(0).unwrap() {
        let pixels: Vec<u8> = images
            .get(index)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        image::RgbImage::from_raw(224, 224, pixels)
            .unwrap()
            .save(data.join(format!("{index}.png")))
            .unwrap();
        csv.push_str(&format!("photo{index},{index}.png,{index}\n"));
    }
    std::fs::write(data.join("labels.csv"), csv).unwrap();
    // EfficientNet-Lite's TensorFlow preprocessing (x - 127) / 128 as x/255 normalised by mean 127/255, std 128/255.
    std::fs::write(
        tmp.path().join("lite.toml"),
        format!(
            r#"[dataset]
root = "data"
manifest = "labels.csv"
modality = "image"

[preprocess]

[preprocess.image]
transforms = [{{ center_crop = 224 }}, {{ normalize = {{ mean = [{m}], std = [{s}] }} }}]

[embed]
backbone = "efficientnet_lite0"
weights = "{}"
batch_size = 2
"#,
            weights.display(),
            m = 127.0f32 / 255.0,
            s = 128.0f32 / 255.0
        ),
    )
    .unwrap();
    let out = run_in(tmp.path(), &["run", "lite.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (ids, values, dim) = embeddings(&tmp.path().join("runs/lite/embed"));
    assert_eq!(
        (ids, dim),
        (vec!["photo0".to_owned(), "photo1".to_owned()], 1280)
    );

    let state = nona_backbones::ResolvedWeights::from_file(&weights)
        .unwrap()
        .load(&Device::Cpu)
        .unwrap();
    let pooled = Tensor::from_vec(values, (2, dim), &Device::Cpu).unwrap();
    let logits = pooled
        .matmul(&state["_fc.weight"].t().unwrap())
        .unwrap()
        .broadcast_add(&state["_fc.bias"])
        .unwrap();
    let expected = &fixture["logits"];
    let gap = Gap::of_tensors(&logits, expected);
    assert!(gap.relative() < 1e-4, "logits {gap}");

    let inspect = run_in(tmp.path(), &["inspect", "runs/lite/embed"]);
    let text = stdout(&inspect);
    assert!(
        text.contains("embedding: fixed_size_list<float32, 1280> not null"),
        "{text}"
    );
    assert!(
        text.contains("nona.model_id = efficientnet_lite0"),
        "{text}"
    );
    assert!(
        text.contains(
            "nona.weights_sha256 = 579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
        ),
        "{text}"
    );
}

fn synthetic_pipeline(dir: &Path, data: &Path, shard_rows: usize) {
    std::fs::write(
        dir.join("syn.toml"),
        format!(
            r#"[dataset]
root = "{}"
manifest = "labels.csv"
modality = "image"
group_column = "group"
synthetic = true

[preprocess.image]
transforms = [{{ resize = [16, 16] }}, {{ normalize = "half" }}]

[embed]
backbone = "resnet18"
weights = "synthetic"
batch_size = 3
shard_rows = {shard_rows}
"#,
            data.display()
        ),
    )
    .unwrap();
}

/// Images whose header is fine but whose data is cut pass preprocess and fail in embed: they
/// become embed errors, and the other samples are embedded.
#[test]
fn undecodable_images_become_embed_errors_and_shards_union_to_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let good = image_dataset(&data, 20);
    let victim = data.join("img/s0002.png");
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    synthetic_pipeline(tmp.path(), &data, 4);

    let out = run_in(tmp.path(), &["run", "syn.toml", "--runs-dir", "whole"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("GENERATED"),
        "synthetic data is announced: {}",
        stderr(&out)
    );
    let (ids, values, dim) = embeddings(&tmp.path().join("whole/syn/embed"));
    assert_eq!(dim, 512);
    assert_eq!(ids.len(), good.len() - 1);
    assert!(!ids.contains(&"s0002".to_owned()));
    assert!(values.iter().all(|v| v.is_finite()) && values.iter().any(|v| *v != 0.0));
    assert_conforms(
        &schema_file("embeddings.schema.json"),
        &tmp.path().join("whole/syn/embed"),
    );
    assert_conforms(
        &schema_file("errors.schema.json"),
        &tmp.path().join("whole/syn/embed/_errors"),
    );
    let errors = table_rows(&tmp.path().join("whole/syn/embed/_errors")).join("\n");
    assert!(errors.starts_with("s0002|embed|"), "{errors}");

    // Preprocess once, then embed in two shards, then finish: same table as the plain run.
    assert!(
        run_in(
            tmp.path(),
            &[
                "run",
                "syn.toml",
                "--stage",
                "preprocess",
                "--runs-dir",
                "sharded"
            ]
        )
        .status
        .success()
    );
    for shard in ["0/2", "1/2"] {
        let out = run_in(
            tmp.path(),
            &[
                "run",
                "syn.toml",
                "--stage",
                "embed",
                "--shard",
                shard,
                "--runs-dir",
                "sharded",
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert!(
        run_in(tmp.path(), &["run", "syn.toml", "--runs-dir", "sharded"])
            .status
            .success()
    );
    for table in ["embed", "embed/_errors"] {
        assert_eq!(
            table_rows(&tmp.path().join("whole/syn").join(table)),
            table_rows(&tmp.path().join("sharded/syn").join(table)),
            "{table}"
        );
    }
}

/// JPEGs cut short or without their end marker keep intact headers, so they pass preprocess;
/// in embed each becomes an errors-table row naming the file, and the good images are embedded.
/// With `on_error = "fail"` the run stops at the first one and names it.
#[test]
fn truncated_jpegs_become_embed_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut csv = String::from("id,path,label,group\n");
    for i in 0..6u32 {
        // Busy enough that the compressed data, not the headers, makes most of the file.
        let image = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([
                (x * 4) as u8,
                (y * 5) as u8,
                (((i + 1) * x * y) ^ (x * 29)) as u8,
            ])
        });
        let path = data.join(format!("s{i}.jpg"));
        image.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let damaged = match i {
            1 => &bytes[..bytes.len() / 2],
            3 => &bytes[..bytes.len() - 2], // no end-of-image marker
            4 => &bytes[..bytes.len() * 99 / 100],
            _ => &bytes[..],
        };
        std::fs::write(&path, damaged).unwrap();
        csv.push_str(&format!("s{i},s{i}.jpg,{i},g{i}\n"));
    }
    std::fs::write(data.join("labels.csv"), csv).unwrap();
    synthetic_pipeline(tmp.path(), &data, 4);

    let out = run_in(tmp.path(), &["run", "syn.toml", "--stage", "embed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = tmp.path().join("runs/syn");
    assert!(error_rows(&run.join("preprocess/_errors")).is_empty());
    let (ids, _, _) = embeddings(&run.join("embed"));
    assert_eq!(ids, ["s0", "s2", "s5"]);
    let errors = error_rows(&run.join("embed/_errors"));
    let ids: Vec<&str> = errors.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids, ["s1", "s3", "s4"]);
    for (id, source, message) in &errors {
        assert_eq!(
            *source,
            data.join(format!("{id}.jpg")).display().to_string()
        );
        assert!(
            message.contains(&format!("{id}.jpg: truncated image data")),
            "{message}"
        );
    }

    let text = std::fs::read_to_string(tmp.path().join("syn.toml")).unwrap();
    let failing = text.replace("shard_rows = 4", "shard_rows = 4\non_error = \"fail\"");
    std::fs::write(tmp.path().join("syn.toml"), failing).unwrap();
    let out = run_in(tmp.path(), &["run", "syn.toml", "--runs-dir", "failing"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("s1.jpg: truncated image data"), "{err}");
    assert!(err.contains("on_error = \"fail\" stops here"), "{err}");
}

#[test]
fn embed_config_errors_are_reported_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    image_dataset(&data, 3);
    synthetic_pipeline(tmp.path(), &data, 4);
    let text = std::fs::read_to_string(tmp.path().join("syn.toml")).unwrap();
    let broken = text
        .replace("backbone = \"resnet18\"", "backbone = \"resnet81\"")
        .replace("resize = [16, 16]", "resize = 16")
        .replace(
            "weights = \"synthetic\"",
            "weights = \"nowhere.safetensors\"",
        );
    std::fs::write(tmp.path().join("syn.toml"), broken).unwrap();
    let out = run_in(tmp.path(), &["validate", "syn.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("unknown backbone `resnet81`; did you mean `resnet18`?"),
        "{err}"
    );
    assert!(err.contains("must end in a fixed size"), "{err}");
    assert!(err.contains("nowhere.safetensors does not exist"), "{err}");
}
