"""Grid assignment at scale: ``gridtsne.core.lap.solve`` against dense solvers and FLAS.

Instances are clustered, t-SNE-like clouds whose optimal assignment is known by construction
(Brenier): targets are the cells of a square grid and ``points = ∇φ(targets)`` for the convex

    φ(x) = ε‖x‖²/2 + (1 − ε)·τ·log Σ_k exp((c_k·x − ‖c_k‖²/2 + b_k)/τ) + δ·τ·log Σ_m exp(...),

a quadratic plus log-sum-exp terms (each convex), whose gradient squeezes the Voronoi-like regions
of the sites c_k into dense clusters joined by thin bridges. For a convex φ the generating assignment
is optimal for squared distance (the gradient of a convex function is cyclically monotone); the points
are then scaled uniformly (which keeps that optimum). Where dense ``lapjv`` runs (N <= 4096) it checks
the optimum too.

Times are also quoted as ratios to dense ``lapjv`` at N=1024 in the same run. The 1M case runs in a
subprocess so that its peak memory is its own. ``python -m benchmarks.assign [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import lapjv
import numpy as np
from gridtsne.core import lap
from gridtsne.core.assign import cell_targets, grid_shape
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from benchmarks.measure import measured, median, table

SIZES = (1024, 4096, 8192, 12000, 16384, 24576, 32768, 50000, 65536, 1048576)
PEER_MAX = 4096
SUBPROCESS_MIN = 1 << 20

Row = dict[str, Any]
Solver = Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.int64]]


def _softmax_sites(
    x: NDArray[np.float64], sites: NDArray[np.float64], bias: NDArray[np.float64], tau: float
) -> NDArray[np.float64]:
    """∇ of τ·log Σ_k exp((c_k·x − ‖c_k‖²/2 + b_k)/τ): the softmax-weighted mean of the sites."""
    z = (x @ sites.T - 0.5 * np.einsum("ij,ij->i", sites, sites) + bias) / tau
    z -= z.max(axis=1, keepdims=True)
    w = np.exp(z)
    w /= w.sum(axis=1, keepdims=True)
    return np.asarray(w @ sites, dtype=np.float64)


def brenier_instance(
    n: int, seed: int = 0, *, clusters: int = 10, tau: float = 0.004, eps: float = 0.15
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Clustered points, grid-cell targets (x=col, y=row, holes at the edge) and the optimal ``idx``."""
    rng = np.random.default_rng(seed)
    rows, cols = grid_shape(n)
    targets = cell_targets(n, rows, cols)[:, ::-1].astype(np.float64)
    scale = float(max(rows, cols))
    u = targets / scale
    sites = rng.random((clusters, 2))
    sub = rng.random((3 * clusters, 2))
    grad = eps * u + (1 - eps) * _softmax_sites(u, sites, rng.normal(0, 0.01, clusters), tau)
    grad += 0.1 * _softmax_sites(u, sub, rng.normal(0, 0.01, 3 * clusters), tau)
    lo = grad.min(axis=0)
    span = float((grad.max(axis=0) - lo).max())
    images = (grad - lo) / span * (targets.max(axis=0) - targets.min(axis=0)).max() + targets.min(axis=0)
    _check_monotone(u, (images - targets.min(axis=0)), rng)
    perm = rng.permutation(n)
    return images[perm], targets, np.asarray(perm, dtype=np.int64)


def _check_monotone(x: NDArray[np.float64], g: NDArray[np.float64], rng: np.random.Generator) -> None:
    """Convexity check: a gradient of a convex function is monotone, ⟨g(x)−g(y), x−y⟩ >= 0."""
    a, b = rng.integers(0, len(x), (2, min(200_000, len(x) * 4)))
    inner = np.einsum("ij,ij->i", g[a] - g[b], x[a] - x[b])
    if inner.min() < -1e-9 * float(np.abs(inner).max() + 1.0):
        raise AssertionError("instance map is not monotone: φ is not convex")


def total_cost(points: NDArray[np.float64], targets: NDArray[np.float64], idx: NDArray[np.int64]) -> float:
    """Σ‖points[i] − targets[idx[i]]‖²."""
    diff = points - targets[idx]
    return float(np.einsum("ij,ij->", diff, diff))


def dense_lapjv(points: NDArray[np.float64], targets: NDArray[np.float64]) -> NDArray[np.int64]:
    """The seed method: ``lapjv`` on the dense squared-distance matrix."""
    diff = points[:, None, :] - targets[None, :, :]
    return np.asarray(lapjv.lapjv(np.einsum("ijk,ijk->ij", diff, diff))[0], dtype=np.int64)


def dense_scipy(points: NDArray[np.float64], targets: NDArray[np.float64]) -> NDArray[np.int64]:
    """scipy ``linear_sum_assignment`` on the dense squared-distance matrix."""
    diff = points[:, None, :] - targets[None, :, :]
    return np.asarray(linear_sum_assignment(np.einsum("ijk,ijk->ij", diff, diff))[1], dtype=np.int64)


