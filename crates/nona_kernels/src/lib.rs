//! CPU kernels for the backbones' inference on fixed shapes with weights known at load time.
//!
//! One module per kernel. Each SIMD kernel has a scalar reference implementation beside it that
//! the tests compare against on odd shapes; the instruction set is detected once at run time, and
//! a portable path serves CPUs without it. Kernels parallelise with rayon on the caller's pool:
//! the caller decides which pool (the embed stage keeps decoding on a pool of its own).
//!
//! - [`gemm`]: `C = A · B` with `B` (the weights) packed once into the microkernel's panels, and a
//!   fused epilogue (bias, residual, activation);
//! - [`conv`]: NHWC convolution on top of it (1×1 as one GEMM, k×k as im2col by row tiles);
//! - [`pool`]: NHWC max-pooling and global average pooling, and the NCHW → NHWC transpose;
//! - transformer blocks: [`layer_norm`] (with the residual added first), [`softmax`] (scale folded
//!   in), [`gelu`] (exact, erf) and [`attention`] over packed sequences that skips padding.

pub mod attention;
mod avx2;
pub mod conv;
pub mod gelu;
#[allow(
    unsafe_code,
    reason = "the microkernels (intrinsics, raw tile pointers) and the output shared by disjoint tiles; each block says why it is sound"
)]
pub mod gemm;
pub mod layer_norm;
pub mod pool;
#[cfg(test)]
mod reference;
pub mod softmax;
#[cfg(test)]
mod test_data;

pub use conv::{Conv2d, Nhwc, Pads};
pub use gemm::{Activation, Epilogue, PackedB};
