"""The files a layout becomes: ``layout.json``, ``mosaic.jpg``, ``viewer.html`` and ``scatter.png``.

:func:`render_outputs` is the one render path for the command line, the Lambdas and the big-set job. A grid
too big for one picture also gets a deep-zoom tile pyramid, one PMTiles archive (:data:`ARCHIVE`), and its
keys in a file of blocks read by range requests (:data:`KEYS`, :mod:`gridtsne.output.keyfile`), so the
viewer page does not grow with the grid. The pictures are drawn over all the usable cores
(:mod:`gridtsne.output.parts`), into the same bytes as in one process.

The viewer page carries no URL that expires: it names its files relative to itself (``mosaic.jpg``,
``tiles.pmtiles``, ``keys.bin``) and takes fresh ones from its link's fragment when opened (see
:mod:`gridtsne.output.viewer`).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import IO, Any

import numpy as np
from PIL import Image

from gridtsne.core.thumbs import Thumbnails, as_thumbnails
from gridtsne.output.archive import ARCHIVE, tile_archive
from gridtsne.output.keyfile import KEYS, write_keys
from gridtsne.output.layout import Layout
from gridtsne.output.parts import Parts, cuts, render_workers, run_parts
from gridtsne.output.render import (
    MOSAIC_MAX_SIDE,
    OVERVIEW_MAX_SIDE,
    encode,
    mosaic_parts,
    parse_colour,
    scatter_parts,
)
from gridtsne.output.tiles import PyramidInfo, pyramid_geometry, pyramid_parts
from gridtsne.output.viewer import original_links, viewer_html

__all__ = ["ARCHIVE", "KEYS", "OUTPUTS", "WriteFile", "render_outputs"]

#: The files every layout becomes.
OUTPUTS = ("layout.json", "mosaic.jpg", "viewer.html", "scatter.png")

#: Stores a file too big to hold in memory: ``write(name, file)``, ``file`` open for reading from its start.
WriteFile = Callable[[str, IO[bytes]], None]


def render_outputs(
    layout: Layout,
    thumbnails: Thumbnails | np.ndarray,
    *,
    background: str = "#000000",
    original_urls: Mapping[str, str] | None = None,
    write_tiles: WriteFile | None = None,
    max_side: int = MOSAIC_MAX_SIDE,
    workers: int | None = None,
) -> dict[str, bytes]:
    """The output files (``OUTPUTS``) as bytes, keyed by file name; records the render time in ``layout``.

    Parameters
    ----------
    layout
        The finished layout.
    thumbnails
        The N tiles in the order of ``layout.keys``: a :class:`~gridtsne.core.thumbs.Thumbnails` source
        (read a batch or a cell at a time: memory does not grow with N beyond the layout) or an
        (N, t, t, 3) uint8 array.
    background
        Colour of empty cells.
    original_urls
        ``key -> URL`` of the originals the viewer links; URLs that never expire only (relative paths).
    write_tiles
        Where a grid wider or taller than ``max_side`` pixels writes its deep-zoom tile pyramid at full
        resolution, as the archive :data:`ARCHIVE` (:mod:`gridtsne.output.archive`), which the viewer
        then shows, and its keys (and ``original_urls``) as the key file :data:`KEYS`, which the viewer
        then reads instead of embedding them.
    max_side
        Longest side of ``mosaic.jpg``; bigger grids get an overview of at most that size (at most
        :data:`~gridtsne.output.render.OVERVIEW_MAX_SIDE` beside a deep-zoom archive).
    workers
        Processes that render at once (default :func:`~gridtsne.output.parts.render_workers`): the
        pyramid's blocks, the overview's bands and the scatter's runs of points are computed together
        (:mod:`gridtsne.output.parts`); the files are the same bytes whatever the number.
    """
    start = time.perf_counter()
    source = as_thumbnails(thumbnails)
    workers = render_workers(len(source)) if workers is None else max(1, workers)
    mosaic_jpeg, scatter_png, pyramid = _pictures(
        layout, source, parse_colour(background), write_tiles, max_side, workers
    )
    if pyramid is not None and write_tiles is not None:
        _key_file(layout, original_urls or {}, write_tiles)
    layout.timings["render"] = time.perf_counter() - start
    viewer = viewer_html(
        layout.to_dict(),
        "mosaic.jpg",
        original_urls=original_urls,
        tiles=pyramid,
        tiles_url=ARCHIVE,
        keys_url=KEYS if pyramid else None,
    )
    return {
        "mosaic.jpg": mosaic_jpeg,
        "scatter.png": scatter_png,
        "viewer.html": viewer.encode(),
        "layout.json": layout.to_json().encode(),
    }


def _pictures(
    layout: Layout,
    source: Thumbnails,
    colour: tuple[int, int, int],
    write_tiles: WriteFile | None,
    max_side: int,
    workers: int,
) -> tuple[bytes, bytes, PyramidInfo | None]:
    """``mosaic.jpg`` and ``scatter.png``, and the geometry of the deep-zoom archive written, if any; drawn
    together by ``workers`` processes. Nothing drawn outlives the call."""
    parts = cuts(workers)
    tile = source.side if len(source) else layout.tile
    longest = max(layout.rows, layout.cols)
    pyramid = write_tiles if longest * tile > max_side else None
    side = tile
    if longest * tile > max_side:
        side = max(1, (min(max_side, OVERVIEW_MAX_SIDE) if pyramid else max_side) // longest)
    jobs: list[Parts[Any, Any, Any]] = []
    with ExitStack() as stack:
        if pyramid is not None:
            jobs.append(_pyramid(layout, source, colour, pyramid, stack, blocks=parts))
        overview = mosaic_parts(
            source, layout.cells, layout.rows, layout.cols, side=side, background=colour, bands=parts
        )
        jobs.append(overview.then(lambda picture: encode(picture, "JPEG")))
        points = scatter_parts(layout.points, source, runs=parts)
        jobs.append(points.then(lambda picture: encode(picture, "PNG")))
        *tiles, mosaic_jpeg, scatter_png = run_parts(jobs, workers)
    return mosaic_jpeg, scatter_png, tiles[0] if tiles else None


def _pyramid(
    layout: Layout,
    thumbnails: Thumbnails,
    background: tuple[int, int, int],
    write: WriteFile,
    stack: ExitStack,
    *,
    blocks: int,
) -> Parts[Any, PyramidInfo, PyramidInfo]:
    """The full-resolution tile pyramid of the mosaic, built cell by cell (never the whole picture) into one
    archive that its ``finish`` writes; the archive's files live as long as ``stack``."""
    index = np.full((layout.rows, layout.cols), -1, dtype=np.int64)
    index[layout.cells[:, 0], layout.cells[:, 1]] = np.arange(len(layout.cells))

    def thumb_for_cell(row: int, col: int) -> Image.Image | None:
        i = int(index[row, col])
        return Image.fromarray(thumbnails.get(i)) if i >= 0 else None

    archive, archived = stack.enter_context(tile_archive())
    info = pyramid_geometry(layout.rows, layout.cols, thumbnails.side)

    def finish(built: PyramidInfo) -> PyramidInfo:
        archive.finish(built)
        write(ARCHIVE, archived())
        return built

    return pyramid_parts(thumb_for_cell, info, archive.add, background=background, blocks=blocks).then(finish)


def _key_file(layout: Layout, original_urls: Mapping[str, str], write: WriteFile) -> None:
    """Write the keys and original URLs of the grid's cells as the key file :data:`KEYS`."""
    with io.BytesIO() as out:
        urls = original_links(layout.keys, original_urls)
        write_keys(out, layout.rows, layout.cols, layout.keys, layout.cells, urls)
        out.seek(0)
        write(KEYS, out)
