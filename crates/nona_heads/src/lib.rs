//! Projector, dense and NONA (SoftStep) regression heads in candle.
