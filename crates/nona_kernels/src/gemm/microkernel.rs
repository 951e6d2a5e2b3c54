//! The microkernel: an `MR × NR` tile of `C` (+)= `A[rows, 0..kc] · B[0..kc, panel]`, kept in
//! registers across the whole `kc` loop (12 AVX accumulators, 2 loads of `B` and one broadcast of
//! `A` per row and step). The instruction set is detected once; CPUs without AVX2 + FMA (and
//! aarch64, until a NEON kernel exists) run the portable kernel, plain loops the compiler
//! vectorises for the baseline target. With `finish`, a kernel also applies the epilogue to the
//! tile before it leaves the registers.

use std::sync::OnceLock;

use super::{Activation, MR, NR};

/// The epilogue of one full tile: `act(tile + bias + residual)`.
pub(crate) struct Finish {
    /// `NR` bias values, or null.
    pub(crate) bias: *const f32,
    /// `MR` rows of `NR` residual values `residual_stride` apart, or null.
    pub(crate) residual: *const f32,
    pub(crate) residual_stride: usize,
    pub(crate) activation: Activation,
}

/// A microkernel.
///
/// # Safety
/// `a[i]` points to `kc` readable floats for every `i < MR`; `b` to `kc · NR` readable floats,
/// 64-byte aligned; `c` to `MR` rows of `NR` writable floats, `ldc` floats apart, which it reads
/// first when `accumulate`; `finish`'s non-null pointers to the extents it describes. Nothing
/// else may write those elements meanwhile.
pub(crate) type Kernel = unsafe fn(
    kc: usize,
    a: &[*const f32; MR],
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    finish: Option<&Finish>,
);

/// The fastest kernel this CPU runs, chosen on first use.
pub(crate) fn selected() -> (Kernel, &'static str) {
    static SELECTED: OnceLock<(Kernel, &'static str)> = OnceLock::new();
    *SELECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if crate::avx2::available() {
            return (avx2_fma as Kernel, "avx2+fma");
        }
        (portable as Kernel, "portable")
    })
}

