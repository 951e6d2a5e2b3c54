//! CPU kernels for the backbones' inference on fixed shapes with weights known at load time.
//!
//! One module per kernel. Each SIMD kernel has a scalar reference implementation beside it that
//! the tests compare against on odd shapes; the instruction set is detected once at run time, and
//! a portable path serves CPUs without it. Kernels parallelise with rayon on the caller's pool:
//! the caller decides which pool (the embed stage keeps decoding on a pool of its own).

pub mod attention;
mod avx2;
pub mod gelu;
pub mod layer_norm;
pub mod softmax;
#[cfg(test)]
mod test_data;
