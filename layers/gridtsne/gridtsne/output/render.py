"""Pictures of a layout: the mosaic (tiles on the grid) and the t-SNE scatter (before snapping)."""

from __future__ import annotations

import io
import mmap
import string
from collections.abc import Iterator
from functools import partial

import numpy as np
from PIL import Image, ImageColor, ImageDraw

from gridtsne.core.thumbs import BATCH_BYTES, Thumbnails, as_thumbnails, batches
from gridtsne.output.parts import Parts, cuts, run_parts, unchanged

#: JPEG cannot hold a side longer than this; bigger grids need the tile pyramid.
MAX_JPEG_SIDE = 65_500
#: The longest side of ``mosaic.jpg``; bigger grids get an overview at this size (and a tile pyramid).
MOSAIC_MAX_SIDE = 16_384
#: The longest side of ``mosaic.jpg`` when a deep-zoom archive holds the detail: the overview then only
#: stands in for the archive's coarse levels, and its picture stays at 200 MB of memory instead of 800 MB
#: (plus as much again while it is encoded).
OVERVIEW_MAX_SIDE = 8_192


def parse_colour(text: str) -> tuple[int, int, int]:
    """Read an opaque colour as an RGB triple.

    Parameters
    ----------
    text
        Anything :func:`PIL.ImageColor.getrgb` reads (``#rrggbb``, ``#rgb``, ``rgb(r, g, b)``, a CSS
        colour name), or ``rrggbb`` without the ``#``.

    Raises
    ------
    ValueError
        When ``text`` is not a colour, or is not opaque (a JPEG mosaic has no transparency).
    """
    value = text.strip()
    if len(value) == 6 and all(char in string.hexdigits for char in value):
        value = "#" + value
    try:
        colour = ImageColor.getrgb(value)
    except ValueError:
        raise ValueError(f"not a colour: {text!r} (use #rrggbb or a CSS colour name)") from None
    if len(colour) == 4 and colour[3] != 255:
        raise ValueError(f"the colour must be opaque, got {text!r}")
    return colour[0], colour[1], colour[2]


def mosaic(
    thumbnails: Thumbnails | np.ndarray,
    cells: np.ndarray,
    rows: int,
    cols: int,
    *,
    side: int | None = None,
    background: tuple[int, int, int] = (0, 0, 0),
    workers: int = 1,
) -> Image.Image:
    """Paste the thumbnails at their cells on a rows × cols grid; empty cells get the ``background``.

    Memory is the picture plus a band of it per worker (:func:`mosaic_parts`).

    Parameters
    ----------
    thumbnails
        N square tiles (a :class:`~gridtsne.core.thumbs.Thumbnails` source or an (N, t, t, 3) array).
    cells
        (N, 2) int (row, col) of each tile.
    rows, cols
        The grid.
    side
        Pixels per cell (default: the thumbnails' side); other sizes are resized (box filter).
    background
        RGB colour of the empty cells.
    workers
        Processes that paste the bands (:mod:`gridtsne.output.parts`).

    Raises
    ------
    ValueError
        When ``cells`` does not match ``thumbnails`` or the picture would exceed ``MAX_JPEG_SIDE``.
    """
    parts = mosaic_parts(thumbnails, cells, rows, cols, side=side, background=background, bands=cuts(workers))
    picture: Image.Image = run_parts([parts], workers)[0]
    return picture.convert("RGB")


