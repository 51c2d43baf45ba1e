"""Rendering: the mosaic puts every thumbnail in its cell; big grids get an overview and a tile pyramid."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from gridtsne.core.assign import cell_targets
from gridtsne.output.files import render_outputs
from gridtsne.output.keyfile import read_block, read_index
from gridtsne.output.layout import Layout
from gridtsne.output.render import mosaic, parse_colour
from gridtsne.pipeline import Params, Result, write_outputs
from gridtsne.store import LocalStore
from PIL import Image
from pmtiles.reader import MemorySource, MmapSource, Reader


def coloured_thumbnails(n: int, tile: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, (n, 3), dtype=np.uint8)
    return np.broadcast_to(colours[:, None, None, :], (n, tile, tile, 3)).copy()


def test_mosaic_places_each_thumbnail_in_its_cell() -> None:
    thumbs = coloured_thumbnails(7, 8)
    cells = cell_targets(7, 3, 3)
    pixels = np.asarray(mosaic(thumbs, cells, 3, 3, background=(1, 2, 3)))
    assert pixels.shape == (24, 24, 3)
    for (row, col), thumb in zip(cells, thumbs, strict=True):
        assert (pixels[row * 8 : row * 8 + 8, col * 8 : col * 8 + 8] == thumb).all()
    holes = {(r, c) for r in range(3) for c in range(3)} - {tuple(c) for c in cells}
    for row, col in holes:
        assert (pixels[row * 8, col * 8] == (1, 2, 3)).all()


def test_a_big_grid_gets_an_overview_and_a_tile_archive() -> None:
    n, rows, cols, tile = 90, 10, 9, 64
    thumbs = coloured_thumbnails(n, tile)
    cells = cell_targets(n, rows, cols)
    keys = [f"zq-{i}.png" for i in range(n)]
    layout = Layout(rows, cols, tile, keys, cells, np.zeros((n, 2)))
    written: dict[str, bytes] = {}
    urls = {keys[7]: "../originals/7.png", keys[8]: "javascript:alert(1)"}
    files = render_outputs(
        layout,
        thumbs,
        original_urls=urls,
        write_tiles=lambda name, file: written.update({name: file.read()}),
        max_side=320,
    )
    overview = Image.open(io.BytesIO(files["mosaic.jpg"]))
    assert max(overview.size) <= 320
    assert sorted(written) == ["keys.bin", "tiles.pmtiles"]
    reader = Reader(MemorySource(written["tiles.pmtiles"]))
    finest = reader.header()["max_zoom"]
    first = Image.open(io.BytesIO(reader.get(finest, 0, 0)))
    assert first.size == (256, 256)  # full resolution: 4 × 4 cells of 64 px
    r, c = cells[0]
    assert (r, c) == (0, 0)
    assert np.abs(np.asarray(first, dtype=int)[10, 10] - thumbs[0, 0, 0]).max() < 12
    page = files["viewer.html"].decode()
    assert '"mosaic":"mosaic.jpg","tiles":{"width":576,"height":640,' in page
    assert '"url":"tiles.pmtiles"' in page
    # the keys and links are in the key file, not in the page
    assert '"keys":null,"cells":null,"urls":null,"keyfile":{"url":"keys.bin"}' in page
    assert "zq-" not in page and "../originals" not in page
    file = io.BytesIO(written["keys.bin"])
    index = read_index(file)
    (block,) = [read_block(file, index, b) for b in range(index.blocks)]
    for i, (row, col) in enumerate(cells):
        assert block["keys"][row * cols + col] == keys[i]
        assert block["urls"][row * cols + col] == (urls[keys[i]] if i == 7 else None)  # unsafe: dropped
    assert json.loads(files["layout.json"])["grid"] == {"rows": 10, "cols": 9, "tile": 64}


def test_the_command_line_writes_the_archive_beside_the_outputs(tmp_path: Path) -> None:
    n, rows, cols, tile = 261, 1, 261, 64  # 16,704 px wide: more than one mosaic picture may be
    thumbs = coloured_thumbnails(n, tile)
    layout = Layout(
        rows, cols, tile, [f"{i}.png" for i in range(n)], cell_targets(n, rows, cols), np.zeros((n, 2))
    )
    write_outputs(Result(layout, thumbs, np.zeros((n, 4))), LocalStore(tmp_path), Params(tile=tile))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "keys.bin",
        "layout.json",
        "mosaic.jpg",
        "scatter.png",
        "tiles.pmtiles",
        "viewer.html",
    ]
    with (tmp_path / "tiles.pmtiles").open("rb") as archive:
        reader = Reader(MmapSource(archive))
        assert reader.metadata()["gridtsne"]["width"] == 16_704
        last = Image.open(io.BytesIO(reader.get(reader.header()["max_zoom"], 65, 0)))
    assert last.size == (16_704 - 65 * 256, 64)  # the edge tile, cut to the picture
    assert np.abs(np.asarray(last, dtype=int)[32, -32] - thumbs[-1, 0, 0]).max() < 12


def test_a_small_grid_has_no_pyramid() -> None:
    thumbs = coloured_thumbnails(4, 16)
    cells = cell_targets(4, 2, 2)
    layout = Layout(2, 2, 16, list("abcd"), cells, np.zeros((4, 2)))
    written: dict[str, bytes] = {}
    files = render_outputs(layout, thumbs, write_tiles=lambda name, file: written.update({name: file.read()}))
    assert written == {}
    assert Image.open(io.BytesIO(files["mosaic.jpg"])).size == (32, 32)
    page = files["viewer.html"].decode()
    assert '"tiles":null' in page and "connect-src" not in page  # no archive: no fetch at all
    assert '"keys":["a","b","c","d"]' in page and '"keyfile":null' in page  # keys in the page


@pytest.mark.parametrize(
    ("text", "rgb"),
    [("#102030", (16, 32, 48)), (" 102030 ", (16, 32, 48)), ("#fff", (255, 255, 255)), ("navy", (0, 0, 128))],
)
def test_parse_colour_reads_hex_and_names(text: str, rgb: tuple[int, int, int]) -> None:
    assert parse_colour(text) == rgb


@pytest.mark.parametrize(
    ("text", "message"), [("#12345", "not a colour"), ("#ff000080", "opaque"), ("", "not a")]
)
def test_parse_colour_refuses_what_is_not_an_opaque_colour(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_colour(text)
