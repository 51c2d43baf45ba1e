"""Deep-zoom tile pyramids of a grid, built straight from the per-image thumbnails.

A 1M-image grid at 64 px is a 64k × 64k picture; nothing here ever holds it. The finest level is
composed tile by tile from the thumbnails of the cells each tile covers, and every coarser tile
is the 2 × 2 block of its children halved. The quadtree is walked depth first, so at any moment
only a few tiles per level are alive: memory is O(levels × tile²), whatever the grid size. Measured
(``python -m benchmarks.tiles``): grids of 128 × 128 and 256 × 256 cells of 64 px (192 and 768 MiB
as one picture) peak at about 8 MiB above the start.

Level ``0`` is the coarsest (the whole grid in one tile), level ``levels - 1`` is full resolution
(``tile_px`` pixels per cell). Tile ``(col, row)`` of a level covers that level's pixels
``[col·tile_size, (col+1)·tile_size) × [row·tile_size, (row+1)·tile_size)``; edge tiles are cut to
the picture, so they may be smaller than ``tile_size``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from PIL import Image

ImageFormat = Literal["jpg", "png"]

#: Stores one encoded tile: ``write(level, col, row, data)``.
WriteTile = Callable[[int, int, int, bytes], None]


@dataclass(frozen=True)
class PyramidInfo:
    """Geometry of a tile pyramid.

    Attributes
    ----------
    width, height
        Full-resolution size in pixels (cols × tile_px, rows × tile_px).
    tile_size
        Side of a (non-edge) tile in pixels.
    levels
        Number of levels; level ``levels - 1`` is full resolution, level 0 fits one tile.
    rows, cols, tile_px
        The grid and its pixels per cell at full resolution.
    format
        ``"jpg"`` or ``"png"``.
    """

    width: int
    height: int
    tile_size: int
    levels: int
    rows: int
    cols: int
    tile_px: int
    format: ImageFormat = "jpg"

    def level_size(self, level: int) -> tuple[int, int]:
        """Width and height in pixels of ``level``."""
        if not 0 <= level < self.levels:
            raise ValueError(f"level {level} outside 0..{self.levels - 1}")
        factor = 1 << (self.levels - 1 - level)
        return -(-self.width // factor), -(-self.height // factor)

    def tile_counts(self, level: int) -> tuple[int, int]:
        """Number of tile columns and rows of ``level``."""
        width, height = self.level_size(level)
        return -(-width // self.tile_size), -(-height // self.tile_size)

    def tile_count(self) -> int:
        """Number of tiles over all levels."""
        return sum(c * r for c, r in (self.tile_counts(level) for level in range(self.levels)))

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable form (what the viewer embeds)."""
        return asdict(self)


def pyramid_geometry(
    rows: int,
    cols: int,
    tile_px: int,
    *,
    tile_size: int = 256,
    image_format: ImageFormat = "jpg",
) -> PyramidInfo:
    """The pyramid of a rows × cols grid of ``tile_px`` cells, without building anything.

    Raises
    ------
    ValueError
        For an empty grid, ``tile_size`` under 16 px or an unknown ``image_format``.
    """
    if rows < 1 or cols < 1 or tile_px < 1:
        raise ValueError(f"grid must be at least 1x1 with tile >= 1 px, got {rows}x{cols} at {tile_px} px")
    if tile_size < 16:
        raise ValueError(f"tile_size must be at least 16 px, got {tile_size}")
    if image_format not in ("jpg", "png"):
        raise ValueError(f"image_format must be 'jpg' or 'png', got {image_format!r}")
    width, height = cols * tile_px, rows * tile_px
    levels, side = 1, max(width, height)
    while side > tile_size:  # halve (rounding up) until the whole picture fits one tile
        levels, side = levels + 1, -(-side // 2)
    return PyramidInfo(width, height, tile_size, levels, rows, cols, tile_px, image_format)


def build_pyramid(
    thumb_for_cell: Callable[[int, int], Image.Image | None],
    rows: int,
    cols: int,
    tile_px: int,
    write: WriteTile,
    tile_size: int = 256,
    *,
    image_format: ImageFormat = "jpg",
    quality: int = 85,
    background: tuple[int, int, int] = (0, 0, 0),
    progress: Callable[[int, int], None] | None = None,
) -> PyramidInfo:
    """Build and write every tile of the deep-zoom pyramid of a grid.

    Parameters
    ----------
    thumb_for_cell
        ``(row, col) -> image or None`` (``None``: an empty cell, painted ``background``). Images are
        converted to RGB and resized to ``tile_px`` if they are not that size already. Each cell is
        asked for once when ``tile_size`` is a multiple of ``tile_px`` (cells that straddle tiles
        otherwise are asked for once per tile they touch).
    rows, cols, tile_px
        The grid and its cell size at full resolution.
    write
        ``(level, col, row, data)`` stores one encoded tile (for example into one archive:
        :mod:`gridtsne.output.archive`).
    tile_size
        Side of a tile in pixels.
    image_format, quality
        ``"jpg"`` (with JPEG ``quality``) or lossless ``"png"``.
    progress
        Called as ``progress(done, total)`` after each tile is written.

    Returns
    -------
    PyramidInfo
        The geometry, to hand to :func:`gridtsne.output.viewer.viewer_html`.
    """
    info = pyramid_geometry(rows, cols, tile_px, tile_size=tile_size, image_format=image_format)
    total, done = info.tile_count(), 0
    top = info.levels - 1

    def emit(level: int, col: int, row: int, image: Image.Image) -> None:
        nonlocal done
        buffer = io.BytesIO()
        if image_format == "jpg":
            image.save(buffer, format="JPEG", quality=quality, optimize=False)
        else:
            image.save(buffer, format="PNG", compress_level=3)
        write(level, col, row, buffer.getvalue())
        done += 1
        if progress is not None:
            progress(done, total)

    def tile_box(level: int, col: int, row: int) -> tuple[int, int]:
        width, height = info.level_size(level)
        return min(tile_size, width - col * tile_size), min(tile_size, height - row * tile_size)

    def finest(col: int, row: int) -> Image.Image:
        w, h = tile_box(top, col, row)
        x0, y0 = col * tile_size, row * tile_size
        image = Image.new("RGB", (w, h), background)
        for r in range(y0 // tile_px, (y0 + h - 1) // tile_px + 1):
            for c in range(x0 // tile_px, (x0 + w - 1) // tile_px + 1):
                thumb = thumb_for_cell(r, c)
                if thumb is None:
                    continue
                if thumb.mode != "RGB":
                    thumb = thumb.convert("RGB")
                if thumb.size != (tile_px, tile_px):
                    thumb = thumb.resize((tile_px, tile_px), Image.Resampling.LANCZOS)
                image.paste(thumb, (c * tile_px - x0, r * tile_px - y0))
        return image

    def build(level: int, col: int, row: int) -> Image.Image:
        if level == top:
            image = finest(col, row)
        else:
            child_w, child_h = info.level_size(level + 1)
            x0, y0 = 2 * col * tile_size, 2 * row * tile_size
            block = Image.new("RGB", (min(2 * tile_size, child_w - x0), min(2 * tile_size, child_h - y0)))
            for dy in (0, 1):
                for dx in (0, 1):
                    if x0 + dx * tile_size < child_w and y0 + dy * tile_size < child_h:
                        child = build(level + 1, 2 * col + dx, 2 * row + dy)
                        block.paste(child, (dx * tile_size, dy * tile_size))
                        del child
            image = block.reduce(2)
        emit(level, col, row, image)
        return image

    build(0, 0, 0)
    return info
