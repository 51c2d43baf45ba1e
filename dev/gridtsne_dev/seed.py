"""The seed's method, the yardstick every quality and speed figure is compared against.

As first published: every picture resized whole to 224 × 224 and scaled to [-1, 1], embedded, PCA to 50,
openTSNE with its defaults (250 + 500 iterations) on all cores, then dense ``lapjv`` on the N × N
squared-distance matrix between the points and the grid's cells (both scaled to the unit square).
"""

from __future__ import annotations

import numpy as np
from gridtsne.core.assign import cell_targets, grid_shape
from gridtsne.core.reduce import ReduceParams
from PIL import Image

__all__ = ["SIDE", "dense_lapjv", "reduce_params", "tensor"]

#: The model input side the seed's method uses.
SIDE = 224


def tensor(image: Image.Image) -> np.ndarray:
    """The seed's model input for an RGB picture: resized whole to 224 × 224, (3, 224, 224) in [-1, 1]."""
    pixels = np.asarray(image.resize((SIDE, SIDE), Image.Resampling.BILINEAR), np.float32)
    return np.asarray((pixels / 127.5 - 1).transpose(2, 0, 1))


def reduce_params(seed: int) -> ReduceParams:
    """The seed's reduction: PCA to 50 and openTSNE's own schedule, seeded."""
    return ReduceParams(pca_dims=50, early_exaggeration_iter=250, n_iter=500, seed=seed)


def dense_lapjv(points: np.ndarray) -> np.ndarray:
    """The seed's assignment of (N, 2) points to a near-square grid: (N, 2) cells (row, col).

    ``lapjv`` (a development requirement) on the dense N × N matrix: cubic time, N² memory.
    """
    import lapjv

    rows, cols = grid_shape(len(points))
    cells = cell_targets(len(points), rows, cols)
    unit = (points - points.min(0)) / np.maximum(np.ptp(points, axis=0), 1e-12)
    targets = cells[:, ::-1] / np.maximum(1, np.array([cols - 1, rows - 1]))
    cost = ((unit[:, None, :] - targets[None, :, :]) ** 2).sum(-1)
    row_to_col, _, _ = lapjv.lapjv(cost)
    return np.asarray(cells[row_to_col], dtype=np.int64)
