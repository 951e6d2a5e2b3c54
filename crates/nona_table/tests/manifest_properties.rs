//! Property tests of the manifest readers: generated CSV and Parquet manifests, some lines
//! damaged (ragged, bytes that are not UTF-8), never panic and never lose a row: every data line
//! has exactly one outcome, a good line its cells and line number, a damaged one its problem.
//!
//! The normal run tries a few dozen cases per property; `PROPTEST_CASES=20000` tries more.

use std::sync::Arc;

use arrow::array::{ArrayRef, BinaryArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use nona_table::read_manifest_columns;
use proptest::prelude::*;

const HEADER: [&str; 4] = ["id", "text", "label", "note"];
/// The columns asked for (`note` is in the file but not read).
const READ: [&str; 3] = ["id", "text", "label"];

/// A cell: letters, separators, quotes, line breaks, spaces and a non-ASCII letter.
fn cell() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            1 => Just(','),
            1 => Just('"'),
            1 => Just('\n'),
            1 => Just('\r'),
            1 => Just(' '),
            1 => Just('é'),
        ],
        0..8,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// What happens to one line of the file.
#[derive(Debug, Clone)]
enum Damage {
    None,
    /// One field too many.
    ExtraField,
    /// The last field dropped.
    MissingField,
    /// A 0xff byte inside column `HEADER[usize]`.
    BadByte(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        6 => Just(Damage::None),
        1 => Just(Damage::ExtraField),
        1 => Just(Damage::MissingField),
        2 => (0..HEADER.len()).prop_map(Damage::BadByte),
    ]
}

