//! The microkernel: an `MR × NR` tile of `C` (+)= `A[rows, 0..kc] · B[0..kc, panel]`, kept in
//! registers across the whole `kc` loop (12 AVX accumulators, 2 loads of `B` and one broadcast of
//! `A` per row and step). The instruction set is detected once; CPUs without AVX2 + FMA (and
//! aarch64, until a NEON kernel exists) run the portable kernel, plain loops the compiler
//! vectorises for the baseline target.

use std::sync::OnceLock;

use super::{MR, NR};

/// A microkernel.
///
/// # Safety
/// `a[i]` points to `kc` readable floats for every `i < MR`; `b` to `kc · NR` readable floats,
/// 64-byte aligned; `c` to `MR` rows of `NR` writable floats, `ldc` floats apart, which it reads
/// first when `accumulate`. Nothing else may access those `C` elements meanwhile.
pub(crate) type Kernel = unsafe fn(
    kc: usize,
    a: &[*const f32; MR],
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
);

/// The fastest kernel this CPU runs, chosen on first use.
pub(crate) fn selected() -> (Kernel, &'static str) {
    static SELECTED: OnceLock<(Kernel, &'static str)> = OnceLock::new();
    *SELECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
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
) {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_fmadd_ps, _mm256_load_ps, _mm256_loadu_ps, _mm256_set1_ps,
        _mm256_setzero_ps, _mm256_storeu_ps,
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
    for i in 0..MR {
        // SAFETY: row `i < MR` of `C` holds `NR` writable floats that only this call accesses.
        unsafe {
            let row = c.add(i * ldc);
            let (mut low, mut high) = (acc[2 * i], acc[2 * i + 1]);
            if accumulate {
                low = _mm256_add_ps(low, _mm256_loadu_ps(row));
                high = _mm256_add_ps(high, _mm256_loadu_ps(row.add(HALF)));
            }
            _mm256_storeu_ps(row, low);
            _mm256_storeu_ps(row.add(HALF), high);
        }
    }
}
