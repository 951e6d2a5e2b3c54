//! The neighbour-evidence section's inputs: one NONA cell's test explanations (rank order) and,
//! when the run has a preprocess stage, what each sample id stands for (its text or file).

use std::collections::BTreeMap;
use std::path::Path;

use nona_report::evidence::{
    Evidence, Neighbour, lowest_median_highest, render_evidence, table_cell,
};

use super::collect::Cell;

/// Characters of a text shown for a sample.
const TEXT_CHARS: usize = 80;

/// The section for `cell` (`(method name, cell)`, none when no NONA cell trained), its samples
/// described from the preprocess stage's samples table at `samples` when there is one.
pub(super) fn section(
    train: &Path,
    samples: Option<&Path>,
    cell: Option<(&str, &Cell)>,
) -> anyhow::Result<String> {
    let Some((method, cell)) = cell else {
        return Ok(render_evidence("NONA", 0, &[], &|id| id.to_owned(), ""));
    };
    let part = train
        .join("explanations")
        .join(format!("part-{:05}.parquet", cell.index));
    let picks = if part.exists() {
        lowest_median_highest(test_evidence(&part)?)
    } else {
        Vec::new()
    };
    let (inputs, note) = match samples {
        Some(dir) => described_inputs(dir)?,
        None => (
            BTreeMap::new(),
            "This run starts from user-supplied embeddings (no preprocess stage), so samples \
             are shown by id."
                .to_owned(),
        ),
    };
    let describe = |id: &str| match inputs.get(id) {
        Some(input) => input.clone(),
        None => table_cell(id, TEXT_CHARS),
    };
    Ok(render_evidence(method, cell.seed, &picks, &describe, &note))
}

/// The test predictions of the explanations part at `part`, neighbours in rank order.
fn test_evidence(part: &Path) -> anyhow::Result<Vec<Evidence>> {
    let mut by_id: BTreeMap<String, (Evidence, Vec<(i64, Neighbour)>)> = BTreeMap::new();
    for batch in nona_table::Dataset::open(part)?.read_all()? {
        let splits = nona_table::string_column(&batch, "split", part)?;
        let ids = nona_table::string_column(&batch, "id", part)?;
        let labels = nona_table::f64_column(&batch, "label", part)?;
        let predictions = nona_table::f64_column(&batch, "prediction", part)?;
        let ranks = nona_table::i64_column(&batch, "rank", part)?;
        let neighbours = nona_table::string_column(&batch, "neighbour_id", part)?;
        let neighbour_labels = nona_table::f64_column(&batch, "neighbour_label", part)?;
        let weights = nona_table::f64_column(&batch, "weight", part)?;
        for row in (0..batch.num_rows()).filter(|&r| splits.value(r) == "test") {
            let (_, ranked) = by_id.entry(ids.value(row).to_owned()).or_insert_with(|| {
                let evidence = Evidence {
                    id: ids.value(row).to_owned(),
                    label: labels.value(row),
                    prediction: predictions.value(row),
                    neighbours: Vec::new(),
                };
                (evidence, Vec::new())
            });
            ranked.push((
                ranks.value(row),
                Neighbour {
                    id: neighbours.value(row).to_owned(),
                    label: neighbour_labels.value(row),
                    weight: weights.value(row),
                },
            ));
        }
    }
    Ok(by_id
        .into_values()
        .map(|(mut evidence, mut ranked)| {
            ranked.sort_by_key(|(rank, _)| *rank);
            evidence.neighbours = ranked.into_iter().map(|(_, n)| n).collect();
            evidence
        })
        .collect())
}

/// id → what the report shows for each sample of the samples table at `dir` (a text cut to
/// [`TEXT_CHARS`], or a file name), and a sentence saying which.
fn described_inputs(dir: &Path) -> anyhow::Result<(BTreeMap<String, String>, String)> {
    let table = nona_table::Dataset::open(dir)?;
    let modality = table
        .metadata()
        .get("nona.modality")
        .cloned()
        .unwrap_or_default();
    let text = modality == "text";
    let mut inputs = BTreeMap::new();
    for batch in table.batches() {
        let (batch, path) = batch?;
        let ids = nona_table::string_column(&batch, "id", path)?;
        let values = nona_table::string_column(&batch, "input", path)?;
        for row in 0..batch.num_rows() {
            let input = values.value(row);
            let shown = if text {
                input.to_owned()
            } else {
                Path::new(input)
                    .file_name()
                    .map_or_else(|| input.to_owned(), |n| n.to_string_lossy().into_owned())
            };
            inputs.insert(ids.value(row).to_owned(), table_cell(&shown, TEXT_CHARS));
        }
    }
    let note = match modality.as_str() {
        "text" => format!("Texts are cut to {TEXT_CHARS} characters."),
        "image" => "Images are shown by file name.".to_owned(),
        _ => "Samples are shown by file name.".to_owned(),
    };
    Ok((inputs, note))
}
