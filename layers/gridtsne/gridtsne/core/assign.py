"""Snap 2-D points to the cells of a rows × cols grid.

The grid is near-square by default. When there are fewer images than cells, the empty cells (holes) are
left at the edges: the used rows are centred vertically and the last, partial row is centred
horizontally. Points are scaled into the box the used cells span, then matched to cells one-to-one so
that the total squared distance travelled is minimal (a linear assignment problem).
"""

from __future__ import annotations

import math

import numpy as np


def grid_shape(n: int, rows: int | None = None, cols: int | None = None) -> tuple[int, int]:
    """The (rows, cols) of a grid for ``n`` images: as given, one side given, or near-square.

    Raises
    ------
    ValueError
        When a side is not positive or the grid has fewer cells than images.
    """
    if n < 0:
        raise ValueError("n must be non-negative")
    if (rows is not None and rows < 1) or (cols is not None and cols < 1):
        raise ValueError("grid rows and cols must be positive")
    if rows is None and cols is None:
        cols = max(1, math.ceil(math.sqrt(n)))
        rows = max(1, math.ceil(n / cols))
    elif rows is None:
        assert cols is not None
        rows = max(1, math.ceil(n / cols))
    elif cols is None:
        cols = max(1, math.ceil(n / rows))
    if rows * cols < n:
        raise ValueError(f"a {rows}x{cols} grid has {rows * cols} cells, fewer than the {n} images")
    return rows, cols


def parse_grid(text: str) -> tuple[int | None, int | None]:
    """Parse ``RxC`` (either side may be empty for automatic), e.g. ``32x32``, ``10x``, ``x40``.

    Raises
    ------
    ValueError
        When ``text`` does not look like that.
    """
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2:
        raise ValueError(f"grid must look like RxC (e.g. 32x32), got {text!r}")
    try:
        rows, cols = (int(p) if p.strip() else None for p in parts)
    except ValueError:
        raise ValueError(f"grid must look like RxC (e.g. 32x32), got {text!r}") from None
    return rows, cols


def cell_targets(n: int, rows: int, cols: int) -> np.ndarray:
    """The ``n`` cells to fill, as an (n, 2) int array of (row, col), holes at the edges."""
    if n > rows * cols:
        raise ValueError(f"{n} images do not fit a {rows}x{cols} grid")
    if n == 0:
        return np.zeros((0, 2), dtype=np.int64)
    used_rows = math.ceil(n / cols)
    top = (rows - used_rows) // 2
    cells = [(top + r, c) for r in range(used_rows - 1) for c in range(cols)]
    last = n - len(cells)
    left = (cols - last) // 2
    cells += [(top + used_rows - 1, left + c) for c in range(last)]
    return np.asarray(cells, dtype=np.int64)


def fit_to_cells(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Scale ``points`` (x, y) per axis into the box spanned by ``cells`` (row, col), as (x=col, y=row)."""
    points = np.asarray(points, dtype=np.float64)
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    unit = (points - lo) / span
    cell_lo = cells[:, ::-1].min(axis=0).astype(np.float64)
    cell_hi = cells[:, ::-1].max(axis=0).astype(np.float64)
    return np.asarray(cell_lo + unit * (cell_hi - cell_lo))


def assign(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Match each point to one target, minimising the total squared distance.

    Exact for N <= ``lap.EXACT_MAX`` (512); above, multiscale with exact window refinement
    (:func:`gridtsne.core.lap.solve`: O(N) memory, within a fraction of a percent of the optimum on
    clustered t-SNE points).

    Parameters
    ----------
    points, targets
        Float arrays of shape (N, 2).

    Returns
    -------
    numpy.ndarray
        ``idx``, a permutation of ``range(N)``: ``idx[i]`` is the target of point ``i``.
    """
    from gridtsne.core import lap  # here: the solver needs SciPy, which only the assigning stage ships with

    return lap.solve(points, targets)


def snap(points: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Place ``points`` (N, 2) on a rows × cols grid; return their cells as an (N, 2) int array (row, col)."""
    cells = cell_targets(len(points), rows, cols)
    if len(points) == 0:
        return cells
    idx = assign(fit_to_cells(points, cells), cells[:, ::-1].astype(np.float64))
    return np.asarray(cells[idx], dtype=np.int64)


def total_cost(points: np.ndarray, targets: np.ndarray, idx: np.ndarray) -> float:
    """Σ‖points[i] − targets[idx[i]]‖², the objective :func:`assign` minimises."""
    diff = np.asarray(points, dtype=np.float64) - np.asarray(targets, dtype=np.float64)[idx]
    return float(np.einsum("ij,ij->", diff, diff))