/// One CSV field, quoted when it must be.
fn field(text: &[u8]) -> Vec<u8> {
    let special = text
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !special {
        return text.to_vec();
    }
    let mut out = vec![b'"'];
    for &b in text {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

/// The cell as the reader gives it back: trimmed, `None` when empty.
fn expected(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

proptest! {
    #![proptest_config(nona_testkit::cases(48))]

    #[test]
    fn every_csv_line_has_one_outcome(
        rows in proptest::collection::vec((proptest::collection::vec(cell(), 4), damage()), 0..12),
        crlf in any::<bool>(),
    ) {
        let ending: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut bytes = HEADER.join(",").into_bytes();
        bytes.extend_from_slice(ending);
        let mut line = 2;
        let mut lines = Vec::new();
        for (cells, damage) in &rows {
            let mut fields: Vec<Vec<u8>> = cells.iter().map(|c| c.as_bytes().to_vec()).collect();
            match damage {
                Damage::None => {}
                Damage::ExtraField => fields.push(b"extra".to_vec()),
                Damage::MissingField => {
                    fields.pop();
                }
                Damage::BadByte(column) => fields[*column].insert(0, 0xff),
            }
            let record: Vec<Vec<u8>> = fields.iter().map(|f| field(f)).collect();
            let record = record.join(&b","[..]);
            lines.push(line);
            line += 1 + record.iter().filter(|&&b| b == b'\n').count();
            bytes.extend_from_slice(&record);
            bytes.extend_from_slice(ending);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.csv");
        std::fs::write(&path, &bytes).unwrap();
        let manifest = read_manifest_columns(&path, &READ).unwrap();
        prop_assert_eq!(manifest.row_origin.len(), rows.len());
        for (index, ((cells, damage), line)) in rows.iter().zip(&lines).enumerate() {
            prop_assert_eq!(&manifest.row_origin[index], &format!("line {line}"));
            let unreadable = match damage {
                Damage::None => false,
                Damage::ExtraField | Damage::MissingField => true,
                Damage::BadByte(column) => READ.contains(&HEADER[*column]),
            };
            prop_assert_eq!(manifest.row_problem[index].is_some(), unreadable, "row {}", index);
            for (column, values) in manifest.columns.iter().enumerate() {
                let want = if unreadable { None } else { expected(&cells[column]) };
                prop_assert_eq!(&values[index], &want, "row {} column {}", index, column);
            }
        }
    }

    /// Any bytes at all: an error or a manifest whose columns all have one entry per row.
    #[test]
    fn arbitrary_bytes_never_panic(
        body in proptest::collection::vec(
            prop_oneof![4 => any::<u8>(), 1 => Just(b','), 1 => Just(b'"'), 1 => Just(b'\n'), 1 => Just(b'\r')],
            0..200,
        ),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.csv");
        let mut bytes = b"id,text,label\n".to_vec();
        bytes.extend(body);
        std::fs::write(&path, &bytes).unwrap();
        let manifest = read_manifest_columns(&path, &READ).unwrap();
        let rows = manifest.row_origin.len();
        prop_assert_eq!(manifest.row_problem.len(), rows);
        for column in &manifest.columns {
            prop_assert_eq!(column.len(), rows);
        }
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
        for origin in &manifest.row_origin {
            let line: usize = origin.strip_prefix("line ").unwrap().parse().unwrap();
            prop_assert!((2..=lines).contains(&line), "{} of {} lines", origin, lines);
        }
    }

    #[test]
    fn every_parquet_row_has_one_outcome(
        parts in proptest::collection::vec(
            proptest::collection::vec(
                (
                    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..6)),
                    proptest::option::of(cell()),
                    proptest::option::of(any::<f64>()),
                    any::<i64>(),
                ),
                0..8,
            ),
            1..4,
        ),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Binary, true),
            Field::new("text", DataType::Utf8, true),
            Field::new("label", DataType::Float64, true),
            Field::new("note", DataType::Int64, false),
        ]));
        for (index, rows) in parts.iter().enumerate() {
            let columns: Vec<ArrayRef> = vec![
                Arc::new(rows.iter().map(|r| r.0.as_deref()).collect::<BinaryArray>()),
                Arc::new(rows.iter().map(|r| r.1.as_deref()).collect::<StringArray>()),
                Arc::new(rows.iter().map(|r| r.2).collect::<Float64Array>()),
                Arc::new(rows.iter().map(|r| Some(r.3)).collect::<Int64Array>()),
            ];
            let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
            let path = dir.path().join(format!("part-{index:05}.parquet"));
            nona_table::write_part(&path, schema.clone(), &[batch], &Default::default()).unwrap();
        }
        let manifest = read_manifest_columns(dir.path(), &READ).unwrap();
        let rows: Vec<_> = parts.iter().flatten().collect();
        prop_assert_eq!(manifest.row_origin.len(), rows.len());
        for (index, (id, text, label, _)) in rows.iter().enumerate() {
            prop_assert_eq!(&manifest.row_origin[index], &format!("row {index}"));
            let id_text = id.as_ref().map(|bytes| String::from_utf8(bytes.clone()));
            let unreadable = matches!(id_text, Some(Err(_)));
            prop_assert_eq!(manifest.row_problem[index].is_some(), unreadable);
            if unreadable {
                prop_assert!(manifest.columns.iter().all(|c| c[index].is_none()));
                continue;
            }
            prop_assert_eq!(&manifest.columns[0][index], &id_text.map(Result::unwrap));
            prop_assert_eq!(&manifest.columns[1][index], text);
            let label_back = manifest.columns[2][index].as_ref().map(|l| l.parse::<f64>().unwrap());
            prop_assert!(match (label, label_back) {
                (Some(a), Some(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                (None, None) => true,
                _ => false,
            }, "label {:?} read back as {:?}", label, manifest.columns[2][index]);
        }
    }
}

#[test]
fn crlf_and_lf_lines_are_numbered_alike() {
    let dir = tempfile::tempdir().unwrap();
    for ending in ["\n", "\r\n"] {
        let text = [
            "id,text,label",
            "a,\"two",
            "lines\",1",
            "",
            "b,x,2",
            "c,y,3,4",
        ]
        .join(ending);
        let path = dir.path().join("m.csv");
        std::fs::write(&path, text).unwrap();
        let manifest = read_manifest_columns(&path, &READ).unwrap();
        assert_eq!(
            manifest.row_origin,
            ["line 2", "line 5", "line 6"],
            "{ending:?}"
        );
        assert_eq!(manifest.row_problem[0], None);
        assert_eq!(
            manifest.row_problem[2].as_deref(),
            Some("has 4 comma-separated fields, the header has 3")
        );
    }
}

#[test]
fn a_missing_column_is_an_error_for_the_whole_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.csv");
    std::fs::write(&path, "id,text\na,b\n").unwrap();
    let error = read_manifest_columns(&path, &READ).unwrap_err().to_string();
    assert!(
        error.contains("no column `label` (columns: id, text)"),
        "{error}"
    );
}
