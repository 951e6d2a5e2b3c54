//! `embed` on audio datasets: decode → mono → resample to 16 kHz → (denoise) → window → Whisper
//! encoder or HuBERT → pooled embeddings, equal to what the libraries give for the same file (the
//! stage adds no drift); bad files become errors-table rows naming the file; bad options are
//! reported with file:line.

mod common;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use common::{
    assert_conforms, assert_parity, error_rows, nona, read_embeddings, real_weights,
    repo_weights_dir, run_in, schema_file, sine, stderr, table_metadata, write_wav,
};
use nona_audio::{DenoiseParams, LoadOptions, ShortPolicy};
use nona_backbones::audio::hubert::{Hubert, HubertConfig};
use nona_backbones::weights::SyntheticWeights;
use nona_backbones::{
    Backbone, BackboneInput, BuildOptions, PoolingOption, WeightsLocator, build_backbone_with,
};

fn row(values: &[f32], dim: usize, index: usize) -> &[f32] {
    &values[index * dim..(index + 1) * dim]
}

/// `clip` (already at the backbone's rate) embedded alone by `backbone`.
fn embed_clip(backbone: &dyn Backbone, samples: &[f32], valid: usize) -> Vec<f32> {
    let input = BackboneInput::Audio {
        samples: Tensor::from_slice(samples, (1, samples.len()), &Device::Cpu).unwrap(),
        lengths: vec![valid],
    };
    backbone
        .embed(&input)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Tones at several rates and channel counts, plus five bad files: empty, not audio (both caught
/// by preprocess's header probe), cut in half, silent, and shorter than the window (caught by
/// embed). Returns the good ids in manifest order.
fn audio_dataset(root: &Path) -> Vec<&'static str> {
    std::fs::create_dir_all(root.join("wav")).unwrap();
    let noisy: Vec<f32> = sine(330.0, 0.3, 1.0, 8000)
        .iter()
        .enumerate()
        .map(|(i, s)| s + 0.05 * ((i * 7919 % 101) as f32 / 50.0 - 1.0))
        .collect();
    let good: [(&str, Vec<f32>, u32, u16); 4] = [
        ("a0", sine(440.0, 0.5, 1.5, 44_100), 44_100, 2),
        ("a1", sine(220.0, 0.4, 2.0, 22_050), 22_050, 1),
        ("a2", sine(880.0, 0.3, 1.2, 16_000), 16_000, 1),
        ("a3", noisy, 8000, 1),
    ];
    for (id, samples, rate, channels) in &good {
        write_wav(
            &root.join(format!("wav/{id}.wav")),
            samples,
            *rate,
            *channels,
        );
    }
    std::fs::write(root.join("wav/empty.wav"), b"").unwrap();
    std::fs::write(
        root.join("wav/text.wav"),
        b"this is not a RIFF file at all\n",
    )
    .unwrap();
    write_wav(
        &root.join("wav/cut.wav"),
        &sine(500.0, 0.5, 1.5, 16_000),
        16_000,
        1,
    );
    let bytes = std::fs::read(root.join("wav/cut.wav")).unwrap();
    std::fs::write(root.join("wav/cut.wav"), &bytes[..bytes.len() / 2]).unwrap();
    write_wav(&root.join("wav/silent.wav"), &vec![0.0; 24_000], 16_000, 1);
    write_wav(
        &root.join("wav/short.wav"),
        &sine(600.0, 0.5, 0.3, 16_000),
        16_000,
        1,
    );
    let ids = [
        "a0", "empty", "a1", "text", "cut", "a2", "silent", "short", "a3",
    ];
    let mut csv = String::from("id,path,label\n");
    for (i, id) in ids.iter().enumerate() {
        csv.push_str(&format!("{id},wav/{id}.wav,{}\n", 60.0 + i as f64));
    }
    std::fs::write(root.join("labels.csv"), csv).unwrap();
    good.iter().map(|g| g.0).collect()
}

/// Real Whisper tiny.en (CTranslate2 model.bin found through `$NONA_WEIGHTS_DIR`): 1 s windows of
/// denoised 16 kHz mono, errors for every bad file in the right stage, provenance in the metadata,
/// and every row equal to the library's embedding of the same file.
#[test]
fn whisper_tiny_en_real_weights_end_to_end() {
    const TEST: &str = "whisper_tiny_en_real_weights_end_to_end";
    let Some(weights) = real_weights(TEST, "whisper-tiny.en-ct2.bin") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let good = audio_dataset(&data);
    std::fs::write(
        tmp.path().join("whisper.toml"),
        r#"[dataset]
root = "data"
manifest = "labels.csv"
modality = "audio"
synthetic = true

[preprocess]

[preprocess.audio]
duration_s = 1.0
short = "error"
denoise = true
silence = "error"

[embed]
backbone = "whisper_tiny_en"
batch_size = 2
shard_rows = 4
"#,
    )
    .unwrap();
    let out = nona()
        .current_dir(tmp.path())
        .env("NONA_WEIGHTS_DIR", repo_weights_dir())
        .env("HF_HUB_OFFLINE", "1")
        .args(["run", "whisper.toml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let embed_dir = tmp.path().join("runs/whisper/embed");
    let (ids, values, dim) = read_embeddings(&embed_dir);
    assert_eq!(dim, 384);
    assert_eq!(ids, good);
    assert_conforms(&schema_file("embeddings.schema.json"), &embed_dir);
    assert_conforms(
        &schema_file("errors.schema.json"),
        &embed_dir.join("_errors"),
    );

    let check = |rows: Vec<(String, String, String)>, expected: &[(&str, &str)]| {
        assert_eq!(rows.len(), expected.len(), "{rows:#?}");
        for ((id, source, message), (want_id, want_message)) in rows.iter().zip(expected) {
            assert_eq!(id, want_id, "{rows:#?}");
            assert!(
                source.ends_with(&format!("wav/{id}.wav")),
                "the errors row names the file: {source}"
            );
            assert!(message.contains(want_message), "{id}: {message}");
        }
    };
    check(
        error_rows(&tmp.path().join("runs/whisper/preprocess/_errors")),
        &[
            ("empty", "file is empty (0 bytes)"),
            ("text", "unsupported format or codec"),
        ],
    );
    check(
        error_rows(&embed_dir.join("_errors")),
        &[
            ("cut", "truncated or corrupt audio"),
            (
                "short",
                "4800 samples is shorter than the 16000-sample window",
            ),
            ("silent", "silence only"),
        ],
    );

    let metadata = table_metadata(&embed_dir);
    for (key, value) in [
        ("nona.model_id", "whisper_tiny_en"),
        (
            "nona.weights_sha256",
            "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        ),
        ("nona.modality", "audio"),
        ("nona.pooling", "mean"),
        ("nona.normalize", "false"),
        ("nona.embedding_dim", "384"),
    ] {
        assert_eq!(metadata.get(key).map(String::as_str), Some(value), "{key}");
    }
    assert!(metadata["nona.weights_path"].ends_with("whisper-tiny.en-ct2.bin"));
    let preprocess = &metadata["nona.preprocess"];
    assert!(
        preprocess.contains("\"sample_rate\":16000")
            && preprocess.contains("\"window_samples\":16000")
            && preprocess.contains("\"denoise\":true")
            && preprocess.contains("\"silence_threshold\":0.0001"),
        "{preprocess}"
    );

    // Parity: each row is the library's pipeline on the same file, embedded alone.
    let mut options = LoadOptions::new(16_000).with_window_seconds(1.0);
    options.short = ShortPolicy::Error;
    options.reject_silence_below = Some(1e-4);
    options.denoise = Some(DenoiseParams::default());
    let mut locator = WeightsLocator::from_env();
    locator.file = Some(weights);
    let loaded = nona_backbones::load_backbone("whisper_tiny_en", &Device::Cpu, &locator).unwrap();
    for (index, id) in good.iter().enumerate() {
        let clip = nona_audio::load(&data.join(format!("wav/{id}.wav")), &options).unwrap();
        let expected = embed_clip(loaded.backbone.as_ref(), &clip.samples, clip.valid);
        assert_parity(
            &format!("whisper tiny.en {id}"),
            row(&values, dim, index),
            &expected,
        );
    }
}

/// Clips of several lengths (no window) through HuBERT-base with synthetic weights: `mean` (the
/// default) and `first` pooling, each equal to the library's on the clip alone; a clip shorter
/// than HuBERT's 400-sample receptive field is an errors row.
#[test]
fn hubert_mean_and_first_pooling_on_clips_of_any_length() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("wav")).unwrap();
    let clips: [(&str, Vec<f32>, u32); 4] = [
        ("h0", sine(300.0, 0.5, 0.5, 16_000), 16_000),
        ("h1", sine(500.0, 0.4, 0.25, 8000), 8000),
        ("h2", sine(700.0, 0.3, 0.5, 16_000), 16_000),
        ("tiny", sine(700.0, 0.3, 0.01, 16_000), 16_000),
    ];
    let mut csv = String::from("id,path,label\n");
    for (i, (id, samples, rate)) in clips.iter().enumerate() {
        write_wav(&data.join(format!("wav/{id}.wav")), samples, *rate, 1);
        csv.push_str(&format!("{id},wav/{id}.wav,{i}\n"));
    }
    std::fs::write(data.join("labels.csv"), csv).unwrap();
    for (name, pooling) in [("mean", ""), ("first", "pooling = \"first\"")] {
        std::fs::write(
            tmp.path().join(format!("{name}.toml")),
            format!(
                r#"[dataset]
root = "data"
manifest = "labels.csv"
modality = "audio"

[preprocess]

[embed]
backbone = "hubert_base"
weights = "synthetic"
{pooling}
batch_size = 4
"#
            ),
        )
        .unwrap();
        let out = run_in(tmp.path(), &["run", &format!("{name}.toml")]);
        assert!(out.status.success(), "{}", stderr(&out));
        let errors = error_rows(&tmp.path().join(format!("runs/{name}/embed/_errors")));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "tiny");
        assert!(
            errors[0]
                .2
                .contains("160 samples at 16000 Hz is shorter than the 400 samples"),
            "{errors:?}"
        );
    }

    let vb = VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu);
    let hubert = Hubert::new("hubert_base", vb, HubertConfig::base()).unwrap();
    let options = LoadOptions::new(16_000);
    let (mean_ids, mean, dim) = read_embeddings(&tmp.path().join("runs/mean/embed"));
    let (first_ids, first, _) = read_embeddings(&tmp.path().join("runs/first/embed"));
    assert_eq!(dim, 768);
    assert_eq!(mean_ids, ["h0", "h1", "h2"]);
    assert_eq!(first_ids, mean_ids);
    for (index, id) in mean_ids.iter().enumerate() {
        let clip = nona_audio::load(&data.join(format!("wav/{id}.wav")), &options).unwrap();
        let n = clip.samples.len();
        let expected_mean = embed_clip(&hubert, &clip.samples, clip.valid);
        assert_parity(
            &format!("hubert {id} mean"),
            row(&mean, dim, index),
            &expected_mean,
        );
        let hidden = hubert
            .forward(&Tensor::from_slice(&clip.samples, (1, n), &Device::Cpu).unwrap())
            .unwrap();
        let expected_first: Vec<f32> = hidden.get(0).unwrap().get(0).unwrap().to_vec1().unwrap();
        assert_parity(
            &format!("hubert {id} first"),
            row(&first, dim, index),
            &expected_first,
        );
    }
    let metadata = table_metadata(&tmp.path().join("runs/first/embed"));
    assert_eq!(metadata["nona.pooling"], "first");
    assert_eq!(metadata["nona.weights_sha256"], "synthetic");
}

