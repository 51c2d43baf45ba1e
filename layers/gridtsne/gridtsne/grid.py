"""The grid assignment on its own, a public entry point: ``from gridtsne.grid import assign``.

``assign(points, targets) -> idx``: ``points`` and ``targets`` are float arrays of shape (N, 2); ``idx[i]``
is the target of point ``i``, a permutation minimising the total squared distance. The implementation is
:mod:`gridtsne.core.assign` (grid shape, cells, snapping) over :mod:`gridtsne.core.lap` (the solver).
"""

from gridtsne.core.assign import assign, cell_targets, grid_shape, parse_grid, snap, total_cost

__all__ = ["assign", "cell_targets", "grid_shape", "parse_grid", "snap", "total_cost"]
