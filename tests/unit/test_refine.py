"""The refinement after the assignment: never worse, always a permutation of the cells, and it sorts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from gridtsne.core.assign import cell_targets, snap
from gridtsne.core.quality import dpq
from gridtsne.core.refine import RefineParams, local_energy, reduce_features, refine


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_refine_never_raises_the_energy_and_keeps_the_cells(seed: int) -> None:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(230, 12))
    cells = snap(features[:, :2], 16, 15)  # with holes
    out = refine(features, cells, RefineParams(dims=12))
    assert sorted(map(tuple, out)) == sorted(map(tuple, cells))  # the same cells, holes untouched
    x = reduce_features(features, 12)
    assert local_energy(x, out) < local_energy(x, cells)


def test_refine_sorts_a_locally_shuffled_smooth_grid() -> None:
    cells = cell_targets(144, 12, 12)
    features = cells.astype(float)  # features = position: the sorted grid is the best one
    rng = np.random.default_rng(3)
    shuffled = cells.copy()
    for _ in range(40):  # local disorder: swap random neighbours
        i = int(rng.integers(len(cells)))
        j = int(np.flatnonzero(np.abs(cells - cells[i]).sum(1) == 1)[0])
        shuffled[[i, j]] = shuffled[[j, i]]
    out = refine(features, shuffled, RefineParams(dims=2))
    assert dpq(features, out) > dpq(features, shuffled)
    assert local_energy(features, out) < local_energy(features, shuffled)


def test_no_sweeps_and_tiny_grids_are_left_alone() -> None:
    rng = np.random.default_rng(4)
    features = rng.normal(size=(50, 8))
    cells = snap(features[:, :2], 8, 8)
    assert np.array_equal(refine(features, cells, RefineParams(max_sweeps=0)), cells)
    assert np.array_equal(refine(features[:2], cells[:2]), cells[:2])
    assert RefineParams().describe() == {"radius": 1.5, "dims": 128, "max_sweeps": 6}


def test_reduced_features_keep_distances_of_low_rank_data() -> None:
    rng = np.random.default_rng(5)
    low = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 200))  # rank 6 in 200 dimensions
    x = reduce_features(low, 8)
    assert x.shape == (300, 8)

    def gaps(a: np.ndarray) -> np.ndarray:
        return np.linalg.norm(a[:100] - a[100:200], axis=1)

    assert np.allclose(gaps(x), gaps(low), rtol=1e-4)


def test_refine_gives_the_same_cells_for_any_workers_and_chunks() -> None:
    rng = np.random.default_rng(6)
    centres = rng.normal(size=(5, 24))
    features = centres[rng.integers(0, 5, 700)] + rng.normal(size=(700, 24))
    cells = snap(rng.normal(size=(700, 2)), 28, 27)  # with holes, and far from sorted
    params = RefineParams(dims=16, max_sweeps=3)
    one = refine(features, cells, params, workers=1)
    assert not np.array_equal(one, cells)  # it swapped
    for workers in (2, 3):
        assert np.array_equal(refine(features, cells, params, workers=workers), one)
    # One candidate per chunk, and a few: many chunks per phase, a short last one.
    for chunk in (1, 4 * 8 * 16 * 7):
        assert np.array_equal(refine(features, cells, params, workers=3, chunk=chunk), one)


def test_every_sweep_lowers_the_energy_or_stops() -> None:
    rng = np.random.default_rng(7)
    features = rng.normal(size=(400, 10))
    cells = snap(rng.normal(size=(400, 2)), 21, 20)
    x = reduce_features(features, 10)
    energies = [local_energy(x, cells)]
    for sweeps in range(1, 5):
        out = refine(features, cells, RefineParams(dims=10, max_sweeps=sweeps), workers=2, chunk=1000)
        energies.append(local_energy(x, out))
    assert all(later <= earlier for earlier, later in itertools.pairwise(energies))
    assert energies[-1] < energies[0]
