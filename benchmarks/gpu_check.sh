#!/usr/bin/env bash
# The GPU check, run once on a machine with a CUDA GPU and PyTorch (no network): measures the PyTorch t-SNE
# (gridtsne.core.tsne_fft) and TorchDR's (gridtsne.core.tsne_torchdr) against openTSNE on the labelled set,
# both at 100k and the PyTorch one at 1M synthetic labelled vectors (seconds, DPQ16, 10-NN), then the big-set
# job at 1M (benchmarks.bigset, when present).
# Finishes within ~8 minutes (each step gets what is left of the budget), prints a compact summary and
# writes every result under $OUT (default out/gpu_check).
#
# Prepare on a machine with the registries: `make gpu-wheels` fills wheels/ (gitignored) with TorchDR's and
# pmtiles' wheels, the pure-Python or manylinux wheels the library needs for the GPU machine's Python
# (GPU_PY, default 3.12) and the labelled set's PCA-50 vectors (wheels/labelled.npz). Carry wheels/ along.
# Whatever does not import there is installed from wheels/ into .gpu-site/ (never from an index);
# matplotlib, which torchdr 0.5 imports for plotting only, is stubbed when it is absent.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu_check}
WHEELS=${WHEELS:-wheels}
PY=${PYTHON:-python3}
BUDGET=${BUDGET:-480}
SITE=$PWD/.gpu-site
START=$(date +%s)
mkdir -p "$OUT" "$SITE"
export PYTHONPATH=$PWD/layers/gridtsne:$PWD/dev:$PWD:$SITE
export GRIDTSNE_TSNE_BACKEND=auto
left() { echo $((BUDGET - ($(date +%s) - START))); }

{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $PY -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
  nproc
} 2>&1 | tee "$OUT/machine.txt"

# Install what is missing, from the carried wheels only.
missing=$($PY - <<'EOF'
import importlib
names = {"torchdr": "torchdr", "sklearn": "scikit-learn", "threadpoolctl": "threadpoolctl", "joblib": "joblib",
         "openTSNE": "openTSNE", "lap": "lap", "PIL": "pillow", "pydantic": "pydantic",
         "pydantic_settings": "pydantic-settings", "aws_lambda_powertools": "aws-lambda-powertools",
         "pmtiles": "pmtiles", "scipy": "scipy"}
out = []
for module, package in names.items():
    try:
        importlib.import_module(module)
    except Exception:
        out.append(package)
print(" ".join(out))
EOF
)
if [ -n "$missing" ]; then
  echo "installing from $WHEELS: $missing" | tee -a "$OUT/machine.txt"
  $PY -m pip install -q --no-index --find-links "$WHEELS" --no-deps --target "$SITE" $missing 2>&1 | tail -3
fi
if ! $PY -c "import matplotlib.pylab" 2>/dev/null; then
  mkdir -p "$SITE/matplotlib"
  printf '"""Stand-in: torchdr imports matplotlib for its plotting helpers only."""\n' > "$SITE/matplotlib/__init__.py"
  : > "$SITE/matplotlib/pylab.py"
  : > "$SITE/matplotlib/pyplot.py"
  echo "matplotlib stubbed" | tee -a "$OUT/machine.txt"
fi
$PY -c "from gridtsne.core.backends import choose; print('backend (auto):', choose())" 2>&1 | tee -a "$OUT/machine.txt"

step() {  # step NAME SECONDS_WANTED COMMAND...: run with what is left of the budget (at most SECONDS_WANTED)
  local name=$1 want=$2 t
  shift 2
  t=$(left)
  [ "$t" -gt "$want" ] && t=$want
  if [ "$t" -lt 20 ]; then echo "[$name] skipped: budget spent" | tee "$OUT/$name.log"; return; fi
  echo "[$name] up to ${t}s: $*"
  timeout "$t" "$@" > "$OUT/$name.log" 2>&1
  echo "[$name] exit $? after $(( $(date +%s) - START ))s in all"
  tail -6 "$OUT/$name.log"
}

step labelled 120 $PY -m benchmarks.gpu_tsne --vectors "$WHEELS/labelled.npz" --backends pytorch,torchdr,opentsne \
  --json "$OUT/labelled.json"
step synthetic-100k 90 $PY -m benchmarks.gpu_tsne --set synthetic --n 100000 --backends pytorch,torchdr \
  --json "$OUT/synthetic-100k.json"
step synthetic-1m 180 $PY -m benchmarks.gpu_tsne --set synthetic --n 1000000 --backends pytorch --queries 1000 \
  --json "$OUT/synthetic-1m.json"
if [ -f benchmarks/bigset.py ]; then
  step bigset-1m 300 env GRIDTSNE_TSNE_BACKEND=pytorch $PY -m benchmarks.bigset --n 1000000
else
  echo "[bigset-1m] skipped: benchmarks/bigset.py is not in this tree" | tee "$OUT/bigset-1m.log"
fi

echo "== summary ($(( $(date +%s) - START ))s) =="
cat "$OUT/machine.txt"
$PY - "$OUT" <<'EOF'
import json, sys
from pathlib import Path
for path in sorted(Path(sys.argv[1]).glob("*.json")):
    for row in json.loads(path.read_text()):
        print(f"{row['set']:>28} N={row['n']:>8} {row['backend']:>9} {row['seconds']:>7.1f}s "
              f"DPQ16 {row['dpq16']:.3f} neighbours {row['neighbours']:.3f} 10-NN {row['knn10']:.3f} "
              f"{row['method'].get('device', '')}")
EOF
tail -12 "$OUT/bigset-1m.log"
