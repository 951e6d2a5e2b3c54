//! The evidence behind a prediction that is a weighted vote of labelled neighbours
//! (`ŷ = Σ_j w_j y_j` with `Σ_j w_j = 1`, as NONA's attention weights are): the `k` neighbours
//! with the largest weights, how much of the vote they carry, how spread the vote is, and the
//! uncertainty of the prediction.
//!
//! Every summary but the top `k` runs over *all* neighbours the weights cover (for NONA the
//! whole neighbour bank), so [`Evidence::mean`] is the prediction itself.

use std::cmp::Ordering;

/// One of the top neighbours of a prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// Row of the neighbour in the bank (for NONA: in the training split).
    pub index: usize,
    /// Its weight in the vote.
    pub weight: f64,
    /// Its similarity to the query (NONA: `Sim`, before the SoftStep mask).
    pub similarity: f64,
}

/// What one weighted-vote prediction rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// The neighbours with the `k` largest weights, largest first (equal weights: lower index
    /// first); fewer when there are fewer than `k` neighbours.
    pub top: Vec<Neighbour>,
    /// Sum of the top neighbours' weights (at most 1).
    pub top_mass: f64,
    /// Shannon entropy of the weights in nats, `−Σ w ln w` (0 ln 0 = 0): 0 when one neighbour
    /// has all the weight, `ln N` when `N` neighbours share it equally.
    pub entropy: f64,
    /// The weighted mean of the labels `Σ w y`: the prediction.
    pub mean: f64,
    /// The weighted standard deviation of the labels, `√(Σ w (y − mean)²)`: the uncertainty.
    pub spread: f64,
}

impl Evidence {
    /// The evidence of one prediction from its weights, the neighbours' labels and their
    /// similarities (one of each per neighbour, in bank order), keeping the top `k`.
    ///
    /// # Panics
    /// When the three slices differ in length (a caller's bug, not bad data).
    pub fn of(weights: &[f64], labels: &[f64], similarities: &[f64], k: usize) -> Self {
        assert!(
            weights.len() == labels.len() && weights.len() == similarities.len(),
            "weights, labels and similarities differ in length"
        );
        let by_weight = |&a: &usize, &b: &usize| -> Ordering {
            weights[b].total_cmp(&weights[a]).then(a.cmp(&b))
        };
        let mut order: Vec<usize> = (0..weights.len()).collect();
        let k = k.min(order.len());
        if k > 0 && k < order.len() {
            order.select_nth_unstable_by(k - 1, by_weight);
        }
        order.truncate(k);
        order.sort_unstable_by(by_weight);
        let top: Vec<Neighbour> = order
            .into_iter()
            .map(|index| Neighbour {
                index,
                weight: weights[index],
                similarity: similarities[index],
            })
            .collect();
        let mean: f64 = weights.iter().zip(labels).map(|(w, y)| w * y).sum();
        let variance: f64 = weights
            .iter()
            .zip(labels)
            .map(|(w, y)| w * (y - mean).powi(2))
            .sum();
        Self {
            top_mass: top.iter().map(|n| n.weight).sum(),
            entropy: weights
                .iter()
                .filter(|&&w| w > 0.0)
                .map(|w| -w * w.ln())
                .sum(),
            mean,
            spread: variance.max(0.0).sqrt(),
            top,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three neighbours with weights ½, ⅓, ⅙ and labels 0, 3, 6: mean 1 + 1 = 2, variance
    /// ½·4 + ⅓·1 + ⅙·16 = 5, entropy ½ ln 2 + ⅓ ln 3 + ⅙ ln 6.
    #[test]
    fn three_neighbours_by_hand() {
        let weights = [1.0 / 6.0, 0.5, 1.0 / 3.0];
        let labels = [6.0, 0.0, 3.0];
        let similarities = [-3.0, -1.0, -2.0];
        let evidence = Evidence::of(&weights, &labels, &similarities, 2);
        assert_eq!(
            evidence.top,
            vec![
                Neighbour {
                    index: 1,
                    weight: 0.5,
                    similarity: -1.0
                },
                Neighbour {
                    index: 2,
                    weight: 1.0 / 3.0,
                    similarity: -2.0
                },
            ]
        );
        assert!((evidence.top_mass - 5.0 / 6.0).abs() < 1e-15);
        assert!((evidence.mean - 2.0).abs() < 1e-15);
        assert!((evidence.spread - 5f64.sqrt()).abs() < 1e-15);
        let entropy = 0.5 * 2f64.ln() + 3f64.ln() / 3.0 + 6f64.ln() / 6.0;
        assert!((evidence.entropy - entropy).abs() < 1e-15);
    }

    #[test]
    fn one_neighbour_with_all_the_weight_is_certain() {
        let evidence = Evidence::of(&[0.0, 1.0, 0.0], &[5.0, 7.0, 9.0], &[0.0; 3], 1);
        assert_eq!(evidence.top[0].index, 1);
        assert_eq!(evidence.top_mass, 1.0);
        assert_eq!(evidence.entropy, 0.0);
        assert_eq!(evidence.mean, 7.0);
        assert_eq!(evidence.spread, 0.0);
    }

    #[test]
    fn equal_weights_keep_bank_order_and_have_the_largest_entropy() {
        let evidence = Evidence::of(&[0.25; 4], &[0.0, 1.0, 0.0, 1.0], &[0.0; 4], 3);
        let indices: Vec<usize> = evidence.top.iter().map(|n| n.index).collect();
        assert_eq!(indices, [0, 1, 2]);
        assert!((evidence.top_mass - 0.75).abs() < 1e-15);
        assert!((evidence.entropy - 4f64.ln()).abs() < 1e-15);
        assert!((evidence.spread - 0.5).abs() < 1e-15);
    }

    #[test]
    fn k_beyond_the_neighbours_keeps_them_all_and_zero_keeps_none() {
        let weights = [0.2, 0.8];
        let all = Evidence::of(&weights, &[1.0, 2.0], &[0.0; 2], 5);
        assert_eq!(all.top.len(), 2);
        assert_eq!(all.top[0].index, 1);
        assert!((all.top_mass - 1.0).abs() < 1e-15);
        let none = Evidence::of(&weights, &[1.0, 2.0], &[0.0; 2], 0);
        assert!(none.top.is_empty());
        assert_eq!(none.top_mass, 0.0);
        assert!((none.mean - 1.8).abs() < 1e-15, "the summaries cover all");
    }
}
