"""Pictures of a layout: the mosaic (tiles on the grid) and the t-SNE scatter (before snapping)."""

from __future__ import annotations

import io
import string

import numpy as np
from PIL import Image, ImageColor, ImageDraw

from gridtsne.core.thumbs import Thumbnails, as_thumbnails, batches

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
) -> Image.Image:
    """Paste the thumbnails at their cells on a rows × cols grid; empty cells get the ``background``.

    The thumbnails are read a batch at a time: memory is the picture plus one batch of them.

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

    Raises
    ------
    ValueError
        When ``cells`` does not match ``thumbnails`` or the picture would exceed ``MAX_JPEG_SIDE``.
    """
    source = as_thumbnails(thumbnails)
    n = len(source)
    tile = side or (source.side if n else 1)
    if len(cells) != n:
        raise ValueError("one cell per thumbnail is needed")
    if max(rows, cols) * tile > MAX_JPEG_SIDE:
        raise ValueError(f"a {rows}x{cols} mosaic of {tile} px tiles is too large for one image")
    # Pasted into the picture itself: no second full-size copy (a 16k px overview is 1 GiB in Pillow).
    canvas = Image.new("RGB", (cols * tile, rows * tile), background)
    for start, pictures in batches(source):
        at = cells[start : start + len(pictures)]
        for (row, col), pixels in zip(at, _resized(pictures, tile, Image.Resampling.BOX), strict=True):
            canvas.paste(Image.fromarray(pixels), (int(col) * tile, int(row) * tile))
    return canvas


def _resized(pictures: np.ndarray, side: int, method: Image.Resampling) -> np.ndarray:
    """The (k, t, t, 3) ``pictures`` at ``side`` × ``side`` pixels each."""
    if pictures.shape[1] == side:
        return pictures
    out = np.empty((len(pictures), side, side, 3), dtype=np.uint8)
    for i, pixels in enumerate(pictures):
        out[i] = np.asarray(Image.fromarray(pixels).resize((side, side), method))
    return out


def scatter(
    points: np.ndarray,
    thumbnails: Thumbnails | np.ndarray | None = None,
    *,
    size: int = 1600,
    thumb: int = 20,
    background: tuple[int, int, int] = (255, 255, 255),
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
    """
    canvas = Image.new("RGB", (size, size), background)
    n = len(points)
    if n == 0:
        return canvas
    margin = thumb
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = float(max(hi[0] - lo[0], hi[1] - lo[1])) or 1.0
    xy = (points - lo) / span * (size - 2 * margin) + margin
    if thumbnails is None:
        draw = ImageDraw.Draw(canvas)
        for x, y in xy:
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=(40, 90, 200))
        return canvas
    side = max(4, min(thumb, int(size / max(1.0, np.sqrt(n)) * 1.5)))
    source = as_thumbnails(thumbnails)
    if len(source) != n:
        raise ValueError("one thumbnail per point is needed")
    for start, pictures in batches(source):
        small = _resized(pictures, side, Image.Resampling.BILINEAR)
        for (x, y), pixels in zip(xy[start : start + len(small)], small, strict=True):
            canvas.paste(Image.fromarray(pixels), (int(x - side / 2), int(y - side / 2)))
    return canvas


def encode(image: Image.Image, fmt: str, *, quality: int = 88) -> bytes:
    """Encode ``image`` as ``"JPEG"`` (progressive, at ``quality``) or another Pillow format such as PNG."""
    buffer = io.BytesIO()
    if fmt.upper() == "JPEG":
        image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
    else:
        image.save(buffer, fmt.upper(), compress_level=6)
    return buffer.getvalue()
