//! Multi-head scaled dot-product attention over packed sequences that skips padding: each
//! sequence's queries attend to that sequence's keys only, so no score is computed for a padding
//! key and no mask is needed. Rows of a batch are packed one sequence after another; a sequence may
//! also carry query-only rows after its keys (Hugging Face computes outputs at padding positions,
//! which attend to the real tokens but are never attended to).
//!
//! Per (sequence, head, block of query rows) — the rayon tasks — the scores `Q Kᵀ` go into a
//! scratch block, [`crate::softmax`] turns them into probabilities with the `1/√head_dim` scale
//! folded in, and `P V` is written straight into the context rows. The two products call the
//! `gemm` crate (candle's CPU matmul) on strided views of the packed `[Q | K | V]` matrix: no
//! head is copied out.
#![allow(
    unsafe_code,
    reason = "gemm takes raw pointers; tasks write disjoint blocks"
)]

use rayon::prelude::*;

use crate::avx2;
use crate::softmax::softmax_row;

/// Query rows per task at most; smaller blocks keep the scores in cache on long sequences.
const QUERY_BLOCK: usize = 128;

/// Where one sequence's rows are in the packed matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sequence {
    /// Its first row.
    pub start: usize,
    /// Its key (and value) rows: `start .. start + keys`; at least one.
    pub keys: usize,
    /// Its query rows: `start .. start + queries`, the keys and then any query-only rows.
    pub queries: usize,
}

/// The shape of the heads: `count` heads of `dim` features, `d = count · dim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heads {
    /// Number of heads.
    pub count: usize,
    /// Features per head.
    pub dim: usize,
}

impl Heads {
    /// The model width `d`.
    pub fn width(self) -> usize {
        self.count * self.dim
    }
}

