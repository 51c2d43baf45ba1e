"""Assignment problems whose optimum is known, for the solver's tests and benchmarks.

:func:`brenier_instance` makes clustered, t-SNE-like clouds (Brenier): targets are the cells of a square
grid and ``points = ∇φ(targets)`` for the convex

    φ(x) = ε‖x‖²/2 + (1 − ε)·τ·log Σ_k exp((c_k·x − ‖c_k‖²/2 + b_k)/τ) + δ·τ·log Σ_m exp(...),

a quadratic plus log-sum-exp terms (each convex), whose gradient squeezes the Voronoi-like regions
of the sites c_k into dense clusters joined by thin bridges. For a convex φ the generating assignment
is optimal for squared distance (the gradient of a convex function is cyclically monotone); the points
are then scaled uniformly (which keeps that optimum).
"""

from __future__ import annotations

import numpy as np
from gridtsne.core.assign import cell_targets, grid_shape
from numpy.typing import NDArray

__all__ = ["brenier_instance", "total_cost"]


def _softmax_sites(
    x: NDArray[np.float64], sites: NDArray[np.float64], bias: NDArray[np.float64], tau: float
) -> NDArray[np.float64]:
    """∇ of τ·log Σ_k exp((c_k·x − ‖c_k‖²/2 + b_k)/τ): the softmax-weighted mean of the sites."""
    z = (x @ sites.T - 0.5 * np.einsum("ij,ij->i", sites, sites) + bias) / tau
    z -= z.max(axis=1, keepdims=True)
    w = np.exp(z)
    w /= w.sum(axis=1, keepdims=True)
    return np.asarray(w @ sites, dtype=np.float64)


def brenier_instance(
    n: int, seed: int = 0, *, clusters: int = 10, tau: float = 0.004, eps: float = 0.15
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """An assignment problem of ``n`` clustered points to ``n`` grid cells, with its optimum.

    Parameters
    ----------
    n
        Points and cells.
    seed
        Seed of the cluster sites and the shuffle.
    clusters, tau, eps
        Sites ``c_k``, softmax temperature τ and quadratic weight ε of φ (module docstring).

    Returns
    -------
    points, targets, idx
        ``points`` (n, 2); ``targets`` (n, 2), the cells as x=col, y=row (holes at the edge); ``idx``, the
        optimal assignment (``points[i]`` goes to ``targets[idx[i]]``).
    """
    rng = np.random.default_rng(seed)
    rows, cols = grid_shape(n)
    targets = cell_targets(n, rows, cols)[:, ::-1].astype(np.float64)
    scale = float(max(rows, cols))
    u = targets / scale
    sites = rng.random((clusters, 2))
    sub = rng.random((3 * clusters, 2))
    grad = eps * u + (1 - eps) * _softmax_sites(u, sites, rng.normal(0, 0.01, clusters), tau)
    grad += 0.1 * _softmax_sites(u, sub, rng.normal(0, 0.01, 3 * clusters), tau)
    lo = grad.min(axis=0)
    span = float((grad.max(axis=0) - lo).max())
    images = (grad - lo) / span * (targets.max(axis=0) - targets.min(axis=0)).max() + targets.min(axis=0)
    _check_monotone(u, (images - targets.min(axis=0)), rng)
    perm = rng.permutation(n)
    return images[perm], targets, np.asarray(perm, dtype=np.int64)


def _check_monotone(x: NDArray[np.float64], g: NDArray[np.float64], rng: np.random.Generator) -> None:
    """Convexity check: a gradient of a convex function is monotone, ⟨g(x)−g(y), x−y⟩ >= 0."""
    a, b = rng.integers(0, len(x), (2, min(200_000, len(x) * 4)))
    inner = np.einsum("ij,ij->i", g[a] - g[b], x[a] - x[b])
    if inner.min() < -1e-9 * float(np.abs(inner).max() + 1.0):
        raise AssertionError("instance map is not monotone: φ is not convex")


def total_cost(points: NDArray[np.float64], targets: NDArray[np.float64], idx: NDArray[np.int64]) -> float:
    """Σ‖points[i] − targets[idx[i]]‖²."""
    diff = points - targets[idx]
    return float(np.einsum("ij,ij->", diff, diff))
