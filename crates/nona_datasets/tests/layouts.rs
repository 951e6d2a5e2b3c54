//! Every layout adapter on its committed fixture (`tests/fixtures/datasets/<name>/`, in the
//! dataset's own file names, columns and folders): ids, inputs, labels and the rows it marks as
//! unusable. `regenerate_fixtures` (ignored) rewrites the binary fixture files.

use std::path::{Path, PathBuf};

use nona_datasets::{Row, Source};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/datasets")
}

fn read(layout: &str, root: &str, manifest: &str) -> Vec<Row> {
    let layout = nona_datasets::layout(layout).expect("layout is registered");
    let source = Source {
        root: fixtures().join(root),
        manifest: manifest.into(),
        work_dir: None,
    };
    layout.check(&source).expect("fixture passes the check");
    layout.read(&source).expect("fixture reads")
}

/// (id, input, label, problem) of each row.
fn summary(rows: &[Row]) -> Vec<(String, String, String, String)> {
    rows.iter()
        .map(|r| {
            let text = |v: &Option<String>| v.clone().unwrap_or_default();
            (
                text(&r.id),
                text(&r.input),
                text(&r.label),
                text(&r.problem),
            )
        })
        .collect()
}

fn row(id: &str, input: &str, label: &str) -> (String, String, String, String) {
    (id.into(), input.into(), label.into(), String::new())
}

#[test]
fn houses_reads_houses_info_and_frontal_photos() {
    let rows = read("houses", "houses", "HousesInfo.txt");
    let summary = summary(&rows);
    assert_eq!(summary[0], row("1", "1_frontal.jpg", "869500"));
    assert_eq!(summary[1], row("2", "2_frontal.jpg", "865200"));
    // Line 3 is blank: pandas skips it, so the third house is on line 4.
    assert_eq!(rows[2].origin, "line 4");
    assert_eq!(summary[2], row("3", "3_frontal.jpg", "0"));
    assert_eq!(summary[3].0, "4");
    assert!(
        summary[3]
            .3
            .contains("expected the 5 space-separated fields"),
        "{:?}",
        summary[3]
    );
    assert_eq!(summary[4], row("5", "5_frontal.jpg", "505000"));
    assert_eq!(rows.len(), 5);
}

#[test]
fn houses_check_rejects_another_file() {
    let layout = nona_datasets::layout("houses").unwrap();
    let source = Source {
        root: fixtures().join("udacity/simulator"),
        manifest: "driving_log.csv".into(),
        work_dir: None,
    };
    let error = layout.check(&source).unwrap_err();
    assert!(
        error.message.contains("5 space-separated fields"),
        "{error}"
    );
}

#[test]
fn udacity_simulator_log_resolves_frames_under_img() {
    let rows = read("udacity", "udacity/simulator", "driving_log.csv");
    let summary = summary(&rows);
    assert_eq!(
        summary[0],
        row(
            "center_2016_12_01_13_30_48_287",
            "IMG/center_2016_12_01_13_30_48_287.jpg",
            "0"
        )
    );
    // A Windows path from the recording machine.
    assert_eq!(
        summary[1],
        row(
            "center_2016_12_01_13_30_48_404",
            "IMG/center_2016_12_01_13_30_48_404.jpg",
            "-0.1426245"
        )
    );
    assert_eq!(summary[2].0, "center_2016_12_01_13_31_12_818");
    assert!(
        summary[2].3.contains("expected the 7 fields"),
        "{:?}",
        summary[2]
    );
    assert_eq!(rows[2].origin, "line 3");
    // The frame is listed but its file is missing: preprocess reports it.
    assert_eq!(summary[3].0, "center_2016_12_01_13_31_12_937");
    assert_eq!(rows.len(), 4);
}

#[test]
fn udacity_challenge_keeps_the_center_camera() {
    let rows = read("udacity", "udacity/challenge", "interpolated.csv");
    let summary = summary(&rows);
    assert_eq!(
        summary,
        vec![
            row(
                "1479425441182877835",
                "center/1479425441182877835.jpg",
                "-0.0488692180812358"
            ),
            row(
                "1479425441232704425",
                "center/1479425441232704425.jpg",
                "0.0523598790168762"
            ),
        ]
    );
    assert_eq!(rows[1].origin, "line 5");
}

