//! The neighbour-evidence section's inputs: one NONA cell's test explanations (rank order) and,
//! when the run has a preprocess stage, what each sample id stands for (its text or file); for
//! images, the figure of the query images beside their neighbours.

use std::collections::BTreeMap;
use std::path::Path;

use nona_report::evidence::{
    Evidence, Neighbour, lowest_median_highest, render_evidence, table_cell,
};
use nona_report::plots::{self, EvidenceRow, EvidenceTile};

use super::collect::Cell;
use super::figures::PLOTS_DIR;

/// Characters of a text shown for a sample.
const TEXT_CHARS: usize = 80;

/// The section for `cell` (`(method name, cell)`, none when no NONA cell trained), its samples
/// described from the preprocess stage's samples table at `samples` when there is one.
///
/// For an image dataset the picks are also drawn, query beside neighbours, into
/// `plots/neighbour-evidence.png` under `out`, and the section shows that figure.
pub(super) fn section(
    train: &Path,
    samples: Option<&Path>,
    cell: Option<(&str, &Cell)>,
    out: &Path,
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
    let samples = match samples {
        Some(dir) => Samples::read(dir)?,
        None => Samples::default(),
    };
    let describe = |id: &str| samples.describe(id);
    let mut note = samples.note();
    if samples.modality == "image" && !picks.is_empty() {
        let figure = format!("{PLOTS_DIR}/{FIGURE}");
        let rows = picks
            .iter()
            .map(|(name, evidence)| figure_row(name, evidence, &samples))
            .collect::<anyhow::Result<Vec<_>>>()?;
        plots::neighbour_evidence(
            &out.join(&figure),
            &format!("Neighbour evidence: {method}, seed {}", cell.seed),
            &rows,
        )?;
        note.push_str(&format!(
            "\n\n![The query images beside their neighbours]({figure})"
        ));
    }
    Ok(render_evidence(method, cell.seed, &picks, &describe, &note))
}

/// The figure's file in the plots directory.
const FIGURE: &str = "neighbour-evidence.png";

/// A figure row: the pick's image with its label and prediction, then its neighbours' images
/// with their labels and weights.
fn figure_row(name: &str, evidence: &Evidence, samples: &Samples) -> anyhow::Result<EvidenceRow> {
    let tile = |id: &str, caption: [String; 2]| -> anyhow::Result<EvidenceTile> {
        let path = samples
            .inputs
            .get(id)
            .ok_or_else(|| anyhow::anyhow!("sample {id} is not in the preprocess samples table"))?;
        let image = image::open(path)
            .map_err(|e| anyhow::anyhow!("sample {id}: reading {path}: {e}"))?
            .to_rgb8();
        Ok(EvidenceTile { image, caption })
    };
    Ok(EvidenceRow {
        title: format!("{name}: {}", samples.describe(&evidence.id)),
        query: tile(
            &evidence.id,
            [
                format!("label {}", short(evidence.label)),
                format!("predicted {}", short(evidence.prediction)),
            ],
        )?,
        neighbours: evidence
            .neighbours
            .iter()
            .map(|n| {
                tile(
                    &n.id,
                    [
                        format!("label {}", short(n.label)),
                        format!("weight {:.3}", n.weight),
                    ],
                )
            })
            .collect::<anyhow::Result<_>>()?,
    })
}

/// A label for a caption: one decimal at most.
fn short(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    format!("{rounded}")
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

/// The preprocess stage's samples: what each id's input is (a path or a text).
#[derive(Default)]
struct Samples {
    /// `nona.modality`: image, text or audio; empty without a preprocess stage.
    modality: String,
    /// id → input.
    inputs: BTreeMap<String, String>,
}

impl Samples {
    fn read(dir: &Path) -> anyhow::Result<Self> {
        let table = nona_table::Dataset::open(dir)?;
        let modality = table
            .metadata()
            .get("nona.modality")
            .cloned()
            .unwrap_or_default();
        let mut inputs = BTreeMap::new();
        for batch in table.batches() {
            let (batch, path) = batch?;
            let ids = nona_table::string_column(&batch, "id", path)?;
            let values = nona_table::string_column(&batch, "input", path)?;
            for row in 0..batch.num_rows() {
                inputs.insert(ids.value(row).to_owned(), values.value(row).to_owned());
            }
        }
        Ok(Self { modality, inputs })
    }

    /// What the report shows for sample `id`: its text cut to [`TEXT_CHARS`], its file name,
    /// or (not in the table) the id.
    fn describe(&self, id: &str) -> String {
        let shown = match self.inputs.get(id) {
            None => id.to_owned(),
            Some(text) if self.modality == "text" => text.clone(),
            Some(file) => Path::new(file)
                .file_name()
                .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned()),
        };
        table_cell(&shown, TEXT_CHARS)
    }

    /// A sentence saying how samples are shown.
    fn note(&self) -> String {
        match self.modality.as_str() {
            "" => "This run starts from user-supplied embeddings (no preprocess stage), so \
                   samples are shown by id."
                .to_owned(),
            "text" => format!("Texts are cut to {TEXT_CHARS} characters."),
            _ => "Samples are shown by file name.".to_owned(),
        }
    }
}
