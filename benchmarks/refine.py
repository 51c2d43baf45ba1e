"""``python -m benchmarks.refine --n N --workers 1,2``: the grid refinement on N synthetic pictures.

Clustered vectors (Gaussian clusters in 1280 dimensions, as in the big-set benchmark) placed on a grid by
:func:`gridtsne.core.assign.snap` from a clustered 2-D map, then refined with each worker count in turn,
alternating, ``--repeat`` times. Prints the median seconds of the refinement and of its PCA
(``reduce_features``) and of its swap sweeps, its CPU seconds (all threads), and the process's peak
resident memory during it (:class:`benchmarks.bigset.Stages`) with the part above what was resident before
(the vectors), for the whole and for the sweeps alone. Every worker
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
from gridtsne.core.refine import _Lattice as Lattice

from benchmarks.bigset import Stages
from benchmarks.measure import median, rss_bytes, table

KEYS = ("seconds", "pca", "sweeps", "cpu", "peak", "above", "sweeps_above")
HEADER = ("workers", "seconds", "speed-up", "pca s", "sweeps s", "sweeps speed-up", "cpu s", "cpu/wall",
          "peak RSS MiB", "above start MiB", "sweeps: above start MiB")  # fmt: skip
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
    """One refinement: its cells, seconds (all, PCA, sweeps), CPU seconds and peak memory (bytes)."""
    stages, before, cpu = Stages(), rss_bytes(), os.times()
    pca, sweeps = (
        stages.wrap(refine_module, "reduce_features", "pca"),
        stages.wrap(Lattice, "sweep", "sweeps"),
    )
    with pca, sweeps, stages.stage("refine"):
        out = refine_module.refine(vectors, cells, workers=workers, chunk=chunk)
    used = os.times()
    return {
        "cells": out,
        "seconds": stages.seconds["refine"],
        "pca": stages.seconds["pca"],
        "sweeps": stages.seconds["sweeps"],
        "cpu": used.user + used.system - cpu.user - cpu.system,
        "peak": stages.peak["refine"],
        "above": stages.peak["refine"] - before,
        "sweeps_above": stages.peak["sweeps"] - before,
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
        seconds, pca, sweeps, cpu, peak, above, sweeps_above = (median([r[k] for r in runs[w]]) for k in KEYS)
        return [w, seconds, base / seconds, pca, sweeps, base_sweeps / sweeps, cpu, cpu / seconds,
                round(peak / MIB), round(above / MIB), round(sweeps_above / MIB)]  # fmt: skip

    base, base_sweeps = (median([r[k] for r in runs[workers[0]]]) for k in ("seconds", "sweeps"))
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
