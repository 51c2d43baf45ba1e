"""``python -m benchmarks.refine --n N --workers 1,2``: the grid refinement on N synthetic pictures.

Clustered vectors (Gaussian clusters in 1280 dimensions, as in the big-set benchmark) placed on a grid by
:func:`gridtsne.core.assign.snap` from a clustered 2-D map, then refined with each worker count in turn,
alternating, ``--repeat`` times. Prints the median seconds of the refinement and of its PCA
(``reduce_features``), its CPU seconds (all threads), and the process's peak resident memory during it
(:class:`benchmarks.bigset.Stages`) with the part above what was resident before (the vectors). Every worker
count must give the same cells.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from gridtsne.core import refine as refine_module
from gridtsne.core.assign import grid_shape, snap

from benchmarks.bigset import Stages
from benchmarks.measure import median, rss_bytes, table

KEYS = ("seconds", "pca", "cpu", "peak", "above")
HEADER = ("workers", "seconds", "speed-up", "pca s", "cpu s", "cpu/wall", "peak RSS MiB", "above start MiB")
MIB = 2**20


def synthetic(n: int, clusters: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(N, dim) float32 clustered vectors and their (N, 2) cells on a near-square grid: each cluster a
    blob of the 2-D map, so the grid is sorted by cluster and disordered inside each."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, clusters, n)
    vectors = rng.standard_normal((clusters, dim)).astype(np.float32)[labels]
    vectors += rng.standard_normal((n, dim), dtype=np.float32)
    points = rng.uniform(0, 10, (clusters, 2))[labels] + rng.standard_normal((n, 2))
    return vectors, snap(points, *grid_shape(n))


def measure(vectors: np.ndarray, cells: np.ndarray, workers: int, chunk: int) -> dict[str, Any]:
    """One refinement: its cells, seconds, PCA seconds, CPU seconds and peak memory (bytes)."""
    stages, before, cpu = Stages(), rss_bytes(), os.times()
    with stages.wrap(refine_module, "reduce_features", "pca"), stages.stage("refine"):
        out = refine_module.refine(vectors, cells, workers=workers, chunk=chunk)
    used = os.times()
    return {
        "cells": out,
        "seconds": stages.seconds["refine"],
        "pca": stages.seconds["pca"],
        "cpu": used.user + used.system - cpu.user - cpu.system,
        "peak": stages.peak["refine"],
        "above": stages.peak["refine"] - before,
    }


def run(n: int, workers: Sequence[int], *, repeat: int, chunk: int, clusters: int, dim: int) -> str:
    """Measure every worker count ``repeat`` times, alternating; the figures as text."""
    vectors, cells = synthetic(n, clusters, dim)
    runs: dict[int, list[dict[str, Any]]] = {w: [] for w in workers}
    load = os.getloadavg()[0]
    for _ in range(repeat):
        for w in workers:
            runs[w].append(measure(vectors, cells, w, chunk))
    first = runs[workers[0]][0]["cells"]
    if any(not np.array_equal(r["cells"], first) for rs in runs.values() for r in rs):
        raise SystemExit("the worker counts gave different cells")

    def row(w: int) -> list[object]:
        seconds, pca, cpu, peak, above = (median([r[k] for r in runs[w]]) for k in KEYS)
        return [w, seconds, base / seconds, pca, cpu, cpu / seconds, round(peak / MIB), round(above / MIB)]

    base = median([r["seconds"] for r in runs[workers[0]]])
    rows = [row(w) for w in workers]
    return "\n".join(
        [
            f"refine, N = {n} synthetic pictures ({clusters} clusters, {dim} dims), chunk {chunk} elements, "
            f"medians of {repeat}; {len(os.sched_getaffinity(0))} usable cores, load average {load:.1f} "
            f"at the start, {os.getloadavg()[0]:.1f} at the end",
            table(HEADER, rows),
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.refine", description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="synthetic pictures")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare, e.g. 1,2,4")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each worker count (medians)")
    parser.add_argument("--chunk", type=int, default=refine_module.CHUNK_ELEMENTS, help="elements per chunk")
    parser.add_argument("--clusters", type=int, default=32)
    parser.add_argument("--dim", type=int, default=1280, help="vector dimension (the model's: 1280)")
    args = parser.parse_args(argv)
    workers = [int(w) for w in args.workers.split(",")]
    print(
        run(args.n, workers, repeat=args.repeat, chunk=args.chunk, clusters=args.clusters, dim=args.dim),
        flush=True,
    )


if __name__ == "__main__":
    main()
