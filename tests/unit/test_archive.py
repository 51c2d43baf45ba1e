"""The deep-zoom pyramid as one PMTiles archive: read back tile by tile, it is the pyramid."""

from __future__ import annotations

import io
import tracemalloc
from typing import Any

import numpy as np
import pytest
from gridtsne.output.archive import TileArchive, tile_archive
from gridtsne.output.tiles import build_pyramid
from PIL import Image
from pmtiles.reader import MemorySource, Reader, all_tiles
from pmtiles.tile import Compression, TileType


def read_back(data: bytes) -> tuple[Reader, dict[tuple[int, int, int], bytes]]:
    source = MemorySource(data)
    return Reader(source), dict(all_tiles(source))


@pytest.mark.parametrize("image_format", ["jpg", "png"])
def test_the_archive_holds_every_tile_of_the_pyramid(image_format: Any) -> None:
    rows, cols, px = 5, 7, 24  # 168 x 120 px in 64 px tiles: edge tiles cut short, cells across tiles
    rng = np.random.default_rng(1)
    thumbs = {
        (r, c): Image.fromarray(rng.integers(0, 256, (px, px, 3), dtype=np.uint8))
        for r in range(rows)
        for c in range(cols)
        if r * cols + c < rows * cols - 3  # three empty cells at the end
    }
    pyramid: dict[tuple[int, int, int], bytes] = {}
    with tile_archive() as (archive, archived):

        def write(level: int, col: int, row: int, data: bytes) -> None:
            pyramid[(level, col, row)] = data
            archive.add(level, col, row, data)

        info = build_pyramid(
            lambda r, c: thumbs.get((r, c)), rows, cols, px, write, tile_size=64, image_format=image_format
        )
        archive.finish(info, image_format)
        data = archived().read()

    reader, tiles = read_back(data)
    assert info.levels == 3 and len(pyramid) == info.tile_count() == 1 + 2 * 1 + 3 * 2
    assert tiles == pyramid  # (z, x, y) = (level, col, row), byte for byte, nothing more
    for (level, col, row), tile in pyramid.items():
        assert reader.get(level, col, row) == tile
    assert reader.get(info.levels, 0, 0) is None
    edge = Image.open(io.BytesIO(reader.get(2, 2, 1)))
    assert edge.size == (168 - 128, 120 - 64)
    header = reader.header()
    assert header["tile_type"] == (TileType.JPEG if image_format == "jpg" else TileType.PNG)
    assert header["tile_compression"] == Compression.NONE
    assert (header["min_zoom"], header["max_zoom"]) == (0, info.levels - 1)
    assert reader.metadata()["gridtsne"] == info.to_dict()


def test_tiles_are_spooled_to_disk_not_held() -> None:
    """10 MiB of tiles through the writer raise the Python heap by a small part of that."""
    rng = np.random.default_rng(0)
    tiles = [rng.bytes(50_000) for _ in range(8)]
    sink = io.BytesIO()
    archive = TileArchive(sink)
    tracemalloc.start()
    try:
        for i in range(200):
            archive.add(8, i % 16, i // 16, tiles[i % 8] + i.to_bytes(4, "big"))  # 200 distinct tiles
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert archive.tiles == 200
    assert peak < 1_000_000, f"{peak} bytes held for 10 MB of tiles"


def test_an_empty_archive_is_refused() -> None:
    with tile_archive() as (archive, _), pytest.raises(ValueError, match="at least one tile"):
        archive.finish(build_pyramid(lambda r, c: None, 1, 1, 8, lambda *a: None))


@pytest.mark.parametrize("image_format", ["jpg", "png"])
def test_workers_build_the_same_archive_tile_by_tile(image_format: Any) -> None:
    """Blocks built by forked workers make the one-process archive: the same tiles, written in the same
    order, so the same bytes."""
    rows, cols, px = 13, 21, 8  # 168 x 104 px in 16 px tiles: 5 levels, edge blocks and edge tiles
    rng = np.random.default_rng(2)
    thumbs = {
        (r, c): Image.fromarray(rng.integers(0, 256, (px, px, 3), dtype=np.uint8))
        for r in range(rows)
        for c in range(cols)
        if (r * 7 + c) % 11  # empty cells here and there (their tiles repeat: stored once)
    }
    archives, orders = {}, {}
    for workers in (1, 2, 3):
        order: list[tuple[int, int, int]] = []
        with tile_archive() as (archive, archived):

            def write(level: int, col: int, row: int, data: bytes, order: list[Any] = order) -> None:
                order.append((level, col, row))
                archive.add(level, col, row, data)

            info = build_pyramid(
                lambda r, c: thumbs.get((r, c)),
                rows,
                cols,
                px,
                write,
                tile_size=16,
                image_format=image_format,
                workers=workers,
            )
            archive.finish(info, image_format)
            archives[workers], orders[workers] = archived().read(), order
    one, tiles = read_back(archives[1])
    assert info.levels == 5 and len(tiles) == info.tile_count() == len(set(orders[1]))
    for workers in (2, 3):
        reader, theirs = read_back(archives[workers])
        assert theirs == tiles
        for (level, col, row), tile in tiles.items():
            assert reader.get(level, col, row) == tile
        assert orders[workers] == orders[1]
        assert archives[workers] == archives[1]
    assert one.header()["addressed_tiles_count"] == info.tile_count()
