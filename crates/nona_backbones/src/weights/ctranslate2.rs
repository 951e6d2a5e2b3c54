//! Reader for CTranslate2 `model.bin` files (binary version 6), and the mapping of a CTranslate2
//! `WhisperSpec`'s encoder onto transformers' Whisper-encoder parameter names (the shape of that
//! encoder is read by `audio::whisper::WhisperConfig::from_ctranslate2`).
//!
//! Layout (little endian): `u32` version · string spec name · `u32` spec revision · `u32` count,
//! then per variable: string name · `u8` rank · `u32` dims · `u8` dtype · `u32` byte count ·
//! bytes; then `u32` alias count and (alias, target) string pairs. A string is a `u16` length
//! (including a trailing NUL) and its bytes. dtypes: 0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::{Error, Result};

/// One stored variable: its shape, dtype code and raw little-endian bytes.
#[derive(Debug, Clone)]
pub struct Variable {
    /// Dimensions (empty for scalars).
    pub shape: Vec<usize>,
    /// CTranslate2 dtype code (0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16).
    pub dtype: u8,
    /// Raw bytes.
    pub bytes: Vec<u8>,
}

/// A parsed `model.bin`.
#[derive(Debug, Clone)]
pub struct Ct2Model {
    /// Spec name, e.g. `WhisperSpec`.
    pub spec: String,
    /// Spec revision.
    pub revision: u32,
    /// Variables by name (`encoder/layer_0/self_attention/linear_0/weight`, …).
    pub variables: HashMap<String, Variable>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let slice = self.bytes.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(slice)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Option<String> {
        let n = usize::from(self.u16()?);
        let raw = self.take(n)?;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(raw.to_vec()).ok()
    }
}

impl Ct2Model {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&bytes).ok_or_else(|| {
            Error::bad_file(path, "not a CTranslate2 model.bin (version 6) or truncated")
        })
    }

    /// Parses the bytes of a `model.bin`; `None` when they do not follow the layout.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader { bytes, pos: 0 };
        if r.u32()? != 6 {
            return None;
        }
        let spec = r.string()?;
        let revision = r.u32()?;
        let count = r.u32()? as usize;
        let mut variables = HashMap::with_capacity(count);
        for _ in 0..count {
            let name = r.string()?;
            let rank = usize::from(r.u8()?);
            let shape = (0..rank)
                .map(|_| r.u32().map(|d| d as usize))
                .collect::<Option<Vec<_>>>()?;
            let dtype = r.u8()?;
            let len = r.u32()? as usize;
            let bytes = r.take(len)?.to_vec();
            variables.insert(
                name,
                Variable {
                    shape,
                    dtype,
                    bytes,
                },
            );
        }
        Some(Self {
            spec,
            revision,
            variables,
        })
    }

    /// Variable `name` as an `f32` tensor on `device` (from f32, f16 or bf16).
    pub fn tensor(&self, name: &str, device: &Device) -> Option<Tensor> {
        let v = self.variables.get(name)?;
        let dtype = match v.dtype {
            0 => DType::F32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => return None,
        };
        Tensor::from_raw_buffer(&v.bytes, dtype, &v.shape, device)
            .and_then(|t| t.to_dtype(DType::F32))
            .ok()
    }

    /// An integer scalar such as `encoder/num_heads`.
    pub fn scalar(&self, name: &str) -> Option<i64> {
        let v = self.variables.get(name)?;
        let b = &v.bytes;
        match (v.dtype, b.len()) {
            (1, 1) => Some(i64::from(b[0] as i8)),
            (2, 2) => Some(i64::from(i16::from_le_bytes([b[0], b[1]]))),
            (3, 4) => Some(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            _ => None,
        }
    }

    /// Transformer blocks of the encoder (`encoder/layer_{i}/…`).
    pub fn encoder_layers(&self) -> usize {
        (0..)
            .take_while(|i| {
                self.variables
                    .contains_key(&format!("encoder/layer_{i}/ffn/linear_0/weight"))
            })
            .count()
    }

    /// The Whisper encoder of a `WhisperSpec` model: its parameters under transformers' names
    /// (`conv1.weight`, `layers.0.self_attn.q_proj.weight`, …, without the `encoder.` prefix),
    /// `f32`, with the fused q/k/v projection split (k has no bias).
    pub fn whisper_encoder(&self, device: &Device) -> Option<HashMap<String, Tensor>> {
        if self.spec != "WhisperSpec" {
            return None;
        }
        let d_model = *self.variables.get("encoder/conv1/weight")?.shape.first()?;
        let layers = self.encoder_layers();
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut put = |ours: String, theirs: String| pairs.push((ours, theirs));
        for conv in ["conv1", "conv2"] {
            for p in ["weight", "bias"] {
                put(format!("{conv}.{p}"), format!("encoder/{conv}/{p}"));
            }
        }
        for (ours, theirs) in [("weight", "gamma"), ("bias", "beta")] {
            put(
                format!("layer_norm.{ours}"),
                format!("encoder/layer_norm/{theirs}"),
            );
        }
        for i in 0..layers {
            let (hf, ct) = (format!("layers.{i}"), format!("encoder/layer_{i}"));
            for (ours, theirs) in [("weight", "gamma"), ("bias", "beta")] {
                put(
                    format!("{hf}.self_attn_layer_norm.{ours}"),
                    format!("{ct}/self_attention/layer_norm/{theirs}"),
                );
                put(
                    format!("{hf}.final_layer_norm.{ours}"),
                    format!("{ct}/ffn/layer_norm/{theirs}"),
                );
            }
            for p in ["weight", "bias"] {
                put(
                    format!("{hf}.self_attn.out_proj.{p}"),
                    format!("{ct}/self_attention/linear_1/{p}"),
                );
                put(format!("{hf}.fc1.{p}"), format!("{ct}/ffn/linear_0/{p}"));
                put(format!("{hf}.fc2.{p}"), format!("{ct}/ffn/linear_1/{p}"));
            }
        }
        let mut out = HashMap::new();
        for (ours, theirs) in pairs {
            out.insert(ours, self.tensor(&theirs, device)?);
        }
        for i in 0..layers {
            let (hf, ct) = (format!("layers.{i}"), format!("encoder/layer_{i}"));
            let qkv_w = self.tensor(&format!("{ct}/self_attention/linear_0/weight"), device)?;
            let qkv_b = self.tensor(&format!("{ct}/self_attention/linear_0/bias"), device)?;
            for (j, name) in ["q_proj", "k_proj", "v_proj"].iter().enumerate() {
                let w = qkv_w.narrow(0, j * d_model, d_model).ok()?;
                out.insert(format!("{hf}.self_attn.{name}.weight"), w);
                if *name != "k_proj" {
                    let b = qkv_b.narrow(0, j * d_model, d_model).ok()?;
                    out.insert(format!("{hf}.self_attn.{name}.bias"), b);
                }
            }
        }
        Some(out)
    }
}
