"""The quality metrics agree with the published reference and rank arrangements sensibly."""

from __future__ import annotations

import numpy as np
import pytest
from gridtsne.core.assign import snap
from gridtsne.core.quality import dpq, knn_label_accuracy
from vc_flas.metrics import distance_preservation_quality


def grid_of(features: np.ndarray, cells: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    grid = np.zeros((rows, cols, features.shape[1]))
    valid = np.zeros((rows, cols), dtype=bool)
    grid[cells[:, 0], cells[:, 1]] = features
    valid[cells[:, 0], cells[:, 1]] = True
    return grid, valid


def test_dpq_matches_the_reference_implementation() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(90, 6))
    cells = snap(features[:, :2], 10, 10)  # with holes
    grid, valid = grid_of(features, cells, 10, 10)
    expected = distance_preservation_quality(grid, valid, p=16)
    assert dpq(features, cells, p=16) == pytest.approx(expected, rel=1e-9)


def test_dpq_prefers_a_sorted_arrangement() -> None:
    rng = np.random.default_rng(1)
    features = rng.random((100, 2))
    sorted_cells = snap(features, 10, 10)
    random_cells = sorted_cells[rng.permutation(100)]
    assert dpq(features, sorted_cells) > 0.8 > dpq(features, random_cells)


def test_knn_label_accuracy() -> None:
    cells = np.array([(r, c) for r in range(10) for c in range(10)])
    halves = ["left" if c < 5 else "right" for _, c in cells]
    assert knn_label_accuracy(cells, halves, k=3) == 1.0
    stripes = [str(c % 2) for _, c in cells]
    assert knn_label_accuracy(cells, stripes, k=3) < 0.5