#[test]
fn pitchfork_joins_reviews_and_content() {
    let rows = read("pitchfork", "pitchfork", "database.sqlite");
    let summary = summary(&rows);
    assert_eq!(summary.len(), 5);
    assert_eq!(summary[0].0, "22703");
    assert!(
        summary[0]
            .1
            .starts_with("Trip-hop eventually became a ’90s punchline")
    );
    assert_eq!(summary[0].2, "9.3");
    assert_eq!(rows[0].origin, "reviews rowid 1");
    assert_eq!(
        (summary[1].0.as_str(), summary[1].2.as_str()),
        ("22721", "7.9")
    );
    assert_eq!(summary[2].3, "no `content` row with reviewid 22659");
    // NULL score: no label (preprocess reports it).
    assert_eq!(
        (summary[3].0.as_str(), summary[3].2.as_str()),
        ("22661", "")
    );
    // The second copy of 22703 is read as is; preprocess reports the duplicate id.
    assert_eq!(summary[4].0, "22703");
}

#[test]
fn books_reads_synopsis_and_price_from_the_first_sheet() {
    let rows = read("books", "books", "Data_Train.xlsx");
    let summary = summary(&rows);
    assert_eq!(summary.len(), 4);
    assert_eq!(
        summary[0],
        row(
            "row2",
            "THE HUNTERS return in their third brilliant novel from the Sunday Times Top Ten bestselling author.",
            "220"
        )
    );
    assert_eq!(rows[0].origin, "row 2");
    assert_eq!(
        summary[1],
        row(
            "row3",
            "A concise handbook on sustainable travel & ecology, with case studies.",
            "202.93"
        )
    );
    assert_eq!(summary[2], row("row4", "", "299"));
    assert_eq!(summary[3], row("row5", "A Miss Marple mystery.", "n/a"));
}

#[test]
fn books_names_a_missing_column() {
    let layout = nona_datasets::layout("books").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Data_Train.xlsx"), b"not a zip").unwrap();
    let source = Source {
        root: tmp.path().into(),
        manifest: "Data_Train.xlsx".into(),
        work_dir: None,
    };
    let error = layout.check(&source).unwrap_err();
    assert!(error.message.contains("cannot open as .xlsx"), "{error}");
}

#[test]
fn medsegbench_extracts_images_and_measures_mask_area() {
    let layout = nona_datasets::layout("medsegbench").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("files");
    let source = Source {
        root: fixtures().join("medsegbench"),
        manifest: "brifiseg_8.npz".into(),
        work_dir: Some(work.clone()),
    };
    layout.check(&source).unwrap();
    // A file already there is a finished earlier write: kept as is.
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("test-00000.png"), b"kept").unwrap();
    let rows = layout.read(&source).unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_deref().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "train-00000",
            "train-00001",
            "train-00002",
            "val-00000",
            "val-00001",
            "test-00000"
        ]
    );
    let labels: Vec<Option<&str>> = rows.iter().map(|r| r.label.as_deref()).collect();
    assert_eq!(
        labels,
        [
            Some("5"),
            Some("0"),
            Some("12"),
            Some("64"),
            None,
            Some("20")
        ]
    );
    assert_eq!(rows[4].origin, "val_images[1]");
    assert_eq!(
        rows[4].problem.as_deref(),
        Some("no mask: `val_label` holds 1 masks for 2 images")
    );
    let first = image::open(work.join("train-00001.png"))
        .unwrap()
        .to_luma8();
    assert_eq!(first.dimensions(), (8, 8));
    assert_eq!(first.get_pixel(1, 0).0[0], 47);
    assert_eq!(
        rows[1].input.as_deref(),
        Some(work.join("train-00001.png").to_str().unwrap())
    );
    assert_eq!(std::fs::read(work.join("test-00000.png")).unwrap(), b"kept");
    assert!(!work.join("val-00001.png.partial").exists());
    // Checking writes nothing.
    let check_only = Source {
        work_dir: None,
        ..source
    };
    assert!(
        layout
            .read(&check_only)
            .unwrap()
            .iter()
            .all(|r| r.input.is_none())
    );
}

