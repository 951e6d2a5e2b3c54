//! Negative L1 / L2 distance matrices on the CPU as one candle op: a direct loop over
//! `(query, neighbour)` pairs instead of a `(b, N, d)` difference tensor and four elementwise
//! ops, with a closed-form backward pass. Gradients follow the conventions of
//! [`crate::similarity`]: zero at a zero L2 distance, and `sign(0) = 0` for L1 (PyTorch's).

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor, WithDType, bail};
use num_traits::Float;

/// Which distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Norm {
    L1,
    L2,
}

/// `−‖z_i − n_j‖` `(b, N)` for queries `z` `(b, d)` and neighbours `z_n` `(N, d)`, both f32 or
/// f64 on the CPU; differentiable in both arguments.
pub(crate) fn negative_distances(
    z: &Tensor,
    z_n: &Tensor,
    norm: Norm,
) -> candle_core::Result<Tensor> {
    z.apply_op2(z_n, NegativeDistance { norm })
}

struct NegativeDistance {
    norm: Norm,
}

impl CustomOp2 for NegativeDistance {
    fn name(&self) -> &'static str {
        match self.norm {
            Norm::L1 => "negative-l1-distance",
            Norm::L2 => "negative-l2-distance",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (rows, dim) = l1.shape().dims2()?;
        let (neighbours, neighbour_dim) = l2.shape().dims2()?;
        if dim != neighbour_dim {
            bail!(
                "{}: query dim {dim} differs from neighbour dim {neighbour_dim}",
                self.name()
            );
        }
        let out = match (s1, s2) {
            (CpuStorage::F32(z), CpuStorage::F32(n)) => CpuStorage::F32(distances(
                contiguous(z, l1)?,
                contiguous(n, l2)?,
                dim,
                self.norm,
            )),
            (CpuStorage::F64(z), CpuStorage::F64(n)) => CpuStorage::F64(distances(
                contiguous(z, l1)?,
                contiguous(n, l2)?,
                dim,
                self.norm,
            )),
            _ => bail!("{}: two f32 or two f64 inputs expected", self.name()),
        };
        Ok((out, Shape::from((rows, neighbours))))
    }

    fn bwd(
        &self,
        z: &Tensor,
        z_n: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (dz, dz_n) = match self.norm {
            Norm::L2 => {
                // c = ∂sim / dist (0 where dist = 0): ∂z_i = Σ_j c_ij n_j − z_i Σ_j c_ij,
                // ∂n_j = Σ_i c_ij z_i − n_j Σ_i c_ij.
                let distance = res.neg()?;
                let positive = distance.gt(0.0)?;
                let safe = positive.where_cond(&distance, &distance.ones_like()?)?;
                let c = positive.where_cond(&grad.div(&safe)?, &distance.zeros_like()?)?;
                let dz = (c.matmul(z_n)? - z.broadcast_mul(&c.sum_keepdim(1)?)?)?;
                let dz_n = (c.t()?.matmul(z)? - z_n.broadcast_mul(&c.sum_keepdim(0)?.t()?)?)?;
                (dz, dz_n)
            }
            Norm::L1 => match z.dtype() {
                candle_core::DType::F32 => l1_grads::<f32>(z, z_n, grad)?,
                candle_core::DType::F64 => l1_grads::<f64>(z, z_n, grad)?,
                dtype => bail!("{}: unsupported dtype {dtype:?}", self.name()),
            },
        };
        Ok((Some(dz), Some(dz_n)))
    }
}

fn contiguous<'a, T>(data: &'a [T], layout: &Layout) -> candle_core::Result<&'a [T]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => bail!("pairwise distance: inputs must be contiguous"),
    }
}

fn distances<T: Float>(z: &[T], z_n: &[T], dim: usize, norm: Norm) -> Vec<T> {
    let dim = dim.max(1); // `chunks_exact(0)` panics; zero-width rows have no values anyway
    let mut out = Vec::with_capacity((z.len() / dim) * (z_n.len() / dim));
    for query in z.chunks_exact(dim) {
        for neighbour in z_n.chunks_exact(dim) {
            let pairs = query.iter().zip(neighbour);
            let distance = match norm {
                Norm::L1 => pairs.fold(T::zero(), |acc, (&a, &b)| acc + (a - b).abs()),
                Norm::L2 => pairs
                    .fold(T::zero(), |acc, (&a, &b)| acc + (a - b) * (a - b))
                    .sqrt(),
            };
            out.push(-distance);
        }
    }
    out
}

/// `∂z_ik = −Σ_j g_ij sign(z_ik − n_jk)`, `∂n_jk = Σ_i g_ij sign(z_ik − n_jk)`.
fn l1_grads<T: Float + WithDType>(
    z: &Tensor,
    z_n: &Tensor,
    grad: &Tensor,
) -> candle_core::Result<(Tensor, Tensor)> {
    let (rows, dim) = z.dims2()?;
    let neighbours = z_n.dim(0)?;
    let (zv, nv, gv) = (
        z.flatten_all()?.to_vec1::<T>()?,
        z_n.flatten_all()?.to_vec1::<T>()?,
        grad.flatten_all()?.to_vec1::<T>()?,
    );
    let sign = |v: T| {
        if v > T::zero() {
            T::one()
        } else if v < T::zero() {
            -T::one()
        } else {
            T::zero()
        }
    };
    let mut dz = vec![T::zero(); rows * dim];
    let mut dn = vec![T::zero(); neighbours * dim];
    for i in 0..rows {
        for j in 0..neighbours {
            let g = gv[i * neighbours + j];
            if g == T::zero() {
                continue;
            }
            for k in 0..dim {
                let s = g * sign(zv[i * dim + k] - nv[j * dim + k]);
                dz[i * dim + k] -= s;
                dn[j * dim + k] += s;
            }
        }
    }
    Ok((
        Tensor::from_vec(dz, (rows, dim), z.device())?,
        Tensor::from_vec(dn, (neighbours, dim), z_n.device())?,
    ))
}
