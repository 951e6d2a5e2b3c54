//! Book prices (MachineHack "Predict the price of books" hackathon, 2019): the spreadsheet
//! `Data_Train.xlsx`, first sheet, a header row with `Title, Author, Edition, Reviews, Ratings,
//! Synopsis, Genre, BookCategory, Price` and one book per row. A sample is a row's `Synopsis`
//! and `Price` (Indian rupees); the id is `row<N>`, N the spreadsheet's row number (the titles
//! repeat).

use calamine::{Data, Reader, Xlsx, open_workbook};

use crate::{DatasetError, Layout, Modality, Row, Source};

/// The `books` layout.
pub struct Books;

const TEXT: &str = "Synopsis";
const LABEL: &str = "Price";

/// A sheet's rows of cells as text (`None` for an empty cell).
type Cells = Vec<Vec<Option<String>>>;

/// The first sheet's cells as rows of text (`None` for empty cells) and the spreadsheet row
/// number of the first one.
fn sheet(source: &Source) -> Result<(Cells, u32), DatasetError> {
    let path = source.manifest_path();
    let mut workbook: Xlsx<_> = open_workbook(&path)
        .map_err(|e| DatasetError::new(&path, format!("cannot open as .xlsx: {e}")))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| DatasetError::new(&path, "the workbook has no sheet"))?
        .map_err(|e| DatasetError::new(&path, format!("cannot read the first sheet: {e}")))?;
    let first_row = range.start().map_or(0, |(row, _)| row) + 1;
    let rows = range
        .rows()
        .map(|cells| {
            cells
                .iter()
                .map(|cell| match cell {
                    Data::Empty => None,
                    other => Some(other.to_string()).filter(|s| !s.trim().is_empty()),
                })
                .collect()
        })
        .collect();
    Ok((rows, first_row))
}

/// Where `TEXT` and `LABEL` are in the header row.
fn columns(source: &Source, header: &[Option<String>]) -> Result<(usize, usize), DatasetError> {
    let find = |name: &str| {
        header
            .iter()
            .position(|h| h.as_deref().map(str::trim) == Some(name))
            .ok_or_else(|| {
                let have: Vec<String> = header.iter().flatten().cloned().collect();
                DatasetError::new(
                    source.manifest_path(),
                    format!(
                        "the first sheet's header has no column `{name}` (columns: {})",
                        have.join(", ")
                    ),
                )
            })
    };
    Ok((find(TEXT)?, find(LABEL)?))
}

impl Layout for Books {
    fn name(&self) -> &'static str {
        "books"
    }

    fn modality(&self) -> Modality {
        Modality::Text
    }

    fn check(&self, source: &Source) -> Result<(), DatasetError> {
        let (rows, _) = sheet(source)?;
        let header = rows
            .first()
            .ok_or_else(|| DatasetError::new(source.manifest_path(), "the first sheet is empty"))?;
        columns(source, header).map(|_| ())
    }

    fn read(&self, source: &Source) -> Result<Vec<Row>, DatasetError> {
        let (rows, first_row) = sheet(source)?;
        let Some((header, books)) = rows.split_first() else {
            return Err(DatasetError::new(
                source.manifest_path(),
                "the first sheet is empty",
            ));
        };
        let (text, label) = columns(source, header)?;
        Ok(books
            .iter()
            .enumerate()
            .map(|(index, cells)| {
                let number = first_row + 1 + index as u32;
                let mut row = Row::at(format!("row {number}"));
                row.id = Some(format!("row{number}"));
                row.input = cells.get(text).cloned().flatten();
                row.label = cells.get(label).cloned().flatten();
                row
            })
            .collect())
    }
}
