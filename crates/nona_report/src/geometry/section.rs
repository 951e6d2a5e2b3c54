//! The report's "Embedding geometry" section: per dataset and embedding source, mean ± sd over
//! seeds of each diagnostic beside its control.

use std::fmt::Write;

use crate::table::{CellSummary, format_significant};

/// The diagnostics the section shows, as (heading, column): `column` is the geometry table's
/// column of the observed value, `control_<column>` its control's.
pub const SHOWN_DIAGNOSTICS: [(&str, &str); 4] = [
    ("intrinsic dimension", "intrinsic_dimension"),
    ("participation ratio", "participation_ratio"),
    ("label smoothness", "smoothness_ratio"),
    ("hubness", "hubness"),
];

/// One embedding source's geometry for one seed, as the section shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct GeometryRecord {
    /// Table 1 dataset name.
    pub dataset: String,
    /// `backbone`, or the Table 1 method whose head made the embeddings.
    pub source: String,
    /// Training seed.
    pub seed: u64,
    /// Training rows measured.
    pub rows: i64,
    /// (observed, control) of each of [`SHOWN_DIAGNOSTICS`], in that order.
    pub values: [(f64, f64); 4],
}

const EXPLANATION: &str = "Training split of each embedding source, mean ± sd over seeds; each \
number is followed by its control in parentheses (labels shuffled for label smoothness, every \
feature permuted on its own for the others).";

const HOW_TO_READ: &str = "How to read it: a label smoothness (nearest-neighbour label gap over a \
random pair's) well below its control, which is about 1, means labels vary smoothly over the \
neighbourhoods, so a neighbour vote (k-NN, NONA) has something to go on. An intrinsic dimension or \
participation ratio far below its control means the rows lie near a low-dimensional set; hubness \
above its control means a few rows are everybody's neighbours.";

/// The "Embedding geometry" section for `records` (sources in the order given, with a dataset
/// column when they come from several datasets); empty without records.
pub fn render_geometry(records: &[GeometryRecord]) -> String {
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for record in records {
        let group = (record.dataset.as_str(), record.source.as_str());
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    let Some(&(first, _)) = groups.first() else {
        return String::new();
    };
    let several = groups.iter().any(|(dataset, _)| *dataset != first);
    let mut out = format!("\n## Embedding geometry\n\n{EXPLANATION}\n\n");
    if several {
        out.push_str("| dataset ");
    }
    out.push_str("| source | seeds | rows |");
    for (heading, _) in SHOWN_DIAGNOSTICS {
        let _ = write!(out, " {heading} (control) |");
    }
    out.push('\n');
    if several {
        out.push_str("|---");
    }
    out.push_str("|---|---|---|");
    out.push_str(&"---|".repeat(SHOWN_DIAGNOSTICS.len()));
    out.push('\n');
    for (dataset, source) in groups {
        let rows: Vec<&GeometryRecord> = records
            .iter()
            .filter(|r| r.dataset == dataset && r.source == source)
            .collect();
        if several {
            let _ = write!(out, "| {} ", escape(dataset));
        }
        let sizes: Vec<i64> = rows.iter().map(|r| r.rows).collect();
        let _ = write!(
            out,
            "| {} | {} | {} |",
            escape(source),
            rows.len(),
            row_range(&sizes)
        );
        for index in 0..SHOWN_DIAGNOSTICS.len() {
            let observed: Vec<f64> = rows.iter().map(|r| r.values[index].0).collect();
            let control: Vec<f64> = rows.iter().map(|r| r.values[index].1).collect();
            let _ = write!(out, " {} ({}) |", summary(&observed), summary(&control));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "\n{HOW_TO_READ}");
    out
}

fn escape(cell: &str) -> String {
    cell.replace('|', "\\|")
}

/// `mean ± sd` of `values` (the mean alone for one seed).
fn summary(values: &[f64]) -> String {
    let cell = CellSummary::from_values(values);
    match cell.sd {
        Some(sd) => format!(
            "{} ± {}",
            format_significant(cell.mean),
            format_significant(sd)
        ),
        None => format_significant(cell.mean),
    }
}

/// The rows measured over seeds: `n`, or `min–max` when seeds differ.
fn row_range(rows: &[i64]) -> String {
    match (rows.iter().min(), rows.iter().max()) {
        (Some(min), Some(max)) if min != max => format!("{min}–{max}"),
        (Some(min), _) => min.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(dataset: &str, source: &str, seed: u64, rows: i64, first: f64) -> GeometryRecord {
        GeometryRecord {
            dataset: dataset.to_owned(),
            source: source.to_owned(),
            seed,
            rows,
            values: [(first, 10.0), (2.0, 20.0), (0.5, 1.0), (1.0, 3.0)],
        }
    }

    #[test]
    fn one_dataset_shows_sources_over_seeds_without_a_dataset_column() {
        let section = render_geometry(&[
            record("d", "backbone", 0, 100, 4.0),
            record("d", "backbone", 1, 120, 6.0),
            record("d", "NONA", 0, 100, 3.0),
        ]);
        assert!(section.contains("| source | seeds | rows |"), "{section}");
        assert!(!section.contains("| dataset"), "{section}");
        assert!(
            section.contains("| backbone | 2 | 100–120 | 5.00 ± 1.41 (10.0 ± 0) |"),
            "{section}"
        );
        assert!(
            section.contains("| NONA | 1 | 100 | 3.00 (10.0) |"),
            "{section}"
        );
        assert_eq!(render_geometry(&[]), "");
    }

    #[test]
    fn several_datasets_get_a_dataset_column_and_stay_apart() {
        let section = render_geometry(&[
            record("a", "backbone", 0, 10, 4.0),
            record("b", "backbone", 0, 10, 8.0),
        ]);
        assert!(section.contains("| dataset | source |"), "{section}");
        assert!(
            section.contains("| a | backbone | 1 | 10 | 4.00 (10.0) |"),
            "{section}"
        );
        assert!(
            section.contains("| b | backbone | 1 | 10 | 8.00 (10.0) |"),
            "{section}"
        );
    }
}
