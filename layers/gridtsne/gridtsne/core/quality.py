"""How good an arrangement is.

- :func:`dpq`: Distance Preservation Quality DPQ_p (Barthel et al., Computer Graphics Forum 2023): how well
  grid distance preserves feature distance, 1.0 when the k nearest cells always hold the k nearest images.
- :func:`knn_label_accuracy`: the share of images whose k nearest grid neighbours vote for their own label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree


def dpq(features: np.ndarray, cells: np.ndarray, *, p: float = 16) -> float:
    """DPQ_p of images with ``features`` placed at grid ``cells``; holes do not count.

    Memory and time are O(N²): meant for N up to a few thousand.

    Parameters
    ----------
    features
        (N, D) feature vectors: use one fixed reference embedding to compare methods.
    cells
        (N, 2) grid positions (row, col).
    p
        The norm's exponent; 16 as in the paper.

    Returns
    -------
    float
        1.0 for perfect preservation (and for fewer than 3 images), lower otherwise.
    """
    x = np.asarray(features, dtype=np.float64)
    n = len(x)
    if n < 3:
        return 1.0
    sq = np.einsum("ij,ij->i", x, x)
    hd = np.sqrt(np.maximum(sq[:, None] - 2 * x @ x.T + sq[None, :], 0.0))
    np.fill_diagonal(hd, 0.0)
    pos = np.asarray(cells, dtype=np.float64)
    ld = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
    by_hd = np.sort(hd, axis=1)
    mean_d = by_hd[:, 1:].mean()
    order = np.lexsort((hd, ld), axis=1)
    by_grid = np.take_along_axis(hd, order, axis=1)
    gain_grid = _preservation_gain(by_grid, mean_d)
    gain_best = _preservation_gain(by_hd, mean_d)
    denominator = np.linalg.norm(gain_best, ord=p)
    return float(np.linalg.norm(gain_grid, ord=p) / denominator) if denominator > 0 else 1.0


def _preservation_gain(sorted_rows: np.ndarray, mean_d: float) -> np.ndarray:
    """ΔDP_k for k = 1..N-1 from rows of distances sorted by rank (self first)."""
    k = np.arange(1, sorted_rows.shape[1])
    mean_k = (np.cumsum(sorted_rows[:, 1:], axis=1) / k).mean(axis=0)
    return np.asarray(np.clip((mean_d - mean_k) / mean_d, 0.0, None))


def knn_label_accuracy(cells: np.ndarray, labels: Sequence[object] | np.ndarray, *, k: int = 10) -> float:
    """Share of images whose ``k`` nearest grid neighbours' majority label is their own label.

    Leave-one-out over grid neighbours, so it does not depend on file order.

    Parameters
    ----------
    cells
        (N, 2) grid positions.
    labels
        One label per image (compared as strings).
    k
        Neighbours that vote (at most N − 1).
    """
    pos = np.asarray(cells, dtype=np.float64)
    n = len(pos)
    if n < 2:
        return 1.0
    _, codes = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    k = min(k, n - 1)
    _, nearest = cKDTree(pos).query(pos, k=k + 1)
    neighbours = codes[np.asarray(nearest).reshape(n, -1)[:, 1:]]
    votes = np.apply_along_axis(np.bincount, 1, neighbours, minlength=codes.max() + 1)
    return float((votes.argmax(axis=1) == codes).mean())
