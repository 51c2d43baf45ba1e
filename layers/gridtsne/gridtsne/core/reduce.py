"""Map embedding vectors to 2-D: PCA to a few dozen dimensions, then t-SNE.

t-SNE is openTSNE on the CPU, or the same method in PyTorch on a CUDA GPU (:mod:`gridtsne.core.backends`
chooses at run time; :mod:`gridtsne.core.tsne_fft` runs it). Works for every N: one vector lands at the
origin, two or three skip t-SNE (PCA alone), and the perplexity is capped for small sets so that t-SNE
stays well defined.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gridtsne.core.backends import PYTORCH, TORCHDR, choose
from gridtsne.core.embed import cpu_count
from gridtsne.core.progress import REPORT_EVERY, PhasedProgress, ReduceCallback, reduce_phases

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
    schedule gains nothing measurable (−0.008 10-NN on the digits).

    The main phase runs with ``exaggeration`` 1.5 (openTSNE's parameter; None is 1): a little extra
    attraction tightens and separates the clusters, and the 10 nearest cells of an image then share its
    cluster more often. Against no exaggeration, same seeds: 10-NN label accuracy +0.006 on average (0 to
    +0.017 per set, lower on none), DPQ16 −0.004 (−0.009 on the digits), at the same time; with it the
    default gains +0.010 10-NN and +0.021 DPQ16 over the seed's method across the suite. 1.25 gains only
    on the stamps, 2 loses both measures on the digits; heavier tails (``dof`` 0.6, 0.8) gain nothing,
    perplexity 20 or 50 lose 10-NN on some sets.

    ``backend`` is ``auto``, ``opentsne``, ``pytorch`` or ``torchdr`` (:func:`gridtsne.core.backends.choose`);
    None reads ``GRIDTSNE_TSNE_BACKEND``. ``pytorch`` runs this schedule too; ``torchdr`` keeps its own.
    """

    pca_dims: int | None = 50
    perplexity: float = 30.0
    early_exaggeration_iter: int = 125
    n_iter: int = 250
    exaggeration: float | None = 1.5
    dof: float = 1.0
    seed: int = 0
    n_jobs: int | None = None
    negative_gradient_method: str = "auto"
    backend: str | None = None

    def describe(self) -> dict[str, Any]:
        """The settings as plain data, for ``layout.json``."""
        return asdict(self)


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


class _Iterations:
    """openTSNE's callback: each optimisation phase's iteration counts added up into one count."""

    def __init__(self, report: PhasedProgress, phase_lengths: list[int]) -> None:
        self.report = report
        self.phase_lengths = phase_lengths
        self.phase = -1

    def optimization_about_to_start(self) -> None:
        """openTSNE starts a phase of the schedule (early exaggeration, then the rest)."""
        self.phase += 1
        if self.phase == 0:  # the affinities and the initial positions are ready
            self.report.start("optimize")

    def __call__(self, iteration: int, error: float, embedding: np.ndarray) -> bool:
        self.report.advance(sum(self.phase_lengths[: max(0, self.phase)]) + iteration)
        return False  # go on


def reduce(
    vectors: np.ndarray, params: ReduceParams | None = None, *, progress: ReduceCallback | None = None
) -> np.ndarray:
    """Map (N, D) ``vectors`` to 2-D: the points of :func:`reduce_recorded`."""
    return reduce_recorded(vectors, params, progress=progress).points


