//! One measured cell of a table: what runs and on which inputs. The same description is timed by
//! nona ([`crate::nona::Nona`]), sent to the PyTorch reference as a JSON request and handed to a
//! thread-scaling child process as a string, so that all of them run exactly the same thing.

/// What one measurement runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Workload<'a> {
    /// An image backbone on `batch` random 224×224 images; images/s.
    Images { model: &'a str, batch: usize },
    /// A text backbone on two padded batches of `batch` ~`tokens`-token sentences; sentences/s.
    Text {
        model: &'a str,
        batch: usize,
        tokens: usize,
    },
    /// The Whisper tiny encoder, log-mel included, on `batch` 30 s clips; clips/s.
    Whisper { batch: usize },
    /// Whisper's log-mel alone on one 30 s clip (nona's frames run in parallel; the reference,
    /// `WhisperFeatureExtractor`, is NumPy on one thread); clips/s.
    LogMel,
}

impl<'a> Workload<'a> {
    /// A row label: the model, batch and unit.
    pub fn describe(&self) -> String {
        match *self {
            Self::Images { model, batch } => format!("{model}, batch {batch} (images/s)"),
            Self::Text {
                model,
                batch,
                tokens,
            } => format!("{model}, batch {batch}, ~{tokens} tokens (sent./s)"),
            Self::Whisper { batch } => format!("whisper_tiny_en, batch {batch} (clips/s)"),
            Self::LogMel => "whisper log-mel, one clip (clips/s)".to_owned(),
        }
    }

    /// The request line of `tests/fixtures/backbones/bench_torch_serve.py`.
    pub fn request(&self) -> serde_json::Value {
        match *self {
            Self::Images { model, batch } => serde_json::json!({"model": model, "batch": batch}),
            Self::Text {
                model,
                batch,
                tokens,
            } => serde_json::json!({"model": model, "batch": batch, "tokens": tokens}),
            Self::Whisper { batch } => {
                serde_json::json!({"model": "whisper_tiny_en", "batch": batch})
            }
            Self::LogMel => serde_json::json!({"model": "whisper_log_mel"}),
        }
    }

    /// The form a thread-scaling child reads back with [`Self::parse`].
    pub fn spec(&self) -> String {
        match *self {
            Self::Images { model, batch } => format!("images:{model}:{batch}"),
            Self::Text {
                model,
                batch,
                tokens,
            } => format!("text:{model}:{batch}:{tokens}"),
            Self::Whisper { batch } => format!("whisper:{batch}"),
            Self::LogMel => "log_mel".to_owned(),
        }
    }

    /// Reads [`Self::spec`].
    pub fn parse(spec: &'a str) -> Option<Self> {
        let number = |s: &str| s.parse::<usize>().ok();
        match spec.split(':').collect::<Vec<_>>()[..] {
            ["images", model, batch] => Some(Self::Images {
                model,
                batch: number(batch)?,
            }),
            ["text", model, batch, tokens] => Some(Self::Text {
                model,
                batch: number(batch)?,
                tokens: number(tokens)?,
            }),
            ["whisper", batch] => Some(Self::Whisper {
                batch: number(batch)?,
            }),
            ["log_mel"] => Some(Self::LogMel),
            _ => None,
        }
    }
}
