//! Udacity self-driving car data, in either of its two public layouts:
//!
//! - the simulator's `driving_log.csv` (github.com/udacity/self-driving-car-sim): the columns
//!   `center, left, right, steering, throttle, brake, speed`, with no header in recorded logs
//!   (Udacity's sample data adds one), image paths absolute on the recording machine, the images
//!   in `IMG/` beside the log. A sample is the centre frame (found by its file name under `IMG/`)
//!   and `steering` (normalised to [-1, 1]).
//! - Challenge 2's `interpolated.csv` (github.com/udacity/self-driving-car, datasets/CH2, as
//!   extracted from the ROS bags by udacity-dataset-reader): a header with `frame_id`,
//!   `filename` and `angle` (radians) among others, one row per camera frame, `filename`
//!   relative to the CSV (`center/1479425441182877835.jpg`). A sample is a row whose `frame_id`
//!   is `center_camera`, and its `angle`.
//!
//! The id is the frame's file stem (a timestamp), unique across a recording.

use std::path::Path;

use nona_table::CsvLines;

use crate::{DatasetError, Layout, Modality, Row, Source, file_name, file_stem, read_to_string};

/// The `udacity` layout.
pub struct Udacity;

const SIMULATOR: [&str; 7] = [
    "center", "left", "right", "steering", "throttle", "brake", "speed",
];

impl Layout for Udacity {
    fn name(&self) -> &'static str {
        "udacity"
    }

    fn modality(&self) -> Modality {
        Modality::Image
    }

    fn check(&self, source: &Source) -> Result<(), DatasetError> {
        let path = source.manifest_path();
        let text = read_to_string(&path)?;
        let first = text.lines().next().unwrap_or("");
        let fields: Vec<&str> = first.split(',').map(str::trim).collect();
        if fields.contains(&"frame_id") || fields.len() == SIMULATOR.len() {
            return self.read(source).map(|_| ());
        }
        Err(DatasetError::new(
            &path,
            format!(
                "the first line has {} comma-separated fields; expected the simulator's 7 ({}) or Challenge 2's header with `frame_id`, `filename` and `angle`",
                fields.len(),
                SIMULATOR.join(", ")
            ),
        ))
    }

    fn read(&self, source: &Source) -> Result<Vec<Row>, DatasetError> {
        let path = source.manifest_path();
        let text = read_to_string(&path)?;
        let first = text.lines().next().unwrap_or("");
        let header: Vec<&str> = first.split(',').map(str::trim).collect();
        if header.contains(&"frame_id") {
            challenge(source, &path, &text)
        } else {
            simulator(source, &path, &text, header.first() == Some(&"center"))
        }
    }
}

fn reader(text: &str, has_header: bool) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(has_header)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
}

fn csv_error(path: &Path, error: &csv::Error) -> DatasetError {
    DatasetError::new(path, format!("not a readable CSV: {error}"))
}

fn simulator(
    source: &Source,
    path: &Path,
    text: &str,
    has_header: bool,
) -> Result<Vec<Row>, DatasetError> {
    let mut rows = Vec::new();
    let mut lines = CsvLines::new(text.as_bytes());
    for record in reader(text, has_header).records() {
        let record = record.map_err(|e| csv_error(path, &e))?;
        let line = lines.line_of(record.position());
        let mut row = Row::at(format!("line {line}"));
        let center = file_name(record.get(0).unwrap_or(""));
        if !center.is_empty() {
            row.id = Some(file_stem(center).to_owned());
            let image = source.beside_manifest(Path::new("IMG").join(center));
            row.input = Some(image.to_string_lossy().into_owned());
        }
        if record.len() == SIMULATOR.len() {
            row.label = Some(record[3].to_owned()).filter(|s| !s.is_empty());
        } else {
            row.problem = Some(format!(
                "expected the 7 fields {}, got {}",
                SIMULATOR.join(", "),
                record.len()
            ));
        }
        rows.push(row);
    }
    Ok(rows)
}

fn challenge(source: &Source, path: &Path, text: &str) -> Result<Vec<Row>, DatasetError> {
    let mut csv = reader(text, true);
    let header = csv.headers().map_err(|e| csv_error(path, &e))?.clone();
    let column = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            DatasetError::new(
                path,
                format!(
                    "no column `{name}` (columns: {})",
                    header.iter().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    };
    let (frame, file, angle) = (column("frame_id")?, column("filename")?, column("angle")?);
    let mut rows = Vec::new();
    let mut lines = CsvLines::new(text.as_bytes());
    for record in csv.records() {
        let record = record.map_err(|e| csv_error(path, &e))?;
        let line = lines.line_of(record.position());
        if record.get(frame) != Some("center_camera") {
            continue;
        }
        let mut row = Row::at(format!("line {line}"));
        let Some(name) = record.get(file).filter(|s| !s.is_empty()) else {
            row.problem = Some("empty `filename`".to_owned());
            rows.push(row);
            continue;
        };
        row.id = Some(file_stem(file_name(name)).to_owned());
        row.input = Some(source.beside_manifest(name).to_string_lossy().into_owned());
        row.label = record
            .get(angle)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        rows.push(row);
    }
    Ok(rows)
}
