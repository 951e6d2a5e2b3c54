//! Reader for legacy (pre-zip) PyTorch checkpoints: `torch.save` before torch 1.6, or with
//! `_use_new_zipfile_serialization=False`. candle only reads the zip format.
//!
//! Layout: five pickles — magic number, protocol version (1001), system info, the object (a state
//! dict whose tensors are `torch._utils._rebuild_tensor_v2` calls on storages referenced by
//! persistent id `('storage', <class FloatStorage>, key, location, numel, view)`), the list of
//! storage keys — then, for each key in that order, its element count (i64 LE) and raw bytes.
//! The pickle machine below implements the opcode subset these files use (protocols 2–5).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::{Error, Result};

/// `0x1950a86a20f9469cfc6c`, little-endian, as pickled by `torch.save`.
const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const PROTOCOL_VERSION: i64 = 1001;

/// Reads every tensor of a legacy PyTorch checkpoint holding a state dict (possibly nested under
/// `state_dict` or `model`) onto `device`.
pub fn read_legacy_pth(path: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&bytes, device)
        .map_err(|message| Error::bad_file(path, format!("legacy PyTorch checkpoint: {message}")))
}

fn parse(bytes: &[u8], device: &Device) -> Result<HashMap<String, Tensor>, String> {
    let mut reader = Reader { bytes, pos: 0 };
    match reader.unpickle()? {
        Value::BigInt(magic) if magic == MAGIC => {}
        _ => return Err("bad magic number (not a legacy torch.save file)".into()),
    }
    match reader.unpickle()? {
        Value::Int(PROTOCOL_VERSION) => {}
        other => return Err(format!("unsupported protocol version {other:?}")),
    }
    reader.unpickle()?; // system info: sizes and endianness, little-endian assumed
    let object = reader.unpickle()?;
    let Value::List(keys) = reader.unpickle()? else {
        return Err("missing storage key list".into());
    };
    let refs = tensor_refs(object)?;
    let mut storages = HashMap::new();
    for key in keys {
        let Value::Str(key) = key else {
            return Err("storage key is not a string".into());
        };
        let numel = usize::try_from(i64::from_le_bytes(reader.take_array()?))
            .map_err(|_| "negative storage size")?;
        let element_size = refs
            .iter()
            .find(|(_, t)| t.storage_key == key)
            .map_or(1, |(_, t)| t.dtype.size_in_bytes());
        storages.insert(key, reader.take(numel * element_size)?);
    }
    refs.into_iter()
        .map(|(name, t)| {
            let storage = storages
                .get(&t.storage_key)
                .ok_or_else(|| format!("{name}: storage {} missing", t.storage_key))?;
            let tensor = t
                .build(storage, device)
                .map_err(|e| format!("{name}: {e}"))?;
            Ok((name, tensor))
        })
        .collect()
}

/// A tensor as described by `_rebuild_tensor_v2(storage, offset, size, stride, ...)`.
#[derive(Debug, Clone, PartialEq)]
struct TensorRef {
    storage_key: String,
    dtype: DType,
    offset: usize,
    size: Vec<usize>,
    stride: Vec<usize>,
}

impl TensorRef {
    /// Copies the elements out of the storage in row-major order, whatever the strides (checkpoints
    /// converted from TensorFlow often hold permuted, channels-last, weights).
    fn build(&self, storage: &[u8], device: &Device) -> Result<Tensor, String> {
        let element = self.dtype.size_in_bytes();
        let numel: usize = self.size.iter().product();
        let row_major = (0..self.size.len()).all(|d| {
            self.size[d] == 1 || self.stride[d] == self.size[d + 1..].iter().product::<usize>()
        });
        if row_major {
            let bytes = storage
                .get(self.offset * element..(self.offset + numel) * element)
                .ok_or("tensor extends past its storage")?;
            return Tensor::from_raw_buffer(bytes, self.dtype, &self.size, device)
                .map_err(|e| e.to_string());
        }
        let mut data = Vec::with_capacity(numel * element);
        let mut index = vec![0usize; self.size.len()];
        for _ in 0..numel {
            let position = self.offset
                + index
                    .iter()
                    .zip(&self.stride)
                    .map(|(i, s)| i * s)
                    .sum::<usize>();
            let bytes = storage
                .get(position * element..(position + 1) * element)
                .ok_or("tensor extends past its storage")?;
            data.extend_from_slice(bytes);
            for (i, &n) in index.iter_mut().zip(&self.size).rev() {
                *i += 1;
                if *i < n {
                    break;
                }
                *i = 0;
            }
        }
        Tensor::from_raw_buffer(&data, self.dtype, &self.size, device).map_err(|e| e.to_string())
    }
}

