"""The assignment solver: exact on small N, valid and near-optimal at scale, robust to degenerate input."""

from __future__ import annotations

import lapjv
import numpy as np
import pytest
from gridtsne.core import lap
from gridtsne.core.assign import cell_targets
from gridtsne_dev.instances import brenier_instance, total_cost


def _lapjv_cost(points: np.ndarray, targets: np.ndarray) -> float:
    diff = points[:, None, :] - targets[None, :, :]
    cols = lapjv.lapjv(np.einsum("ijk,ijk->ij", diff, diff))[0]
    return total_cost(points, targets, np.asarray(cols))


def _grid(n: int, rows: int, cols: int) -> np.ndarray:
    return cell_targets(n, rows, cols)[:, ::-1].astype(np.float64)


def _clustered(n: int, seed: int, box: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.random((5, 2)) * box
    return centres[rng.integers(0, 5, n)] + rng.normal(0, box * 0.02, (n, 2))


def _is_permutation(idx: np.ndarray, n: int) -> bool:
    return idx.shape == (n,) and np.array_equal(np.sort(idx), np.arange(n))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 50, 200, lap.EXACT_MAX])
def test_exact_on_small_n(n: int) -> None:
    rng = np.random.default_rng(n)
    points, targets = rng.random((n, 2)), rng.random((n, 2))
    idx = lap.solve(points, targets)
    assert _is_permutation(idx, n)
    assert total_cost(points, targets, idx) == pytest.approx(
        _lapjv_cost(points, targets), rel=1e-9, abs=1e-12
    )


def test_exact_on_clustered_grid() -> None:
    targets = _grid(300, 17, 18)
    points = _clustered(300, 1, 17.0)
    idx = lap.solve(points, targets)
    assert total_cost(points, targets, idx) == pytest.approx(_lapjv_cost(points, targets), rel=1e-9)


def test_near_optimal_against_lapjv_above_exact_size() -> None:
    targets = _grid(1000, 31, 33)
    points = _clustered(1000, 2, 32.0)
    idx = lap.solve(points, targets)
    assert _is_permutation(idx, 1000)
    assert total_cost(points, targets, idx) <= 1.02 * _lapjv_cost(points, targets)


@pytest.mark.parametrize("seed", [0, 3])
def test_brenier_instance_gap_within_a_tenth_of_a_percent(seed: int) -> None:
    points, targets, optimal = brenier_instance(4096, seed=seed)
    best = total_cost(points, targets, optimal)
    idx = lap.solve(points, targets)
    assert _is_permutation(idx, 4096)
    assert total_cost(points, targets, idx) <= 1.001 * best


def test_brenier_construction_is_optimal() -> None:
    # The construction is right: dense lapjv finds the same optimum on a small instance.
    small_points, small_targets, small_optimal = brenier_instance(400, seed=4)
    assert _lapjv_cost(small_points, small_targets) == pytest.approx(
        total_cost(small_points, small_targets, small_optimal), rel=1e-9
    )


def test_polish_with_every_target_a_candidate_is_exact() -> None:
    points, targets, _ = brenier_instance(300, seed=6)
    start = np.random.default_rng(1).permutation(300)
    idx = lap.polish(points, targets, start, k=300)
    assert _is_permutation(idx, 300)
    assert total_cost(points, targets, idx) == pytest.approx(_lapjv_cost(points, targets), rel=1e-9)


def test_polish_improves_and_keeps_the_current_target_reachable() -> None:
    points, targets, _ = brenier_instance(2000, seed=7)
    start = lap.refine(points, targets, np.random.default_rng(2).permutation(2000), passes=2)
    idx = lap.polish(points, targets, start)
    assert _is_permutation(idx, 2000)
    assert total_cost(points, targets, idx) < total_cost(points, targets, start)
    # Each point moved at most to one of its POLISH_K candidates: a few cells on this unit grid.
    assert np.abs(targets[idx] - targets[start]).max() <= 2.0
    # Coincident targets: every point's own target is among its candidates, so a result always exists.
    same = lap.polish(points, np.zeros_like(targets), start)
    assert _is_permutation(same, 2000)


