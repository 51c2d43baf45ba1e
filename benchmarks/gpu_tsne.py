"""openTSNE against the GPU t-SNEs on the same PCA-50 vectors: seconds and grid quality.

``python -m benchmarks.gpu_tsne [--set labelled|synthetic] [--n N] [--backends opentsne,pytorch,torchdr]
[--seeds 0,1]``

Each backend maps the same PCA-50 vectors with :func:`gridtsne.core.reduce.reduce_recorded` (the product's
settings, ``ReduceParams(backend=...)``); the map is snapped to the grid (:func:`gridtsne.core.assign.snap`)
and scored with

- DPQ16: :func:`gridtsne.core.quality.layout_quality`'s ``dpq16`` in the PCA-50 space (all images up to
  4,000, else its fixed random sample of 4,000), and its neighbour share;
- 10-NN: :func:`gridtsne.core.quality.knn_label_accuracy` of a fixed random sample of ``--queries``
  images against every cell.

Sets: ``labelled`` is :mod:`benchmarks.labelled` (21,553 digits and animal silhouettes, twenty labels,
embedded by the product's model), or the ``.npz`` that ``--save`` wrote (``--vectors``, for a machine
without the registries); ``synthetic`` is a labelled mixture of Gaussians in 50 dimensions
(:func:`synthetic`), for sizes no labelled set here reaches. Runs on the CPU (the GPU backends forced onto
it) and on a GPU; each backend runs once per seed (``--seeds``: the t-SNE's seed and the 10-NN sample's),
and with several seeds a ``mean`` row per backend follows; ``--json`` writes the rows.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gridtsne.core.assign import grid_shape, snap
from gridtsne.core.quality import knn_label_accuracy, layout_quality
from gridtsne.core.reduce import ReduceParams, reduce_recorded

from benchmarks.labelled import Labelled, labelled, load_saved
from benchmarks.measure import table


@dataclass
class Row:
    """One backend on one set."""

    set: str
    n: int
    backend: str
    seed: int
    seconds: float
    dpq16: float
    neighbours: float
    knn10: float
    method: dict[str, Any]


def synthetic(n: int, *, labels: int = 100, dims: int = 50, seed: int = 0) -> Labelled:
    """``n`` vectors around ``labels`` centres in ``dims`` dimensions, labelled by centre.

    Centres are grouped in ten families (a family's centres are closer to each other than to others')
    and each centre has its own spread, so that the map has structure at two scales.
    """
    rng = np.random.default_rng(seed)
    families = rng.normal(0, 12, (10, dims))
    centres = families[np.arange(labels) % 10] + rng.normal(0, 5, (labels, dims))
    spread = rng.uniform(0.8, 2.0, labels)
    label = rng.integers(0, labels, n)
    vectors = np.empty((n, dims), np.float32)
    for first in range(0, n, 1 << 18):  # blocks: a million rows without a float64 copy
        part = label[first : first + (1 << 18)]
        noise = rng.standard_normal((len(part), dims), dtype=np.float32)
        vectors[first : first + len(part)] = centres[part] + noise * spread[part, None]
    return Labelled(vectors, vectors, label.astype(str), f"synthetic {labels} labels")


def score(data: Labelled, backend: str, *, queries: int, seed: int = 0) -> Row:
    """Map ``data`` with ``backend``, snap it to the grid and score it."""
    start = time.perf_counter()
    reduced = reduce_recorded(data.reduced, ReduceParams(backend=backend, seed=seed))
    seconds = time.perf_counter() - start
    cells = snap(reduced.points, *grid_shape(len(data.labels)))
    quality = layout_quality(data.reduced, cells)
    n = len(data.labels)
    picks = np.sort(np.random.default_rng(seed).choice(n, queries, replace=False)) if n > queries else None
    return Row(
        data.name,
        n,
        reduced.method["backend"],
        seed,
        round(seconds, 1),
        quality["dpq16"],
        quality["neighbours"],
        round(knn_label_accuracy(cells, data.labels, k=10, queries=picks), 4),
        reduced.method,
    )


def main(argv: list[str] | None = None) -> list[Row]:
    """Command line: compare the backends on one set and print (and optionally write) the rows."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_tsne", description=__doc__)
    parser.add_argument("--set", choices=["labelled", "synthetic"], default="labelled")
    parser.add_argument("--n", type=int, help="images (default: the whole labelled set, 100,000 synthetic)")
    parser.add_argument("--backends", default="opentsne,pytorch", help="comma-separated; none: only --save")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, each backend runs once per seed")
    parser.add_argument("--queries", type=int, default=5000, help="images whose 10-NN vote is scored")
    parser.add_argument("--vectors", type=Path, help="the labelled set from this .npz (written by --save)")
    parser.add_argument("--save", type=Path, help="write the labelled set's PCA-50 vectors and labels here")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args(argv)
    if args.set == "synthetic":
        data = synthetic(args.n or 100_000)
    else:
        data = load_saved(args.vectors) if args.vectors else labelled()
        if args.save:
            data.save(args.save)
        data = data.subset(args.n) if args.n else data
    rows, seeds = [], [int(s) for s in args.seeds.split(",")]
    for seed in seeds:
        for backend in [b for b in args.backends.split(",") if b and b != "none"]:
            rows.append(score(data, backend, queries=args.queries, seed=seed))
            print(f"{rows[-1].backend} seed {seed}: {rows[-1].seconds} s {rows[-1].method}", flush=True)
    header = ["set", "N", "backend", "seed", "seconds", "DPQ16", "neighbours", "10-NN"]
    lines = [[r.set, r.n, r.backend, r.seed, r.seconds, r.dpq16, r.neighbours, r.knn10] for r in rows]
    if len(seeds) > 1:
        for backend in dict.fromkeys(r.backend for r in rows):
            mine = [r for r in rows if r.backend == backend]
            means = [
                float(np.mean([getattr(r, f) for r in mine]))
                for f in ("seconds", "dpq16", "neighbours", "knn10")
            ]
            lines.append([data.name, mine[0].n, backend, "mean", *means])
    print(table(header, lines))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return rows


if __name__ == "__main__":
    main()
