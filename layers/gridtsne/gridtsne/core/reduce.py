"""Map embedding vectors to 2-D: PCA to a few dozen dimensions, then t-SNE.

t-SNE is openTSNE on the CPU, or TorchDR on a CUDA GPU (:mod:`gridtsne.core.backends` chooses at run
time; :mod:`gridtsne.core.tsne_torchdr` runs it). Works for every N: one vector lands at the origin, two
or three skip t-SNE (PCA alone), and the perplexity is capped for small sets so that t-SNE stays well
defined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gridtsne.core.backends import TORCHDR, choose
from gridtsne.core.embed import cpu_count

#: Below this many points t-SNE is skipped: PCA alone places them.
MIN_TSNE_POINTS = 4


@dataclass(frozen=True)
class ReduceParams:
    """Settings of the 2-D reduction.

    The iteration schedule is half of openTSNE's default (250 + 500) and the vectors go down to 50
    principal components first (None keeps every dimension). Measured on six labelled collections with
    the refinement after the assignment (``python -m benchmarks.quality``): PCA to 50 keeps DPQ16 within
    0.005 of keeping all 1,280 dimensions (suite mean 0.913 against 0.915) and gains 10-nearest-cell label
    accuracy (0.784 against 0.778, +0.022 on the cut-out stamps), for a cheaper neighbour search; the full
    schedule gains nothing measurable.

    ``backend`` is ``auto``, ``opentsne`` or ``torchdr`` (:func:`gridtsne.core.backends.choose`); None
    reads ``GRIDTSNE_TSNE_BACKEND``.
    """

    pca_dims: int | None = 50
    perplexity: float = 30.0
    early_exaggeration_iter: int = 125
    n_iter: int = 250
    seed: int = 0
    n_jobs: int | None = None
    negative_gradient_method: str = "auto"
    backend: str | None = None

    def describe(self) -> dict[str, Any]:
        """The settings as plain data, for ``layout.json``."""
        return asdict(self)


#: Called as ``progress(done, total)`` with t-SNE iterations.
IterationProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class Reduced:
    """A 2-D map and what made it (``backend``, its version and settings), for ``layout.json``."""

    points: np.ndarray
    method: dict[str, Any]


def effective_perplexity(n: int, perplexity: float) -> float:
    """``perplexity`` capped so that 3 × perplexity < n, as t-SNE's neighbourhoods need."""
    return float(max(1.0, min(perplexity, (n - 1) / 3)))


def pca(vectors: np.ndarray, dims: int, seed: int = 0) -> np.ndarray:
    """Project ``vectors`` on their first ``dims`` principal components (fewer when N or D is smaller).

    When that keeps every dimension, the vectors are only centred.
    """
    n, d = vectors.shape
    k = min(dims, n, d)
    if k >= d:
        return np.asarray(vectors - vectors.mean(axis=0), dtype=np.float32)
    from sklearn.decomposition import PCA  # here, not at the top: Lambdas that never reduce skip SciPy

    model = PCA(n_components=k, svd_solver="auto", random_state=seed)
    return np.asarray(model.fit_transform(vectors), dtype=np.float32)


def reduce(
    vectors: np.ndarray, params: ReduceParams | None = None, progress: IterationProgress | None = None
) -> np.ndarray:
    """Map (N, D) ``vectors`` to 2-D: the points of :func:`reduce_recorded`."""
    return reduce_recorded(vectors, params, progress).points


def reduce_recorded(
    vectors: np.ndarray, params: ReduceParams | None = None, progress: IterationProgress | None = None
) -> Reduced:
    """Map (N, D) ``vectors`` to 2-D and record how.

    Parameters
    ----------
    vectors
        One row per image.
    params
        Reduction settings (default :class:`ReduceParams`).
    progress
        Called as ``progress(done, total)`` with t-SNE iterations: by TorchDR every few dozen
        iterations, by openTSNE at the start and the end.

    Returns
    -------
    Reduced
        (N, 2) float64 positions (the origin for one vector, PCA alone below ``MIN_TSNE_POINTS``, t-SNE
        above) and the method: ``{"backend": "opentsne" | "torchdr" | "pca" | "none", ...}``.

    Raises
    ------
    ValueError
        When ``vectors`` is not a 2-D array or holds NaN or infinite values, or the backend is unknown.
    gridtsne.core.backends.BackendUnavailableError
        When the ``torchdr`` backend is asked for and cannot run.
    """
    params = params or ReduceParams()
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be a 2-D array (N, D), got shape {vectors.shape}")
    if not np.isfinite(vectors).all():
        raise ValueError("vectors contain NaN or infinite values")
    backend = choose(params.backend)
    n = len(vectors)
    if n <= 1:
        return Reduced(np.zeros((n, 2)), {"backend": "none"})
    if n < MIN_TSNE_POINTS:
        out = np.zeros((n, 2))
        flat = pca(vectors, 2, params.seed)
        out[:, : flat.shape[1]] = flat[:, :2]
        return Reduced(out, {"backend": "pca"})
    reduced = pca(vectors, params.pca_dims or vectors.shape[1], params.seed)
    perplexity = effective_perplexity(n, params.perplexity)
    if backend == TORCHDR:
        from gridtsne.core import tsne_torchdr  # here: only the GPU job has PyTorch

        # TorchDR keeps its own, longer schedule (tsne_torchdr.TorchdrSettings); the rest is shared.
        points, method = tsne_torchdr.run(reduced, perplexity=perplexity, seed=params.seed, progress=progress)
        return Reduced(points, method)
    return _opentsne(reduced, params, perplexity, progress)


def _opentsne(
    reduced: np.ndarray, params: ReduceParams, perplexity: float, progress: IterationProgress | None
) -> Reduced:
    import openTSNE  # here, not at the top: Lambdas that never reduce skip openTSNE

    total = params.early_exaggeration_iter + params.n_iter
    n_jobs = params.n_jobs or cpu_count()
    tsne = openTSNE.TSNE(
        n_components=2,
        perplexity=perplexity,
        early_exaggeration_iter=params.early_exaggeration_iter,
        n_iter=params.n_iter,
        initialization="pca",
        negative_gradient_method=params.negative_gradient_method,
        n_jobs=n_jobs,
        random_state=params.seed,
        verbose=False,
    )
    if progress is not None:
        progress(0, total)
    points = np.asarray(tsne.fit(reduced), dtype=np.float64)
    if progress is not None:
        progress(total, total)
    method = {
        "backend": "opentsne",
        "version": openTSNE.__version__,
        "negative_gradient_method": params.negative_gradient_method,
        "n_jobs": n_jobs,
    }
    return Reduced(points, method)
