//! The decode thread loop of `embed`: a unit's samples are prepared window by window on the
//! decode pool, one window ahead of the backbone, so memory stays bounded by two windows; the
//! prepared samples are embedded in the batches their modality forms and put back in
//! samples-table order.

use std::path::Path;

use anyhow::anyhow;
use candle_core::Device;
use nona_backbones::BackboneInput;
use nona_pipeline::RowError;
use nona_pipeline::progress::Progress;

use super::Loaded;
use crate::modality::{Prepare, Sample, WithPrepare};

/// What one unit produced: the samples embedded (in samples-table order), their embeddings
/// row-major, and the samples that failed.
#[derive(Default)]
pub(crate) struct Embedded<'a> {
    pub(crate) kept: Vec<&'a Sample>,
    pub(crate) values: Vec<f32>,
    pub(crate) errors: Vec<RowError>,
}

/// One unit's embedding, run with the modality's [`Prepare`] (through
/// [`crate::modality::Inputs::with`]): prepares `samples` window by window on the decode pool
/// (window `i + 1` while the backbone runs window `i`), embeds the prepared ones in the batches
/// the modality forms, and puts the rows back in sample order.
pub(super) struct EmbedUnit<'a, 'p> {
    pub(super) state: &'a Loaded,
    pub(super) samples: &'a [Sample],
    pub(super) batch_size: usize,
    pub(super) progress: &'p Progress,
}

impl<'a> WithPrepare for EmbedUnit<'a, '_> {
    type Output = anyhow::Result<Embedded<'a>>;

    fn call<P: Prepare>(self, prepare: &P) -> Self::Output {
        embed_unit(prepare, self)
    }
}

fn embed_unit<'a, P: Prepare>(
    prepare: &P,
    unit: EmbedUnit<'a, '_>,
) -> anyhow::Result<Embedded<'a>> {
    let EmbedUnit {
        state,
        samples,
        batch_size,
        progress,
    } = unit;
    let window = prepare.window(batch_size, samples.len()).max(1);
    let windows: Vec<&[Sample]> = samples.chunks(window).collect();
    let run = |chunk: &[Sample]| prepare_inside_root(prepare, state, chunk);
    let mut out = Embedded::default();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut next = windows.first().map(|w| scope.spawn(move || run(w)));
        for (index, chunk) in windows.iter().enumerate() {
            let prepared = next
                .take()
                .expect("a preparation is pending")
                .join()
                .map_err(|_| anyhow!("decoding thread panicked"))?;
            next = windows.get(index + 1).map(|w| scope.spawn(move || run(w)));
            let mut items = Vec::with_capacity(chunk.len());
            let mut owners = Vec::with_capacity(chunk.len());
            for (sample, result) in chunk.iter().zip(prepared) {
                match result {
                    Ok(item) => {
                        owners.push(sample);
                        items.push(item);
                    }
                    Err(message) => out.errors.push(RowError {
                        id: Some(sample.id.clone()),
                        source: prepare.source(sample),
                        message,
                    }),
                }
            }
            let refs: Vec<&P::Item> = items.iter().collect();
            let mut rows: Vec<Option<Vec<f32>>> = vec![None; items.len()];
            for batch in prepare.batches(&refs, batch_size) {
                let members: Vec<&P::Item> = batch.iter().map(|&i| refs[i]).collect();
                let input = prepare.input(&members, &state.device)?;
                let pooled = embed_batch(state, &input)?;
                for (&i, row) in batch.iter().zip(pooled.chunks(state.dim)) {
                    rows[i] = Some(row.to_vec());
                }
            }
            for (sample, row) in owners.into_iter().zip(rows) {
                let row = row.ok_or_else(|| anyhow!("sample `{}` was not embedded", sample.id))?;
                out.kept.push(sample);
                out.values.extend(row);
            }
            progress.advance(chunk.len() as u64);
        }
        Ok(())
    })?;
    Ok(out)
}

/// Prepares the samples whose files are inside the allowed folders (preprocess checked them, but
/// a file may have become a link since, or the samples table may have been edited); the others
/// fail without being opened.
fn prepare_inside_root<P: Prepare>(
    prepare: &P,
    state: &Loaded,
    chunk: &[Sample],
) -> Vec<Result<P::Item, String>> {
    let Some(root) = &state.sample_root else {
        return prepare.prepare(chunk, &state.pool);
    };
    let checks: Vec<Result<(), String>> = chunk
        .iter()
        .map(|sample| root.check(Path::new(&sample.input)))
        .collect();
    let inside: Vec<Sample> = chunk
        .iter()
        .zip(&checks)
        .filter(|(_, check)| check.is_ok())
        .map(|(sample, _)| sample.clone())
        .collect();
    let mut prepared = prepare.prepare(&inside, &state.pool).into_iter();
    checks
        .into_iter()
        .map(|check| match check {
            Ok(()) => prepared
                .next()
                .unwrap_or_else(|| Err("not prepared".to_owned())),
            Err(message) => Err(message),
        })
        .collect()
}

/// Runs the backbone on one batch and returns the pooled embeddings, row-major.
fn embed_batch(state: &Loaded, input: &BackboneInput) -> anyhow::Result<Vec<f32>> {
    let backbone = state
        .backbone
        .lock()
        .map_err(|_| anyhow!("backbone lock poisoned"))?;
    let pooled = backbone.embed(input)?;
    Ok(pooled
        .to_device(&Device::Cpu)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}
