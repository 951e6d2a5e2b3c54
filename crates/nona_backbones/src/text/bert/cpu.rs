//! The encoder's forward pass on the CPU with the fused kernels of `nona_kernels`: the rows of a
//! batch that need a hidden state are packed one sequence after another (real tokens first), so
//! the projections never run on padding that nobody reads, and attention scores each sequence's
//! real tokens only. Per layer: one `[Q|K|V]` product, attention, the output product, LayerNorm
//! with the residual added, the first feed-forward product, GELU, the second, LayerNorm.

use candle_core::{DType, Tensor};
use nona_kernels::attention::{Heads, Sequence, attention};
use nona_kernels::gelu::gelu;
use nona_kernels::layer_norm::LayerNorm;

use super::{Affine, EncoderConfig, EncoderWeights, LayerWeights, Positions};
use crate::dense::Dense;
use crate::{Error, Result};

fn dense((weight, bias): &Affine) -> Result<Dense> {
    Dense::new(weight, Some(bias))
}

fn layer_norm((weight, bias): &Affine, eps: f64) -> Result<LayerNorm> {
    Ok(LayerNorm::new(
        weight.to_vec1::<f32>()?,
        bias.to_vec1::<f32>()?,
        eps as f32,
    ))
}

fn table(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

struct Layer {
    qkv: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    ffn_in: Dense,
    ffn_out: Dense,
    output_norm: LayerNorm,
}

impl Layer {
    fn new(w: &LayerWeights, eps: f64) -> Result<Self> {
        Ok(Self {
            qkv: dense(&w.qkv)?,
            attention_out: dense(&w.attention_out)?,
            attention_norm: layer_norm(&w.attention_norm, eps)?,
            ffn_in: dense(&w.ffn_in)?,
            ffn_out: dense(&w.ffn_out)?,
            output_norm: layer_norm(&w.output_norm, eps)?,
        })
    }
}

/// Which rows of a `(B, L)` batch are computed, in which order, and where each sequence is.
#[derive(Debug, PartialEq)]
struct Packing {
    /// `(sequence, position)` of each packed row.
    rows: Vec<(usize, usize)>,
    /// The sequences' rows: their real tokens (the keys), then query-only padding positions.
    sequences: Vec<Sequence>,
}

impl Packing {
    /// Packs the positions of a `(B, L)` mask (row-major, non-zero = real token) that
    /// `positions` asks for. A sequence without a real token is refused.
    fn new(mask: &[f32], (b, l): (usize, usize), positions: Positions) -> Result<Self> {
        let mut packing = Self {
            rows: Vec::with_capacity(b * l),
            sequences: Vec::with_capacity(b),
        };
        for s in 0..b {
            let keep = |p: usize| mask[s * l + p] != 0.0;
            let start = packing.rows.len();
            packing
                .rows
                .extend((0..l).filter(|&p| keep(p)).map(|p| (s, p)));
            let keys = packing.rows.len() - start;
            if keys == 0 {
                return Err(Error::BadInput(format!(
                    "sequence {s} of the batch has no token (its attention mask is all 0)"
                )));
            }
            match positions {
                Positions::All => packing
                    .rows
                    .extend((0..l).filter(|&p| !keep(p)).map(|p| (s, p))),
                Positions::Tokens if !keep(0) => packing.rows.push((s, 0)),
                Positions::Tokens => {}
            }
            packing.sequences.push(Sequence {
                start,
                keys,
                queries: packing.rows.len() - start,
            });
        }
        Ok(packing)
    }
}

/// Embeddings + layers as plain `f32` tables.
pub(super) struct CpuEncoder {
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Option<Vec<f32>>,
    norm: LayerNorm,
    layers: Vec<Layer>,
    heads: Heads,
}

impl CpuEncoder {
    pub(super) fn new(config: &EncoderConfig, weights: EncoderWeights) -> Result<Self> {
        let eps = config.layer_norm_eps;
        Ok(Self {
            word: table(&weights.word)?,
            position: table(&weights.position)?,
            token_type: weights.token_type.as_ref().map(table).transpose()?,
            norm: layer_norm(&weights.norm, eps)?,
            layers: weights
                .layers
                .iter()
                .map(|w| Layer::new(w, eps))
                .collect::<Result<_>>()?,
            heads: Heads {
                count: config.num_heads,
                dim: config.hidden_size / config.num_heads,
            },
        })
    }

    /// Last hidden state `(B, L, d)` of checked `u32` ids `(B, L)` at `positions` (zeros at the
    /// positions not computed).
    pub(super) fn forward(
        &self,
        ids: &Tensor,
        attention_mask: &Tensor,
        token_type_ids: Option<&Tensor>,
        positions: Positions,
    ) -> Result<Tensor> {
        let (b, l) = ids.dims2()?;
        let mask = table(&attention_mask.to_dtype(DType::F32)?)?;
        let packing = Packing::new(&mask, (b, l), positions)?;
        let types = token_type_ids
            .map(|t| t.flatten_all()?.to_vec1::<u32>())
            .transpose()?;
        let ids = ids.flatten_all()?.to_vec1::<u32>()?;
        let mut x = self.embed(&packing, l, &ids, types.as_deref())?;
        self.norm.normalize(&mut x, None);

        let (d, rows) = (self.heads.width(), packing.rows.len());
        let ffn_width = self
            .layers
            .first()
            .map_or(0, |layer| layer.ffn_in.outputs());
        let mut qkv = vec![0.0; rows * 3 * d];
        let mut context = vec![0.0; rows * d];
        let mut projected = vec![0.0; rows * d];
        let mut ffn = vec![0.0; rows * ffn_width];
        for layer in &self.layers {
            layer.qkv.forward(&x, &mut qkv);
            attention(&qkv, self.heads, &packing.sequences, &mut context);
            layer.attention_out.forward(&context, &mut projected);
            layer.attention_norm.normalize(&mut x, Some(&projected));
            layer.ffn_in.forward(&x, &mut ffn);
            gelu(&mut ffn);
            layer.ffn_out.forward(&ffn, &mut projected);
            layer.output_norm.normalize(&mut x, Some(&projected));
        }

        let mut hidden = vec![0.0; b * l * d];
        for (row, &(s, p)) in x.chunks_exact(d).zip(&packing.rows) {
            hidden[(s * l + p) * d..][..d].copy_from_slice(row);
        }
        Ok(Tensor::from_vec(
            hidden,
            (b, l, d),
            attention_mask.device(),
        )?)
    }

    /// `word + position (+ token type)` of each packed row, ids checked against the tables.
    fn embed(
        &self,
        packing: &Packing,
        l: usize,
        ids: &[u32],
        types: Option<&[u32]>,
    ) -> Result<Vec<f32>> {
        let d = self.heads.width();
        let mut x = vec![0.0; packing.rows.len() * d];
        for (row, &(s, p)) in x.chunks_exact_mut(d).zip(&packing.rows) {
            let word = entry(&self.word, d, "input_ids", (s, p), ids[s * l + p])?;
            let position = &self.position[p * d..(p + 1) * d];
            for ((x, w), q) in row.iter_mut().zip(word).zip(position) {
                *x = w + q;
            }
            if let Some(token_type) = &self.token_type {
                let id = types.map_or(0, |types| types[s * l + p]);
                let segment = entry(token_type, d, "token_type_ids", (s, p), id)?;
                for (x, t) in row.iter_mut().zip(segment) {
                    *x += t;
                }
            }
        }
        Ok(x)
    }
}

/// Row `id` of an embedding `table` of width `d`, or an error naming input `name` at `(s, p)`.
fn entry<'t>(
    table: &'t [f32],
    d: usize,
    name: &str,
    (s, p): (usize, usize),
    id: u32,
) -> Result<&'t [f32]> {
    let id = id as usize;
    table.get(id * d..(id + 1) * d).ok_or_else(|| {
        Error::BadInput(format!(
            "{name}[{s}, {p}] = {id} is outside the model's {} entries",
            table.len() / d
        ))
    })
}

