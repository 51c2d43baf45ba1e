"""t-SNE with TorchDR (PyTorch) on a CUDA GPU, for the big-set job.

TorchDR's exact ``TSNE`` computes every pairwise repulsion (O(N²) per iteration); its ``InfoTSNE``
(Damrich et al., 2022: t-SNE's attraction over the perplexity-calibrated neighbours, the repulsion
estimated from ``n_negatives`` random points per point) costs O(N) per iteration and is what runs here.
TorchDR's own neighbour search is either a dense N × N matrix (the PyTorch backend), FAISS or KeOps; the
search here is exact and block by block in PyTorch (:func:`gridtsne.core.tsne_fft.knn`), so memory stays
O(N · k) and nothing beyond PyTorch and TorchDR is needed.

Its maps score below openTSNE's, where :mod:`gridtsne.core.tsne_fft` matches them (figures in
:class:`TorchdrSettings`): it runs only when ``torchdr`` is asked for (:mod:`gridtsne.core.backends`), for
comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gridtsne.core.progress import REPORT_EVERY
from gridtsne.core.tsne_fft import IterationProgress, device, knn


@dataclass(frozen=True)
class TorchdrSettings:
    """TorchDR's settings beyond the shared ones (perplexity, seed).

    ``n_negatives`` random points per point estimate the repulsion: Damrich et al. show that with a few
    hundred the map approaches exact t-SNE. ``learning_rate`` None is openTSNE's rule, N / exaggeration
    (N / 12, then N; at least 200), four times TorchDR's own ``auto``. The schedule is TorchDR's own
    (250 iterations with exaggeration 12, then 750), longer than openTSNE's here
    (:class:`~gridtsne.core.reduce.ReduceParams`): the sampled repulsion needs it, and on a GPU it is cheap.
    Measured on :mod:`benchmarks.labelled` (``python -m benchmarks.gpu_tsne``, CPU, grid-snapped map),
    10-NN label accuracy: at 2,000 pictures openTSNE 0.692; TorchDR with its ``auto`` rate and openTSNE's
    375 iterations 0.630, openTSNE's rate 0.664, and this schedule 0.677. At 10,000 with these settings
    DPQ16 0.848 and 10-NN 0.754 against openTSNE's 0.866 and 0.771. At 21,553 with these settings
    (``python -m benchmarks.gpu_tsne --backends opentsne,pytorch,torchdr --seeds 0,1``, CPU, 448 s) DPQ16
    0.8378 and 10-NN 0.7836, against openTSNE's 0.8465 and 0.8016 and :mod:`gridtsne.core.tsne_fft`'s
    0.8482 and 0.8045: below openTSNE by more than its spread over seeds, so the GPU runs
    :mod:`~gridtsne.core.tsne_fft` and this stays for comparisons.
    """

    early_exaggeration_iter: int = 250
    n_iter: int = 750
    n_negatives: int = 300
    learning_rate: float | None = None


def _model(total: int, learning_rate: float | None, progress: IterationProgress | None, **kwargs: Any) -> Any:
    """TorchDR's ``InfoTSNE`` over the neighbours of :func:`knn`, calling ``progress`` as it goes."""
    import torchdr
    from torchdr.affinity import EntropicAffinity

    class BlockKnnAffinity(EntropicAffinity):  # type: ignore[misc]
        def _distance_matrix(
            self,
            X: torch.Tensor,  # noqa: N803 - TorchDR's name for it
            k: int | None = None,
            return_indices: bool = False,
        ) -> Any:
            if k is None:
                return super()._distance_matrix(X, k=k, return_indices=return_indices)
            distances, indices = knn(X if self.device == "auto" else X.to(self.device), int(k))
            return (distances, indices) if return_indices else distances

    class Tsne(torchdr.InfoTSNE):  # type: ignore[misc]
        def _set_learning_rate(self) -> None:
            if learning_rate is None:
                self.lr_ = max(self.n_samples_in_ / self.early_exaggeration_coeff_, 200.0)
            else:
                self.lr_ = learning_rate

        def on_training_step_end(self) -> Any:
            out = super().on_training_step_end()
            done = int(self.n_iter_) + 1
            if progress is not None and (done % REPORT_EVERY == 0 or done == total):
                progress(done, total)
            return out

    model = Tsne(max_iter=total, **kwargs)
    model.affinity_in = BlockKnnAffinity(
        perplexity=kwargs["perplexity"], device=kwargs["device"], backend=None, distributed=False
    )
    model.affinity_in._pre_processed = True
    return model


def run(
    reduced: np.ndarray,
    *,
    perplexity: float,
    seed: int,
    settings: TorchdrSettings | None = None,
    progress: IterationProgress | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Embed ``reduced`` (N, d) vectors in 2-D with TorchDR's ``InfoTSNE``.

    Parameters
    ----------
    reduced
        The PCA-reduced vectors.
    perplexity
        Effective perplexity (already capped for small N).
    seed
        TorchDR's ``random_state``.
    settings
        TorchDR's own settings (default :class:`TorchdrSettings`).
    progress
        Called as ``progress(done, total)`` with iterations: at the start, every :data:`REPORT_EVERY`
        and at the end.

    Returns
    -------
    tuple
        (N, 2) float64 points and what ran, for ``layout.json`` (backend, version, device, settings).
    """
    settings = settings or TorchdrSettings()
    where = device()
    total = settings.early_exaggeration_iter + settings.n_iter
    n = len(reduced)

    import torchdr

    model = _model(
        total,
        settings.learning_rate,
        progress,
        perplexity=perplexity,
        n_components=2,
        scheduler=None,
        early_exaggeration_coeff=12.0,
        early_exaggeration_iter=settings.early_exaggeration_iter,
        n_negatives=min(settings.n_negatives, max(1, n - 1)),
        init="pca",
        device=where,
        backend=None,
        random_state=seed,
        check_interval=total + 1,  # no convergence stop: the schedule is fixed, as openTSNE's
        distributed=False,
    )
    if progress is not None:
        progress(0, total)
    points = model.fit_transform(torch.from_numpy(np.ascontiguousarray(reduced, dtype=np.float32)))
    if isinstance(points, torch.Tensor):
        points = points.detach().cpu().numpy()
    info: dict[str, Any] = {
        "backend": "torchdr",
        "version": torchdr.__version__,
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if where == "cuda" else "cpu",
        "method": "InfoTSNE",
        "n_negatives": model.n_negatives,
        "early_exaggeration_iter": settings.early_exaggeration_iter,
        "n_iter": settings.n_iter,
        "learning_rate": settings.learning_rate or "n/exaggeration",
        "neighbours": "exact, blocked PyTorch",
    }
    return np.asarray(points, dtype=np.float64), info
