"""The 2-D reduction: every N works, small sets skip t-SNE, the perplexity is capped, runs are seeded."""

from __future__ import annotations

import numpy as np
import openTSNE
import pytest
from gridtsne.core.progress import ReduceProgress, reduce_phases
from gridtsne.core.reduce import REPORT_EVERY, ReduceParams, effective_perplexity, pca, reduce

QUICK = ReduceParams(perplexity=5, early_exaggeration_iter=50, n_iter=50, n_jobs=1)


def clusters(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (3, d))
    return centres[np.arange(n) % 3] + rng.normal(0, 1, (n, d))


def pairwise(x: np.ndarray) -> np.ndarray:
    return np.linalg.norm(x[:, None] - x[None], axis=-1)


@pytest.fixture
def no_tsne(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any use of t-SNE fail."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("t-SNE was used")

    monkeypatch.setattr(openTSNE, "TSNE", refuse)


def test_no_points_and_one_point(no_tsne: None) -> None:
    assert reduce(np.zeros((0, 8))).shape == (0, 2)
    assert reduce(np.ones((1, 8))).tolist() == [[0.0, 0.0]]


@pytest.mark.parametrize("n", [2, 3])
def test_two_or_three_points_are_placed_by_pca_alone(n: int, no_tsne: None) -> None:
    vectors = clusters(n)
    points = reduce(vectors, QUICK)
    assert points.shape == (n, 2) and points.dtype == np.float64
    # Two or three points lie in a plane: projecting on it keeps every distance.
    np.testing.assert_allclose(pairwise(points), pairwise(vectors), rtol=1e-4)


def test_four_points_run_tsne(no_tsne: None) -> None:
    with pytest.raises(AssertionError, match="t-SNE was used"):
        reduce(clusters(4), QUICK)


def test_four_points_and_more_give_finite_distinct_points() -> None:
    for n in (4, 30):
        points = reduce(clusters(n), QUICK)
        assert points.shape == (n, 2) and np.isfinite(points).all()
        assert len({tuple(p) for p in points.round(6)}) == n


def test_clusters_stay_apart() -> None:
    points = reduce(clusters(60), QUICK)
    labels = np.arange(60) % 3
    within = np.mean([pairwise(points[labels == k]).mean() for k in range(3)])
    assert within < 0.5 * pairwise(points).mean()


def test_perplexity_is_capped_for_small_sets() -> None:
    assert effective_perplexity(1000, 30) == 30
    assert effective_perplexity(31, 30) == 10  # 3 × perplexity must stay below n
    assert effective_perplexity(10, 30) == 3
    assert effective_perplexity(4, 30) == 1
    assert effective_perplexity(2, 30) == 1  # never below 1


def test_pca_projects_or_only_centres() -> None:
    vectors = clusters(60, d=16)
    assert pca(vectors, 5).shape == (60, 5)
    kept = pca(vectors, 50)  # more components than dimensions: every dimension, centred
    assert np.allclose(kept, vectors - vectors.mean(axis=0), atol=1e-5)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_vectors_are_refused(bad: float) -> None:
    vectors = clusters(10)
    vectors[3, 5] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        reduce(vectors, QUICK)


def test_vectors_must_be_a_matrix() -> None:
    with pytest.raises(ValueError, match="2-D array"):
        reduce(np.zeros(5), QUICK)


def test_the_seed_makes_runs_repeatable() -> None:
    vectors = clusters(40)
    first = reduce(vectors, QUICK)
    np.testing.assert_array_equal(reduce(vectors, QUICK), first)
    other = reduce(vectors, ReduceParams(**{**QUICK.describe(), "seed": 1}))
    assert not np.allclose(other, first)


def test_progress_counts_pca_affinities_then_every_iteration_up_to_the_total() -> None:
    seen: list[ReduceProgress] = []
    reduce(clusters(60), QUICK, progress=seen.append)
    phases = reduce_phases(QUICK.early_exaggeration_iter + QUICK.n_iter)
    total = sum(phases.values())
    assert {p.total for p in seen} == {total}
    assert [p.phase for p in seen[:3]] == ["pca", "affinities", "optimize"]
    assert [p.done for p in seen[:3]] == [0, phases["pca"], phases["pca"] + phases["affinities"]]
    # Every REPORT_EVERY iterations, counted on across openTSNE's two phases (exaggerated, then not).
    start = phases["pca"] + phases["affinities"]
    iterations = [p.done - start for p in seen if p.phase == "optimize"][1:]
    assert iterations == list(range(REPORT_EVERY, phases["optimize"] + 1, REPORT_EVERY))
    dones = [p.done for p in seen]
    assert dones == sorted(dones) and (seen[-1].done, seen[-1].phase) == (total, "done")


@pytest.mark.parametrize("n", [0, 1, 3])
def test_progress_ends_at_the_total_without_tsne(n: int, no_tsne: None) -> None:
    seen: list[ReduceProgress] = []
    reduce(clusters(n) if n else np.zeros((0, 16)), QUICK, progress=seen.append)
    assert seen[0].done == 0 and seen[-1].done == seen[-1].total and seen[-1].fraction == 1.0


@pytest.mark.parametrize("change", [{"exaggeration": 3.0}, {"dof": 0.5}])
def test_exaggeration_and_heavy_tails_reach_tsne(change: dict[str, float]) -> None:
    vectors = clusters(40)
    other = reduce(vectors, ReduceParams(**{**QUICK.describe(), **change}))
    assert not np.allclose(other, reduce(vectors, QUICK))
