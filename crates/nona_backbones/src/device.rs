use std::str::FromStr;

use candle_core::Device;

use crate::{Error, Result};

/// Where a backbone runs, as chosen on the command line (`--device cpu|cuda`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceKind {
    /// The host CPU (always available).
    #[default]
    Cpu,
    /// The first CUDA GPU; needs the crate's `cuda` feature.
    Cuda,
}

impl DeviceKind {
    /// Opens the candle device.
    pub fn device(self) -> Result<Device> {
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Cuda => open_cuda(),
        }
    }
}

#[cfg(feature = "cuda")]
fn open_cuda() -> Result<Device> {
    Device::new_cuda(0).map_err(|e| Error::DeviceUnavailable(format!("CUDA device 0: {e}")))
}

#[cfg(not(feature = "cuda"))]
fn open_cuda() -> Result<Device> {
    Err(Error::DeviceUnavailable(
        "this build has no CUDA support; rebuild with `--features nona_backbones/cuda`".into(),
    ))
}

impl FromStr for DeviceKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            other => Err(Error::DeviceUnavailable(format!(
                "unknown device `{other}` (expected `cpu` or `cuda`)"
            ))),
        }
    }
}