#[cfg(test)]
mod tests {
    use nona_kernels::attention::Sequence;

    use super::{Packing, Positions};

    #[test]
    fn packing_puts_real_tokens_first_and_padding_only_where_asked() {
        // Sequence 0: 3 tokens, right-padded; sequence 1: a hole and left padding.
        let mask = [1., 1., 1., 0., 0., 1., 0., 1.];
        let all = Packing::new(&mask, (2, 4), Positions::All).unwrap();
        assert_eq!(
            all.rows,
            [
                (0, 0),
                (0, 1),
                (0, 2),
                (0, 3),
                (1, 1),
                (1, 3),
                (1, 0),
                (1, 2)
            ]
        );
        assert_eq!(
            all.sequences,
            [
                Sequence {
                    start: 0,
                    keys: 3,
                    queries: 4
                },
                Sequence {
                    start: 4,
                    keys: 2,
                    queries: 4
                },
            ]
        );
        let tokens = Packing::new(&mask, (2, 4), Positions::Tokens).unwrap();
        assert_eq!(
            tokens.rows,
            [(0, 0), (0, 1), (0, 2), (1, 1), (1, 3), (1, 0)]
        );
        assert_eq!(
            tokens.sequences,
            [
                Sequence {
                    start: 0,
                    keys: 3,
                    queries: 3
                },
                Sequence {
                    start: 3,
                    keys: 2,
                    queries: 3
                },
            ]
        );
        let empty = Packing::new(&[1., 0., 0., 0.], (2, 2), Positions::All).unwrap_err();
        assert!(empty.to_string().contains("sequence 1"), "{empty}");
    }
}
