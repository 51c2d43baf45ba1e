"""Linear assignment of 2-D points to 2-D targets under squared Euclidean cost, at any scale.

Dense solvers (Jonker-Volgenant, Hungarian) need the N×N cost matrix and cubic time: one second at
N=1024, half a minute at 4096, out of memory near 55k. :func:`solve` is exact for small N and
multiscale above:

1. *Coarsen.* Points and targets are each cut by balanced k-d bisection into groups of about
   ``GROUP`` (the same number of groups on both sides); the problem between the group centroids is
   solved by the same method, recursively, down to an exact dense solve.
2. *Prolong.* Each point is carried into the region of the target group its group was matched to
   (moved and stretched from its group's box to that target group's box). Points at these proxy
   positions are paired with targets by a balanced bisection of both sets together, and each leaf
   is solved exactly on the true cost. The result is a permutation.
3. *Refine.* Windows of about ``window`` neighbouring targets (square tiles in turn shifted by half
   a tile, so that every seam is inside some window) are re-solved exactly with the points that
   currently hold them. Every re-solve keeps or lowers the total cost.
4. *Polish* (every level of at most ``POLISH_MAX``). One exact sparse solve (Jonker-Volgenant,
   ``lap.lapmod``) in which each point may take any of the ``POLISH_K`` targets nearest its current
   one (``POLISH_NARROW_K`` on levels above ``POLISH_NARROW_MIN``, where the solve, superlinear
   from a cold start, costs most). This removes the long cycles of one-cell shifts that no single
   window contains and that windows cannot reach. Applied to the coarse problems too: an error
   there moves a whole group of points, so it costs as much, relative to the total, at every N
   (without it N=16,384, whose 1024 centroids were only refined, was 1.6% above the optimum).

Guarantees: the result is always a permutation; it is optimal when N <= ``EXACT_MAX``; up to
``POLISH_MAX`` it is optimal among all assignments that move each point only to one of its
``POLISH_K`` (or ``POLISH_NARROW_K``) targets nearest its multiscale target; above that no
reassignment inside any one window of the last sweep lowers the cost. No step raises the cost
(none of this bounds the gap to the optimum). Memory is O(N); no N×N matrix is formed above
``EXACT_MAX``. Measured on clustered, t-SNE-like points against grid cells (``python -m
benchmarks.assign``, optimum known by construction): 0.01–0.04% above the optimum at N=1024 to
4096 (0.3 s at 4096); 0.05–0.2% from 5000 to 32,768, about 0.05% at 65,536 and 0.15% at
1,048,576 (20 s, 0.6 GB on one core). The top-level sparse solve stops at ``POLISH_MAX``: above
it, it would cost more than it saves.
"""

from __future__ import annotations

import itertools

import numpy as np
from lap import lapmod
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

__all__ = [
    "EXACT_MAX",
    "GROUP",
    "POLISH_K",
    "POLISH_MAX",
    "POLISH_NARROW_K",
    "POLISH_NARROW_MIN",
    "exact",
    "polish",
    "refine",
    "solve",
    "validate",
]

EXACT_MAX = 512
"""Problems up to this size are solved exactly with one dense solve."""

GROUP = 16
"""Points (and targets) per group when coarsening."""

POLISH_MAX = 8192
"""Levels up to this size (the whole problem, or its coarse problems) are finished by one exact
sparse solve (:func:`polish`)."""

POLISH_K = 9
"""Targets each point may move to in :func:`polish`: the nearest ones to its current target."""

POLISH_NARROW_MIN = 4096
"""Levels larger than this are polished with :data:`POLISH_NARROW_K` candidates per point."""

POLISH_NARROW_K = 5
"""Candidates per point on large polished levels: on a grid, the current cell and its 4 neighbours
(about 40% less time than :data:`POLISH_K` at N=8192, for 0.05–0.1% more gap)."""

_SPARSE_SPAN = 1e4  # lapmod needs costs in [0, 1e6); each row is shifted and all are scaled into this

_LEAF = 32
_SHIFTS = ((0.5, 0.5), (0.0, 0.0), (0.5, 0.0), (0.0, 0.5))

Index = NDArray[np.int64]
Coords = NDArray[np.float64]


