//! Houses (Ahmed & Moustafa 2016, github.com/emanhamed/Houses-dataset): `HousesInfo.txt` with one
//! house per line, `bedrooms bathrooms area zipcode price` separated by spaces and no header; the
//! n-th house (1-based, blank lines skipped as pandas does) has the photos `n_frontal.jpg`,
//! `n_bedroom.jpg`, `n_bathroom.jpg` and `n_kitchen.jpg` beside it. A sample is the curbside
//! photo (`n_frontal.jpg`) and the price.

use crate::{DatasetError, Layout, Modality, Row, Source, read_to_string};

/// The `houses` layout.
pub struct Houses;

const FIELDS: [&str; 5] = ["bedrooms", "bathrooms", "area", "zipcode", "price"];

impl Layout for Houses {
    fn name(&self) -> &'static str {
        "houses"
    }

    fn modality(&self) -> Modality {
        Modality::Image
    }

    fn check(&self, source: &Source) -> Result<(), DatasetError> {
        let path = source.manifest_path();
        let text = read_to_string(&path)?;
        match text.lines().find(|l| !l.trim().is_empty()) {
            Some(line) if line.split_whitespace().count() == FIELDS.len() => Ok(()),
            Some(line) => Err(DatasetError::new(
                &path,
                format!(
                    "the first house line `{line}` does not have the 5 space-separated fields {}",
                    FIELDS.join(" ")
                ),
            )),
            None => Err(DatasetError::new(&path, "holds no houses")),
        }
    }

    fn read(&self, source: &Source) -> Result<Vec<Row>, DatasetError> {
        let text = read_to_string(&source.manifest_path())?;
        let lines = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty());
        Ok(lines
            .enumerate()
            .map(|(house, (line_index, line))| {
                let number = house + 1;
                let mut row = Row::at(format!("line {}", line_index + 1));
                row.id = Some(number.to_string());
                let photo = source.beside_manifest(format!("{number}_frontal.jpg"));
                row.input = Some(photo.to_string_lossy().into_owned());
                let fields: Vec<&str> = line.split_whitespace().collect();
                if fields.len() == FIELDS.len() {
                    row.label = Some(fields[4].to_owned());
                } else {
                    row.problem = Some(format!(
                        "expected the 5 space-separated fields {}, got {}",
                        FIELDS.join(" "),
                        fields.len()
                    ));
                }
                row
            })
            .collect())
    }
}