/// Pickle values, reduced to what state dicts contain.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// Dicts and `OrderedDict`s, in insertion order.
    Dict(Vec<(Value, Value)>),
    Global(String, String),
    PersistentId(Box<Value>),
    Tensor(TensorRef),
    /// Any other constructed object (its content is not needed).
    Object,
    Mark,
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let slice = self
            .bytes
            .get(self.pos..self.pos + n)
            .ok_or("unexpected end of file")?;
        self.pos += n;
        Ok(slice)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<usize, String> {
        Ok(u32::from_le_bytes(self.take_array()?) as usize)
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.bytes[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("unterminated line")?;
        self.pos += end + 1;
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }

    fn string(&mut self, len: usize) -> Result<Value, String> {
        Ok(Value::Str(
            String::from_utf8(self.take(len)?.to_vec()).map_err(|e| e.to_string())?,
        ))
    }

    /// Runs one pickle up to its STOP opcode and returns its value.
    fn unpickle(&mut self) -> Result<Value, String> {
        let mut stack: Vec<Value> = Vec::new();
        let mut memo: HashMap<usize, Value> = HashMap::new();
        loop {
            let opcode = self.u8()?;
            match opcode {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.take(8)?; // FRAME
                }
                b'.' => return stack.pop().ok_or_else(|| "empty stack at STOP".to_owned()),
                b'(' => stack.push(Value::Mark),
                b'0' => {
                    pop(&mut stack)?;
                }
                b'1' => {
                    pop_mark(&mut stack)?;
                }
                b'2' => stack.push(stack.last().cloned().ok_or("DUP on empty stack")?),
                b'N' => stack.push(Value::None),
                0x88 => stack.push(Value::Bool(true)),
                0x89 => stack.push(Value::Bool(false)),
                b'J' => stack.push(Value::Int(i64::from(i32::from_le_bytes(
                    self.take_array()?,
                )))),
                b'K' => stack.push(Value::Int(i64::from(self.u8()?))),
                b'M' => stack.push(Value::Int(i64::from(u16::from_le_bytes(
                    self.take_array()?,
                )))),
                0x8a | 0x8b => {
                    let len = if opcode == 0x8a {
                        usize::from(self.u8()?)
                    } else {
                        self.u32()?
                    };
                    stack.push(long(self.take(len)?));
                }
                b'G' => stack.push(Value::Float(f64::from_be_bytes(self.take_array()?))),
                b'X' => {
                    let len = self.u32()?;
                    stack.push(self.string(len)?);
                }
                0x8c => {
                    let len = usize::from(self.u8()?);
                    stack.push(self.string(len)?);
                }
                0x8d => {
                    let len = usize::try_from(u64::from_le_bytes(self.take_array()?))
                        .map_err(|e| e.to_string())?;
                    stack.push(self.string(len)?);
                }
                b'C' | b'U' => {
                    let len = usize::from(self.u8()?);
                    stack.push(Value::Bytes(self.take(len)?.to_vec()));
                }
                b'B' | b'T' => {
                    let len = self.u32()?;
                    stack.push(Value::Bytes(self.take(len)?.to_vec()));
                }
                b')' => stack.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = pop_mark(&mut stack)?;
                    stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(opcode - 0x84);
                    let items =
                        stack.split_off(stack.len().checked_sub(n).ok_or("TUPLEn on short stack")?);
                    stack.push(Value::Tuple(items));
                }
                b']' => stack.push(Value::List(Vec::new())),
                b'l' => {
                    let items = pop_mark(&mut stack)?;
                    stack.push(Value::List(items));
                }
                b'a' | b'e' => {
                    let items = if opcode == b'a' {
                        vec![pop(&mut stack)?]
                    } else {
                        pop_mark(&mut stack)?
                    };
                    match stack.last_mut() {
                        Some(Value::List(list)) => list.extend(items),
                        _ => return Err("APPEND on a non-list".into()),
                    }
                }
                b'}' => stack.push(Value::Dict(Vec::new())),
                b'd' => {
                    let items = pop_mark(&mut stack)?;
                    stack.push(Value::Dict(pairs(items)?));
                }
                b's' | b'u' => {
                    let items = if opcode == b's' {
                        let value = pop(&mut stack)?;
                        vec![pop(&mut stack)?, value]
                    } else {
                        pop_mark(&mut stack)?
                    };
                    match stack.last_mut() {
                        Some(Value::Dict(dict)) => dict.extend(pairs(items)?),
                        _ => return Err("SETITEM on a non-dict".into()),
                    }
                }
                b'c' => {
                    let module = self.line()?;
                    stack.push(Value::Global(module, self.line()?));
                }
                0x93 => {
                    let name = pop(&mut stack)?;
                    match (pop(&mut stack)?, name) {
                        (Value::Str(module), Value::Str(name)) => {
                            stack.push(Value::Global(module, name))
                        }
                        _ => return Err("STACK_GLOBAL on non-strings".into()),
                    }
                }
                b'q' | b'r' | 0x94 => {
                    let index = match opcode {
                        b'q' => usize::from(self.u8()?),
                        b'r' => self.u32()?,
                        _ => memo.len(),
                    };
                    memo.insert(index, stack.last().cloned().ok_or("PUT on empty stack")?);
                }
                b'h' | b'j' => {
                    let index = if opcode == b'h' {
                        usize::from(self.u8()?)
                    } else {
                        self.u32()?
                    };
                    stack.push(
                        memo.get(&index)
                            .cloned()
                            .ok_or_else(|| format!("memo {index} missing"))?,
                    );
                }
                b'Q' => {
                    let id = pop(&mut stack)?;
                    stack.push(Value::PersistentId(Box::new(id)));
                }
                b'R' | 0x81 => {
                    let args = pop(&mut stack)?;
                    let callable = pop(&mut stack)?;
                    stack.push(call(callable, args)?);
                }
                b'b' => {
                    pop(&mut stack)?; // BUILD state (e.g. an OrderedDict's `_metadata`) is not needed
                }
                other => {
                    return Err(format!(
                        "unsupported pickle opcode 0x{other:02x} at byte {}",
                        self.pos - 1
                    ));
                }
            }
        }
    }
}

