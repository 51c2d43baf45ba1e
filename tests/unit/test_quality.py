"""The quality metrics match the published reference, rank arrangements sensibly and ignore input order."""

from __future__ import annotations

import numpy as np
import pytest
from gridtsne.core import quality
from gridtsne.core.assign import cell_targets, snap
from gridtsne.core.quality import dpq, knn_label_accuracy, layout_quality, neighbour_share
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


def labelled_grid(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells of a 20-column grid with block labels (30% replaced at random) and features near the cells."""
    rng = np.random.default_rng(seed)
    cells = cell_targets(n, -(-n // 20), 20)
    labels = (cells[:, 0] // 5) * 4 + cells[:, 1] // 5
    noisy = rng.random(n) < 0.3
    labels[noisy] = rng.integers(0, 16, int(noisy.sum()))
    features = np.hstack([cells + rng.normal(scale=0.7, size=cells.shape), rng.normal(size=(n, 4))])
    return cells, labels, features


def test_every_metric_ignores_the_order_of_the_inputs() -> None:
    cells, labels, features = labelled_grid()
    rng = np.random.default_rng(1)
    knn, share, dpqs, blocks = set(), set(), set(), []
    for _ in range(8):
        order = rng.permutation(len(cells))
        knn.add(round(knn_label_accuracy(cells[order], labels[order]), 9))
        share.add(round(neighbour_share(features[order], cells[order]), 9))
        dpqs.add(round(dpq(features[order], cells[order]), 9))
        blocks.append(layout_quality(features[order], cells[order]))
    assert len(knn) == len(share) == len(dpqs) == 1
    assert all(block == blocks[0] for block in blocks)


def test_knn_accuracy_shares_the_tie_ring_and_ties_between_labels() -> None:
    # 3x3 grid, k=5. Centre "a": 4 edge votes "b" + 4 corners x 1/4 "a" -> 0. Corner "a": 2 edges "b",
    # the centre and 2 x 1 of the far corners "a" -> 1. Edge "b": 2 corners + centre "a", 2 edges "b" -> 0.
    cells = np.array([(r, c) for r in range(3) for c in range(3)])
    labels = np.array(["a", "b", "a", "b", "a", "b", "a", "b", "a"])
    assert np.isclose(knn_label_accuracy(cells, labels, k=5), 4 / 9)
    # A row "a a b", k=2: both "a"s see one "a" and one "b" (a tie: half a credit); "b" sees two "a"s.
    row = np.array([(0, 0), (0, 1), (0, 2)])
    assert np.isclose(knn_label_accuracy(row, ["a", "a", "b"], k=2), (0.5 + 0.5 + 0.0) / 3)
    # Queried images alone are averaged, each against every cell: the corners score 1, the edges 0.
    assert knn_label_accuracy(cells, labels, k=5, queries=np.array([0, 2, 6, 8])) == 1.0
    assert knn_label_accuracy(cells, labels, k=5, queries=np.array([1, 3])) == 0.0
    everyone = knn_label_accuracy(cells, labels, k=5, queries=np.arange(9))
    assert everyone == knn_label_accuracy(cells, labels, k=5)


def test_neighbour_share_counts_surrounding_cells_among_the_nearest_features() -> None:
    cells = cell_targets(100, 10, 10)
    assert (
        neighbour_share(cells.astype(float), cells) == 1.0
    )  # features = positions: all 8 around are nearest
    rng = np.random.default_rng(2)
    shuffled = neighbour_share(cells.astype(float), cells[rng.permutation(100)])
    assert shuffled < 0.2
    # A row with features 0, 1, 2.2, 10, 2.1 and k=1; nearest of each: 1, 0, 2.1, 2.2, 2.2. Beside them:
    # the first its nearest (1 of 1); the second and fourth one of their two neighbours' (1/2); the third
    # and fifth not theirs (0).
    row = np.array([(0, 0), (0, 1), (0, 2), (0, 3), (0, 4)])
    features = np.array([[0.0], [1.0], [2.2], [10.0], [2.1]])
    assert neighbour_share(features, row, k=1) == pytest.approx((1 + 0.5 + 0 + 0.5 + 0) / 5)


def test_layout_quality_samples_above_its_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    cells, _, features = labelled_grid()
    full = layout_quality(features, cells)
    assert full["images"] == full["dpq_images"] == full["neighbour_images"] == 400
    assert full["dpq16"] == pytest.approx(dpq(features, cells, p=16), abs=1e-4)
    assert full["neighbours"] == pytest.approx(neighbour_share(features, cells), abs=1e-4)
    monkeypatch.setattr(quality, "DPQ_MAX", 100)
    monkeypatch.setattr(quality, "NEIGHBOURS_MAX", 150)
    sampled = layout_quality(features, cells)
    assert (sampled["images"], sampled["dpq_images"], sampled["neighbour_images"]) == (400, 100, 150)
    assert sampled == layout_quality(features, cells)  # a fixed sample
    assert sampled["neighbours"] == pytest.approx(full["neighbours"], abs=0.1)


def test_the_neighbour_sample_keeps_the_work_flat_above_its_limit() -> None:
    assert [quality.neighbour_sample(n) for n in (400, 10_000, 20_000, 100_000, 1_000_000)] == [
        400,
        10_000,
        5_000,
        1_000,
        1_000,
    ]
