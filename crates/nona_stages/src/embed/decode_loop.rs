//! The decode thread loop of `embed`: a unit's samples are prepared window by window on the
//! decode pool ([`decode_pool`]), one window ahead of the backbone, so memory stays bounded by two
//! windows; the prepared samples are embedded in the batches their modality forms and put back in
//! samples-table order.

use std::path::Path;

use anyhow::anyhow;
use candle_core::Device;
use nona_backbones::BackboneInput;
use nona_pipeline::{RowError, StageContext};

use super::Loaded;
use crate::modality::{Prepare, Sample, WithPrepare};

/// The nice value of the decode threads: the lowest priority there is.
#[cfg(target_os = "linux")]
const DECODE_NICE: i32 = 19;

/// The decode pool: `threads` threads (`nona-decode-N`) that prepare samples while the backbone
/// embeds, at the lowest scheduling priority (on Linux; elsewhere at the process's).
///
/// The backbone's matmuls keep every core busy on rayon's global pool, and each operation waits
/// for its slowest thread: a decode thread at the same priority that preempts one of them stalls
/// them all. At the lowest priority decoding takes the cores the backbone leaves idle (its
/// single-threaded steps), and all of them while the backbone waits for a window that is not
/// ready, so preparing the next window no longer holds up the one being embedded.
pub(super) fn decode_pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    Ok(rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("nona-decode-{i}"))
        .start_handler(|_| yield_to_backbone())
        .build()?)
}

/// Gives the calling thread the lowest scheduling priority. On Linux a nice value is a thread's
/// own; elsewhere it is the whole process's, so nothing changes there.
fn yield_to_backbone() {
    // Best effort: a thread left at its priority is only slower.
    #[cfg(target_os = "linux")]
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), DECODE_NICE);
}

/// What one unit produced: the samples embedded (in samples-table order), their embeddings
/// row-major, and the samples that failed.
pub(super) struct Embedded<'a> {
    pub(super) kept: Vec<&'a Sample>,
    pub(super) values: Vec<f32>,
    pub(super) errors: Vec<RowError>,
}

/// One unit's embedding, run with the modality's [`Prepare`] (through
/// [`crate::modality::Inputs::with`]): prepares `samples` window by window on the decode pool
/// (window `i + 1` while the backbone runs window `i`), embeds the prepared ones in the batches
/// the modality forms, and puts the rows back in sample order.
pub(super) struct EmbedUnit<'a, 'c> {
    pub(super) state: &'a Loaded,
    pub(super) samples: &'a [Sample],
    pub(super) batch_size: usize,
    pub(super) ctx: &'a StageContext<'c>,
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
        ctx,
    } = unit;
    let window = prepare.window(batch_size, samples.len()).max(1);
    let windows: Vec<&[Sample]> = samples.chunks(window).collect();
    let run = |chunk: &[Sample]| prepare_inside_root(prepare, state, chunk);
    let mut out = Embedded {
        kept: Vec::new(),
        values: Vec::new(),
        errors: Vec::new(),
    };
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
            ctx.progress.advance(chunk.len() as u64);
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use rustix::process::getpriority_process;
    use rustix::thread::gettid;

    fn own_nice() -> i32 {
        getpriority_process(Some(gettid())).expect("a thread reads its nice value")
    }

    #[test]
    fn decode_threads_run_at_the_lowest_priority_and_the_caller_keeps_its_own() {
        let before = own_nice();
        let pool = super::decode_pool(3).expect("the pool starts");
        assert_eq!(pool.broadcast(|_| own_nice()), vec![super::DECODE_NICE; 3]);
        assert_eq!(own_nice(), before);
    }
}
