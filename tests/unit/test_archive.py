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
