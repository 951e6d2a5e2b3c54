//! Audio backbones: Whisper's log-mel front end and encoder (read from transformers checkpoints
//! or CTranslate2 files, see [`crate::weights::ctranslate2`]), and HuBERT.

pub mod hubert;
pub mod mel;
pub mod whisper;
