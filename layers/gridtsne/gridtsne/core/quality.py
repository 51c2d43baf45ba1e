"""How good an arrangement is.

- :func:`dpq`: Distance Preservation Quality DPQ_p (Barthel et al., Computer Graphics Forum 2023): how well
  grid distance preserves feature distance, 1.0 when the k nearest cells always hold the k nearest images.
- :func:`neighbour_share`: the share of each image's surrounding cells that hold one of its nearest
  images in feature space.
- :func:`knn_label_accuracy`: how often an image's nearest cells vote for its own label (benchmarks and
  tests, where labels are known).
- :func:`layout_quality`: the ``quality`` block of ``layout.json`` (the first two, affordable at any N).

None of them depends on the order of the inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Up to this many images DPQ (O(N²) time and memory) is computed on all of them; above, on a fixed
#: random sample of this many (about 5 s and 1 GB at 4,000).
DPQ_MAX = 4_000
#: Up to this many images every image's neighbour share counts; above, a fixed random sample's.
NEIGHBOURS_MAX = 10_000
#: Above :data:`NEIGHBOURS_MAX` images the sample shrinks so that its work (every sampled image's distance to
#: every image) stays at this many distances, as at the limit (its time stops growing with N)...
NEIGHBOURS_PAIRS = NEIGHBOURS_MAX**2
#: ...down to this many sampled images (the mean's standard error is then about 0.01).
NEIGHBOURS_MIN = 1_000
#: Cells around an image (its 8 surrounding cells) and nearest images in feature space compared.
NEIGHBOURS_K = 8
#: Seed of the samples above the limits.
SAMPLE_SEED = 0


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


def knn_label_accuracy(
    cells: np.ndarray,
    labels: Sequence[object] | np.ndarray,
    *,
    k: int = 10,
    queries: np.ndarray | None = None,
) -> float:
    """Mean leave-one-out vote of each image's ``k`` nearest cells for its own label.

    On a grid the k-th nearest cell is usually one of several at the same distance; breaking that tie by
    index (file order) would make the score depend on the order of the inputs. Here the cells closer
    than the k-th nearest distance vote 1 each and the whole ring at that distance shares the remaining
    votes equally; an image whose label ties with m − 1 others for the most votes gets 1/m.

    Parameters
    ----------
    cells
        (N, 2) distinct grid positions (row, col).
    labels
        The N labels (compared as strings).
    k
        Votes per image (at most N − 1).
    queries
        Indices of the images whose credits are averaged (default: all); their nearest cells are
        searched among all images.

    Returns
    -------
    float
        The mean credit: 1 when an image's label alone gets the most votes, 1/m on an m-way tie, 0
        otherwise. O(N) memory per queried image, in blocks of at most 16 M cell pairs.
    """
    pos = np.asarray(cells, dtype=np.int64)
    n = len(pos)
    if n < 2:
        return 1.0
    _, codes = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    k = min(k, n - 1)
    onehot = np.zeros((n, int(codes.max()) + 1))
    onehot[np.arange(n), codes] = 1.0
    query = np.arange(n) if queries is None else np.asarray(queries, dtype=np.int64)
    chunk = max(1, 2**24 // n)
    credits: list[np.ndarray] = []
    for start in range(0, len(query), chunk):
        rows = query[start : start + chunk]
        diff = pos[rows, None, :] - pos[None, :, :]
        dist = np.einsum("ijk,ijk->ij", diff, diff)
        dist[np.arange(len(rows)), rows] = np.iinfo(np.int64).max
        kth = np.partition(dist, k - 1, axis=1)[:, k - 1 : k]
        inside = dist < kth
        ring = dist == kth
        share = (k - inside.sum(axis=1)) / ring.sum(axis=1)
        votes = (inside + ring * share[:, None]) @ onehot
        winners = votes >= votes.max(axis=1, keepdims=True) - 1e-9
        credits.append(winners[np.arange(len(rows)), codes[rows]] / winners.sum(axis=1))
    return float(np.concatenate(credits).mean())


def neighbour_share(
    features: np.ndarray, cells: np.ndarray, *, k: int = NEIGHBOURS_K, queries: np.ndarray | None = None
) -> float:
    """Mean share of an image's occupied surrounding cells that hold one of its ``k`` nearest images.

    For image i, G(i) is the images in the 8 cells around its cell (fewer at edges and holes) and F(i)
    its ``k`` nearest other images by Euclidean distance of ``features`` (all images tied with the k-th
    included); its share is |G(i) ∩ F(i)| / |G(i)|. 1.0 when every grid neighbour is a feature
    neighbour; about k/N for a random arrangement.

    Parameters
    ----------
    features
        (N, D) feature vectors.
    cells
        (N, 2) distinct grid positions (row, col).
    k
        Nearest images in feature space that count.
    queries
        Indices of the images whose shares are averaged (default: all); their feature neighbours are
        searched among all images.

    Returns
    -------
    float
        The mean over the queried images with at least one grid neighbour (1.0 when there is none).
    """
    x = np.asarray(features, dtype=np.float32)  # no float64 copy: N may be a million
    pos = np.asarray(cells, dtype=np.int64)
    n = len(x)
    if n < 2:
        return 1.0
    k = min(k, n - 1)
    index = np.full((int(pos[:, 0].max()) + 3, int(pos[:, 1].max()) + 3), -1, dtype=np.int64)
    index[pos[:, 0] + 1, pos[:, 1] + 1] = np.arange(n)
    around = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]
    query = np.arange(n) if queries is None else np.asarray(queries, dtype=np.int64)
    sq = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    chunk = max(1, min(1024, 2**25 // n))  # queries per block: at most 32 M distances (256 MB)
    shares: list[np.ndarray] = []
    for start in range(0, len(query), chunk):
        rows = query[start : start + chunk]
        d2 = sq[rows, None] - 2 * (x[rows] @ x.T).astype(np.float64) + sq[None, :]
        d2[np.arange(len(rows)), rows] = np.inf
        kth = np.partition(d2, k - 1, axis=1)[:, k - 1 : k]
        grid = np.stack([index[pos[rows, 0] + 1 + dr, pos[rows, 1] + 1 + dc] for dr, dc in around], axis=1)
        occupied = grid >= 0
        near = np.take_along_axis(d2, np.where(occupied, grid, 0), axis=1) <= kth
        hits, counts = (near & occupied).sum(axis=1), occupied.sum(axis=1)
        shares.append((hits / np.maximum(counts, 1))[counts > 0])
    values = np.concatenate(shares)
    return float(values.mean()) if len(values) else 1.0


def neighbour_sample(n: int) -> int:
    """How many of ``n`` images the layout's neighbour share averages over: all up to
    :data:`NEIGHBOURS_MAX`, then fewer, so the work stays near :data:`NEIGHBOURS_PAIRS` distances, but at
    least :data:`NEIGHBOURS_MIN` (at 100,000 images: 1,000)."""
    return min(n, NEIGHBOURS_MAX, max(NEIGHBOURS_MIN, NEIGHBOURS_PAIRS // max(n, 1)))


def layout_quality(features: np.ndarray, cells: np.ndarray) -> dict[str, Any]:
    """The ``quality`` block of ``layout.json``: DPQ16 and the neighbour share in ``features``' space.

    Parameters
    ----------
    features
        (N, D) vectors of the placed images: the embedding the layout was made from.
    cells
        (N, 2) their grid cells.

    Returns
    -------
    dict
        ``dpq16`` (:func:`dpq`, p = 16) over ``dpq_images`` images (all up to :data:`DPQ_MAX`, else a
        fixed random sample); ``neighbours`` (:func:`neighbour_share`, ``k`` = 8 nearest in feature space
        against the 8 surrounding cells) averaged over ``neighbour_images`` images (all up to
        :data:`NEIGHBOURS_MAX`, else a fixed random sample of :func:`neighbour_sample` images); ``images``:
        N. Rounded to 4 decimals.
    """
    x = np.asarray(features, dtype=np.float32)
    pos = np.asarray(cells, dtype=np.int64)
    n = len(x)
    rng = np.random.default_rng(SAMPLE_SEED)
    picks = np.sort(rng.choice(n, DPQ_MAX, replace=False)) if n > DPQ_MAX else np.arange(n)
    sample = neighbour_sample(n)
    queries = np.sort(rng.choice(n, sample, replace=False)) if sample < n else None
    return {
        "dpq16": round(dpq(x[picks], pos[picks], p=16), 4),
        "neighbours": round(neighbour_share(x, pos, queries=queries), 4),
        "k": NEIGHBOURS_K,
        "images": n,
        "dpq_images": len(picks),
        "neighbour_images": sample,
    }