/// Rewrites the fixtures' binary files (images); run with
/// `cargo test -p nona_datasets --test layouts -- --ignored regenerate_fixtures`.
#[test]
#[ignore = "rewrites committed fixtures"]
fn regenerate_fixtures() {
    let root = fixtures();
    let jpeg = |path: PathBuf, shade: u8| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let image = image::RgbImage::from_fn(12, 8, |x, y| {
            image::Rgb([shade, (x * 20) as u8, (y * 30) as u8])
        });
        image.save(path).unwrap();
    };
    // Houses: photos of houses 1, 2, 3 and 5 (house 4's line is malformed, 5 has no kitchen).
    for n in [1u8, 2, 3, 5] {
        jpeg(root.join(format!("houses/{n}_frontal.jpg")), n * 40);
    }
    jpeg(root.join("houses/1_kitchen.jpg"), 10);
    // Udacity simulator: centre frames of lines 1 and 2 (line 4's frame is missing), one side
    // camera frame to show the layout.
    for (name, shade) in [
        ("center_2016_12_01_13_30_48_287", 30),
        ("center_2016_12_01_13_30_48_404", 60),
        ("left_2016_12_01_13_30_48_287", 90),
    ] {
        jpeg(
            root.join(format!("udacity/simulator/IMG/{name}.jpg")),
            shade,
        );
    }
    // Audio: short tones as 16-bit mono WAV (COUGHVID after the documented ffmpeg conversion,
    // NoseMic's plain layout); one COUGHVID recording only as its original WebM (not converted),
    // one a WAV that is not audio.
    for (path, hertz) in [
        ("coughvid/00014dcc-0f06-4c27-8c7b-737b18a2cf4c.wav", 300.0),
        ("coughvid/00039425-7f3a-42aa-ac13-834aaa2b6b92.wav", 440.0),
        ("coughvid/0007c6f1-5441-40e6-9aaf-a761d8f2da3b.wav", 660.0),
        ("nosemic/clips/p01-rest-1.wav", 80.0),
        ("nosemic/clips/p01-walk-1.wav", 120.0),
        ("nosemic/clips/p02-rest-1.wav", 100.0),
    ] {
        write_wav(&root.join(path), 8000, 0.25, hertz);
    }
    std::fs::write(
        root.join("coughvid/0009eb28-d8be-4dc1-92bb-907e53bc5c7a.webm"),
        b"\x1a\x45\xdf\xa3 an unconverted WebM/Opus recording",
    )
    .unwrap();
    std::fs::write(
        root.join("coughvid/0012c608-33d0-4ef7-bde3-75a0b1a0024e.wav"),
        b"RIFF not really a wave file",
    )
    .unwrap();
    write_pitchfork(&root.join("pitchfork/database.sqlite"));
    write_books(&root.join("books/Data_Train.xlsx"));
    write_medsegbench(&root.join("medsegbench/brifiseg_8.npz"));
    for (name, shade) in [
        ("center/1479425441182877835", 120),
        ("center/1479425441232704425", 150),
        ("left/1479425441182877835", 180),
    ] {
        jpeg(root.join(format!("udacity/challenge/{name}.jpg")), shade);
    }
}