/// Whisper with `mean_all` pooling and `normalize = true` (synthetic weights): unit-norm rows equal
/// to the library's; a 2 s window centred in a 3 s clip.
#[test]
fn whisper_mean_all_normalized_centre_window_matches_the_library() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("wav")).unwrap();
    let mut chirp = sine(200.0, 0.3, 3.0, 16_000);
    for (i, s) in chirp.iter_mut().enumerate() {
        *s += 0.2 * (i as f32 * i as f32 * 1e-6).sin();
    }
    write_wav(&data.join("wav/w0.wav"), &chirp, 16_000, 1);
    write_wav(
        &data.join("wav/w1.wav"),
        &sine(1000.0, 0.2, 1.0, 16_000),
        16_000,
        1,
    );
    std::fs::write(
        data.join("labels.csv"),
        "id,path,label\nw0,wav/w0.wav,1\nw1,wav/w1.wav,2\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("all.toml"),
        r#"[dataset]
root = "data"
manifest = "labels.csv"
modality = "audio"

[preprocess.audio]
duration_s = 2.0
anchor = "center"

[embed]
backbone = "whisper_tiny_en"
weights = "synthetic"
pooling = "mean_all"
normalize = true
"#,
    )
    .unwrap();
    let out = run_in(tmp.path(), &["run", "all.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (ids, values, dim) = read_embeddings(&tmp.path().join("runs/all/embed"));
    assert_eq!((ids.len(), dim), (2, 384));
    let metadata = table_metadata(&tmp.path().join("runs/all/embed"));
    assert_eq!(metadata["nona.pooling"], "mean_all");
    assert_eq!(metadata["nona.normalize"], "true");

    let vb = VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu);
    let options = BuildOptions {
        pooling: Some(PoolingOption::MeanAll),
        normalize: Some(true),
    };
    let whisper = build_backbone_with("whisper_tiny_en", vb, &options).unwrap();
    let load = LoadOptions {
        anchor: nona_audio::WindowAnchor::Center,
        ..LoadOptions::new(16_000).with_window_seconds(2.0)
    };
    for (index, id) in ids.iter().enumerate() {
        let clip = nona_audio::load(&data.join(format!("wav/{id}.wav")), &load).unwrap();
        let expected = embed_clip(whisper.as_ref(), &clip.samples, clip.valid);
        let got = row(&values, dim, index);
        assert_parity(&format!("whisper mean_all+l2 {id}"), got, &expected);
        let norm = got.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{id}: norm {norm}");
    }
}