fn pop(stack: &mut Vec<Value>) -> Result<Value, String> {
    stack.pop().ok_or_else(|| "pop from empty stack".to_owned())
}

fn pop_mark(stack: &mut Vec<Value>) -> Result<Vec<Value>, String> {
    let mark = stack
        .iter()
        .rposition(|v| *v == Value::Mark)
        .ok_or("MARK missing")?;
    let items = stack.split_off(mark + 1);
    stack.pop();
    Ok(items)
}

fn pairs(items: Vec<Value>) -> Result<Vec<(Value, Value)>, String> {
    if !items.len().is_multiple_of(2) {
        return Err("odd number of dict items".into());
    }
    let mut items = items.into_iter();
    Ok(std::iter::from_fn(|| Some((items.next()?, items.next()?))).collect())
}

/// LONG1/LONG4: little-endian two's complement; values beyond i64 are kept as bytes.
fn long(bytes: &[u8]) -> Value {
    if bytes.len() > 8 {
        return Value::BigInt(bytes.to_vec());
    }
    let fill = if bytes.last().is_some_and(|&b| b & 0x80 != 0) {
        0xff
    } else {
        0
    };
    let mut buffer = [fill; 8];
    buffer[..bytes.len()].copy_from_slice(bytes);
    Value::Int(i64::from_le_bytes(buffer))
}

