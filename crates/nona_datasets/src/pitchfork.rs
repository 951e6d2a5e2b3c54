//! Pitchfork reviews (Kaggle "pitchfork-data", Nolan Conaway 2017): the scraper's SQLite
//! `database.sqlite`, whose table `reviews` has one row per review (`reviewid`, `score` 0-10,
//! `artist`, …) and `content` its text (`reviewid`, `content`). A sample is a `reviews` row, in
//! table order, with the first `content` row of its `reviewid` and its `score`. The scrape lists
//! a few reviews twice; the later copies are reported as duplicate ids.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::{DatasetError, Layout, Modality, Row, Source};

/// The `pitchfork` layout.
pub struct Pitchfork;

fn open(path: &Path) -> Result<Connection, DatasetError> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| DatasetError::new(path, format!("cannot open as SQLite: {e}")))
}

fn sql_error(path: &Path, query: &str, error: &rusqlite::Error) -> DatasetError {
    DatasetError::new(path, format!("`{query}`: {error}"))
}

/// A cell as text (`None` for NULL), as the CSV adapters see cells.
fn text(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

const REVIEWS: &str = "SELECT rowid, reviewid, score FROM reviews ORDER BY rowid";
const CONTENT: &str = "SELECT reviewid, content FROM content ORDER BY rowid";

impl Layout for Pitchfork {
    fn name(&self) -> &'static str {
        "pitchfork"
    }

    fn modality(&self) -> Modality {
        Modality::Text
    }

    fn check(&self, source: &Source) -> Result<(), DatasetError> {
        let path = source.manifest_path();
        let db = open(&path)?;
        for query in [REVIEWS, CONTENT] {
            db.prepare(query).map_err(|e| sql_error(&path, query, &e))?;
        }
        Ok(())
    }

    fn read(&self, source: &Source) -> Result<Vec<Row>, DatasetError> {
        let path = source.manifest_path();
        let db = open(&path)?;
        let mut content: HashMap<String, Option<String>> = HashMap::new();
        let mut statement = db
            .prepare(CONTENT)
            .map_err(|e| sql_error(&path, CONTENT, &e))?;
        let mut rows = statement
            .query([])
            .map_err(|e| sql_error(&path, CONTENT, &e))?;
        while let Some(row) = rows.next().map_err(|e| sql_error(&path, CONTENT, &e))? {
            let cells = (row.get_ref(0), row.get_ref(1));
            let (Ok(id), Ok(text_value)) = cells else {
                continue;
            };
            if let Some(id) = text(id) {
                content.entry(id).or_insert_with(|| text(text_value));
            }
        }
        let mut statement = db
            .prepare(REVIEWS)
            .map_err(|e| sql_error(&path, REVIEWS, &e))?;
        let mut rows = statement
            .query([])
            .map_err(|e| sql_error(&path, REVIEWS, &e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| sql_error(&path, REVIEWS, &e))? {
            let cell = |i: usize| row.get_ref(i).ok().and_then(text);
            let mut sample = Row::at(format!("reviews rowid {}", cell(0).unwrap_or_default()));
            sample.id = cell(1);
            sample.label = cell(2);
            match sample.id.as_ref().map(|id| content.get(id)) {
                Some(Some(text)) => sample.input = text.clone(),
                Some(None) => {
                    sample.problem = Some(format!(
                        "no `content` row with reviewid {}",
                        sample.id.clone().unwrap_or_default()
                    ));
                }
                None => {}
            }
            out.push(sample);
        }
        Ok(out)
    }
}
