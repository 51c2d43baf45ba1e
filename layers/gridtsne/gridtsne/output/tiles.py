"""Deep-zoom tile pyramids of a grid, built straight from the per-image thumbnails.

A 1M-image grid at 64 px is a 64k × 64k picture; nothing here ever holds it. The finest level is
composed tile by tile from the thumbnails of the cells each tile covers, and every coarser tile
is the 2 × 2 block of its children halved. The quadtree is walked depth first, so at any moment
only a few tiles per level are alive: memory is O(levels × tile²), whatever the grid size. Measured
(``python -m benchmarks.tiles``): grids of 128 × 128 and 256 × 256 cells of 64 px (192 and 768 MiB
as one picture) peak at about 8 MiB above the start.

Several processes build it at once (``workers``): the pyramid is cut into square blocks, the subtrees of
the tiles a few levels above the finest, built by forked workers (:mod:`gridtsne.output.parts`), and the
parent writes their tiles and builds the levels above them from their roots, in the order one process
would, so the tiles written are the same bytes in the same order.

Level ``0`` is the coarsest (the whole grid in one tile), level ``levels - 1`` is full resolution
(``tile_px`` pixels per cell). Tile ``(col, row)`` of a level covers that level's pixels
``[col·tile_size, (col+1)·tile_size) × [row·tile_size, (row+1)·tile_size)``; edge tiles are cut to
the picture, so they may be smaller than ``tile_size``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Literal

from PIL import Image

from gridtsne.output.parts import Parts, cuts, run_parts, unchanged

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
    workers: int = 1,
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
        :mod:`gridtsne.output.archive`). Tiles come in the same order whatever ``workers``.
    tile_size
        Side of a tile in pixels.
    image_format, quality
        ``"jpg"`` (with JPEG ``quality``) or lossless ``"png"``.
    progress
        Called as ``progress(done, total)`` after each tile is written.
    workers
        Processes that build the blocks (:mod:`gridtsne.output.parts`; ``thumb_for_cell`` is called in
        them).

    Returns
    -------
    PyramidInfo
        The geometry, to hand to :func:`gridtsne.output.viewer.viewer_html`.
    """
    parts = pyramid_parts(
        thumb_for_cell,
        pyramid_geometry(rows, cols, tile_px, tile_size=tile_size, image_format=image_format),
        write,
        quality=quality,
        background=background,
        progress=progress,
        blocks=cuts(workers),
    )
    info: PyramidInfo = run_parts([parts], workers)[0]
    return info


#: Finest tiles per side of a block that one task builds (at most 8 × 8 of them, 85 tiles in all).
BLOCK_LEVELS = 3

#: A block's tiles, encoded, in the order they are written, and its root tile's picture.
Block = tuple[list[tuple[int, int, int, bytes]], Image.Image]


def pyramid_parts(
    thumb_for_cell: Callable[[int, int], Image.Image | None],
    info: PyramidInfo,
    write: WriteTile,
    *,
    quality: int = 85,
    background: tuple[int, int, int] = (0, 0, 0),
    progress: Callable[[int, int], None] | None = None,
    blocks: int = 1,
) -> Parts[Block, PyramidInfo, PyramidInfo]:
    """The pyramid of :func:`build_pyramid` cut into square blocks, one task each, of at least ``blocks``.

    A block is the subtree of one tile ``BLOCK_LEVELS`` levels above the finest (or lower, to make
    ``blocks`` of them); its task returns its tiles encoded and its root's picture. ``gather`` writes them
    and builds the levels above the blocks from their roots, in the one-process order (children before
    their parent, depth first), so the written tiles are the same bytes in the same order.
    """
    maker = _Maker(info, thumb_for_cell, quality, background)
    split = max(0, info.levels - 1 - BLOCK_LEVELS)
    while split < info.levels - 1 and _count(info, split) < blocks:
        split += 1
    tasks = [partial(maker.subtree, split, col, row) for col, row in maker.under(0, 0, 0, split)]

    def gather(results: Iterator[Block]) -> PyramidInfo:
        total, done = info.tile_count(), 0

        def put(level: int, col: int, row: int, data: bytes) -> None:
            nonlocal done
            write(level, col, row, data)
            done += 1
            if progress is not None:
                progress(done, total)

        def build(level: int, col: int, row: int) -> Image.Image:
            if level == split:
                tiles, root = next(results)
                for tile in tiles:
                    put(*tile)
                return root
            image = maker.combine(level, col, row, build)
            put(level, col, row, maker.encode(image))
            return image

        build(0, 0, 0)
        return info

    return Parts(tasks, gather, unchanged)