/// REDUCE / NEWOBJ: the few callables a state dict needs, anything else becomes an opaque object.
fn call(callable: Value, args: Value) -> Result<Value, String> {
    let Value::Global(module, name) = callable else {
        return Ok(Value::Object);
    };
    let Value::Tuple(mut args) = args else {
        return Err(format!("{module}.{name}: arguments are not a tuple"));
    };
    match (module.as_str(), name.as_str()) {
        ("collections", "OrderedDict") => Ok(Value::Dict(Vec::new())),
        ("torch._utils", "_rebuild_parameter") if !args.is_empty() => Ok(args.swap_remove(0)),
        ("torch._utils", "_rebuild_tensor_v2" | "_rebuild_tensor") => {
            rebuild_tensor(args).map(Value::Tensor)
        }
        _ => Ok(Value::Object),
    }
}

fn rebuild_tensor(args: Vec<Value>) -> Result<TensorRef, String> {
    let mut args = args.into_iter();
    let (
        Some(Value::PersistentId(id)),
        Some(Value::Int(offset)),
        Some(Value::Tuple(size)),
        Some(Value::Tuple(stride)),
    ) = (args.next(), args.next(), args.next(), args.next())
    else {
        return Err("unexpected _rebuild_tensor_v2 arguments".into());
    };
    let Value::Tuple(id) = *id else {
        return Err("storage persistent id is not a tuple".into());
    };
    let (storage_key, dtype) = match id.as_slice() {
        [
            Value::Str(kind),
            Value::Global(_, class),
            Value::Str(key),
            ..,
        ] if kind == "storage" => (key.clone(), storage_dtype(class)?),
        _ => return Err(format!("unexpected storage persistent id {id:?}")),
    };
    let dims = |values: Vec<Value>| -> Result<Vec<usize>, String> {
        values
            .into_iter()
            .map(|v| match v {
                Value::Int(n) => usize::try_from(n).map_err(|e| e.to_string()),
                other => Err(format!("non-integer dimension {other:?}")),
            })
            .collect()
    };
    let offset = usize::try_from(offset).map_err(|e| e.to_string())?;
    Ok(TensorRef {
        storage_key,
        dtype,
        offset,
        size: dims(size)?,
        stride: dims(stride)?,
    })
}

fn storage_dtype(class: &str) -> Result<DType, String> {
    Ok(match class {
        "FloatStorage" => DType::F32,
        "DoubleStorage" => DType::F64,
        "HalfStorage" => DType::F16,
        "BFloat16Storage" => DType::BF16,
        "LongStorage" => DType::I64,
        "IntStorage" => DType::I32,
        "ShortStorage" => DType::I16,
        "ByteStorage" | "BoolStorage" => DType::U8,
        other => return Err(format!("unsupported storage type {other}")),
    })
}

/// The named tensors of the unpickled object: a state dict, or one nested under `state_dict`/`model`.
fn tensor_refs(object: Value) -> Result<Vec<(String, TensorRef)>, String> {
    let Value::Dict(entries) = object else {
        return Err("the checkpoint is not a dict".into());
    };
    let mut tensors = Vec::new();
    for (key, value) in entries {
        match (key, value) {
            (Value::Str(name), Value::Tensor(tensor)) => tensors.push((name, tensor)),
            (Value::Str(name), nested @ Value::Dict(_))
                if tensors.is_empty() && (name == "state_dict" || name == "model") =>
            {
                return tensor_refs(nested);
            }
            _ => {}
        }
    }
    Ok(tensors)
}
