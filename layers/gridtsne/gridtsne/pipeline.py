"""The stages end to end: embed -> reduce -> assign -> render, over any :class:`~gridtsne.store.Store`.

The CLI runs :func:`run` on a folder; the Lambdas and the big-set job call the same stage functions one
at a time (:func:`embed_stage`, :func:`reduce_stage`, :func:`place`, :func:`render_outputs`). :func:`place`
is the one place where points become a :class:`~gridtsne.output.layout.Layout`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from gridtsne.core.assign import grid_shape, snap
from gridtsne.core.embed import Embedded, Embedder, auto_input_size, embed_sources
from gridtsne.core.images import Limits, probe_size
from gridtsne.core.inputs import Kind, kind_of, skip_reason
from gridtsne.core.model import load_spec
from gridtsne.core.reduce import ReduceParams, reduce
from gridtsne.output.layout import Layout
from gridtsne.output.render import MOSAIC_MAX_SIDE, encode, mosaic, parse_colour, scatter, shrink
from gridtsne.output.tiles import PyramidInfo, build_pyramid
from gridtsne.output.viewer import viewer_html
from gridtsne.store import ObjectInfo, Store

#: Called as ``progress(stage, done, total)``.
StageProgress = Callable[[str, int, int], None]

OUTPUTS = ("layout.json", "mosaic.jpg", "viewer.html", "scatter.png")
#: Folder of the deep-zoom tiles, next to the outputs, for grids too big for one mosaic picture.
TILES = "tiles/"


@dataclass(frozen=True)
class Params:
    """Everything a user can set for one visualization.

    Attributes
    ----------
    rows, cols
        Grid shape; None for automatic (near-square, or from the other side).
    tile
        Tile side in pixels.
    background
        Colour of empty cells (:func:`~gridtsne.output.render.parse_colour`).
    keep_duplicates
        Place identical files every time instead of once.
    model, input_size
        ONNX model file (default: the built-in one) and its input side (default: from the images' sizes).
    batch_size
        Images per model call.
    reduce, limits
        The 2-D reduction's settings and the per-file limits.
    """

    rows: int | None = None
    cols: int | None = None
    tile: int = 64
    background: str = "#000000"
    keep_duplicates: bool = False
    model: str | None = None
    input_size: int | None = None
    batch_size: int = 32
    reduce: ReduceParams = field(default_factory=ReduceParams)
    limits: Limits = field(default_factory=Limits)

    def describe(self) -> dict[str, Any]:
        """The parameters as plain data, for ``layout.json``."""
        return {
            "rows": self.rows,
            "cols": self.cols,
            "tile": self.tile,
            "background": self.background,
            "keep_duplicates": self.keep_duplicates,
            "input_size": self.input_size,
            **self.reduce.describe(),
        }


@dataclass
class Result:
    """A finished run: the layout, its thumbnails (rendering reads both) and the embedding vectors."""

    layout: Layout
    thumbnails: np.ndarray
    vectors: np.ndarray


class Timer:
    """Seconds per stage, in the order the stages ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the ``with`` block as stage ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


@dataclass
class Inputs:
    """A collection's files by :func:`~gridtsne.core.inputs.kind_of`: images, and files skipped by name."""

    images: list[ObjectInfo]
    skipped: list[dict[str, str]]

    @property
    def keys(self) -> list[str]:
        """The images' keys, in key order."""
        return [info.key for info in self.images]


def list_inputs(store: Store, prefix: str = "") -> Inputs:
    """The inputs under ``prefix``, classified by the one input rule (keys relative to ``prefix``).

    Parameters
    ----------
    store
        Where the collection lives.
    prefix
        The collection's root in ``store`` (``""`` for a folder, ``uploads/<name>/`` in the bucket).

    Returns
    -------
    Inputs
        The images and the files skipped by name, with their full keys; ignored files are left out.
    """
    images: list[ObjectInfo] = []
    skipped: list[dict[str, str]] = []
    for info in store.list(prefix):
        kind = kind_of(info.key[len(prefix) :])
        if kind is Kind.IMAGE:
            images.append(info)
        elif kind is Kind.SKIPPED:
            skipped.append({"key": info.key, "reason": skip_reason(info.key[len(prefix) :])})
    return Inputs(images, skipped)


def embed_stage(
    store: Store, keys: list[str], params: Params, progress: StageProgress | None = None
) -> tuple[Embedded, Embedder]:
    """Decode and embed ``keys`` from ``store``, keeping tile thumbnails.

    Without ``params.input_size`` the model's input side is chosen from a sample of the images' sizes
    (:func:`~gridtsne.core.embed.auto_input_size`).

    Returns
    -------
    tuple
        What was embedded (thumbnails of ``params.tile`` px included) and the model session used.
    """
    spec = load_spec(params.model)
    size = params.input_size or auto_input_size(_sample_short_sides(store, keys), spec)
    embedder = Embedder(spec, batch_size=params.batch_size, size=size)
    sources = [(key, _reader(store, key)) for key in keys]
    total = len(keys)
    embedded = embed_sources(
        sources,
        embedder,
        tile=params.tile,
        keep_duplicates=params.keep_duplicates,
        limits=params.limits,
        progress=(lambda done: progress("embed", done, total)) if progress else None,
    )
    return embedded, embedder


def reduce_stage(vectors: np.ndarray, params: Params) -> np.ndarray:
    """The 2-D map of the vectors."""
    return reduce(vectors, params.reduce)


def assign_stage(points: np.ndarray, params: Params) -> tuple[int, int, np.ndarray]:
    """The grid shape and every point's (row, col) cell."""
    rows, cols = grid_shape(len(points), params.rows, params.cols)
    return rows, cols, snap(points, rows, cols)


def place(
    keys: Sequence[str],
    points: np.ndarray,
    params: Params,
    *,
    skipped: Sequence[dict[str, str]] = (),
    duplicates: Sequence[dict[str, str]] = (),
    timings: Mapping[str, float] | None = None,
    model: Mapping[str, Any] | None = None,
    extra_params: Mapping[str, Any] | None = None,
) -> Layout:
    """Assign every point to a grid cell (the ``assign`` stage, timed) and build the layout.

    Parameters
    ----------
    keys
        The placed images, one per row of ``points``.
    points
        Their 2-D map (:func:`reduce_stage`).
    params
        The run's parameters (grid shape, tile); recorded in the layout with ``extra_params``.
    skipped, duplicates, timings, model
        The rest of the layout: inputs not placed, earlier stages' seconds, the embedding model's record.

    Returns
    -------
    Layout
        With ``timings["assign"]`` added.
    """
    start = time.perf_counter()
    rows, cols, cells = assign_stage(points, params)
    return Layout(
        rows=rows,
        cols=cols,
        tile=params.tile,
        keys=list(keys),
        cells=cells,
        points=points,
        skipped=list(skipped),
        duplicates=list(duplicates),
        timings={**(timings or {}), "assign": time.perf_counter() - start},
        model=dict(model or {}),
        params={**params.describe(), **(extra_params or {})},
    )


def render_outputs(
    layout: Layout,
    thumbnails: np.ndarray,
    *,
    background: str = "#000000",
    mosaic_url: str = "mosaic.jpg",
    original_urls: Mapping[str, str] | None = None,
    write_tiles: Callable[[str, bytes], None] | None = None,
    max_side: int = MOSAIC_MAX_SIDE,
) -> dict[str, bytes]:
    """The output files (``OUTPUTS``) as bytes, keyed by file name; records the render time in ``layout``.

    Parameters
    ----------
    layout
        The finished layout.
    thumbnails
        (N, t, t, 3) uint8 tiles, in the order of ``layout.keys``.
    background
        Colour of empty cells.
    mosaic_url
        How the viewer reaches ``mosaic.jpg``.
    original_urls
        ``key -> URL`` of the originals the viewer links.
    write_tiles
        ``(path, data)``: where a grid wider or taller than ``max_side`` pixels writes a deep-zoom tile
        pyramid at full resolution (``tiles/<level>/<col>_<row>.jpg``), which the viewer then shows.
    max_side
        Longest side of ``mosaic.jpg``; bigger grids get an overview of at most that size.
    """
    start = time.perf_counter()
    colour = parse_colour(background)
    tile = thumbnails.shape[1] if len(thumbnails) else layout.tile
    longest = max(layout.rows, layout.cols)
    pyramid = None
    overview = thumbnails
    if longest * tile > max_side:
        overview = shrink(thumbnails, max(1, max_side // longest))
        if write_tiles is not None:
            pyramid = _pyramid(layout, thumbnails, colour, write_tiles)
    picture = mosaic(overview, layout.cells, layout.rows, layout.cols, background=colour)
    pictures = {
        "mosaic.jpg": encode(picture, "JPEG"),
        "scatter.png": encode(scatter(layout.points, overview), "PNG"),
    }
    layout.timings["render"] = time.perf_counter() - start
    viewer = viewer_html(layout.to_dict(), mosaic_url, original_urls=original_urls, tiles=pyramid)
    return {**pictures, "viewer.html": viewer.encode(), "layout.json": layout.to_json().encode()}


def _pyramid(
    layout: Layout,
    thumbnails: np.ndarray,
    background: tuple[int, int, int],
    write: Callable[[str, bytes], None],
) -> PyramidInfo:
    """Write the full-resolution tile pyramid of the mosaic, cell by cell (never the whole picture)."""
    index = np.full((layout.rows, layout.cols), -1, dtype=np.int64)
    index[layout.cells[:, 0], layout.cells[:, 1]] = np.arange(len(layout.cells))

    def thumb_for_cell(row: int, col: int) -> Image.Image | None:
        i = int(index[row, col])
        return Image.fromarray(thumbnails[i]) if i >= 0 else None

    return build_pyramid(
        thumb_for_cell,
        layout.rows,
        layout.cols,
        thumbnails.shape[1],
        lambda path, data: write(TILES + path, data),
        url_prefix=TILES,
        background=background,
    )


def run(
    store: Store,
    params: Params | None = None,
    *,
    prefix: str = "",
    progress: StageProgress | None = None,
) -> Result:
    """Embed, reduce and assign every image under ``prefix``; return the layout and thumbnails.

    Parameters
    ----------
    store
        Where the images are.
    params
        The user's settings (default :class:`Params`).
    prefix
        The collection's root in ``store``; keys in the layout are relative to it.
    progress
        Called as ``progress(stage, done, total)``.

    Raises
    ------
    ValueError
        When no file under ``prefix`` is a usable image, or the grid asked for is too small.
    """
    params = params or Params()
    timer = Timer()
    inputs = list_inputs(store, prefix)
    keys, not_images = inputs.keys, inputs.skipped
    with timer.stage("embed"):
        embedded, embedder = embed_stage(store, keys, params, progress)
    if not embedded.keys:
        raise ValueError(f"no usable images among {len(keys) + len(not_images)} files")
    with timer.stage("reduce"):
        if progress:
            progress("reduce", 0, 1)
        points = reduce_stage(embedded.vectors, params)
        if progress:
            progress("reduce", 1, 1)
    if progress:
        progress("assign", 0, 1)
    layout = place(
        [_strip(k, prefix) for k in embedded.keys],
        points,
        params,
        skipped=[{**s, "key": _strip(s["key"], prefix)} for s in not_images + embedded.skipped],
        duplicates=[
            {"key": _strip(d["key"], prefix), "same_as": _strip(d["same_as"], prefix)}
            for d in embedded.duplicates
        ],
        timings=timer.seconds,
        model=embedder.describe(),
    )
    if progress:
        progress("assign", 1, 1)
    assert embedded.thumbnails is not None
    return Result(layout=layout, thumbnails=embedded.thumbnails, vectors=embedded.vectors)


def write_outputs(
    result: Result,
    out: Store,
    params: Params,
    *,
    prefix: str = "",
    original_urls: Mapping[str, str] | None = None,
    progress: StageProgress | None = None,
) -> dict[str, bytes]:
    """Render ``result`` and write the output files (and any tile pyramid) under ``prefix`` in ``out``.

    Returns
    -------
    dict
        The output files' bytes by name, as written.
    """
    if progress:
        progress("render", 0, 1)
    files = render_outputs(
        result.layout,
        result.thumbnails,
        background=params.background,
        original_urls=original_urls,
        write_tiles=lambda path, data: out.write(prefix + path, data),
    )
    for name, data in files.items():
        out.write(prefix + name, data)
    if progress:
        progress("render", 1, 1)
    return files


def _sample_short_sides(store: Store, keys: list[str], count: int = 64) -> list[int]:
    """Shorter sides of up to ``count`` images spread evenly over ``keys`` (headers only)."""
    picks = sorted({round(i * (len(keys) - 1) / max(1, count - 1)) for i in range(count)}) if keys else []
    sides = []
    for index in picks:
        try:
            size = probe_size(store.read(keys[index]))
        except (OSError, KeyError):
            size = None
        if size:
            sides.append(min(size))
    return sides


def _reader(store: Store, key: str) -> Callable[[], bytes]:
    return lambda: store.read(key)


def _strip(key: str, prefix: str) -> str:
    return key[len(prefix) :] if prefix and key.startswith(prefix) else key
