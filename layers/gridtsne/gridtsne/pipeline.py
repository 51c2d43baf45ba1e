"""The stages end to end: embed -> reduce -> assign -> render, over any :class:`~gridtsne.store.Store`.

The CLI runs :func:`run` on a folder; the Lambdas and the big-set job call the same stage functions one
at a time (:func:`embed_stage`, :func:`reduce_stage`, :func:`place`, then
:func:`gridtsne.output.files.render_outputs`). :func:`place` is the one place where points become a
:class:`~gridtsne.output.layout.Layout`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gridtsne.aws.collection import load_thumbs, thumbnails
from gridtsne.cache import Cached, embed_cached
from gridtsne.core.assign import grid_shape, snap
from gridtsne.core.embed import Embedded, Embedder, embed_sources
from gridtsne.core.images import Limits

# Re-exported: listing the inputs is the first stage.
from gridtsne.core.inputs import Inputs as Inputs
from gridtsne.core.inputs import list_inputs as list_inputs
from gridtsne.core.inputs import reader
from gridtsne.core.model import load_spec
from gridtsne.core.progress import ReduceCallback
from gridtsne.core.quality import layout_quality
from gridtsne.core.reduce import Reduced, ReduceParams, reduce_recorded
from gridtsne.core.refine import RefineParams, refine
from gridtsne.core.thumbs import Thumbnails, ThumbSpool
from gridtsne.output.files import render_outputs
from gridtsne.output.layout import Layout
from gridtsne.store import ObjectInfo, Store

#: Called as ``progress(stage, done, total)``.
StageProgress = Callable[[str, int, int], None]


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
        ONNX model file (default: the built-in one) and its input side (default: the model's own).
    batch_size
        Images per model call.
    reduce, refine, limits
        The 2-D reduction's settings, the refinement's after the assignment, and the per-file limits.
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
    refine: RefineParams = field(default_factory=RefineParams)
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
            "refine": self.refine.describe(),
        }


@dataclass
class Result:
    """A finished run: the layout, its thumbnails (rendering reads both) and the embedding vectors.

    ``from_cache`` counts the placed vectors a vector cache gave instead of the model (0 without a cache).
    """

    layout: Layout
    thumbnails: Thumbnails
    vectors: np.ndarray
    from_cache: int = 0


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


def embed_stage(
    store: Store, keys: list[str], params: Params, progress: StageProgress | None = None
) -> tuple[Embedded, Embedder]:
    """Decode and embed ``keys`` from ``store``, keeping tile thumbnails.

    Returns
    -------
    tuple
        What was embedded (thumbnails of ``params.tile`` px included) and the model session used.
    """
    spec = load_spec(params.model)
    embedder = Embedder(spec, batch_size=params.batch_size, size=params.input_size)
    sources = [(key, reader(store, key, params.limits)) for key in keys]
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


def cached_stage(
    store: Store,
    cache: Store,
    images: list[ObjectInfo],
    params: Params,
    progress: StageProgress | None = None,
) -> Cached:
    """Resolve ``images`` through the vector cache in ``cache``, embedding only what it lacks.

    The thumbnails stay in the cache until :func:`cached_tiles` (after the reduction, which needs the
    memory more).
    """
    embedder = Embedder(load_spec(params.model), batch_size=params.batch_size, size=params.input_size)
    total = len(images)
    return embed_cached(
        cache,
        store,
        images,
        embedder,
        limits=params.limits,
        keep_duplicates=params.keep_duplicates,
        with_thumbs=False,
        progress=(lambda done, todo: progress("embed", total - todo + done, total)) if progress else None,
    )


def cached_tiles(store: Store, cache: Store, cached: Cached, tile: int) -> Thumbnails:
    """The tiles of ``tile`` px of what :func:`cached_stage` placed: the cached thumbnails, resized, or cut
    from the originals in ``store`` when larger."""
    found = cached.collected
    found.thumbs = load_thumbs(cache, cached.collection, found.places)
    return thumbnails(store, found, tile)


def reduce_stage(vectors: np.ndarray, params: Params, progress: ReduceCallback | None = None) -> Reduced:
    """The 2-D map of the vectors and the method that made it (recorded as ``params["tsne"]``); ``progress``
    is told its steps (:func:`~gridtsne.core.reduce.reduce_recorded`)."""
    return reduce_recorded(vectors, params.reduce, progress=progress)


def assign_stage(points: np.ndarray, params: Params) -> tuple[int, int, np.ndarray]:
    """The grid shape and every point's (row, col) cell."""
    rows, cols = grid_shape(len(points), params.rows, params.cols)
    return rows, cols, snap(points, rows, cols)


