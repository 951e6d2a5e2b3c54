//! Inputs stay where the user put them: a sample path that leaves `[dataset] root` (absolute,
//! `..`, a symbolic link to elsewhere) is an errors-table row unless `allow_outside_root`, in
//! every modality and layout, and `embed` checks again. One bad manifest line (ragged, not
//! UTF-8) is one errors-table row naming its line, with LF and CRLF line endings.

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::{error_rows, run_in, stderr, write_wav};

fn png(path: &Path) {
    image::RgbImage::from_pixel(6, 5, image::Rgb([10, 20, 30]))
        .save_with_format(path, image::ImageFormat::Png)
        .unwrap();
}

/// The ids of a samples or embeddings table, sorted.
fn ids(table: &Path) -> Vec<String> {
    let dataset = nona_table::Dataset::open(table).unwrap();
    let mut ids = Vec::new();
    for batch in dataset.read_all().unwrap() {
        let column = nona_table::string_column(&batch, "id", table).unwrap();
        ids.extend((0..batch.num_rows()).map(|r| column.value(r).to_owned()));
    }
    ids.sort();
    ids
}

fn pipeline(dir: &Path, data: &Path, dataset_keys: &str, sections: &str) {
    std::fs::write(
        dir.join("p.toml"),
        format!(
            "[dataset]\nroot = \"{}\"\n{dataset_keys}\n\n[preprocess]\n{sections}\n",
            data.display()
        ),
    )
    .unwrap();
}

/// Asserts `errors` (id, source, message) holds a row for `id` whose source is the manifest's
/// `line` and whose message names `path` and says why.
fn assert_outside(errors: &[(String, String, String)], id: &str, line: &str, path: &str) {
    let Some((_, source, message)) = errors.iter().find(|(i, _, _)| i == id) else {
        panic!("no error row for `{id}`: {errors:#?}");
    };
    assert!(source.ends_with(line), "{id}: source {source}");
    assert!(
        message.contains(path)
            && message.contains("dataset root")
            && message.contains("allow_outside_root"),
        "{id}: {message}"
    );
}

