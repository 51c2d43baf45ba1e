"""The files a layout becomes: ``layout.json``, ``mosaic.jpg``, ``viewer.html`` and ``scatter.png``.

:func:`render_outputs` is the one render path for the command line, the Lambdas and the big-set job. A grid
too big for one picture also gets a deep-zoom tile pyramid, one PMTiles archive (:data:`ARCHIVE`), and its
keys in a file of blocks read by range requests (:data:`KEYS`, :mod:`gridtsne.output.keyfile`), so the
viewer page does not grow with the grid.

The viewer page carries no URL that expires: it names its files relative to itself (``mosaic.jpg``,
``tiles.pmtiles``, ``keys.bin``) and takes fresh ones from its link's fragment when opened (see
:mod:`gridtsne.output.viewer`).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from typing import IO

import numpy as np
from PIL import Image

from gridtsne.core.thumbs import Thumbnails, as_thumbnails
from gridtsne.output.archive import ARCHIVE, tile_archive
from gridtsne.output.keyfile import KEYS, write_keys
from gridtsne.output.layout import Layout
from gridtsne.output.render import MOSAIC_MAX_SIDE, OVERVIEW_MAX_SIDE, encode, mosaic, parse_colour, scatter
from gridtsne.output.tiles import PyramidInfo, build_pyramid
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
    """
    start = time.perf_counter()
    colour = parse_colour(background)
    source = as_thumbnails(thumbnails)
    tile = source.side if len(source) else layout.tile
    longest = max(layout.rows, layout.cols)
    pyramid = None
    side = tile
    if longest * tile > max_side:
        limit = max_side
        if write_tiles is not None:
            pyramid = _pyramid(layout, source, colour, write_tiles)
            _key_file(layout, original_urls or {}, write_tiles)
            limit = min(max_side, OVERVIEW_MAX_SIDE)
        side = max(1, limit // longest)
    picture = mosaic(source, layout.cells, layout.rows, layout.cols, side=side, background=colour)
    mosaic_jpeg = encode(picture, "JPEG")
    del picture
    pictures = {"mosaic.jpg": mosaic_jpeg, "scatter.png": encode(scatter(layout.points, source), "PNG")}
    layout.timings["render"] = time.perf_counter() - start
    viewer = viewer_html(
        layout.to_dict(),
        "mosaic.jpg",
        original_urls=original_urls,
        tiles=pyramid,
        tiles_url=ARCHIVE,
        keys_url=KEYS if pyramid else None,
    )
    return {**pictures, "viewer.html": viewer.encode(), "layout.json": layout.to_json().encode()}


def _pyramid(
    layout: Layout,
    thumbnails: Thumbnails,
    background: tuple[int, int, int],
    write: WriteFile,
) -> PyramidInfo:
    """Write the full-resolution tile pyramid of the mosaic as one archive, cell by cell (never the whole
    picture)."""
    index = np.full((layout.rows, layout.cols), -1, dtype=np.int64)
    index[layout.cells[:, 0], layout.cells[:, 1]] = np.arange(len(layout.cells))

    def thumb_for_cell(row: int, col: int) -> Image.Image | None:
        i = int(index[row, col])
        return Image.fromarray(thumbnails.get(i)) if i >= 0 else None

    with tile_archive() as (archive, archived):
        info = build_pyramid(
            thumb_for_cell, layout.rows, layout.cols, thumbnails.side, archive.add, background=background
        )
        archive.finish(info)
        write(ARCHIVE, archived())
    return info


def _key_file(layout: Layout, original_urls: Mapping[str, str], write: WriteFile) -> None:
    """Write the keys and original URLs of the grid's cells as the key file :data:`KEYS`."""
    with io.BytesIO() as out:
        urls = original_links(layout.keys, original_urls)
        write_keys(out, layout.rows, layout.cols, layout.keys, layout.cells, urls)
        out.seek(0)
        write(KEYS, out)
