//! Neighbour evidence: for a few test predictions (lowest, median and highest absolute error),
//! the training neighbours that voted for them, with their labels and weights, as Markdown.

use std::fmt::Write;

/// One training neighbour of a prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    /// Sample id.
    pub id: String,
    /// Its label (original units).
    pub label: f64,
    /// Its attention weight in the prediction.
    pub weight: f64,
}

/// A test prediction with its heaviest neighbours (heaviest first).
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// Sample id.
    pub id: String,
    /// True label (original units).
    pub label: f64,
    /// Prediction (original units).
    pub prediction: f64,
    /// Heaviest neighbours first.
    pub neighbours: Vec<Neighbour>,
}

impl Evidence {
    fn error(&self) -> f64 {
        (self.label - self.prediction).abs()
    }
}

/// The predictions with the lowest, median (the lower one of an even count) and highest
/// absolute error, named so; fewer when there are fewer than three. Ties keep input order.
pub fn lowest_median_highest(mut evidence: Vec<Evidence>) -> Vec<(&'static str, Evidence)> {
    evidence.sort_by(|a, b| a.error().total_cmp(&b.error()));
    let n = evidence.len();
    let picks: Vec<(&'static str, usize)> = match n {
        0 => vec![],
        1 => vec![("lowest error", 0)],
        2 => vec![("lowest error", 0), ("highest error", 1)],
        _ => vec![
            ("lowest error", 0),
            ("median error", (n - 1) / 2),
            ("highest error", n - 1),
        ],
    };
    picks
        .into_iter()
        .map(|(name, index)| (name, evidence[index].clone()))
        .collect()
}

/// Text of `input` fit for a Markdown table cell: at most `max_chars` characters (an ellipsis
/// marks a cut), line breaks as spaces, `|` escaped.
pub fn table_cell(input: &str, max_chars: usize) -> String {
    let flat: String = input
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut text: String = flat.chars().take(max_chars).collect();
    if flat.chars().count() > max_chars {
        text.push('…');
    }
    text.replace('|', "\\|")
}

/// The report's neighbour-evidence section for `picks` (from [`lowest_median_highest`]) of
/// `method`'s seed `seed`: per pick, the query and a table of its neighbours. `describe` turns
/// a sample id into what is shown for it (a truncated text, a file name, or the id itself);
/// `note` says what that is.
pub fn render_evidence(
    method: &str,
    seed: u64,
    picks: &[(&str, Evidence)],
    describe: &dyn Fn(&str) -> String,
    note: &str,
) -> String {
    let mut out = String::from("## Neighbour evidence\n\n");
    if picks.is_empty() {
        out.push_str(
            "No NONA test predictions with explanations in this run (`[train] explain_top_k = 0`, \
             or no NONA cell trained).\n",
        );
        return out;
    }
    let _ = writeln!(
        out,
        "A NONA prediction is a weighted vote of training samples. For {method}, seed {seed}: \
         the test samples with the lowest, median and highest absolute error, each with its \
         heaviest training neighbours (weights of all neighbours sum to 1). {note}\n"
    );
    for (name, evidence) in picks {
        let _ = writeln!(
            out,
            "### {name}: {} (label {}, prediction {}, error {})\n",
            describe(&evidence.id),
            format_value(evidence.label),
            format_value(evidence.prediction),
            format_value(evidence.error()),
        );
        out.push_str("| rank | neighbour | label | weight |\n|---|---|---|---|\n");
        for (rank, neighbour) in evidence.neighbours.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.3} |",
                rank + 1,
                describe(&neighbour.id),
                format_value(neighbour.label),
                neighbour.weight
            );
        }
        out.push('\n');
    }
    out
}

/// A label or prediction with four significant digits.
fn format_value(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let decimals = (3 - value.abs().log10().floor() as i32).max(0) as usize;
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(id: &str, label: f64, prediction: f64) -> Evidence {
        Evidence {
            id: id.to_owned(),
            label,
            prediction,
            neighbours: vec![
                Neighbour {
                    id: format!("{id}-n1"),
                    label: 10.0,
                    weight: 0.625,
                },
                Neighbour {
                    id: format!("{id}-n2"),
                    label: 12.5,
                    weight: 0.25,
                },
            ],
        }
    }

    #[test]
    fn picks_lowest_median_and_highest_absolute_error() {
        let all = vec![
            evidence("a", 10.0, 13.0), // 3
            evidence("b", 10.0, 9.5),  // 0.5
            evidence("c", 10.0, 2.0),  // 8
            evidence("d", 10.0, 11.0), // 1
            evidence("e", 10.0, 12.0), // 2
        ];
        let picks = lowest_median_highest(all.clone());
        let ids: Vec<(&str, &str)> = picks.iter().map(|(n, e)| (*n, e.id.as_str())).collect();
        assert_eq!(
            ids,
            [
                ("lowest error", "b"),
                ("median error", "e"),
                ("highest error", "c")
            ]
        );
        // Four: the lower median (errors 0.5, 1, 3, 8 → 1).
        let four = lowest_median_highest(all[..4].to_vec());
        assert_eq!(four[1].1.id, "d");
        assert_eq!(lowest_median_highest(all[..2].to_vec()).len(), 2);
        assert!(lowest_median_highest(Vec::new()).is_empty());
    }

    #[test]
    fn cells_are_cut_flattened_and_escaped() {
        assert_eq!(table_cell("short", 80), "short");
        assert_eq!(table_cell("a|b\nc", 80), "a\\|b c");
        assert_eq!(table_cell("ééééé", 3), "ééé…");
    }

    #[test]
    fn the_section_lists_each_pick_with_its_neighbours() {
        let picks = lowest_median_highest(vec![evidence("q", 11.0, 10.5)]);
        let section = render_evidence("NONA", 0, &picks, &|id| format!("<{id}>"), "Ids shown.");
        assert!(section.contains("For NONA, seed 0:"), "{section}");
        assert!(
            section.contains("### lowest error: <q> (label 11.00, prediction 10.50, error 0.5000)"),
            "{section}"
        );
        assert!(
            section.contains("| 1 | <q-n1> | 10.00 | 0.625 |"),
            "{section}"
        );
        assert!(
            section.contains("| 2 | <q-n2> | 12.50 | 0.250 |"),
            "{section}"
        );
        let empty = render_evidence("NONA", 0, &[], &|id| id.to_owned(), "");
        assert!(empty.contains("No NONA test predictions"), "{empty}");
    }
}
