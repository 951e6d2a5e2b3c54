//! numpy's pairwise summation, reproduced bit for bit.
//!
//! `np.sum` / `np.mean` over a contiguous axis add with this exact tree (blocks of up to
//! 128 values summed with 8 interleaved accumulators, larger inputs split in halves rounded
//! to multiples of 8). Reproducing it makes our predictions and CV scores bit-identical to
//! scikit-learn's, so exact score ties between grid points resolve the same way.

const BLOCK: usize = 128;
const LANES: usize = 8;

/// Sum of `values` in numpy's pairwise order.
pub fn pairwise_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < LANES {
        values.iter().fold(-0.0, |acc, &v| acc + v)
    } else if n <= BLOCK {
        let mut lanes = [0.0; LANES];
        lanes.copy_from_slice(&values[..LANES]);
        let full = n - n % LANES;
        for chunk in values[LANES..full].chunks_exact(LANES) {
            for (lane, &v) in lanes.iter_mut().zip(chunk) {
                *lane += v;
            }
        }
        let mut total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
            + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
        for &v in &values[full..] {
            total += v;
        }
        total
    } else {
        let half = n / 2;
        let half = half - half % LANES;
        pairwise_sum(&values[..half]) + pairwise_sum(&values[half..])
    }
}

/// `np.mean` of `values` (pairwise sum divided by the count).
pub fn numpy_mean(values: &[f64]) -> f64 {
    pairwise_sum(values) / values.len() as f64
}
