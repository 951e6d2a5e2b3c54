//! nona's side of a measurement: the backbone (synthetic weights: speed does not depend on their
//! values) timed on a [`Workload`]'s inputs.

use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use nona_backbones::audio::mel::{LogMel, N_SAMPLES};
use nona_backbones::weights::SyntheticWeights;
use nona_backbones::{Backbone, BackboneInput, build_backbone};

use crate::inputs;
use crate::workload::Workload;

/// How long one measurement runs at least (after a warm-up, and at least two runs); the PyTorch
/// reference is given the same.
pub const MIN_TIME: Duration = Duration::from_secs(3);

/// Times workloads, keeping the last backbone built (rows measure one backbone at a time).
#[derive(Default)]
pub struct Nona {
    built: Option<(String, Box<dyn Backbone>)>,
}

impl Nona {
    /// Items per second of `workload`.
    pub fn rate(&mut self, workload: &Workload) -> nona_backbones::Result<f64> {
        let device = Device::Cpu;
        Ok(match *workload {
            Workload::Images { model, batch } => {
                let backbone = self.backbone(model)?;
                let images = BackboneInput::Images(Tensor::randn(
                    0f32,
                    1f32,
                    (batch, 3, 224, 224),
                    &device,
                )?);
                per_second(batch, || {
                    backbone.embed(&images).expect("image batch embeds");
                })
            }
            Workload::Text {
                model,
                batch,
                tokens,
            } => {
                let backbone = self.backbone(model)?;
                let batches = inputs::text_batches(tokens, batch)?;
                per_second(2 * batch, || {
                    for input in &batches {
                        backbone.embed(input).expect("token batch embeds");
                    }
                })
            }
            Workload::Whisper { batch } => {
                let backbone = self.backbone("whisper_tiny_en")?;
                let samples =
                    Tensor::from_vec(inputs::clip().repeat(batch), (batch, N_SAMPLES), &device)?;
                let input = BackboneInput::Audio {
                    samples,
                    lengths: vec![N_SAMPLES; batch],
                };
                per_second(batch, || {
                    backbone.embed(&input).expect("clips embed");
                })
            }
            Workload::LogMel => {
                let (clip, mel) = (inputs::clip(), LogMel::new(80));
                per_second(1, || drop(std::hint::black_box(mel.compute(&clip))))
            }
        })
    }

    /// `model` with synthetic weights, built unless it is the last one built.
    fn backbone(&mut self, model: &str) -> nona_backbones::Result<&dyn Backbone> {
        if self.built.as_ref().is_none_or(|(name, _)| name != model) {
            self.built = None; // free the previous backbone before building the next
            self.built = Some((model.to_owned(), synthetic(model)?));
        }
        Ok(self.built.as_ref().expect("built above").1.as_ref())
    }
}

fn synthetic(name: &str) -> nona_backbones::Result<Box<dyn Backbone>> {
    build_backbone(
        name,
        VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu),
    )
}

/// Runs `work` (which handles `items` items) at least twice and for at least [`MIN_TIME`] after a
/// warm-up; returns items per second.
pub fn per_second(items: usize, mut work: impl FnMut()) -> f64 {
    work();
    let (mut runs, start) = (0, Instant::now());
    while runs < 2 || start.elapsed() < MIN_TIME {
        work();
        runs += 1;
    }
    (runs * items) as f64 / start.elapsed().as_secs_f64()
}
