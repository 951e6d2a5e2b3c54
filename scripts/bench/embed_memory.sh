#!/usr/bin/env bash
# Peak memory (max RSS) of the embed stage at 1x and 10x the rows: the stage streams its samples
# window by window, so its peak should not grow with the dataset.
#
#   scripts/bench/embed_memory.sh [NONA_BINARY] [ROWS]     (default target/release/nona, 200)
#
# Generates RSNA phantoms of ROWS and 10 x ROWS 256x256 PNGs in a temporary directory, runs
# `preprocess`, then `embed` (EfficientNet-Lite0, synthetic weights, batch 16, as `make rsna`)
# under GNU time, and prints rows, max RSS and seconds of the embed process. Touches nothing
# outside that temporary directory.
set -euo pipefail

nona=${1:-target/release/nona}
rows=${2:-200}
if [[ ! -x /usr/bin/time ]]; then
    echo "embed_memory.sh: needs GNU time (/usr/bin/time); skipped" >&2
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "embed stage peak memory (efficientnet_lite0, synthetic weights, batch 16, shard_rows 256)"
printf '%8s %14s %10s\n' rows "max RSS MiB" seconds
for count in "$rows" $((10 * rows)); do
    data="$work/phantom-$count"
    "$nona" phantom rsna --out "$data" --count "$count" >/dev/null
    pipeline="$work/memory-$count.toml"
    cat >"$pipeline" <<TOML
name = "memory-$count"
[dataset]
root = "$data"
manifest = "boneage-training-dataset.csv"
modality = "image"
id_column = "id"
input_column = "id"
input_template = "boneage-training-dataset/{}.png"
label_column = "boneage"
synthetic = true

[preprocess.image]
channels = "rgb"
transforms = [{ resize = [224, 224] }, { normalize = "half" }]

[embed]
backbone = "efficientnet_lite0"
weights = "synthetic"
batch_size = 16
shard_rows = 256
TOML
    "$nona" run "$pipeline" --stage preprocess --runs-dir "$work/runs" >/dev/null 2>&1
    /usr/bin/time -f '%M %e' -o "$work/time" \
        "$nona" run "$pipeline" --stage embed --runs-dir "$work/runs" >/dev/null 2>&1
    awk -v rows="$count" '{ printf "%8d %14.1f %10.1f\n", rows, $1 / 1024, $2 }' "$work/time"
done