def validate(points: ArrayLike, targets: ArrayLike) -> tuple[Coords, Coords]:
    """``points`` and ``targets`` as float64 (N, 2) arrays.

    Raises
    ------
    ValueError
        When the shapes differ or are not (N, 2), or a value is NaN or infinite.
    """
    p = np.asarray(points, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or t.shape != p.shape:
        raise ValueError(f"points and targets must both have shape (N, 2); got {p.shape} and {t.shape}")
    if not (np.isfinite(p).all() and np.isfinite(t).all()):
        raise ValueError("points and targets must be finite (no NaN or infinity)")
    return p, t


def solve(points: ArrayLike, targets: ArrayLike, *, window: int = 32, passes: int | None = None) -> Index:
    """Assign each point to one target, (near-)minimising Σ‖points[i] − targets[idx[i]]‖².

    Exact for N <= :data:`EXACT_MAX`; multiscale and refined by exact windows above, each level of at
    most :data:`POLISH_MAX` polished by one exact sparse solve (see the module docstring).

    Parameters
    ----------
    points, targets
        Arrays of shape (N, 2).
    window
        Targets per refinement window (at least 2).
    passes
        Refinement sweeps at each scale (default: more for small N, where they are cheap).

    Returns
    -------
    numpy.ndarray
        ``idx``, a permutation of ``range(N)``: ``idx[i]`` is the target of point ``i``.

    Raises
    ------
    ValueError
        On bad shapes or values (:func:`validate`), ``window`` < 2 or negative ``passes``.
    """
    p, t = validate(points, targets)
    if passes is None:
        passes = _default_passes(len(p))
    if window < 2 or passes < 0:
        raise ValueError("window must be at least 2 and passes non-negative")
    return _solve(p, t, window, passes)


def exact(points: Coords, targets: Coords) -> Index:
    """Optimal assignment by one dense solve (O(N²) memory, cubic time): for small N only."""
    n = len(points)
    if n <= 1:
        return np.arange(n, dtype=np.int64)
    # ‖p − t‖² = ‖p‖² − 2 p·t + ‖t‖²; the first term is the same in every row and drops out.
    cost = points @ (-2.0 * targets.T)
    cost += np.einsum("ij,ij->i", targets, targets)[None, :]
    _, cols = linear_sum_assignment(cost)
    return np.asarray(cols, dtype=np.int64)


def refine(points: Coords, targets: Coords, idx: Index, *, window: int = 32, passes: int = 4) -> Index:
    """Improve the permutation ``idx`` by re-solving windows of nearby targets exactly.

    Each pass tiles the targets' box with squares holding about ``window`` targets each, shifted by
    half a tile from pass to pass; the points holding a tile's targets are re-assigned among them
    optimally. The total cost never rises. Returns a new array.
    """
    cur = np.array(idx, dtype=np.int64)
    holder = np.empty_like(cur)
    holder[cur] = np.arange(len(cur))
    for k in range(passes):
        for cells in _tiles(targets, window, _SHIFTS[k % len(_SHIFTS)]):
            who = holder[cells]
            new = cells[exact(points[who], targets[cells])]
            cur[who] = new
            holder[new] = who
    return cur


def polish(points: Coords, targets: Coords, idx: Index, *, k: int = POLISH_K) -> Index:
    """Re-solve exactly with each point restricted to the ``k`` targets nearest its current one.

    The current target is always among a point's candidates, so the current assignment is feasible
    and the result costs no more than ``idx``; it is optimal among all assignments that move each
    point to one of its candidates. One sparse Jonker-Volgenant solve (``lap.lapmod``), O(N·k)
    memory. Returns a new array (``idx`` itself if the sparse solve fails or does not improve).
    """
    cur = np.asarray(idx, dtype=np.int64)
    n = len(cur)
    k = min(k, n)
    if k < 2:
        return cur.copy()
    _, near = cKDTree(targets).query(targets[cur], k)
    near = np.asarray(near, dtype=np.int64)
    # With coincident targets the current one may be missing from its own neighbour list.
    missing = ~(near == cur[:, None]).any(axis=1)
    near[missing, -1] = cur[missing]
    near.sort(axis=1)
    diff = points[:, None, :] - targets[near]
    cost = np.einsum("ijk,ijk->ij", diff, diff)
    # Shifting a row by a constant keeps the optimum; so does one common positive scale.
    cost -= cost.min(axis=1, keepdims=True)
    top = float(cost.max())
    if top > 0.0:
        cost *= _SPARSE_SPAN / top
    try:
        rows, _ = lapmod(n, cost.ravel(), np.arange(0, n * k + 1, k), near.ravel(), return_cost=False)
    except (ValueError, RuntimeError):
        return cur.copy()
    new = np.asarray(rows, dtype=np.int64)
    if new.shape != (n,) or not np.array_equal(np.bincount(new, minlength=n), np.ones(n, dtype=np.int64)):
        return cur.copy()
    if _cost(points, targets, new) > _cost(points, targets, cur):
        return cur.copy()
    return new


def _cost(p: Coords, t: Coords, idx: Index) -> float:
    diff = p - t[idx]
    return float(np.einsum("ij,ij->", diff, diff))


def _default_passes(n: int) -> int:
    if n <= POLISH_NARROW_MIN:
        return 12
    if n <= 131072:
        return 6
    return 3


def _solve(p: Coords, t: Coords, window: int, passes: int) -> Index:
    n = len(p)
    if n <= EXACT_MAX:
        return exact(p, t)
    p_order, p_bounds = _bisect(p, GROUP)
    t_order, t_bounds = _bisect(t, GROUP)
    # Both sides are split by the same sizes (halves of m are m // 2 and the rest), so the groups
    # match one to one in size: the k-th point group and the k-th target group have equal counts.
    sizes = np.diff(p_bounds)
    group = len(sizes)
    p_group = np.empty(n, dtype=np.int64)
    p_group[p_order] = np.repeat(np.arange(group), sizes)
    t_group = np.empty(n, dtype=np.int64)
    t_group[t_order] = np.repeat(np.arange(group), np.diff(t_bounds))
    p_mean, p_spread = _group_stats(p, p_group, group)
    t_mean, t_spread = _group_stats(t, t_group, group)
    coarse = _solve(p_mean, t_mean, window, passes)
    dest = coarse[p_group]
    # Carry each point into its destination group's box, keeping its place within its own group.
    tiny = 1e-9 * np.maximum(t_spread[dest], 1e-300)
    proxy = t_mean[dest] + (p - p_mean[p_group]) * (t_spread[dest] / np.maximum(p_spread[p_group], tiny))
    idx = refine(p, t, _paired_solve(p, t, proxy), window=window, passes=passes)
    if n <= POLISH_MAX:
        idx = polish(p, t, idx, k=POLISH_K if n <= POLISH_NARROW_MIN else POLISH_NARROW_K)
    return idx


def _group_stats(x: Coords, label: Index, count: int) -> tuple[Coords, Coords]:
    """Per-group mean and per-axis standard deviation."""
    size = np.bincount(label, minlength=count).astype(np.float64)[:, None]
    mean = np.stack([np.bincount(label, x[:, d], count) for d in range(2)], axis=1) / size
    dev = x - mean[label]
    var = np.stack([np.bincount(label, dev[:, d] ** 2, count) for d in range(2)], axis=1) / size
    return mean, np.sqrt(var)


def _paired_solve(p: Coords, t: Coords, proxy: Coords) -> Index:
    """Bisect targets and proxy positions together; solve each leaf exactly on the true cost."""
    t_order, bounds, p_order = _bisect(t, _LEAF, follow=proxy)
    idx = np.empty(len(p), dtype=np.int64)
    for a, b in itertools.pairwise(bounds):
        who, cells = p_order[a:b], t_order[a:b]
        idx[who] = cells[exact(p[who], t[cells])]
    return idx


def _bisect(x: Coords, leaf: int, follow: Coords | None = None) -> tuple[Index, ...]:
    """Balanced k-d bisection of ``x`` into contiguous runs of at most ``leaf`` items.

    Returns ``order`` (indices of ``x``, run after run) and ``bounds`` (run starts, then N). Each run
    of m items is halved along the longer side of its bounding box into m // 2 and the rest. With
    ``follow``, a second set of the same size is split alongside, by the same sizes and axes, and its
    order is returned third.
    """
    n = len(x)
    order = np.arange(n)
    other = np.arange(n)
    bounds = np.array([0, n], dtype=np.int64)
    while n and (sizes := np.diff(bounds)).max() > leaf:
        starts = bounds[:-1]
        seg = np.repeat(np.arange(len(sizes)), sizes)
        xs = x[order]
        extent = np.maximum.reduceat(xs, starts, axis=0) - np.minimum.reduceat(xs, starts, axis=0)
        axis = (extent[:, 1] > extent[:, 0]).astype(np.int64)
        split = sizes > leaf
        live = split[seg]
        key = np.where(live, xs[np.arange(n), axis[seg]], 0.0)
        order = order[np.lexsort((key, seg))]
        if follow is not None:
            fs = follow[other]
            fkey = np.where(live, fs[np.arange(n), axis[seg]], 0.0)
            other = other[np.lexsort((fkey, seg))]
        bounds = np.sort(np.concatenate([bounds, starts[split] + sizes[split] // 2]))
    if follow is None:
        return order, bounds
    return order, bounds, other


def _tiles(t: Coords, window: int, shift: tuple[float, float]) -> list[Index]:
    """Groups of nearby targets, about ``window`` each: square tiles of the targets' box, offset by
    ``shift`` tiles; a tile holding more than twice ``window`` (crowded targets) is bisected.
    """
    n = len(t)
    if n < 2:
        return []
    lo = t.min(axis=0)
    extent = t.max(axis=0) - lo
    wide = extent > 0
    if wide.all():
        side = float(np.sqrt(extent[0] * extent[1] * window / n))
    elif wide.any():
        side = float(extent[wide][0] * window / n)
    else:
        side = 1.0
    steps = np.where(wide, side, np.inf)
    cell = np.floor((t - lo) / steps + np.where(wide, shift, 0.0)).astype(np.int64)
    key = cell[:, 0] * (int(cell[:, 1].max()) + 1) + cell[:, 1]
    order = np.argsort(key, kind="stable")
    runs = np.split(order, np.flatnonzero(np.diff(key[order])) + 1)
    out: list[Index] = []
    for run in runs:
        if len(run) > 2 * window:
            sub_order, sub_bounds = _bisect(t[run], window)
            out.extend(run[sub_order[a:b]] for a, b in itertools.pairwise(sub_bounds))
        elif len(run) > 1:
            out.append(run)
    return out