/// A 16-bit mono PCM WAV of a sine tone.
fn write_wav(path: &Path, rate: u32, seconds: f64, hertz: f64) {
    let count = (f64::from(rate) * seconds) as u32;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + count * 2).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&(rate * 2).to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&(count * 2).to_le_bytes());
    for i in 0..count {
        let t = f64::from(i) / f64::from(rate);
        let value = (0.4 * (2.0 * std::f64::consts::PI * hertz * t).sin() * 32767.0) as i16;
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The scraper's schema, four reviews: one without content, one without a score, and a second
/// copy of the first (the real scrape has such duplicates).
fn write_pitchfork(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(path);
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(
        "CREATE TABLE reviews (reviewid INTEGER, title TEXT, artist TEXT, url TEXT, score REAL,
             best_new_music INTEGER, author TEXT, author_type TEXT, pub_date TEXT,
             pub_weekday INTEGER, pub_day INTEGER, pub_month INTEGER, pub_year INTEGER);
         CREATE TABLE content (reviewid INTEGER, content TEXT);
         CREATE TABLE genres (reviewid INTEGER, genre TEXT);
         INSERT INTO reviews VALUES
           (22703, 'mezzanine', 'massive attack', 'http://pitchfork.com/reviews/albums/22703-mezzanine/', 9.3, 0, 'nate patrin', 'contributor', '2017-01-08', 6, 8, 1, 2017),
           (22721, 'prelapsarian', 'krallice', 'http://pitchfork.com/reviews/albums/22721-prelapsarian/', 7.9, 0, 'zoe camp', 'contributor', '2017-01-07', 5, 7, 1, 2017),
           (22659, 'all of them naturals', 'uranium club', 'http://pitchfork.com/reviews/albums/22659-all-of-them-naturals/', 7.3, 0, 'david glickman', 'contributor', '2017-01-07', 5, 7, 1, 2017),
           (22661, 'first songs', 'kleenex, liliput', 'http://pitchfork.com/reviews/albums/22661-first-songs/', NULL, 1, 'jenn pelly', 'associate reviews editor', '2017-01-06', 4, 6, 1, 2017),
           (22703, 'mezzanine', 'massive attack', 'http://pitchfork.com/reviews/albums/22703-mezzanine/', 9.3, 0, 'nate patrin', 'contributor', '2017-01-08', 6, 8, 1, 2017);
         INSERT INTO content VALUES
           (22703, 'Trip-hop eventually became a ’90s punchline, a music-press shorthand for “overhyped hotel lounge music.”'),
           (22721, 'Krallice’s new album is dense, thorny and, at times, beautiful black metal.'),
           (22661, 'Kleenex were a Swiss punk band whose songs still sound like a dare.');
         INSERT INTO genres VALUES (22703, 'electronic'), (22721, 'metal');",
    )
    .unwrap();
}

