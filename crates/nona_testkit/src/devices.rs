//! One test per device the build has, from one body, in the manner of candle's per-device tests
//! (`candle-core/src/test_utils.rs`).

/// For each `fn name(device: &Device)` named, a module `name` of tests: `name::cpu` always, and
/// `name::cuda` when `nona_testkit` is built with its `cuda` feature (the tested crate's `cuda`
/// feature turns it on). Without a GPU, `name::cuda` says that it is skipped and passes.
///
/// ```ignore
/// fn pooled_outputs_match_pytorch(device: &Device) { /* … */ }
/// nona_testkit::device_tests!(pooled_outputs_match_pytorch);
/// ```
#[macro_export]
macro_rules! device_tests {
    ($($body:ident),+ $(,)?) => {$(
        mod $body {
            #[test]
            fn cpu() {
                super::$body(&$crate::candle_core::Device::Cpu);
            }

            $crate::cuda_test!($body);
        }
    )+};
}

/// The `cuda` test of [`device_tests!`].
#[cfg(feature = "cuda")]
#[doc(hidden)]
#[macro_export]
macro_rules! cuda_test {
    ($body:ident) => {
        #[test]
        #[allow(clippy::print_stderr, reason = "a skipped device says so")]
        fn cuda() {
            match $crate::candle_core::Device::new_cuda(0) {
                Ok(device) => super::$body(&device),
                Err(error) => eprintln!(
                    "SKIPPED {}::cuda: no CUDA device ({error})",
                    stringify!($body)
                ),
            }
        }
    };
}

/// Without the `cuda` feature, [`device_tests!`] makes no `cuda` test.
#[cfg(not(feature = "cuda"))]
#[doc(hidden)]
#[macro_export]
macro_rules! cuda_test {
    ($body:ident) => {};
}
