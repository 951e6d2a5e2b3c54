//! Deterministic test inputs for the kernels' tests.

/// `n` values in `[-scale, scale]`, a fixed function of `seed` (a cheap hash, no RNG crate).
pub(crate) fn test_values(n: usize, scale: f32, seed: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = ((i as f32 + 1.0) * 12.9898 + seed * 78.233).sin() * 43_758.547;
            scale * (2.0 * (x - x.floor()) - 1.0)
        })
        .collect()
}
