"""TorchDR's t-SNE, kept for comparisons: it maps clusters apart and reports its iterations (run where
TorchDR is installed)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gridtsne.core import tsne_torchdr  # noqa: E402 - needs PyTorch


def test_torchdr_maps_clusters_apart_and_reports_iterations() -> None:
    pytest.importorskip("torchdr")
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 20, (3, 10))
    labels = np.arange(150) % 3
    vectors = (centres[labels] + rng.normal(0, 1, (150, 10))).astype(np.float32)
    done: list[tuple[int, int]] = []
    points, method = tsne_torchdr.run(
        vectors,
        perplexity=10,
        seed=0,
        settings=tsne_torchdr.TorchdrSettings(early_exaggeration_iter=50, n_iter=50),
        progress=lambda d, t: done.append((d, t)),
    )
    assert points.shape == (150, 2) and np.isfinite(points).all()
    means = np.stack([points[labels == c].mean(0) for c in range(3)])
    spread = max(points[labels == c].std(0).max() for c in range(3))
    gaps = [np.linalg.norm(means[a] - means[b]) for a in range(3) for b in range(a + 1, 3)]
    assert min(gaps) > 2 * spread
    assert done[0] == (0, 100) and done[-1] == (100, 100) and len(done) == 5
    assert method["backend"] == "torchdr" and method["method"] == "InfoTSNE" and method["version"]
    assert (method["early_exaggeration_iter"], method["n_iter"]) == (50, 50)


def test_the_reduction_runs_torchdr_when_asked_and_reports_its_phases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("torchdr")
    from gridtsne.core.progress import ReduceProgress
    from gridtsne.core.reduce import ReduceParams, reduce_recorded

    short = tsne_torchdr.TorchdrSettings(early_exaggeration_iter=25, n_iter=50)
    monkeypatch.setattr(tsne_torchdr, "TorchdrSettings", lambda: short)
    vectors = np.random.default_rng(1).normal(size=(80, 12)).astype(np.float32)
    seen: list[ReduceProgress] = []
    reduced = reduce_recorded(vectors, ReduceParams(backend="torchdr"), progress=seen.append)
    assert reduced.points.shape == (80, 2) and reduced.method["backend"] == "torchdr"
    assert [p.phase for p in seen[:3]] == ["pca", "affinities", "optimize"]
    dones = [p.done for p in seen]
    assert dones == sorted(dones) and seen[-1].done == seen[-1].total
    assert len({p.done for p in seen if p.phase == "optimize"}) >= 3  # the iterations move the count
