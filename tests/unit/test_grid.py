"""Grid shapes, hole placement and snapping."""

from __future__ import annotations

import itertools

import lapjv
import numpy as np
import pytest
from gridtsne.core.assign import assign, cell_targets, grid_shape, parse_grid, snap, total_cost


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, (1, 1)), (2, (1, 2)), (3, (2, 2)), (10, (3, 4)), (1797, (42, 43)), (1024, (32, 32))],
)
def test_near_square(n: int, expected: tuple[int, int]) -> None:
    assert grid_shape(n) == expected


def test_given_shapes() -> None:
    assert grid_shape(100, 5, 20) == (5, 20)
    assert grid_shape(100, None, 8) == (13, 8)
    assert grid_shape(100, 8, None) == (8, 13)
    with pytest.raises(ValueError, match="fewer than"):
        grid_shape(100, 9, 9)


@pytest.mark.parametrize("text", ["32x32", "32X32", "32×32", "10x", "x40"])
def test_parse_grid(text: str) -> None:
    rows, cols = parse_grid(text)
    assert rows in (32, 10, None) and cols in (32, 40, None)


@pytest.mark.parametrize("text", ["32", "axb", "3x4x5"])
def test_parse_grid_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="RxC"):
        parse_grid(text)


def test_holes_are_at_the_edges() -> None:
    cells = cell_targets(10, 3, 4)
    assert len({tuple(c) for c in cells}) == 10
    # two full rows, then the partial last row centred
    assert sorted(map(tuple, cells[8:])) == [(2, 1), (2, 2)]
    big = cell_targets(12, 6, 6)
    rows = sorted({int(r) for r, _ in big})
    assert rows == [2, 3]  # used rows centred vertically


def test_assign_is_optimal_on_small_instances() -> None:
    rng = np.random.default_rng(0)
    for n in (2, 5, 7):
        points, targets = rng.random((n, 2)), rng.random((n, 2))
        idx = assign(points, targets)
        best = min(total_cost(points, targets, np.array(p)) for p in itertools.permutations(range(n)))
        assert total_cost(points, targets, idx) == pytest.approx(best)


def test_assign_matches_lapjv() -> None:
    rng = np.random.default_rng(1)
    points, targets = rng.random((300, 2)), rng.random((300, 2)) * 10
    idx = assign(points, targets)
    cost = ((points[:, None] - targets[None]) ** 2).sum(-1)
    ref, _, _ = lapjv.lapjv(cost)
    assert sorted(idx) == list(range(300))
    assert total_cost(points, targets, idx) == pytest.approx(total_cost(points, targets, ref), rel=1e-6)


def test_assign_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="finite"):
        assign(np.array([[0.0, np.nan], [1, 1]]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        assign(np.zeros((3, 2)), np.zeros((2, 2)))


def test_snap_keeps_neighbourhoods() -> None:
    # four tight clusters at the corners of a square end up in the four quadrants of the grid
    rng = np.random.default_rng(2)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=float)
    labels = np.repeat(np.arange(4), 25)
    points = centres[labels] + rng.normal(scale=0.5, size=(100, 2))
    cells = snap(points, 10, 10)
    assert len({tuple(c) for c in cells}) == 100
    for label, (cx, cy) in enumerate(centres):
        rows, cols = cells[labels == label].T
        assert ((rows >= 5) == (cy > 5)).all() and ((cols >= 5) == (cx > 5)).all()


def test_snap_small_and_degenerate() -> None:
    assert snap(np.zeros((0, 2)), 1, 1).shape == (0, 2)
    assert snap(np.zeros((1, 2)), 1, 1).tolist() == [[0, 0]]
    same = snap(np.ones((5, 2)), 2, 3)
    assert len({tuple(c) for c in same}) == 5
