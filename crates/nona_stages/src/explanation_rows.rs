//! The rows the train and knn stages' `explanations` tables share: per prediction its sample,
//! prediction and evidence summaries, then one row per top neighbour.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use nona_heads::Evidence;

/// One prediction to explain: its sample and what it predicted (original units).
pub(crate) struct Explained<'a> {
    pub id: &'a str,
    pub label: f64,
    pub prediction: f64,
    /// [`Evidence::spread`] in original units.
    pub spread: f64,
}

/// The columns of an `explanations` table after the unit's key columns, gathered row by row.
#[derive(Default)]
pub(crate) struct ExplanationRows<'a> {
    ids: Vec<&'a str>,
    labels: Vec<f64>,
    predictions: Vec<f64>,
    spreads: Vec<f64>,
    top_k_masses: Vec<f64>,
    entropies: Vec<f64>,
    ranks: Vec<i64>,
    neighbour_ids: Vec<&'a str>,
    neighbour_labels: Vec<f64>,
    weights: Vec<f64>,
    similarities: Vec<f64>,
}

impl<'a> ExplanationRows<'a> {
    /// Appends one row per top neighbour of `evidence`; `neighbour` gives the id and label of
    /// the neighbour at an [`nona_heads::Neighbour::index`]. Returns the number of rows added.
    pub fn push(
        &mut self,
        explained: &Explained<'a>,
        evidence: &Evidence,
        neighbour: impl Fn(usize) -> (&'a str, f64),
    ) -> usize {
        for (rank, top) in evidence.top.iter().enumerate() {
            let (id, label) = neighbour(top.index);
            self.ids.push(explained.id);
            self.labels.push(explained.label);
            self.predictions.push(explained.prediction);
            self.spreads.push(explained.spread);
            self.top_k_masses.push(evidence.top_mass);
            self.entropies.push(evidence.entropy);
            self.ranks.push(rank as i64 + 1);
            self.neighbour_ids.push(id);
            self.neighbour_labels.push(label);
            self.weights.push(top.weight);
            self.similarities.push(top.similarity);
        }
        evidence.top.len()
    }

    /// Rows gathered so far.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// The sample's columns (`id`) and those from `label` on; `split` (and any other column
    /// in between) is the caller's. `top_k_mass` only when `with_mass`.
    pub fn into_columns(self, with_mass: bool) -> (ArrayRef, Vec<ArrayRef>) {
        let floats = |values: Vec<f64>| Arc::new(Float64Array::from(values)) as ArrayRef;
        let mut columns = vec![
            floats(self.labels),
            floats(self.predictions),
            floats(self.spreads),
        ];
        if with_mass {
            columns.push(floats(self.top_k_masses));
        }
        columns.extend([
            floats(self.entropies),
            Arc::new(Int64Array::from(self.ranks)),
            Arc::new(StringArray::from(self.neighbour_ids)),
            floats(self.neighbour_labels),
            floats(self.weights),
            floats(self.similarities),
        ]);
        (Arc::new(StringArray::from(self.ids)), columns)
    }
}