def _dpq16(points: NDArray[np.float64], targets: NDArray[np.float64], idx: NDArray[np.int64]) -> float:
    """DPQ16 of the arrangement that puts point i on the cell targets[idx[i]] (x=col, y=row)."""
    from vc_flas.metrics import distance_preservation_quality

    cells = targets[idx].astype(np.int64)
    lo = cells.min(axis=0)
    w, h = (cells.max(axis=0) - lo + 1).tolist()
    grid = np.zeros((h, w, 2), dtype=np.float32)
    valid = np.zeros((h, w), dtype=bool)
    grid[cells[:, 1] - lo[1], cells[:, 0] - lo[0]] = points
    valid[cells[:, 1] - lo[1], cells[:, 0] - lo[0]] = True
    return float(distance_preservation_quality(grid, valid, p=16))


def _flas(points: NDArray[np.float64], targets: NDArray[np.float64]) -> tuple[float, float]:
    """FLAS sorting the points directly on the same grid: (seconds, DPQ16)."""
    import vc_flas

    w, h = (targets.max(axis=0) - targets.min(axis=0) + 1).astype(int).tolist()
    grid = vc_flas.Grid.from_features(points.astype(np.float32), size=(h, w))
    with measured() as sample:
        arrangement = vc_flas.flas(grid, seed=0)
    dpq = float(
        vc_flas.metrics.distance_preservation_quality(
            arrangement.get_sorted_features(), arrangement.get_valid(), p=16
        )
    )
    return sample.seconds, dpq


def _run_case(name: str, solver: Solver, n: int, repeat: int, trace_timed: bool | None) -> tuple[Row, Any]:
    """Time ``solver`` (median of ``repeat`` runs) and take its traced peak allocation: during the
    timed run when ``trace_timed`` (for C solvers, where tracing costs nothing), in one more run when
    False, not at all when None."""
    points, targets, truth = brenier_instance(n)
    best = total_cost(points, targets, truth)
    times, peak = [], 0
    idx: NDArray[np.int64] = truth
    for k in range(repeat):
        traced = trace_timed and k == repeat - 1
        if traced:
            tracemalloc.start()
        with measured() as sample:
            idx = solver(points, targets)
        times.append(sample.seconds)
        if traced:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    if trace_timed is False:
        tracemalloc.start()
        solver(points, targets)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    if sorted(idx.tolist()) != list(range(n)):
        raise AssertionError(f"{name} did not return a permutation at N={n}")
    row: Row = {
        "method": name,
        "n": n,
        "seconds": median(times),
        "gap_pct": 100.0 * (total_cost(points, targets, idx) / best - 1.0),
        "peak_mib": peak / 2**20,
    }
    return row, (points, targets, idx)


def _case_in_subprocess(n: int) -> Row:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.assign", "--case", str(n)],
        check=True,
        capture_output=True,
        text=True,
    )
    row: Row = json.loads(out.stdout.strip().splitlines()[-1])
    return row


def run(quick: bool = False, repeat: int = 3) -> list[Row]:
    """Measure every case; return one row per (method, N)."""
    base_row, base_result = _run_case("lapjv (dense)", dense_lapjv, 1024, repeat, True)
    base = base_row["seconds"]
    rows: list[Row] = []
    for n in SIZES:
        if quick and n >= SUBPROCESS_MIN:
            continue
        if n >= SUBPROCESS_MIN:
            rows.append(_case_in_subprocess(n))
            continue
        ours, (points, targets, idx) = _run_case(
            "gridtsne.core.lap", lap.solve, n, repeat if n <= PEER_MAX else 1, False
        )
        rows.append(ours)
        if n > PEER_MAX:
            continue
        ours["dpq16"] = _dpq16(points, targets, idx)
        for name, solver in (("lapjv (dense)", dense_lapjv), ("scipy lsa (dense)", dense_scipy)):
            if n == 1024 and solver is dense_lapjv:
                peer, result = base_row, base_result
            else:
                peer, result = _run_case(name, solver, n, 1, True)
            peer["dpq16"] = _dpq16(*result)
            rows.append(peer)
        seconds, dpq = _flas(points, targets)
        rows.append({"method": "FLAS (vc_flas)", "n": n, "seconds": seconds, "dpq16": dpq})
    for row in rows:
        row["ratio"] = row["seconds"] / base
    return rows


def format_rows(rows: Sequence[Row]) -> str:
    """The rows as a plain-text table."""
    header = ["method", "N", "seconds", "× lapjv@1024", "gap %", "peak MiB (traced)", "DPQ16"]
    body = [
        [
            r["method"],
            r["n"],
            r["seconds"],
            r["ratio"],
            "-" if "gap_pct" not in r else f"{r['gap_pct']:.3f}",
            "-" if "peak_mib" not in r else round(r["peak_mib"]),
            "-" if "dpq16" not in r else f"{r['dpq16']:.3f}",
        ]
        for r in rows
    ]
    return table(header, body)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table (``--quick`` skips the 1M case; ``--case N`` measures one size as JSON)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.assign", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the 1M case")
    parser.add_argument("--repeat", type=int, default=3, help="runs per small case (median quoted)")
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        row, _ = _run_case("gridtsne.core.lap", lap.solve, args.case, 1, None)
        row["method"] = "gridtsne.core.lap (own process; peak = whole-process RSS)"
        row["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(row))
        return
    print("Assignment of clustered points to grid cells (Brenier instances; optimum known)", flush=True)
    print(format_rows(run(quick=args.quick, repeat=args.repeat)), flush=True)


if __name__ == "__main__":
    main()