def place(
    keys: Sequence[str],
    points: np.ndarray,
    params: Params,
    *,
    vectors: np.ndarray,
    skipped: Sequence[dict[str, str]] = (),
    duplicates: Sequence[dict[str, str]] = (),
    timings: Mapping[str, float] | None = None,
    model: Mapping[str, Any] | None = None,
    extra_params: Mapping[str, Any] | None = None,
) -> Layout:
    """Assign every point to a grid cell, refine the grid, measure it, and build the layout.

    Parameters
    ----------
    keys
        The placed images, one per row of ``points``.
    points
        Their 2-D map (:func:`reduce_stage`; pass its method as ``extra_params={"tsne": ...}``).
    params
        The run's parameters (grid shape, tile, refinement); recorded in the layout with ``extra_params``.
    vectors
        The images' embedding vectors, one row per key: the refinement
        (:func:`~gridtsne.core.refine.refine`) and the layout's quality
        (:func:`~gridtsne.core.quality.layout_quality`) work in their space.
    skipped, duplicates, timings, model
        The rest of the layout: inputs not placed, earlier stages' seconds, the embedding model's record.

    Returns
    -------
    Layout
        With ``timings`` ``assign``, ``refine`` and ``quality`` added; ``quality`` is empty without images.
    """
    timer = Timer()
    with timer.stage("assign"):
        rows, cols, cells = assign_stage(points, params)
    with timer.stage("refine"):
        cells = refine(vectors, cells, params.refine, seed=params.reduce.seed)
    with timer.stage("quality"):
        quality = layout_quality(vectors, cells) if len(cells) else {}
    return Layout(
        rows=rows,
        cols=cols,
        tile=params.tile,
        keys=list(keys),
        cells=cells,
        points=points,
        skipped=list(skipped),
        duplicates=list(duplicates),
        timings={**(timings or {}), **timer.seconds},
        model=dict(model or {}),
        params={**params.describe(), **(extra_params or {})},
        quality=quality,
    )


def run(
    store: Store,
    params: Params | None = None,
    *,
    prefix: str = "",
    progress: StageProgress | None = None,
    cache: Store | None = None,
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
    cache
        A vector cache (:mod:`gridtsne.cache`): vectors it holds for these files and this model are not
        computed again, and those computed are kept in it. None: embed everything, keep nothing.

    Returns
    -------
    Result
        Every file under ``prefix`` placed, skipped or duplicate; when none is a usable image, an empty
        layout on the smallest grid (1×1 unless ``params`` sets it) whose ``skipped`` says why.

    Raises
    ------
    ValueError
        When the grid asked for is too small.
    """
    params = params or Params()
    timer = Timer()
    inputs = list_inputs(store, prefix)
    keys, not_images = inputs.keys, inputs.skipped
    cached = None
    with timer.stage("embed"):
        if cache is None:
            embedded, embedder = embed_stage(store, keys, params, progress)
            model = embedder.describe()
        else:
            cached = cached_stage(store, cache, inputs.images, params, progress)
            found, model = cached.collected, cached.collected.model
            embedded = Embedded(found.keys, found.vectors, found.hashes, found.skipped, found.duplicates)
    with timer.stage("reduce"):
        steps = (lambda step: progress("reduce", step.done, step.total)) if progress else None
        reduced = reduce_stage(embedded.vectors, params, steps)
    if progress:
        progress("assign", 0, 1)
    layout = place(
        [_strip(k, prefix) for k in embedded.keys],
        reduced.points,
        params,
        vectors=embedded.vectors,
        skipped=[{**s, "key": _strip(s["key"], prefix)} for s in not_images + embedded.skipped],
        duplicates=[
            {"key": _strip(d["key"], prefix), "same_as": _strip(d["same_as"], prefix)}
            for d in embedded.duplicates
        ],
        timings=timer.seconds,
        model=model,
        extra_params={"tsne": reduced.method},
    )
    if progress:
        progress("assign", 1, 1)
    thumbnails: Thumbnails | None = embedded.thumbnails
    if cache is not None and cached is not None and cached.collected.keys:
        start = time.perf_counter()
        thumbnails = cached_tiles(store, cache, cached, params.tile)
        layout.timings["thumbnails"] = time.perf_counter() - start
    if thumbnails is None:
        thumbnails = ThumbSpool(0, params.tile)
    from_cache = cached.from_cache if cached is not None else 0
    return Result(layout=layout, thumbnails=thumbnails, vectors=embedded.vectors, from_cache=from_cache)


def write_outputs(
    result: Result,
    out: Store,
    params: Params,
    *,
    prefix: str = "",
    original_urls: Mapping[str, str] | None = None,
    progress: StageProgress | None = None,
) -> dict[str, bytes]:
    """Render ``result`` and write the output files (and any tile archive) under ``prefix`` in ``out``.

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
        write_tiles=lambda name, file: out.write(prefix + name, file),
    )
    for name, data in files.items():
        out.write(prefix + name, data)
    if progress:
        progress("render", 1, 1)
    return files


def _strip(key: str, prefix: str) -> str:
    return key[len(prefix) :] if prefix and key.startswith(prefix) else key