/// Problems with audio options are reported by `nona validate` with file:line, before any work.
#[test]
fn audio_config_errors_are_reported_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    audio_dataset(&tmp.path().join("data"));
    std::fs::write(
        tmp.path().join("values.toml"),
        r#"[dataset]
root = "data"
manifest = "labels.csv"
modality = "audio"

[preprocess.audio]
duration_s = 0
silence_threshold = -1.0
short = "error"

[embed]
backbone = "whisper_tiny_en"
pooling = "cls"
"#,
    )
    .unwrap();
    let err = stderr(&run_in(tmp.path(), &["validate", "values.toml"]));
    for line in [
        "values.toml:7:1: `duration_s` must be a positive number of seconds, got 0",
        "values.toml:8:1: `silence_threshold` must be a peak amplitude >= 0",
        "values.toml:13:1: backbone `whisper_tiny_en` does not offer pooling `cls` (it offers mean, mean_all)",
    ] {
        assert!(err.contains(line), "expected `{line}` in\n{err}");
    }
    std::fs::write(
        tmp.path().join("kinds.toml"),
        r#"[dataset]
root = "data"
manifest = "labels.csv"
modality = "audio"

[preprocess.audio]
anchor = "middle"
short = "error"

[preprocess.image]
transforms = []

[embed]
backbone = "bert_base"
"#,
    )
    .unwrap();
    let out = run_in(tmp.path(), &["validate", "kinds.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for line in [
        "kinds.toml:7:1: unknown value `middle` in `preprocess`",
        "kinds.toml:14:1: backbone `bert_base` reads text, but `dataset.modality` is audio",
    ] {
        assert!(err.contains(line), "expected `{line}` in\n{err}");
    }
    // The section fails to parse, so its other problems are reported once fixed.
    std::fs::write(
        tmp.path().join("kinds.toml"),
        std::fs::read_to_string(tmp.path().join("kinds.toml"))
            .unwrap()
            .replace("\"middle\"", "\"center\""),
    )
    .unwrap();
    let err = stderr(&run_in(tmp.path(), &["validate", "kinds.toml"]));
    for line in [
        "kinds.toml:8:1: `short = \"error\"` needs a `duration_s`",
        "kinds.toml:10:13: `[preprocess.image]` is for image datasets, but `dataset.modality` is Audio",
        "kinds.toml:14:1: backbone `bert_base` reads text, but `dataset.modality` is audio",
    ] {
        assert!(err.contains(line), "expected `{line}` in\n{err}");
    }
    std::fs::write(
        tmp.path().join("type.toml"),
        "[dataset]\nroot = \"data\"\nmanifest = \"labels.csv\"\nmodality = \"audio\"\n\n[preprocess.audio]\ndenoise = \"yes\"\n",
    )
    .unwrap();
    let err = stderr(&run_in(tmp.path(), &["validate", "type.toml"]));
    assert!(
        err.contains("type.toml:7:1: `preprocess.audio.denoise`: invalid type: string \"yes\""),
        "{err}"
    );
}