#[test]
fn image_paths_outside_the_root_are_error_rows_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp_path = tmp.path().canonicalize().unwrap();
    let data = tmp_path.join("data");
    std::fs::create_dir_all(data.join("img")).unwrap();
    png(&data.join("img/s.png"));
    png(&tmp_path.join("outside.png"));
    symlink(tmp_path.join("outside.png"), data.join("img/out.png")).unwrap();
    symlink("s.png", data.join("img/in.png")).unwrap();
    let outside = tmp_path.join("outside.png");
    std::fs::write(
        data.join("labels.csv"),
        format!(
            "id,path,label\n\
             inside,img/s.png,1\n\
             absolute_inside,{}/img/s.png,2\n\
             link_inside,img/in.png,3\n\
             absolute,{},4\n\
             up,../outside.png,5\n\
             climb,img/../../outside.png,6\n\
             link_outside,img/out.png,7\n",
            data.display(),
            outside.display()
        ),
    )
    .unwrap();
    pipeline(
        &tmp_path,
        &data,
        "manifest = \"labels.csv\"\nmodality = \"image\"",
        "[preprocess.image]\ntransforms = [{ resize = [4, 4] }]",
    );
    let out = run_in(&tmp_path, &["run", "p.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stage = tmp_path.join("runs/p/preprocess");
    assert_eq!(ids(&stage), ["absolute_inside", "inside", "link_inside"]);
    let errors = error_rows(&stage.join("_errors"));
    assert_eq!(errors.len(), 4, "{errors:#?}");
    let outside = outside.display().to_string();
    assert_outside(&errors, "absolute", "labels.csv:line 5", &outside);
    assert_outside(&errors, "up", "labels.csv:line 6", "../outside.png");
    assert_outside(
        &errors,
        "climb",
        "labels.csv:line 7",
        "img/../../outside.png",
    );
    assert_outside(&errors, "link_outside", "labels.csv:line 8", &outside);
    assert!(
        errors[1].2.contains("through `..` leaves"),
        "{:?}",
        errors[1]
    );
    assert!(errors[2].2.contains("symbolic link"), "{:?}", errors[2]);

    // The opt-out reads them all, and is a new configuration (the stage is recomputed).
    let out = run_in(
        &tmp_path,
        &["run", "p.toml", "--set", "dataset.allow_outside_root=true"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ids(&stage).len(), 7);
    assert!(error_rows(&stage.join("_errors")).is_empty());
}

/// A modality, the extension of its sample files, its `[preprocess.*]` section and a writer of
/// one sample file.
type Modality<'a> = (&'a str, &'a str, &'a str, &'a dyn Fn(&Path));

/// Text files (`source = "file"`) and audio files follow the same rule.
#[test]
fn text_and_audio_files_outside_the_root_are_error_rows() {
    let write_text = |path: &Path| std::fs::write(path, "a review").unwrap();
    let write_audio =
        |path: &Path| write_wav(path, &common::sine(440.0, 0.5, 0.2, 16_000), 16_000, 1);
    let cases: [Modality; 2] = [
        (
            "text",
            "txt",
            "[preprocess.text]\nsource = \"file\"",
            &write_text,
        ),
        ("audio", "wav", "", &write_audio),
    ];
    for (modality, ext, section, write) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let tmp_path = tmp.path().canonicalize().unwrap();
        let data = tmp_path.join("data");
        std::fs::create_dir_all(&data).unwrap();
        write(&data.join(format!("in.{ext}")));
        let outside = tmp_path.join(format!("secret.{ext}"));
        write(&outside);
        symlink(&outside, data.join(format!("link.{ext}"))).unwrap();
        std::fs::write(
            data.join("labels.csv"),
            format!(
                "id,path,label\ninside,in.{ext},1\nabsolute,{},2\nup,../secret.{ext},3\nlink,link.{ext},4\n",
                outside.display()
            ),
        )
        .unwrap();
        pipeline(
            &tmp_path,
            &data,
            &format!("manifest = \"labels.csv\"\nmodality = \"{modality}\""),
            section,
        );
        let out = run_in(&tmp_path, &["run", "p.toml"]);
        assert!(out.status.success(), "{modality}: {}", stderr(&out));
        let stage = tmp_path.join("runs/p/preprocess");
        assert_eq!(ids(&stage), ["inside"], "{modality}");
        let errors = error_rows(&stage.join("_errors"));
        assert_eq!(errors.len(), 3, "{modality}: {errors:#?}");
        let outside = outside.display().to_string();
        assert_outside(&errors, "absolute", "labels.csv:line 3", &outside);
        assert_outside(
            &errors,
            "up",
            "labels.csv:line 4",
            &format!("../secret.{ext}"),
        );
        assert_outside(&errors, "link", "labels.csv:line 5", &outside);
    }
}

/// The adapters' paths are checked like a plain manifest's: Udacity Challenge 2 joins
/// `filename` from its CSV, Houses names photos beside its file.
#[test]
fn layout_paths_outside_the_root_are_error_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp_path = tmp.path().canonicalize().unwrap();
    let outside = tmp_path.join("outside.jpg");
    png(&outside);
    let elsewhere = tmp_path.join("elsewhere.jpg");
    png(&elsewhere);

    let udacity = tmp_path.join("udacity");
    std::fs::create_dir_all(udacity.join("center")).unwrap();
    png(&udacity.join("center/1.jpg"));
    std::fs::write(
        udacity.join("interpolated.csv"),
        format!(
            "frame_id,filename,angle\n\
             center_camera,center/1.jpg,0.1\n\
             center_camera,../outside.jpg,0.2\n\
             center_camera,{},0.3\n",
            elsewhere.display()
        ),
    )
    .unwrap();
    pipeline(
        &tmp_path,
        &udacity,
        "manifest = \"interpolated.csv\"\nmodality = \"image\"\nlayout = \"udacity\"",
        "",
    );
    let out = run_in(&tmp_path, &["run", "p.toml", "--runs-dir", "udacity-runs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stage = tmp_path.join("udacity-runs/p/preprocess");
    assert_eq!(ids(&stage), ["1"]);
    let errors = error_rows(&stage.join("_errors"));
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_outside(
        &errors,
        "outside",
        "interpolated.csv:line 3",
        "../outside.jpg",
    );
    assert_outside(
        &errors,
        "elsewhere",
        "interpolated.csv:line 4",
        &elsewhere.display().to_string(),
    );

    let houses = tmp_path.join("houses");
    std::fs::create_dir_all(&houses).unwrap();
    std::fs::write(
        houses.join("HousesInfo.txt"),
        "4 4 4053 85255 869500\n3 2 2800 85255 499000\n",
    )
    .unwrap();
    png(&houses.join("1_frontal.jpg"));
    symlink(&outside, houses.join("2_frontal.jpg")).unwrap();
    pipeline(
        &tmp_path,
        &houses,
        "manifest = \"HousesInfo.txt\"\nmodality = \"image\"\nlayout = \"houses\"",
        "",
    );
    let out = run_in(&tmp_path, &["run", "p.toml", "--runs-dir", "houses-runs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stage = tmp_path.join("houses-runs/p/preprocess");
    assert_eq!(ids(&stage), ["1"]);
    let errors = error_rows(&stage.join("_errors"));
    assert_outside(
        &errors,
        "2",
        "HousesInfo.txt:line 2",
        &outside.display().to_string(),
    );
}

/// `embed` opens only files inside the root, even when one became a link after preprocess
/// checked it.
#[test]
fn embed_does_not_follow_a_sample_that_became_a_link_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp_path = tmp.path().canonicalize().unwrap();
    let data = tmp_path.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for name in ["a", "b", "c"] {
        png(&data.join(format!("{name}.png")));
    }
    png(&tmp_path.join("outside.png"));
    std::fs::write(
        data.join("labels.csv"),
        "id,path,label\na,a.png,1\nb,b.png,2\nc,c.png,3\n",
    )
    .unwrap();
    pipeline(
        &tmp_path,
        &data,
        "manifest = \"labels.csv\"\nmodality = \"image\"",
        "[preprocess.image]\ntransforms = [{ resize = [8, 8] }]\n\n[embed]\nbackbone = \"resnet18\"\nweights = \"synthetic\"\nbatch_size = 2",
    );
    let out = run_in(&tmp_path, &["run", "p.toml", "--stage", "preprocess"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_file(data.join("b.png")).unwrap();
    symlink(tmp_path.join("outside.png"), data.join("b.png")).unwrap();
    let out = run_in(&tmp_path, &["run", "p.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stage = tmp_path.join("runs/p/embed");
    assert_eq!(ids(&stage), ["a", "c"]);
    let errors = error_rows(&stage.join("_errors"));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].0, "b");
    assert!(
        errors[0].2.contains("symbolic link") && errors[0].2.contains("outside.png"),
        "{errors:#?}"
    );
}

/// A ragged line and a cell that is not UTF-8 are one errors-table row each, named by file and
/// line; the other rows (and bad bytes in a column the pipeline does not read) go on. Lines are
/// numbered alike with LF and CRLF endings and after a quoted field spanning two lines.
#[test]
fn bad_manifest_lines_are_error_rows_with_their_line() {
    let lines: Vec<Vec<u8>> = vec![
        b"id,text,label,note".to_vec(),
        b"a,\"first\nsecond\",1,".to_vec(),
        b"b,fine,2,".to_vec(),
        b"c,ragged,3,,extra".to_vec(),
        b"d,caf\xff,4,".to_vec(),
        b"e,unused column,5,\xfe".to_vec(),
        b"f,short".to_vec(),
        b"g,bad label,many,".to_vec(),
        b"h,last,8,".to_vec(),
    ];
    for ending in ["\n", "\r\n"] {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let mut csv = Vec::new();
        for line in &lines {
            csv.extend(line.iter().copied());
            csv.extend_from_slice(ending.as_bytes());
        }
        if ending == "\r\n" {
            // The quoted field's own line break is a CRLF too.
            let at = csv.windows(2).position(|w| w == b"t\n").unwrap() + 1;
            csv.insert(at, b'\r');
        }
        std::fs::write(data.join("labels.csv"), csv).unwrap();
        pipeline(
            tmp.path(),
            &data,
            "manifest = \"labels.csv\"\nmodality = \"text\"\ninput_column = \"text\"",
            "",
        );
        let out = run_in(tmp.path(), &["run", "p.toml"]);
        assert!(out.status.success(), "{ending:?}: {}", stderr(&out));
        let stage = tmp.path().join("runs/p/preprocess");
        assert_eq!(ids(&stage), ["a", "b", "e", "h"], "{ending:?}");
        let errors = error_rows(&stage.join("_errors"));
        let lines: Vec<(&str, &str)> = errors
            .iter()
            .map(|(_, source, message)| {
                let line = source.rsplit_once("labels.csv:").map_or("", |(_, l)| l);
                (line, message.as_str())
            })
            .collect();
        assert_eq!(lines.len(), 4, "{ending:?}: {errors:#?}");
        let find = |line: &str| {
            lines
                .iter()
                .find(|(l, _)| *l == line)
                .map(|(_, m)| *m)
                .unwrap_or_else(|| panic!("{ending:?}: no error at {line}: {errors:#?}"))
        };
        assert!(find("line 5").contains("has 5 comma-separated fields, the header has 4"));
        assert!(find("line 6").contains("column `text` is not UTF-8"));
        assert!(find("line 8").contains("has 2 comma-separated fields"));
        assert!(find("line 9").contains("label `many`"));
    }
}

/// The `source_row` and `input` of every row of a samples table, by id.
fn samples(table: &Path) -> std::collections::BTreeMap<String, (i64, String)> {
    let dataset = nona_table::Dataset::open(table).unwrap();
    let mut rows = std::collections::BTreeMap::new();
    for batch in dataset.read_all().unwrap() {
        let ids = nona_table::string_column(&batch, "id", table).unwrap();
        let inputs = nona_table::string_column(&batch, "input", table).unwrap();
        let source_rows = nona_table::i64_column(&batch, "source_row", table).unwrap();
        for r in 0..batch.num_rows() {
            let row = (source_rows.value(r), inputs.value(r).to_owned());
            assert!(rows.insert(ids.value(r).to_owned(), row).is_none());
        }
    }
    rows
}

/// One manifest line of the property test: its text cell, its label and how it is damaged
/// (0: not, 1: one field too many, 2: a 0xff byte in the text).
type Line = (String, String, u8);

fn manifest_line() -> impl proptest::strategy::Strategy<Value = Line> {
    use proptest::prelude::*;
    let text = proptest::collection::vec(
        prop_oneof![4 => proptest::char::range('a', 'z'), 1 => Just(','), 1 => Just('"'),
            1 => Just('\n'), 1 => Just(' ')],
        0..6,
    )
    .prop_map(|chars| chars.into_iter().collect::<String>());
    let label = prop_oneof![3 => (-5i32..5).prop_map(|v| v.to_string()), 1 => Just("x".to_owned())];
    (
        text,
        label,
        prop_oneof![4 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
    )
}

proptest::proptest! {
    #![proptest_config(nona_testkit::cases(6))]

    /// Through `nona run`: every data line of a damaged manifest is either a sample or an
    /// errors-table row naming its line, never both, never neither; good lines are samples.
    #[test]
    fn preprocess_gives_every_manifest_line_one_outcome(
        lines in proptest::collection::vec(manifest_line(), 1..10),
        crlf in proptest::bool::ANY,
    ) {
        let ending: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut csv = b"id,text,label".to_vec();
        csv.extend_from_slice(ending);
        let mut line_numbers = Vec::new();
        let mut line = 2;
        for (index, (text, label, damage)) in lines.iter().enumerate() {
            let mut text = text.as_bytes().to_vec();
            if *damage == 2 {
                text.push(0xff);
            }
            let mut quoted = b"\"".to_vec();
            for &b in &text {
                quoted.extend(if b == b'"' { &b"\"\""[..] } else { std::slice::from_ref(&b) });
            }
            quoted.push(b'"');
            let mut record = format!("r{index},").into_bytes();
            record.extend(quoted);
            record.extend(format!(",{label}").into_bytes());
            if *damage == 1 {
                record.extend_from_slice(b",extra");
            }
            line_numbers.push(line);
            line += 1 + text.iter().filter(|&&b| b == b'\n').count();
            csv.extend(record);
            csv.extend_from_slice(ending);
        }
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("labels.csv"), &csv).unwrap();
        pipeline(tmp.path(), &data, "manifest = \"labels.csv\"\nmodality = \"text\"\ninput_column = \"text\"", "shard_rows = 3");
        let out = run_in(tmp.path(), &["run", "p.toml"]);
        proptest::prop_assert!(out.status.success(), "{}", stderr(&out));
        let stage = tmp.path().join("runs/p/preprocess");
        let samples = samples(&stage);
        let errors = error_rows(&stage.join("_errors"));
        proptest::prop_assert_eq!(samples.len() + errors.len(), lines.len(), "{:#?}", errors);
        for (index, ((text, label, damage), line)) in lines.iter().zip(&line_numbers).enumerate() {
            let id = format!("r{index}");
            let source = format!("labels.csv:line {line}");
            let errored = errors.iter().filter(|(_, s, _)| s.ends_with(&source)).count();
            let good = *damage == 0 && !text.trim().is_empty() && label != "x";
            if good {
                let text = text.trim().to_owned();
                proptest::prop_assert_eq!(samples.get(&id), Some(&(index as i64, text)));
                proptest::prop_assert_eq!(errored, 0);
            } else {
                proptest::prop_assert!(!samples.contains_key(&id));
                proptest::prop_assert_eq!(errored, 1, "{} at {}: {:#?}", id, line, errors);
            }
        }
    }
}
