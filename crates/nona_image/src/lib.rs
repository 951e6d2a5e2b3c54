//! Image decoding and torchvision/PIL-compatible transforms.
//!
//! [`Preprocessor`] decodes PNG (8/16-bit gray, gray+alpha, RGB, RGBA, palette), JPEG, BMP and
//! TIFF, converts to [`Channels::Rgb`] or [`Channels::Gray`] like PIL's `.convert`, applies
//! [`Transform`]s and returns a CHW `f32` [`ImageTensor`].
//!
//! Compatibility with `torchvision.transforms` on PIL images:
//! * `Resize` reproduces PIL's bilinear antialiased resampling exactly (8-bit and `I;16`).
//! * `CenterCrop` uses torchvision's offset rounding and zero padding.
//! * ToTensor divides by the bit depth's maximum: 255, or 65535 for 16-bit inputs. 16-bit
//!   samples stay 16-bit end to end; this deliberately differs from PIL, which clips `I;16` to
//!   255 when converting to RGB, and from torchvision, which does not scale 16-bit images.
//! * Alpha is always dropped without compositing, as `.convert("RGB")` does.
//!
//! ```no_run
//! use nona_image::{Channels, Normalize, Preprocessor, Resize, Transform};
//! let pre = Preprocessor::new(
//!     Channels::Rgb,
//!     vec![
//!         Transform::Resize(Resize::ShorterSide(256)),
//!         Transform::CenterCrop { height: 224, width: 224 },
//!         Transform::Normalize(Normalize::imagenet()),
//!     ],
//! )?;
//! let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build()?;
//! let results = pre.process_paths(&["a.jpg", "b.png"], &pool);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decode;
mod error;
mod integrity;
mod pixels;
mod preprocess;
mod resize;
mod tensor;
mod transform;

pub use decode::{decode_bytes, decode_file};
pub use error::{ConfigError, ImageError};
pub use pixels::{Channels, Pixels, Samples};
pub use preprocess::Preprocessor;
pub use tensor::ImageTensor;
pub use transform::{Normalize, Resize, Transform};
