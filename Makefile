# gridtsne — every target does its own set-up.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
MODEL_DIR := build/model
MODEL  := $(MODEL_DIR)/efficientnet_lite0.onnx
SAMPLES := samples/digits
# torch for the model export, CPU-only (the default PyPI wheel on Linux pulls in the CUDA stack); empty: PyPI only.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: venv model layer samples demo local test lint unit integration bench bench-bigset bench-deps browser gpu-wheels clean

venv: $(VENV)/.installed $(MODEL)

$(VENV)/.installed: requirements/runtime.txt requirements/dev.txt requirements/build.txt layers/gridtsne/pyproject.toml dev/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) -r requirements/build.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e layers/gridtsne -e dev
	touch $@

model: $(MODEL)

$(MODEL): layers/model/export.py | $(VENV)/.installed
	$(BIN)/python layers/model/export.py --out $(MODEL_DIR)

# One Lambda layer of template.yaml into $(OUT): `sam build` runs it through layers/*/Makefile. Cached under
# build/layers/. PYTHONPATH: this checkout's recipe, whichever checkout the venv's editable install names.
layer: venv
	@test -n "$(LAYER)" -a -n "$(OUT)" || { echo "usage: make layer LAYER=<LogicalId> OUT=<folder>" >&2; exit 2; }
	PYTHONPATH=dev $(BIN)/python -m gridtsne_dev.layers build $(LAYER) "$(OUT)"

samples: $(SAMPLES)/.written

$(SAMPLES)/.written: | $(VENV)/.installed
	$(BIN)/gridtsne samples digits $(SAMPLES)
	touch $@

demo: venv samples
	$(BIN)/gridtsne local --images $(SAMPLES) --out out/demo

# The quality suite's collections: CairoSVG renders the icons and stamps with the system's cairo; npm and
# apt-get fetch their packages once into samples/.cache.
bench-deps:
	@{ ldconfig -p | grep -q 'libcairo\.so\.2' && command -v npm >/dev/null 2>&1; } || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcairo2 npm >/dev/null; }

browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements/checkov.txt
	touch $@

# checkov: every skipped check carries its reason next to the resource in template.yaml.
lint: venv $(CHECKOV_VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download

test: venv samples browser lint
	$(BIN)/python -m pytest

# BENCH: options of python -m benchmarks, e.g. BENCH="--methods seed,default,previous --sets icons".
bench: venv samples bench-deps
	$(BIN)/python -m benchmarks $(BENCH)

# The big-set job on N synthetic pictures: seconds per stage and peak memory, e.g. make bench-bigset N=100000.
N ?= 10000
bench-bigset: venv
	$(BIN)/python -m benchmarks.bigset --n $(N)

# What benchmarks/gpu_check.sh carries to a GPU machine without network (wheels/, gitignored): TorchDR's (for
# the comparison) and pmtiles' wheels, the library's other dependencies for that machine's Python (GPU_PY; NumPy and SciPy are
# expected there, with PyTorch), and the labelled set's PCA-50 vectors.
GPU_PY ?= 3.12
GPU_WHEELS := torchdr==0.5 pmtiles==3.8.1 scikit-learn==1.9.1 joblib threadpoolctl openTSNE==1.0.4 lap==0.5.13 \
	pillow==13.0.0 pydantic==2.14.4 pydantic-core typing-inspection annotated-types pydantic-settings==2.16.3 \
	python-dotenv aws-lambda-powertools==3.37.0 jmespath
gpu-wheels: venv samples bench-deps
	mkdir -p wheels
	$(BIN)/python -m pip download -q --no-deps --only-binary=:all: --python-version $(GPU_PY) \
		--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
		-d wheels $(GPU_WHEELS)
	$(BIN)/python -m benchmarks.gpu_tsne --backends none --save wheels/labelled.npz

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build out samples
