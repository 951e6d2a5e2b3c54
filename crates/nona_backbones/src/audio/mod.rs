//! Audio backbones: Whisper's log-mel front end and encoder (with a CTranslate2 weights reader),
//! and HuBERT.

pub mod ctranslate2;
pub mod hubert;
pub mod mel;
pub mod whisper;
