//! Decoding any enabled container/codec (WAV, FLAC, MP3, OGG/Vorbis, AAC/M4A) with symphonia.

use std::fs::File;
use std::io::Cursor;
use std::panic::AssertUnwindSafe;
use std::path::Path;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use crate::{AudioError, Result};

/// Decoded audio: one `Vec` per channel, all the same length, at `sample_rate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Samples per channel (planar), `f32` in `[-1, 1]`.
    pub channels: Vec<Vec<f32>>,
    /// Sample rate in Hz.
    pub sample_rate: u32,
}

impl Decoded {
    /// Frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// Mean of the channels.
    pub fn to_mono(&self) -> Vec<f32> {
        downmix(&self.channels)
    }
}

/// The mean of the channels, frame by frame.
pub fn downmix(channels: &[Vec<f32>]) -> Vec<f32> {
    match channels {
        [] => Vec::new(),
        [mono] => mono.clone(),
        _ => {
            let frames = channels.iter().map(Vec::len).min().unwrap_or(0);
            let scale = 1.0 / channels.len() as f32;
            (0..frames)
                .map(|i| channels.iter().map(|c| c[i]).sum::<f32>() * scale)
                .collect()
        }
    }
}

/// What [`probe_file`] learns from a file's headers without decoding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    /// Sample rate in Hz, when the container or codec states it.
    pub sample_rate: Option<u32>,
    /// Frames the header declares, when it does.
    pub frames: Option<u64>,
}

/// Checks that `path` is a non-empty file whose container is readable and whose default audio
/// track has a codec this build decodes, reading headers only (cheap; a truncated stream still
/// passes and fails in [`decode_file`]).
pub fn probe_file(path: &Path) -> Result<Probed> {
    let file = open_non_empty(path)?;
    let extension = path.extension().and_then(|e| e.to_str());
    guarded(path, || probe_source(Box::new(file), extension, path))
}

fn probe_source(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
    path: &Path,
) -> Result<Probed> {
    let unsupported = |message: String| AudioError::Unsupported {
        path: path.to_owned(),
        message,
    };
    let format = probe_format(source, extension, path)?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| unsupported("no audio track".into()))?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| unsupported("track has no audio codec parameters".into()))?;
    symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| unsupported(e.to_string()))?;
    Ok(Probed {
        sample_rate: params.sample_rate,
        frames: track.num_frames,
    })
}

/// Runs symphonia on one file and turns a panic inside it into [`AudioError::DecoderPanic`]:
/// a damaged file costs its own row, not the run. (symphonia 0.6.1's WAV reader overflows on a
/// `fmt ` chunk declaring 32769 channels, a panic wherever overflow checks are on.)
fn guarded<T>(path: &Path, work: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        Err(AudioError::DecoderPanic {
            path: path.to_owned(),
            message,
        })
    })
}

fn open_non_empty(path: &Path) -> Result<File> {
    let file = File::open(path).map_err(|source| AudioError::Io {
        path: path.to_owned(),
        source,
    })?;
    let len = file
        .metadata()
        .map_err(|source| AudioError::Io {
            path: path.to_owned(),
            source,
        })?
        .len();
    if len == 0 {
        return Err(AudioError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(file)
}

/// Decodes the file at `path` (format found from its contents, the extension is a hint).
pub fn decode_file(path: &Path) -> Result<Decoded> {
    let file = open_non_empty(path)?;
    let extension = path.extension().and_then(|e| e.to_str());
    guarded(path, || decode_source(Box::new(file), extension, path))
}

/// Decodes an in-memory file; `name` is used in errors and its extension as a format hint.
pub fn decode_bytes(bytes: Vec<u8>, name: &Path) -> Result<Decoded> {
    if bytes.is_empty() {
        return Err(AudioError::Empty {
            path: name.to_owned(),
        });
    }
    let extension = name.extension().and_then(|e| e.to_str());
    guarded(name, || {
        decode_source(Box::new(Cursor::new(bytes)), extension, name)
    })
}

fn probe_format(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
    path: &Path,
) -> Result<Box<dyn FormatReader>> {
    let stream = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(extension) = extension {
        hint.with_extension(extension);
    }
    symphonia::default::get_probe()
        .probe(
            &hint,
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| match e {
            SymError::IoError(e) => AudioError::Truncated {
                path: path.to_owned(),
                message: e.to_string(),
            },
            other => AudioError::Unsupported {
                path: path.to_owned(),
                message: other.to_string(),
            },
        })
}

fn decode_source(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
    path: &Path,
) -> Result<Decoded> {
    let unsupported = |message: String| AudioError::Unsupported {
        path: path.to_owned(),
        message,
    };
    let truncated = |message: String| AudioError::Truncated {
        path: path.to_owned(),
        message,
    };
    let mut format = probe_format(source, extension, path)?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| unsupported("no audio track".into()))?;
    let track_id = track.id;
    let declared_frames = track.num_frames;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| unsupported("track has no audio codec parameters".into()))?
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| unsupported(e.to_string()))?;
    let mut sample_rate = params.sample_rate;
    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut packet_planes: Vec<Vec<f32>> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // Containers that do not record their length end with an unexpected EOF.
            Err(SymError::IoError(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof && !channels.is_empty() =>
            {
                if declared_frames.is_some_and(|n| frames_of(&channels) < n) {
                    return Err(truncated(e.to_string()));
                }
                break;
            }
            Err(SymError::IoError(e)) => return Err(truncated(e.to_string())),
            Err(e @ SymError::Unsupported(_)) => return Err(unsupported(e.to_string())),
            Err(e) => return Err(truncated(e.to_string())),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            Err(e @ SymError::Unsupported(_)) => return Err(unsupported(e.to_string())),
            Err(e) => return Err(truncated(e.to_string())),
        };
        sample_rate = Some(buffer.spec().rate());
        buffer.copy_to_vecs_planar::<f32>(&mut packet_planes);
        if channels.is_empty() {
            channels = vec![Vec::new(); packet_planes.len()];
        }
        if packet_planes.len() != channels.len() {
            return Err(unsupported("channel count changes mid-stream".into()));
        }
        for (all, plane) in channels.iter_mut().zip(&packet_planes) {
            all.extend_from_slice(plane);
        }
    }
    let sample_rate = sample_rate.ok_or_else(|| unsupported("unknown sample rate".into()))?;
    if channels.first().is_none_or(Vec::is_empty) {
        return Err(AudioError::NoSamples {
            path: path.to_owned(),
        });
    }
    if let Some(declared) = declared_frames
        && frames_of(&channels) < declared
    {
        return Err(truncated(format!(
            "header declares {declared} frames, stream holds {}",
            frames_of(&channels)
        )));
    }
    Ok(Decoded {
        channels,
        sample_rate,
    })
}

fn frames_of(channels: &[Vec<f32>]) -> u64 {
    channels.first().map_or(0, Vec::len) as u64
}