/// `context[r, h] = Σ_j softmax_j(q[r, h] · k[j, h] / √dim) · v[j, h]` over the keys `j` of the
/// sequence of each query row `r`.
///
/// `qkv`: rows of `3·d` values `[q | k | v]`, each the `count` heads one after another (the layout
/// of Hugging Face's query/key/value weights concatenated); `context`: rows of `d`. Rows outside
/// every sequence are left as they are.
///
/// # Panics
/// If a sequence has no key, more keys than queries, reaches past the rows of `qkv`, or overlaps
/// another; or `context` does not have the rows of `qkv`.
pub fn attention(qkv: &[f32], heads: Heads, sequences: &[Sequence], context: &mut [f32]) {
    let d = heads.width();
    assert!(d > 0, "attention needs at least one head of one feature");
    assert!(
        qkv.len().is_multiple_of(3 * d) && context.len() * 3 == qkv.len(),
        "qkv ({}) and context ({}) are not rows of 3·{d} and {d}",
        qkv.len(),
        context.len()
    );
    check_sequences(sequences, context.len() / d);
    let scale = 1.0 / (heads.dim as f32).sqrt();
    let simd = avx2::available();
    let tasks: Vec<(Sequence, usize, usize)> = sequences
        .iter()
        .flat_map(|&s| {
            (0..heads.count).flat_map(move |h| {
                (0..s.queries)
                    .step_by(QUERY_BLOCK)
                    .map(move |first| (s, h, first))
            })
        })
        .collect();
    let output = Output(context.as_mut_ptr());
    tasks
        .into_par_iter()
        .for_each_init(Vec::new, |scores, (sequence, head, first)| {
            let rows = QUERY_BLOCK.min(sequence.queries - first);
            let keys = sequence.keys;
            scores.resize(rows * keys, 0.0);
            let stride = 3 * d as isize;
            let query = (sequence.start + first) * 3 * d + head * heads.dim;
            let key = sequence.start * 3 * d + d + head * heads.dim;
            let value = key + d;
            // SAFETY: the checks above keep every row of the sequence inside `qkv` (3·d values
            // each; `head · dim + dim <= d`) and the scores block holds rows × keys values.
            unsafe {
                gemm::gemm(
                    rows,
                    keys,
                    heads.dim,
                    scores.as_mut_ptr(),
                    1,
                    keys as isize,
                    false,
                    qkv.as_ptr().add(query),
                    1,
                    stride,
                    qkv.as_ptr().add(key),
                    stride,
                    1,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
            for row in scores.chunks_exact_mut(keys) {
                softmax_row(row, scale, simd);
            }
            let target = (sequence.start + first) * d + head * heads.dim;
            // SAFETY: `output` points at `context`, whose rows cover the sequence (checked); this
            // task alone writes its block (rows `first..first + rows` of the sequence, the columns
            // of `head`), as tasks are distinct (sequence, head, block) and sequences do not
            // overlap. The values read lie inside `qkv` and `scores` as above.
            unsafe {
                gemm::gemm(
                    rows,
                    heads.dim,
                    keys,
                    output.at(target),
                    1,
                    d as isize,
                    false,
                    scores.as_ptr(),
                    1,
                    keys as isize,
                    qkv.as_ptr().add(value),
                    1,
                    stride,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        });
}

/// The context pointer shared by the tasks, each writing its own block.
#[derive(Clone, Copy)]
struct Output(*mut f32);

impl Output {
    /// The pointer `offset` values further (the caller keeps it inside the context).
    fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

// SAFETY: tasks write disjoint blocks of the context through it (see `attention`), which outlives
// the parallel loop that uses it.
unsafe impl Send for Output {}
// SAFETY: as for `Send`.
unsafe impl Sync for Output {}

fn check_sequences(sequences: &[Sequence], rows: usize) {
    let mut spans: Vec<(usize, usize)> = sequences
        .iter()
        .map(|s| {
            assert!(
                s.keys >= 1 && s.keys <= s.queries,
                "a sequence needs 1 to {} keys, has {}",
                s.queries,
                s.keys
            );
            assert!(
                s.start + s.queries <= rows,
                "sequence rows {}..{} past the {rows} rows",
                s.start,
                s.start + s.queries
            );
            (s.start, s.start + s.queries)
        })
        .collect();
    spans.sort_unstable();
    for pair in spans.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "sequences overlap: {pair:?}");
    }
}

/// The scalar reference of [`attention`]: the definition, one query row at a time, in f64.
pub fn attention_scalar(qkv: &[f32], heads: Heads, sequences: &[Sequence], context: &mut [f32]) {
    let d = heads.width();
    check_sequences(sequences, context.len() / d);
    let scale = 1.0 / (heads.dim as f64).sqrt();
    let at = |row: usize, column: usize| f64::from(qkv[row * 3 * d + column]);
    for s in sequences {
        for r in s.start..s.start + s.queries {
            for h in 0..heads.count {
                let columns = h * heads.dim..(h + 1) * heads.dim;
                let scores: Vec<f64> = (s.start..s.start + s.keys)
                    .map(|j| {
                        scale
                            * columns
                                .clone()
                                .map(|c| at(r, c) * at(j, d + c))
                                .sum::<f64>()
                    })
                    .collect();
                let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let weights: Vec<f64> = scores.iter().map(|s| (s - top).exp()).collect();
                let total: f64 = weights.iter().sum();
                for c in columns {
                    let value: f64 = weights
                        .iter()
                        .zip(s.start..)
                        .map(|(w, j)| w * at(j, 2 * d + c))
                        .sum();
                    context[r * d + c] = (value / total) as f32;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Heads, Sequence, attention, attention_scalar};
    use crate::test_data::test_values;

    fn run(heads: Heads, sequences: &[Sequence], rows: usize) {
        let d = heads.width();
        let qkv = test_values(rows * 3 * d, 2.0, rows as f32);
        let mut fast = vec![7.0; rows * d];
        let mut expected = fast.clone();
        attention(&qkv, heads, sequences, &mut fast);
        attention_scalar(&qkv, heads, sequences, &mut expected);
        for (i, (f, e)) in fast.iter().zip(&expected).enumerate() {
            assert!(
                (f - e).abs() < 2e-5,
                "row {} column {}: {f} vs {e}",
                i / d,
                i % d
            );
        }
    }

    #[test]
    fn matches_the_definition_on_packed_sequences() {
        // One row; odd head widths; query-only rows; a sequence longer than a query block; a row
        // (10) outside every sequence keeps its value.
        let heads = Heads { count: 3, dim: 5 };
        run(
            heads,
            &[Sequence {
                start: 0,
                keys: 1,
                queries: 1,
            }],
            1,
        );
        run(
            heads,
            &[
                Sequence {
                    start: 0,
                    keys: 4,
                    queries: 7,
                },
                Sequence {
                    start: 7,
                    keys: 3,
                    queries: 3,
                },
                Sequence {
                    start: 11,
                    keys: 150,
                    queries: 150,
                },
            ],
            161,
        );
        run(
            Heads { count: 2, dim: 32 },
            &[Sequence {
                start: 1,
                keys: 64,
                queries: 70,
            }],
            71,
        );
    }

    #[test]
    fn padding_keys_do_not_change_a_sequence() {
        // A sequence alone and the same sequence followed by query-only rows: identical outputs.
        let heads = Heads { count: 4, dim: 8 };
        let d = heads.width();
        let qkv = test_values(9 * 3 * d, 1.0, 3.0);
        let mut alone = vec![0.0; 5 * d];
        attention(
            &qkv[..5 * 3 * d],
            heads,
            &[Sequence {
                start: 0,
                keys: 5,
                queries: 5,
            }],
            &mut alone,
        );
        let mut padded = vec![0.0; 9 * d];
        attention(
            &qkv,
            heads,
            &[Sequence {
                start: 0,
                keys: 5,
                queries: 9,
            }],
            &mut padded,
        );
        assert_eq!(alone, padded[..5 * d]);
    }

    #[test]
    #[should_panic(expected = "sequences overlap")]
    fn overlapping_sequences_are_refused() {
        let heads = Heads { count: 1, dim: 4 };
        let qkv = vec![0.0; 6 * 12];
        let sequences = [
            Sequence {
                start: 0,
                keys: 3,
                queries: 4,
            },
            Sequence {
                start: 3,
                keys: 3,
                queries: 3,
            },
        ];
        attention(&qkv, heads, &sequences, &mut [0.0; 24]);
    }
}