/// The kernel without explicit SIMD.
///
/// # Safety
/// As [`Kernel`].
pub(crate) unsafe fn portable(
    kc: usize,
    a: &[*const f32; MR],
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    finish: Option<&Finish>,
) {
    // SAFETY: the caller guarantees the extents of `a`, `b` (`kc` rows of `NR`) and `c`.
    let (a, b) = unsafe {
        (
            a.map(|row| std::slice::from_raw_parts(row, kc)),
            std::slice::from_raw_parts(b, kc * NR),
        )
    };
    let mut acc = [[0f32; NR]; MR];
    for (kk, b_row) in b.chunks_exact(NR).enumerate() {
        for (acc_row, a_row) in acc.iter_mut().zip(&a) {
            let a_value = a_row[kk];
            for (sum, &b_value) in acc_row.iter_mut().zip(b_row) {
                *sum += a_value * b_value;
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        // SAFETY: row `i < MR` of `C` holds `NR` writable floats that only this call accesses.
        let c_row = unsafe { std::slice::from_raw_parts_mut(c.add(i * ldc), NR) };
        for (out, &sum) in c_row.iter_mut().zip(acc_row) {
            *out = if accumulate { *out + sum } else { sum };
        }
        if let Some(finish) = finish {
            // SAFETY: the caller guarantees `NR` bias values and `MR` residual rows when non-null.
            unsafe { finish.apply_scalar(i, c_row) };
        }
    }
}

impl Finish {
    /// The epilogue on row `i` of the tile, in plain loops.
    ///
    /// # Safety
    /// As [`Kernel`]'s `finish`.
    unsafe fn apply_scalar(&self, i: usize, row: &mut [f32]) {
        // SAFETY: the caller guarantees the extents of the non-null pointers.
        unsafe {
            if !self.bias.is_null() {
                let bias = std::slice::from_raw_parts(self.bias, NR);
                row.iter_mut().zip(bias).for_each(|(o, b)| *o += b);
            }
            if !self.residual.is_null() {
                let residual =
                    std::slice::from_raw_parts(self.residual.add(i * self.residual_stride), NR);
                row.iter_mut().zip(residual).for_each(|(o, r)| *o += r);
            }
        }
        self.activation.apply(row);
    }
}

/// The AVX2 + FMA kernel.
///
/// # Safety
/// As [`Kernel`], and the CPU supports AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn avx2_fma(
    kc: usize,
    a: &[*const f32; MR],
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    finish: Option<&Finish>,
) {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_fmadd_ps, _mm256_load_ps, _mm256_loadu_ps, _mm256_max_ps,
        _mm256_min_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };
    const HALF: usize = NR / 2;
    let mut acc: [__m256; 2 * MR] = [_mm256_setzero_ps(); 2 * MR];
    for kk in 0..kc {
        // SAFETY: `kk < kc`, so `b + kk·NR .. + NR` and `a[i] + kk` are inside the caller's
        // extents; `b` is 64-byte aligned and `NR · 4 = 64`, so both halves are 32-byte aligned.
        let (b_low, b_high, a_values) = unsafe {
            let b_row = b.add(kk * NR);
            (
                _mm256_load_ps(b_row),
                _mm256_load_ps(b_row.add(HALF)),
                a.map(|row| *row.add(kk)),
            )
        };
        for (i, &a_value) in a_values.iter().enumerate() {
            let broadcast = _mm256_set1_ps(a_value);
            acc[2 * i] = _mm256_fmadd_ps(broadcast, b_low, acc[2 * i]);
            acc[2 * i + 1] = _mm256_fmadd_ps(broadcast, b_high, acc[2 * i + 1]);
        }
    }
    let (zero, six) = (_mm256_setzero_ps(), _mm256_set1_ps(6.0));
    for i in 0..MR {
        // SAFETY: row `i < MR` of `C` holds `NR` writable floats that only this call accesses;
        // `finish`'s non-null pointers hold `NR` bias values and `MR` rows of `NR` residuals.
        unsafe {
            let row = c.add(i * ldc);
            let (mut low, mut high) = (acc[2 * i], acc[2 * i + 1]);
            if accumulate {
                low = _mm256_add_ps(low, _mm256_loadu_ps(row));
                high = _mm256_add_ps(high, _mm256_loadu_ps(row.add(HALF)));
            }
            if let Some(finish) = finish {
                if !finish.bias.is_null() {
                    low = _mm256_add_ps(low, _mm256_loadu_ps(finish.bias));
                    high = _mm256_add_ps(high, _mm256_loadu_ps(finish.bias.add(HALF)));
                }
                if !finish.residual.is_null() {
                    let residual = finish.residual.add(i * finish.residual_stride);
                    low = _mm256_add_ps(low, _mm256_loadu_ps(residual));
                    high = _mm256_add_ps(high, _mm256_loadu_ps(residual.add(HALF)));
                }
                // `max(0, x)` and `min(6, x)` keep a NaN `x`, as the scalar activations do.
                match finish.activation {
                    Activation::Relu => {
                        low = _mm256_max_ps(zero, low);
                        high = _mm256_max_ps(zero, high);
                    }
                    Activation::Relu6 => {
                        low = _mm256_min_ps(six, _mm256_max_ps(zero, low));
                        high = _mm256_min_ps(six, _mm256_max_ps(zero, high));
                    }
                    Activation::None | Activation::Silu => {}
                }
            }
            _mm256_storeu_ps(row, low);
            _mm256_storeu_ps(row.add(HALF), high);
            if let Some(finish) = finish
                && finish.activation == Activation::Silu
            {
                // No vector exponential here yet: SiLU on the stored row, still in L1.
                finish
                    .activation
                    .apply(std::slice::from_raw_parts_mut(row, NR));
            }
        }
    }
}
