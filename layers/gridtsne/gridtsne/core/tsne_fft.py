"""Exact-gradient t-SNE in PyTorch with FFT-interpolated repulsion, for a CUDA GPU (or the CPU).

The method is openTSNE's (FIt-SNE, Linderman et al., Nature Methods 2019), written for PyTorch so that
the same map can be made on a GPU:

- Affinities: each point's ``3 × perplexity`` exact nearest neighbours (:func:`knn`), Gaussian
  conditionals calibrated to the perplexity by bisection, symmetrised and normalised to sum to 1.
- Attraction: ``Σ_j p_ij q_ij (y_i − y_j)`` over those sparse pairs, with ``q_ij = 1 / (1 + ‖y_i − y_j‖²)``.
- Repulsion: ``Σ_j q_ij² (y_i − y_j) / Z`` with ``Z = Σ_{i≠j} q_ij`` over *all* pairs, in O(N) per
  iteration: the map's square is cut into equal boxes, each point's charges ``(1, y)`` are spread onto
  ``p`` equispaced nodes per box and axis by Lagrange interpolation, the node potentials are one discrete
  convolution with each kernel (``q`` and ``q²``) done by ``torch.fft`` on the zero-padded grid, and they
  are interpolated back to the points. The error is that of degree ``p − 1`` interpolation over a box:
  with openTSNE's 3 nodes, from about 1e-4 of the gradient (boxes well under a unit) to about 2 % (boxes
  of one unit), as openTSNE's own.
- Optimisation: openTSNE's gradient descent (momentum, per-coordinate gains, learning rate
  ``N / exaggeration``, steps clipped to ``max_step_norm``, the map re-centred each step), its PCA
  initialisation (standard deviation 1e-4, jittered) and the product's schedule
  (:class:`~gridtsne.core.reduce.ReduceParams`: early exaggeration, then ``exaggeration``).

The gradient is openTSNE's, ``attraction − repulsion`` (the exact KL gradient divided by 4); against the
exact gradient its error is openTSNE's own (tests/unit/test_tsne_fft.py). Only PyTorch is needed: any
PyTorch CUDA image runs it. Measured quality in :class:`FftSettings`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from gridtsne.core.progress import REPORT_EVERY

#: Called as ``progress(done, total)`` with optimisation iterations.
IterationProgress = Callable[[int, int], None]
#: Distance-matrix elements per block of the neighbour search, by device type.
BLOCK_ELEMENTS = {"cuda": 1 << 28, "cpu": 1 << 24}


@dataclass(frozen=True)
class FftSettings:
    """Settings of the optimisation beyond the schedule (openTSNE 1.0's defaults).

    With these and the product's schedule the maps score as openTSNE's, and above TorchDR's sampled
    ``InfoTSNE`` (:mod:`gridtsne.core.tsne_torchdr`). Measured on two shared CPU cores (``python -m
    benchmarks.gpu_tsne --backends opentsne,pytorch --seeds 0,1``, grid-snapped maps, mean of the two
    seeds; openTSNE's spread over seeds is about ±0.001–0.005 DPQ16 and ±0.005–0.010 10-NN), DPQ16 / 10-NN
    / seconds:

    - :mod:`benchmarks.labelled` (21,553 pictures, 20 labels): this 0.8482 / 0.8045 / 65 s, openTSNE
      0.8465 / 0.8016 / 12 s; TorchDR (``--backends torchdr``) 0.8378 / 0.7836 / 448 s (seed 1; seed 0
      took 41 min on the loaded machine);
    - ``--set synthetic --n 20000`` (100 labels in 50 dimensions): this 0.8374 / 0.9676 / 56 s,
      openTSNE 0.8303 / 0.9659 / 11 s.

    On the CPU it is about five times slower than openTSNE, which runs there; on a GPU each iteration is a
    few dense kernels: FFTs of a grid of at most a few thousand nodes a side, and gathers and scatters over
    the N · 3 · perplexity affinities.

    ``n_interpolation_points`` nodes per box and axis; the map's square is cut into
    ``max(min_num_intervals, side / ints_in_interval)`` boxes per axis, rounded up to a :func:`smooth`
    number.
    """

    early_exaggeration: float = 12.0
    momentum: float = 0.8
    max_step_norm: float | None = 5.0
    min_gain: float = 0.01
    n_interpolation_points: int = 3
    min_num_intervals: int = 50
    ints_in_interval: float = 1.0


@dataclass(frozen=True)
class Affinities:
    """The symmetric, normalised input affinities as (row, column, value) triples, both directions."""

    rows: torch.Tensor
    cols: torch.Tensor
    values: torch.Tensor


def device() -> str:
    """``cuda`` when PyTorch sees a CUDA device, else ``cpu``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def knn(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact ``k`` nearest other rows of ``x`` by squared Euclidean distance, a block of rows at a time.

    Returns
    -------
    tuple of torch.Tensor
        (N, k) squared distances, ascending, and the neighbours' row indices.
    """
    n = len(x)
    norms = (x * x).sum(dim=1)
    rows = max(1, BLOCK_ELEMENTS.get(x.device.type, BLOCK_ELEMENTS["cpu"]) // max(n, 1))
    distances = torch.empty((n, k), dtype=x.dtype, device=x.device)
    indices = torch.empty((n, k), dtype=torch.long, device=x.device)
    for first in range(0, n, rows):
        block = slice(first, min(n, first + rows))
        d = norms[block, None] + norms[None, :] - 2.0 * (x[block] @ x.T)
        own = torch.arange(block.start, block.stop, device=x.device)
        d[own - first, own] = float("inf")  # a point is not its own neighbour
        values, found = torch.topk(d, k, dim=1, largest=False)
        distances[block] = values.clamp_min_(0.0)
        indices[block] = found
    return distances, indices


def conditionals(d2: torch.Tensor, perplexity: float, *, steps: int = 64) -> torch.Tensor:
    """Each row's Gaussian conditional distribution over its neighbours at squared distances ``d2`` (N, k).

    Each row's precision is bisected until the distribution's entropy is ``log(perplexity)``.
    """
    d2 = (d2 - d2[:, :1]).double()  # shifted by each row's nearest: the same distribution, no underflow
    target = math.log(perplexity)
    beta = torch.ones(len(d2), 1, dtype=torch.float64, device=d2.device)
    low = torch.zeros_like(beta)
    high = torch.full_like(beta, math.inf)
    for _ in range(steps):
        p = torch.exp(-d2 * beta)
        total = p.sum(dim=1, keepdim=True)
        wide = total.log() + beta * (p * d2).sum(dim=1, keepdim=True) / total > target
        low = torch.where(wide, beta, low)  # too wide: raise the precision
        high = torch.where(wide, high, beta)
        beta = torch.where(torch.isinf(high), beta * 2.0, (low + high) / 2.0)
    p = torch.exp(-d2 * beta)
    return p / p.sum(dim=1, keepdim=True)


def affinities(x: torch.Tensor, perplexity: float) -> Affinities:
    """t-SNE's input affinities over the ``min(N − 1, 3 × perplexity)`` nearest neighbours of each row.

    The :func:`conditionals` are symmetrised and normalised, ``(P + Pᵀ) / 2N``.
    """
    n = len(x)
    k = min(n - 1, max(1, int(3 * perplexity)))
    d2, nbrs = knn(x, k)
    p = conditionals(d2, perplexity).to(x.dtype).reshape(-1) / (2.0 * n)
    rows = torch.arange(n, device=x.device).repeat_interleave(k)
    cols = nbrs.reshape(-1)
    pairs, where = torch.unique(torch.cat([rows * n + cols, cols * n + rows]), return_inverse=True)
    values = torch.zeros(len(pairs), dtype=p.dtype, device=x.device).index_add_(0, where, torch.cat([p, p]))
    return Affinities(pairs // n, pairs % n, values)


def attraction(y: torch.Tensor, p: Affinities, exaggeration: float = 1.0) -> torch.Tensor:
    """``exaggeration · Σ_j p_ij q_ij (y_i − y_j)`` for every point (N, 2)."""
    diff = y[p.rows] - y[p.cols]
    force = (p.values / (1.0 + (diff * diff).sum(dim=1)))[:, None] * diff
    return torch.zeros_like(y).index_add_(0, p.rows, force, alpha=exaggeration)


def _lagrange(u: torch.Tensor, points: int) -> torch.Tensor:
    """Weights (…, points) of the Lagrange basis on nodes ``(j + ½) / points`` at ``u`` in [0, 1]."""
    nodes = [(j + 0.5) / points for j in range(points)]
    weights = []
    for j, node in enumerate(nodes):
        w = torch.ones_like(u)
        for m, other in enumerate(nodes):
            if m != j:
                w = w * (u - other) / (node - other)
        weights.append(w)
    return torch.stack(weights, dim=-1)


def smooth(n: int) -> int:
    """The least integer at least ``n`` with no prime factor above 7: a length the FFT does fast."""
    while True:
        rest = n
        for prime in (2, 3, 5, 7):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return n
        n += 1


def repulsion(y: torch.Tensor, settings: FftSettings | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``Σ_j q_ij² (y_i − y_j) / Z`` for every point (N, 2) and ``Z = Σ_{i≠j} q_ij``, by interpolation.

    The charges are spread onto an ``m × m`` grid of equispaced nodes, ``m`` = boxes × nodes per box;
    the potentials at the nodes are one circular convolution on the ``2m × 2m`` zero-padded grid.
    """
    settings = settings or FftSettings()
    n, points = len(y), settings.n_interpolation_points
    low = y.min().detach()
    side = float((y.max() - low).clamp_min(1e-6))
    boxes = smooth(max(settings.min_num_intervals, math.ceil(side / settings.ints_in_interval)))
    box = side / boxes
    m = boxes * points
    where = (y - low) / box
    first = where.floor().clamp_(0, boxes - 1)
    weights = _lagrange(where - first, points)  # (N, 2, points)
    nodes = first.long()[:, :, None] * points + torch.arange(points, device=y.device)  # (N, 2, points)
    cells = (nodes[:, 0, :, None] * m + nodes[:, 1, None, :]).reshape(n, -1)  # (N, points²)
    spread = (weights[:, 0, :, None] * weights[:, 1, None, :]).reshape(n, -1)
    charges = torch.cat([torch.ones_like(y[:, :1]), y], dim=1).T  # (3, N): 1, x, y
    grid = torch.zeros(3, m * m, dtype=y.dtype, device=y.device)
    grid.index_add_(1, cells.reshape(-1), (charges[:, :, None] * spread).reshape(3, -1))
    offsets = torch.arange(2 * m, device=y.device, dtype=y.dtype)
    offsets = torch.where(offsets < m, offsets, offsets - 2 * m) * (box / points)
    q = 1.0 / (1.0 + offsets[:, None] ** 2 + offsets[None, :] ** 2)
    kernels = torch.fft.rfft2(torch.stack([q, q * q]))
    padded = torch.fft.rfft2(grid.reshape(3, m, m), s=(2 * m, 2 * m))
    potential = torch.cat(
        [
            torch.fft.irfft2(padded[:1] * kernels[0], s=(2 * m, 2 * m)),  # Σ q
            torch.fft.irfft2(padded * kernels[1], s=(2 * m, 2 * m)),  # Σ q², Σ q² x, Σ q² y
        ]
    )[:, :m, :m].reshape(4, m * m)
    phi = (potential[:, cells] * spread).sum(dim=2)  # (4, N)
    z = phi[0].sum() - n  # without the points' own q_ii = 1
    return (y * phi[1, :, None] - phi[2:].T) / z, z


def gradient(
    y: torch.Tensor, p: Affinities, exaggeration: float = 1.0, settings: FftSettings | None = None
) -> torch.Tensor:
    """openTSNE's t-SNE gradient at ``y``: attraction minus repulsion (the KL gradient / 4)."""
    return attraction(y, p, exaggeration) - repulsion(y, settings)[0]


def initial(x: torch.Tensor, seed: int) -> torch.Tensor:
    """The first two principal components of ``x``, scaled to standard deviation 1e-4, jittered."""
    centred = x - x.mean(dim=0)
    _, vectors = torch.linalg.eigh(centred.T.double() @ centred.double())
    y: torch.Tensor = centred @ vectors[:, [-1, -2]].to(x.dtype)
    y = y / y[:, 0].std() * 1e-4
    generator = torch.Generator(device="cpu").manual_seed(seed)
    jitter: torch.Tensor = torch.randn(y.shape, generator=generator, dtype=y.dtype).to(y.device)
    return y + jitter * 1e-6


def optimise(
    y: torch.Tensor,
    p: Affinities,
    schedule: list[tuple[int, float]],
    settings: FftSettings,
    progress: IterationProgress | None = None,
) -> torch.Tensor:
    """openTSNE's gradient descent through ``schedule``: (iterations, exaggeration) phases, in order."""
    total = sum(iterations for iterations, _ in schedule)
    update = torch.zeros_like(y)
    gains = torch.ones_like(y)
    done = 0
    for iterations, exaggeration in schedule:
        rate = len(y) / exaggeration
        for _ in range(iterations):
            grad = gradient(y, p, exaggeration, settings)
            flipped = torch.sign(update) != torch.sign(grad)
            gains = torch.where(flipped, gains + 0.2, gains * 0.8 + settings.min_gain)
            update = settings.momentum * update - rate * gains * grad
            if settings.max_step_norm is not None:
                norms = update.norm(dim=1, keepdim=True)
                update = update * (settings.max_step_norm / norms).clamp(max=1.0)
            y = y + update
            y = y - y.mean(dim=0)
            done += 1
            if progress is not None and (done % REPORT_EVERY == 0 or done == total):
                progress(done, total)
    return y


def run(
    reduced: np.ndarray,
    *,
    perplexity: float,
    seed: int,
    early_exaggeration_iter: int,
    n_iter: int,
    exaggeration: float | None = None,
    settings: FftSettings | None = None,
    progress: IterationProgress | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Embed ``reduced`` (N, d) vectors in 2-D, on the GPU when there is one.

    Parameters
    ----------
    reduced
        The PCA-reduced vectors.
    perplexity
        Effective perplexity (already capped for small N).
    seed
        Seed of the initial jitter.
    early_exaggeration_iter, n_iter, exaggeration
        The schedule: iterations with :attr:`FftSettings.early_exaggeration`, then with ``exaggeration``
        (None is 1).
    settings
        The optimisation's other settings (default :class:`FftSettings`).
    progress
        Called as ``progress(done, total)`` with iterations: at the start, every :data:`REPORT_EVERY`
        and at the end.

    Returns
    -------
    tuple
        (N, 2) float64 points and what ran, for ``layout.json``.
    """
    settings = settings or FftSettings()
    where = device()
    x = torch.from_numpy(np.ascontiguousarray(reduced, dtype=np.float32)).to(where)
    schedule = [
        (early_exaggeration_iter, max(settings.early_exaggeration, exaggeration or 1.0)),
        (n_iter, exaggeration or 1.0),
    ]
    p = affinities(x, perplexity)
    if progress is not None:
        progress(0, early_exaggeration_iter + n_iter)
    points = optimise(initial(x, seed), p, schedule, settings, progress)
    info: dict[str, Any] = {
        "backend": "pytorch",
        "method": "FFT-interpolated t-SNE",
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if where == "cuda" else "cpu",
        "neighbours": "exact, blocked PyTorch",
        **asdict(settings),
    }
    return points.double().cpu().numpy(), info