def _count(info: PyramidInfo, level: int) -> int:
    cols, rows = info.tile_counts(level)
    return cols * rows


class _Maker:
    """Makes the pictures of a pyramid's tiles and encodes them."""

    def __init__(
        self,
        info: PyramidInfo,
        thumb_for_cell: Callable[[int, int], Image.Image | None],
        quality: int,
        background: tuple[int, int, int],
    ) -> None:
        self.info, self.thumb_for_cell = info, thumb_for_cell
        self.quality, self.background = quality, background

    def encode(self, image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        if self.info.format == "jpg":
            image.save(buffer, format="JPEG", quality=self.quality, optimize=False)
        else:
            image.save(buffer, format="PNG", compress_level=3)
        return buffer.getvalue()

    def box(self, level: int, col: int, row: int) -> tuple[int, int]:
        """Width and height of a tile (edge tiles are cut to the picture)."""
        width, height = self.info.level_size(level)
        size = self.info.tile_size
        return min(size, width - col * size), min(size, height - row * size)

    def children(self, level: int, col: int, row: int) -> list[tuple[int, int]]:
        """The tiles of ``level + 1`` under a tile, in the order they are built."""
        ncols, nrows = self.info.tile_counts(level + 1)
        return [
            (2 * col + dx, 2 * row + dy)
            for dy in (0, 1)
            for dx in (0, 1)
            if 2 * col + dx < ncols and 2 * row + dy < nrows
        ]

    def under(self, level: int, col: int, row: int, split: int) -> Iterator[tuple[int, int]]:
        """The tiles of level ``split`` under a tile, depth first."""
        if level == split:
            yield col, row
            return
        for child in self.children(level, col, row):
            yield from self.under(level + 1, *child, split)

    def finest(self, col: int, row: int) -> Image.Image:
        """A full-resolution tile, pasted from the thumbnails of the cells it covers."""
        w, h = self.box(self.info.levels - 1, col, row)
        px, size = self.info.tile_px, self.info.tile_size
        x0, y0 = col * size, row * size
        image = Image.new("RGB", (w, h), self.background)
        for r in range(y0 // px, (y0 + h - 1) // px + 1):
            for c in range(x0 // px, (x0 + w - 1) // px + 1):
                thumb = self.thumb_for_cell(r, c)
                if thumb is None:
                    continue
                if thumb.mode != "RGB":
                    thumb = thumb.convert("RGB")
                if thumb.size != (px, px):
                    thumb = thumb.resize((px, px), Image.Resampling.LANCZOS)
                image.paste(thumb, (c * px - x0, r * px - y0))
        return image

    def combine(
        self, level: int, col: int, row: int, child: Callable[[int, int, int], Image.Image]
    ) -> Image.Image:
        """A tile above the finest: the 2 × 2 block of its children (``child(level, col, row)``) halved."""
        size = self.info.tile_size
        width, height = self.info.level_size(level + 1)
        x0, y0 = 2 * col * size, 2 * row * size
        block = Image.new("RGB", (min(2 * size, width - x0), min(2 * size, height - y0)))
        for c, r in self.children(level, col, row):
            block.paste(child(level + 1, c, r), (c * size - x0, r * size - y0))
        return block.reduce(2)

    def subtree(self, level: int, col: int, row: int) -> Block:
        """Every tile under and including ``(level, col, row)``, encoded, children before their parent."""
        tiles: list[tuple[int, int, int, bytes]] = []

        def build(lv: int, c: int, r: int) -> Image.Image:
            image = self.finest(c, r) if lv == self.info.levels - 1 else self.combine(lv, c, r, build)
            tiles.append((lv, c, r, self.encode(image)))
            return image

        return tiles, build(level, col, row)
