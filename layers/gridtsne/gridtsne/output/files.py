"""The files a layout becomes: ``layout.json``, ``mosaic.jpg``, ``viewer.html`` and ``scatter.png``.

:func:`render_outputs` is the one render path for the command line, the Lambdas and the big-set job. A grid
too big for one picture also gets a deep-zoom tile pyramid under :data:`TILES`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import numpy as np
from PIL import Image

from gridtsne.core.thumbs import Thumbnails, as_thumbnails
from gridtsne.output.layout import Layout
from gridtsne.output.render import MOSAIC_MAX_SIDE, encode, mosaic, parse_colour, scatter
from gridtsne.output.tiles import PyramidInfo, build_pyramid
from gridtsne.output.viewer import viewer_html

__all__ = ["OUTPUTS", "TILES", "render_outputs"]

#: The files every layout becomes.
OUTPUTS = ("layout.json", "mosaic.jpg", "viewer.html", "scatter.png")
#: Folder of the deep-zoom tiles, next to the outputs, for grids too big for one mosaic picture.
TILES = "tiles/"


def render_outputs(
    layout: Layout,
    thumbnails: Thumbnails | np.ndarray,
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
        The N tiles in the order of ``layout.keys``: a :class:`~gridtsne.core.thumbs.Thumbnails` source
        (read a batch or a cell at a time: memory does not grow with N beyond the layout) or an
        (N, t, t, 3) uint8 array.
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
    source = as_thumbnails(thumbnails)
    tile = source.side if len(source) else layout.tile
    longest = max(layout.rows, layout.cols)
    pyramid = None
    side = tile
    if longest * tile > max_side:
        side = max(1, max_side // longest)
        if write_tiles is not None:
            pyramid = _pyramid(layout, source, colour, write_tiles)
    picture = mosaic(source, layout.cells, layout.rows, layout.cols, side=side, background=colour)
    mosaic_jpeg = encode(picture, "JPEG")
    del picture
    pictures = {"mosaic.jpg": mosaic_jpeg, "scatter.png": encode(scatter(layout.points, source), "PNG")}
    layout.timings["render"] = time.perf_counter() - start
    viewer = viewer_html(layout.to_dict(), mosaic_url, original_urls=original_urls, tiles=pyramid)
    return {**pictures, "viewer.html": viewer.encode(), "layout.json": layout.to_json().encode()}


def _pyramid(
    layout: Layout,
    thumbnails: Thumbnails,
    background: tuple[int, int, int],
    write: Callable[[str, bytes], None],
) -> PyramidInfo:
    """Write the full-resolution tile pyramid of the mosaic, cell by cell (never the whole picture)."""
    index = np.full((layout.rows, layout.cols), -1, dtype=np.int64)
    index[layout.cells[:, 0], layout.cells[:, 1]] = np.arange(len(layout.cells))

    def thumb_for_cell(row: int, col: int) -> Image.Image | None:
        i = int(index[row, col])
        return Image.fromarray(thumbnails.get(i)) if i >= 0 else None

    return build_pyramid(
        thumb_for_cell,
        layout.rows,
        layout.cols,
        thumbnails.side,
        lambda path, data: write(TILES + path, data),
        url_prefix=TILES,
        background=background,
    )
