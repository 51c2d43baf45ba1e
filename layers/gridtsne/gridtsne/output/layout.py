"""The ``layout.json`` contract: where every input went.

``{"version": 1, "grid": {"rows", "cols", "tile"}, "images": [{"key", "row", "col", "x", "y"}],
"skipped": [{"key", "reason"}], "duplicates": [{"key", "same_as"}], "timings": {stage: seconds},
"model": {...}, "params": {...}, "quality": {...}}``. Every input file appears exactly once (placed,
skipped or duplicate) and no two images share a cell. ``quality``
(:func:`gridtsne.core.quality.layout_quality`) measures the grid in the embedding it was made from:
``dpq16`` and ``neighbours``, the mean share of each image's 8 surrounding cells that hold one of its 8
nearest images in feature space, with how many images each was computed on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

VERSION = 1


@dataclass
class Layout:
    """A finished layout; :meth:`to_dict` gives the JSON contract.

    Attributes
    ----------
    rows, cols, tile
        The grid and its tile side in pixels.
    keys, cells, points
        The placed images: their keys, (N, 2) int (row, col) cells and (N, 2) t-SNE positions.
    skipped, duplicates
        ``{"key", "reason"}`` and ``{"key", "same_as"}`` of the inputs not placed.
    timings, model, params, quality
        Seconds per stage, the model's spec, the run's parameters and the grid's quality, as given.
    """

    rows: int
    cols: int
    tile: int
    keys: list[str]
    cells: np.ndarray
    points: np.ndarray
    skipped: list[dict[str, str]] = field(default_factory=list)
    duplicates: list[dict[str, str]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The layout as the JSON contract (plain, JSON-serialisable data)."""
        images = [
            {"key": key, "row": int(r), "col": int(c), "x": round(float(x), 4), "y": round(float(y), 4)}
            for key, (r, c), (x, y) in zip(self.keys, self.cells, self.points, strict=True)
        ]
        return {
            "version": VERSION,
            "grid": {"rows": self.rows, "cols": self.cols, "tile": self.tile},
            "images": images,
            "skipped": list(self.skipped),
            "duplicates": list(self.duplicates),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "model": self.model,
            "params": self.params,
            "quality": self.quality,
        }

    def to_json(self) -> str:
        """The layout as JSON text."""
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Layout:
        """Read a layout back from its JSON contract.

        Raises
        ------
        ValueError
            When ``data`` is not of this :data:`VERSION`.
        """
        if data.get("version") != VERSION:
            raise ValueError(f"unsupported layout version {data.get('version')!r}")
        images = data["images"]
        return cls(
            rows=int(data["grid"]["rows"]),
            cols=int(data["grid"]["cols"]),
            tile=int(data["grid"]["tile"]),
            keys=[im["key"] for im in images],
            cells=np.asarray([[im["row"], im["col"]] for im in images], dtype=np.int64).reshape(-1, 2),
            points=np.asarray([[im["x"], im["y"]] for im in images], dtype=np.float64).reshape(-1, 2),
            skipped=list(data.get("skipped", [])),
            duplicates=list(data.get("duplicates", [])),
            timings=dict(data.get("timings", {})),
            model=dict(data.get("model", {})),
            params=dict(data.get("params", {})),
            quality=dict(data.get("quality", {})),
        )


def quality_text(quality: dict[str, Any]) -> str:
    """A layout's ``quality`` block in words, e.g. ``DPQ16 0.912 · neighbours 61% (...)``."""
    k = quality["k"]
    sampled = min(quality["dpq_images"], quality["neighbour_images"]) < quality["images"]
    return (
        f"DPQ16 {quality['dpq16']:.3f} · neighbours {quality['neighbours']:.0%} (of the {k} cells around "
        f"each image, the share holding one of its {k} most similar images"
        + (", on a sample)" if sampled else ")")
    )


def check(layout: dict[str, Any], inputs: list[str] | None = None) -> None:
    """Check that ``layout`` keeps the contract.

    Parameters
    ----------
    layout
        The JSON contract, as plain data.
    inputs
        When given, every input key: each must appear exactly once, placed, skipped or duplicate.

    Raises
    ------
    ValueError
        When two images share a cell, an image lies outside the grid, a key appears more than once, or
        the keys are not exactly ``inputs``.
    """
    rows, cols = layout["grid"]["rows"], layout["grid"]["cols"]
    cells = [(im["row"], im["col"]) for im in layout["images"]]
    if len(set(cells)) != len(cells):
        raise ValueError("two images share a cell")
    if any(not (0 <= r < rows and 0 <= c < cols) for r, c in cells):
        raise ValueError("an image lies outside the grid")
    keys = (
        [im["key"] for im in layout["images"]]
        + [s["key"] for s in layout["skipped"]]
        + [d["key"] for d in layout["duplicates"]]
    )
    if len(set(keys)) != len(keys):
        raise ValueError("an input appears more than once")
    if inputs is not None and sorted(keys) != sorted(inputs):
        missing = sorted(set(inputs) - set(keys))[:5]
        extra = sorted(set(keys) - set(inputs))[:5]
        raise ValueError(f"layout does not cover the inputs (missing {missing}, unexpected {extra})")