def mosaic_parts(
    thumbnails: Thumbnails | np.ndarray,
    cells: np.ndarray,
    rows: int,
    cols: int,
    *,
    side: int | None = None,
    background: tuple[int, int, int] = (0, 0, 0),
    bands: int = 1,
) -> Parts[None, Image.Image, Image.Image]:
    """:func:`mosaic` cut into at least ``bands`` horizontal bands of whole grid rows (of at most
    :data:`~gridtsne.core.thumbs.BATCH_BYTES` each), one task each.

    The picture is one block of memory shared with the forked workers (anonymous ``mmap``, no file), made
    now and filled as the bands are pasted: each task writes its band into it, and ``gather`` gives it as
    an ``RGBX`` image without a copy (JPEG encodes it as RGB).
    """
    source = as_thumbnails(thumbnails)
    n = len(source)
    tile = side or (source.side if n else 1)
    if len(cells) != n:
        raise ValueError("one cell per thumbnail is needed")
    if max(rows, cols) * tile > MAX_JPEG_SIDE:
        raise ValueError(f"a {rows}x{cols} mosaic of {tile} px tiles is too large for one image")
    width, row_bytes = cols * tile, cols * tile * tile * 4
    canvas = mmap.mmap(-1, max(1, rows * row_bytes))
    edges = np.linspace(0, rows, min(rows, max(bands, -(-rows * row_bytes // BATCH_BYTES))) + 1).astype(int)
    by_row = np.argsort(cells[:, 0], kind="stable")
    starts = np.searchsorted(cells[by_row, 0], edges)

    def band(k: int) -> None:
        top, bottom = int(edges[k]), int(edges[k + 1])
        image = Image.new("RGB", (width, (bottom - top) * tile), background)
        for i in np.sort(by_row[starts[k] : starts[k + 1]]):  # in the order of the thumbnails
            picture = Image.fromarray(source.get(int(i)))
            if picture.size != (tile, tile):
                picture = picture.resize((tile, tile), Image.Resampling.BOX)
            image.paste(picture, (int(cells[i, 1]) * tile, (int(cells[i, 0]) - top) * tile))
        canvas[top * row_bytes : bottom * row_bytes] = image.tobytes("raw", "RGBX")

    def gather(results: Iterator[None]) -> Image.Image:
        for _ in results:
            pass
        pixels = np.frombuffer(canvas, np.uint8)
        return Image.frombuffer("RGBX", (width, rows * tile), pixels, "raw", "RGBX", 0, 1)

    return Parts([partial(band, k) for k in range(len(edges) - 1)], gather, unchanged)


def scatter(
    points: np.ndarray,
    thumbnails: Thumbnails | np.ndarray | None = None,
    *,
    size: int = 1600,
    thumb: int = 20,
    background: tuple[int, int, int] = (255, 255, 255),
    workers: int = 1,
) -> Image.Image:
    """The raw 2-D map: a small thumbnail (or a dot) at every point, on a ``size`` px square.

    Parameters
    ----------
    points
        (N, 2) positions, scaled to fit the square.
    thumbnails
        The N pictures of the points (a source or an (N, t, t, 3) array, read a batch at a time); None
        draws dots.
    size
        Side of the picture in pixels.
    thumb
        Largest side of a drawn thumbnail (smaller for many points).
    background
        RGB colour of the picture.
    workers
        Processes that draw runs of the points (:mod:`gridtsne.output.parts`).
    """
    parts = scatter_parts(
        points, thumbnails, size=size, thumb=thumb, background=background, runs=cuts(workers)
    )
    picture: Image.Image = run_parts([parts], workers)[0]
    return picture


def scatter_parts(
    points: np.ndarray,
    thumbnails: Thumbnails | np.ndarray | None = None,
    *,
    size: int = 1600,
    thumb: int = 20,
    background: tuple[int, int, int] = (255, 255, 255),
    runs: int = 1,
) -> Parts[Image.Image, Image.Image, Image.Image]:
    """:func:`scatter` cut into ``runs`` runs of consecutive points, one task each: a run is drawn on a
    transparent layer and ``gather`` lays the layers on the picture in order, so later points cover earlier
    ones as when drawn one by one (one run is drawn on the picture itself)."""
    n = len(points)
    xy = _fitted(points, size, margin=thumb)
    if n == 0 or thumbnails is None:
        return Parts([], lambda results: _dots(xy, size, background), unchanged)
    side = max(4, min(thumb, int(size / max(1.0, np.sqrt(n)) * 1.5)))
    source = as_thumbnails(thumbnails)
    if len(source) != n:
        raise ValueError("one thumbnail per point is needed")
    edges = np.linspace(0, n, min(runs, n) + 1).astype(np.int64)
    alone = len(edges) == 2

    def run(k: int) -> Image.Image:
        layer = Image.new("RGB", (size, size), background) if alone else Image.new("RGBA", (size, size))
        stop = int(edges[k + 1])
        for start, pictures in batches(source, start=int(edges[k]), stop=stop):
            small = _resized(pictures, side, Image.Resampling.BILINEAR)
            for (x, y), pixels in zip(xy[start : start + len(small)], small, strict=True):
                layer.paste(Image.fromarray(pixels), (int(x - side / 2), int(y - side / 2)))
        return layer

    def gather(results: Iterator[Image.Image]) -> Image.Image:
        if alone:
            return next(results)
        canvas = Image.new("RGB", (size, size), background)
        for layer in results:
            canvas.paste(layer, (0, 0), layer)
        return canvas

    return Parts([partial(run, k) for k in range(len(edges) - 1)], gather, unchanged)


def _resized(pictures: np.ndarray, side: int, method: Image.Resampling) -> np.ndarray:
    """The (k, t, t, 3) ``pictures`` at ``side`` × ``side`` pixels each."""
    if pictures.shape[1] == side:
        return pictures
    out = np.empty((len(pictures), side, side, 3), dtype=np.uint8)
    for i, pixels in enumerate(pictures):
        out[i] = np.asarray(Image.fromarray(pixels).resize((side, side), method))
    return out


def _fitted(points: np.ndarray, size: int, *, margin: int) -> np.ndarray:
    """``points`` scaled into a ``size`` px square, ``margin`` px from its edges, aspect kept."""
    if len(points) == 0:
        return np.zeros((0, 2))
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = float(max(hi[0] - lo[0], hi[1] - lo[1])) or 1.0
    return np.asarray((points - lo) / span * (size - 2 * margin) + margin)


def _dots(xy: np.ndarray, size: int, background: tuple[int, int, int]) -> Image.Image:
    """The scatter without pictures: a dot at every position ``xy``."""
    canvas = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(canvas)
    for x, y in xy:
        draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=(40, 90, 200))
    return canvas


def encode(image: Image.Image, fmt: str, *, quality: int = 88) -> bytes:
    """Encode ``image`` as ``"JPEG"`` (progressive, at ``quality``) or another Pillow format such as PNG."""
    buffer = io.BytesIO()
    if fmt.upper() == "JPEG":
        image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
    else:
        image.save(buffer, fmt.upper(), compress_level=6)
    return buffer.getvalue()