/// A minimal .xlsx (shared strings, one sheet) with the hackathon's columns: two good books, one
/// without a synopsis, one whose price is not a number.
fn write_books(path: &Path) {
    use std::io::Write;
    let header = [
        "Title",
        "Author",
        "Edition",
        "Reviews",
        "Ratings",
        "Synopsis",
        "Genre",
        "BookCategory",
        "Price",
    ];
    let books: [[&str; 9]; 4] = [
        [
            "The Prisoner's Gold (The Hunters 3)",
            "Chris Kuzneski",
            "Paperback,– 10 Mar 2016",
            "4.0 out of 5 stars",
            "8 customer reviews",
            "THE HUNTERS return in their third brilliant novel from the Sunday Times Top Ten bestselling author.",
            "Action & Adventure (Books)",
            "Action & Adventure",
            "220",
        ],
        [
            "Guide To Eco-Tourism",
            "Rahul Sharma",
            "Paperback,– 1 Jan 2009",
            "3.9 out of 5 stars",
            "14 customer reviews",
            "A concise handbook on sustainable travel & ecology, with case studies.",
            "Travel (Books)",
            "Travel",
            "202.93",
        ],
        [
            "Leviathan (Penguin Classics)",
            "Thomas Hobbes",
            "Paperback,– 25 Feb 1982",
            "4.8 out of 5 stars",
            "6 customer reviews",
            "",
            "Philosophy (Books)",
            "Philosophy",
            "299",
        ],
        [
            "A Pocket Full of Rye",
            "Agatha Christie",
            "Paperback,– 5 Oct 2017",
            "4.1 out of 5 stars",
            "13 customer reviews",
            "A Miss Marple mystery.",
            "Crime (Books)",
            "Crime, Thriller & Mystery",
            "n/a",
        ],
    ];
    let mut strings: Vec<&str> = Vec::new();
    let mut index = |text: &'static str| -> usize {
        if let Some(i) = strings.iter().position(|s| *s == text) {
            return i;
        }
        strings.push(text);
        strings.len() - 1
    };
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let column = |c: usize| char::from(b'A' + c as u8);
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    let rows = std::iter::once(&header).chain(books.iter());
    for (r, cells) in rows.enumerate() {
        sheet.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, text) in cells.iter().enumerate() {
            let cell = format!("{}{}", column(c), r + 1);
            if text.is_empty() {
                continue;
            }
            if c == 8 && r > 0 && text.parse::<f64>().is_ok() {
                sheet.push_str(&format!(r#"<c r="{cell}"><v>{text}</v></c>"#));
            } else {
                let i = index(text);
                sheet.push_str(&format!(r#"<c r="{cell}" t="s"><v>{i}</v></c>"#));
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let mut shared = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{0}" uniqueCount="{0}">"#,
        strings.len()
    );
    for text in &strings {
        shared.push_str(&format!("<si><t>{}</t></si>", escape(text)));
    }
    shared.push_str("</sst>");
    let parts = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#.to_owned()),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_owned()),
        ("xl/workbook.xml", r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_owned()),
        ("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#.to_owned()),
        ("xl/worksheets/sheet1.xml", sheet),
        ("xl/sharedStrings.xml", shared),
    ];
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, text) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

/// `<split>_images` (uint8 N×8×8) and `<split>_label` (uint8 masks) as `np.savez_compressed`
/// writes them; `val` has one mask too few.
fn write_medsegbench(path: &Path) {
    use std::io::Write;
    let npy = |shape: &[usize], data: &[u8]| {
        let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
        let mut header = format!(
            "{{'descr': '|u1', 'fortran_order': False, 'shape': ({},), }}",
            dims.join(", ")
        );
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    };
    let image =
        |seed: usize| -> Vec<u8> { (0..64).map(|p| ((p * 7 + seed * 40) % 256) as u8).collect() };
    // A mask with `area` foreground pixels (value 1).
    let mask = |area: usize| -> Vec<u8> { (0..64).map(|p| u8::from(p < area)).collect() };
    let arrays: Vec<(&str, Vec<usize>, Vec<u8>)> = vec![
        (
            "train_images",
            vec![3, 8, 8],
            [image(0), image(1), image(2)].concat(),
        ),
        (
            "train_label",
            vec![3, 8, 8],
            [mask(5), mask(0), mask(12)].concat(),
        ),
        ("val_images", vec![2, 8, 8], [image(3), image(4)].concat()),
        ("val_label", vec![1, 8, 8], mask(64)),
        ("test_images", vec![1, 8, 8], image(5)),
        ("test_label", vec![1, 8, 8], mask(20)),
    ];
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, shape, data) in arrays {
        zip.start_file(format!("{name}.npy"), options).unwrap();
        zip.write_all(&npy(&shape, &data)).unwrap();
    }
    zip.finish().unwrap();
}

/// The simulator on Windows writes `\r\n` line endings: rows keep the numbers of their lines.
#[test]
fn udacity_lines_are_numbered_alike_with_crlf_endings() {
    for (root, manifest, line) in [
        ("udacity/simulator", "driving_log.csv", (2, "line 3")),
        ("udacity/challenge", "interpolated.csv", (1, "line 5")),
    ] {
        let text = std::fs::read_to_string(fixtures().join(root).join(manifest)).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(manifest), text.replace('\n', "\r\n")).unwrap();
        let source = Source {
            root: tmp.path().to_path_buf(),
            manifest: manifest.into(),
            work_dir: None,
        };
        let rows = nona_datasets::layout("udacity")
            .unwrap()
            .read(&source)
            .unwrap();
        assert_eq!(rows[line.0].origin, line.1, "{manifest}");
        let lf = read("udacity", root, manifest);
        let origins = |rows: &[Row]| rows.iter().map(|r| r.origin.clone()).collect::<Vec<_>>();
        assert_eq!(origins(&rows), origins(&lf), "{manifest}");
    }
}