def test_refine_never_raises_the_cost() -> None:
    points, targets, _ = brenier_instance(2500, seed=5)
    start = np.random.default_rng(0).permutation(2500)
    before = total_cost(points, targets, start)
    once = lap.refine(points, targets, start, passes=1)
    more = lap.refine(points, targets, once, passes=3)
    assert _is_permutation(once, 2500) and _is_permutation(more, 2500)
    assert total_cost(points, targets, more) <= total_cost(points, targets, once) < before


@pytest.mark.parametrize("n", [600, 3000])
def test_all_points_equal(n: int) -> None:
    targets = _grid(n, 20, 150)
    points = np.full((n, 2), 3.5)
    idx = lap.solve(points, targets)
    assert _is_permutation(idx, n)


@pytest.mark.parametrize("n", [600, 3000])
def test_collinear_points_and_targets(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.random(n) * 10
    points = np.stack([x, 2 * x + 1], axis=1)
    targets = _grid(n, 60, 60)
    idx = lap.solve(points, targets)
    assert _is_permutation(idx, n)
    line = np.stack([np.arange(n, dtype=np.float64), np.zeros(n)], axis=1)
    idx = lap.solve(points, line)
    assert _is_permutation(idx, n)
    # In one dimension the sorted (monotone) matching is optimal; the solver finds it.
    order = np.argsort(x)
    monotone = np.empty(n, dtype=np.int64)
    monotone[order] = np.arange(n)
    assert total_cost(points, line, idx) <= total_cost(points, line, monotone) * 1.001


def test_identical_targets() -> None:
    rng = np.random.default_rng(7)
    points = rng.random((900, 2))
    idx = lap.solve(points, np.zeros((900, 2)))
    assert _is_permutation(idx, 900)


@pytest.mark.parametrize(
    ("n", "rows", "cols"), [(1, 1, 1), (2, 1, 2), (2, 2, 1), (1797, 42, 43), (700, 7, 120)]
)
def test_grids_with_holes(n: int, rows: int, cols: int) -> None:
    targets = _grid(n, rows, cols)
    points = _clustered(n, n, float(max(rows, cols)))
    idx = lap.solve(points, targets)
    assert _is_permutation(idx, n)
    if n <= lap.EXACT_MAX:
        assert total_cost(points, targets, idx) == pytest.approx(_lapjv_cost(points, targets), rel=1e-9)


def test_empty_input() -> None:
    assert lap.solve(np.zeros((0, 2)), np.zeros((0, 2))).shape == (0,)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_refuses_non_finite(bad: float) -> None:
    points = np.zeros((4, 2))
    points[2, 1] = bad
    with pytest.raises(ValueError, match="finite"):
        lap.solve(points, np.ones((4, 2)))
    with pytest.raises(ValueError, match="finite"):
        lap.solve(np.ones((4, 2)), points)


@pytest.mark.parametrize(
    ("p_shape", "t_shape"), [((4, 2), (5, 2)), ((4, 3), (4, 3)), ((4,), (4,)), ((4, 2), (4, 1))]
)
def test_refuses_shape_mismatch(p_shape: tuple[int, ...], t_shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="shape"):
        lap.solve(np.zeros(p_shape), np.zeros(t_shape))


def test_refuses_bad_parameters() -> None:
    with pytest.raises(ValueError, match="window"):
        lap.solve(np.zeros((3, 2)), np.zeros((3, 2)), window=1)


@pytest.mark.parametrize(("n", "seed"), [(12000, 0), (16384, 0)])
def test_brenier_gap_between_polish_and_large_scale(n: int, seed: int) -> None:
    # Above POLISH_MAX the quality rests on the coarse levels (e.g. 1024 group centroids at
    # N=16,384), which must be solved far better than the fine level: their errors move whole groups.
    points, targets, optimal = brenier_instance(n, seed=seed)
    idx = lap.solve(points, targets)
    assert _is_permutation(idx, n)
    assert total_cost(points, targets, idx) <= 1.005 * total_cost(points, targets, optimal)