def reduce_recorded(
    vectors: np.ndarray, params: ReduceParams | None = None, *, progress: ReduceCallback | None = None
) -> Reduced:
    """Map (N, D) ``vectors`` to 2-D and record how.

    Parameters
    ----------
    vectors
        One row per image.
    params
        Reduction settings (default :class:`ReduceParams`).
    progress
        Told how far the reduction is (:class:`~gridtsne.core.progress.ReduceProgress`): PCA, the
        affinities, then every ``REPORT_EVERY`` t-SNE iterations; the last report has ``done == total``.

    Returns
    -------
    Reduced
        (N, 2) float64 positions (the origin for one vector, PCA alone below ``MIN_TSNE_POINTS``, t-SNE
        above) and the method that made them.

    Raises
    ------
    ValueError
        When ``vectors`` is not a 2-D array or holds NaN or infinite values.
    gridtsne.core.backends.BackendUnavailableError
        When the backend asked for cannot run here.
    """
    params = params or ReduceParams()
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be a 2-D array (N, D), got shape {vectors.shape}")
    if not np.isfinite(vectors).all():
        raise ValueError("vectors contain NaN or infinite values")
    backend = choose(params.backend)
    schedule = [params.early_exaggeration_iter, params.n_iter]
    report = PhasedProgress(progress, reduce_phases(sum(schedule)))
    report.start("pca")
    reduced = _reduce(vectors, params, backend, report, schedule)
    report.finish()
    return reduced


def _reduce(
    vectors: np.ndarray, params: ReduceParams, backend: str, report: PhasedProgress, schedule: list[int]
) -> Reduced:
    n = len(vectors)
    if n <= 1:
        return Reduced(np.zeros((n, 2)), {"backend": "none"})
    if n < MIN_TSNE_POINTS:
        out = np.zeros((n, 2))
        flat = pca(vectors, 2, params.seed)
        out[:, : flat.shape[1]] = flat[:, :2]
        return Reduced(out, {"backend": "pca"})
    reduced = pca(vectors, params.pca_dims or vectors.shape[1], params.seed)
    report.start("affinities")
    perplexity = effective_perplexity(n, params.perplexity)
    if backend == PYTORCH:
        if params.dof != 1.0:
            raise ValueError(f"the {PYTORCH} t-SNE has Cauchy tails only (dof 1), not dof {params.dof}")
        from gridtsne.core import tsne_fft  # here: only the GPU job has PyTorch

        points, method = tsne_fft.run(
            reduced,
            perplexity=perplexity,
            seed=params.seed,
            early_exaggeration_iter=params.early_exaggeration_iter,
            n_iter=params.n_iter,
            exaggeration=params.exaggeration,
            progress=lambda done, total: report.advance(done) if done else report.start("optimize"),
        )
        return Reduced(points, method)
    if backend == TORCHDR:
        from gridtsne.core import tsne_torchdr  # here: only the GPU job has PyTorch

        # TorchDR keeps its own, longer schedule (tsne_torchdr.TorchdrSettings): its iterations are scaled
        # onto the optimisation phase of the reported steps.
        def iterations(done: int, total: int) -> None:
            if done == 0:
                report.start("optimize")
            report.advance(sum(schedule) * done // max(1, total))

        points, method = tsne_torchdr.run(
            reduced, perplexity=perplexity, seed=params.seed, progress=iterations
        )
        return Reduced(points, method)
    return _opentsne(reduced, params, perplexity, report, schedule)


def _opentsne(
    reduced: np.ndarray, params: ReduceParams, perplexity: float, report: PhasedProgress, schedule: list[int]
) -> Reduced:
    import openTSNE  # here, not at the top: Lambdas that never reduce skip openTSNE

    n_jobs = params.n_jobs or cpu_count()
    tsne = openTSNE.TSNE(
        n_components=2,
        perplexity=perplexity,
        early_exaggeration_iter=params.early_exaggeration_iter,
        n_iter=params.n_iter,
        exaggeration=params.exaggeration,
        dof=params.dof,
        initialization="pca",
        negative_gradient_method=params.negative_gradient_method,
        n_jobs=n_jobs,
        random_state=params.seed,
        verbose=False,
        callbacks=_Iterations(report, schedule),
        callbacks_every_iters=REPORT_EVERY,
    )
    points = np.asarray(tsne.fit(reduced), dtype=np.float64)
    method = {
        "backend": "opentsne",
        "version": openTSNE.__version__,
        "negative_gradient_method": params.negative_gradient_method,
        "n_jobs": n_jobs,
    }
    return Reduced(points, method)
