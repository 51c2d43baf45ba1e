"""Thumbnails on local disk: the spool gives back what was written where, and the render reads it in bounded
memory."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
from gridtsne.core.assign import cell_targets, grid_shape
from gridtsne.core.thumbs import ArrayThumbnails, ThumbSpool, batches
from gridtsne.output.files import render_outputs
from gridtsne.output.layout import Layout
from PIL import Image


def noise(n: int, side: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, side, side, 3), dtype=np.uint8)


def test_the_spool_reads_back_what_was_written_at_each_position() -> None:
    pictures = noise(10, 8)
    with ThumbSpool(10, 8) as spool:
        for i in (7, 2, 9, 0):  # any order, one at a time
            spool.write(i, pictures[i : i + 1])
        spool.write(3, pictures[3:7])
        assert (len(spool), spool.side) == (10, 8)
        assert np.array_equal(spool.read(0, 10)[[0, 2, 3, 4, 5, 6, 7, 9]], pictures[[0, 2, 3, 4, 5, 6, 7, 9]])
        assert np.array_equal(spool.get(5), pictures[5])
        assert not spool.get(1).any()  # never written: black
        assert [start for start, _ in batches(spool, 4)] == [0, 4, 8]
        with pytest.raises(IndexError):
            spool.read(8, 11)
        with pytest.raises(IndexError):
            spool.write(9, pictures[:2])
        with pytest.raises(ValueError, match="pictures"):
            spool.write(0, noise(1, 9))


def test_appending_grows_the_spool() -> None:
    pictures = noise(5, 4)
    spool = ThumbSpool(0, 4)
    spool.append(pictures[:2])
    spool.append(pictures[2:])
    assert len(spool) == 5 and np.array_equal(spool.read(0, 5), pictures)


def layout_of(n: int, tile: int) -> Layout:
    rows, cols = grid_shape(n)
    cells = np.random.default_rng(1).permutation(cell_targets(n, rows, cols))
    points = np.random.default_rng(2).normal(size=(n, 2))
    return Layout(rows, cols, tile, [f"{i}.png" for i in range(n)], cells, points)


def spooled(pictures: np.ndarray) -> ThumbSpool:
    spool = ThumbSpool(len(pictures), pictures.shape[1])
    spool.write(0, pictures)
    return spool


def test_a_spool_renders_the_same_files_as_an_array() -> None:
    n, tile = 150, 32
    pictures = noise(n, tile)
    written: dict[str, dict[str, bytes]] = {"array": {}, "spool": {}}
    from_array = render_outputs(
        layout_of(n, tile),
        ArrayThumbnails(pictures),
        write_tiles=lambda name, file: written["array"].__setitem__(name, file.read()),
        max_side=256,
    )
    from_spool = render_outputs(
        layout_of(n, tile),
        spooled(pictures),
        write_tiles=lambda name, file: written["spool"].__setitem__(name, file.read()),
        max_side=256,
    )
    for name in ("mosaic.jpg", "scatter.png"):
        assert from_array[name] == from_spool[name]
    assert written["array"] == written["spool"] and written["spool"]
    overview = np.asarray(Image.open(io.BytesIO(from_spool["mosaic.jpg"])), dtype=int)
    side = 256 // 13  # 13 x 12 grid: cells of 19 px in the overview
    layout = layout_of(n, tile)
    row, col = layout.cells[0]
    mean = pictures[0].reshape(-1, 3).mean(axis=0)
    centre = overview[row * side + 4 : row * side + 15, col * side + 4 : col * side + 15].reshape(-1, 3)
    assert np.abs(centre.mean(axis=0) - mean).max() < 40  # noise: its mean colour survives shrinking


def render_peak(n: int, tile: int) -> int:
    """Peak bytes Python and NumPy allocate while rendering ``n`` spooled pictures (Pillow's not counted)."""
    layout, source = layout_of(n, tile), spooled(noise(n, tile))
    tracemalloc.start()
    try:
        render_outputs(layout, source, max_side=512)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        source.close()


def test_the_render_does_not_hold_the_pictures_in_memory() -> None:
    tile = 128
    small, big = render_peak(1000, tile), render_peak(4000, tile)
    added = 3000 * tile * tile * 3  # 147 MB more pictures
    # What grows is the layout (its JSON and the page: about 4 kB a picture while written), not the pictures.
    assert big - small < added / 4, (small, big)
