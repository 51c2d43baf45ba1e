"""Grid assignment at scale: ``gridtsne.core.lap.solve`` against dense solvers and FLAS.

Instances are clustered, t-SNE-like clouds whose optimal assignment is known by construction
(:func:`gridtsne_dev.instances.brenier_instance`). Where dense ``lapjv`` runs (N <= 4096) it checks
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
from gridtsne_dev.instances import brenier_instance, total_cost
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from benchmarks.measure import measured, median, table

SIZES = (1024, 4096, 8192, 12000, 16384, 24576, 32768, 50000, 65536, 1048576)
PEER_MAX = 4096
SUBPROCESS_MIN = 1 << 20

Row = dict[str, Any]
Solver = Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.int64]]


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
