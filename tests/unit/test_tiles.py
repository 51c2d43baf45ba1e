"""Deep-zoom tile pyramids: geometry, pixel content and call pattern (memory: ``benchmarks.tiles``)."""

from __future__ import annotations

import io
from collections import Counter

import numpy as np
import pytest
from gridtsne.output.tiles import PyramidInfo, WriteTile, build_pyramid, pyramid_geometry
from PIL import Image


def noise_thumbs(
    rows: int, cols: int, px: int, *, seed: int = 0, empty: int = 0
) -> dict[tuple[int, int], Image.Image]:
    """Random-pixel thumbnails for all but the last ``empty`` cells (random pixels catch any misplacement)."""
    rng = np.random.default_rng(seed)
    cells = [(r, c) for r in range(rows) for c in range(cols)][: rows * cols - empty]
    return {cell: Image.fromarray(rng.integers(0, 256, (px, px, 3), dtype=np.uint8)) for cell in cells}


def naive_mosaic(thumbs: dict[tuple[int, int], Image.Image], rows: int, cols: int, px: int) -> Image.Image:
    image = Image.new("RGB", (cols * px, rows * px), (0, 0, 0))
    for (r, c), thumb in thumbs.items():
        image.paste(thumb, (c * px, r * px))
    return image


def to_paths(written: dict[str, bytes], ext: str = "jpg") -> WriteTile:
    """A ``write`` that keeps each tile under ``"level/col_row.ext"``, refusing to write one twice."""

    def write(level: int, col: int, row: int, data: bytes) -> None:
        path = f"{level}/{col}_{row}.{ext}"
        assert path not in written, f"{path} written twice"
        written[path] = data

    return write


def build(
    thumbs: dict[tuple[int, int], Image.Image], rows: int, cols: int, px: int, **kwargs: object
) -> tuple[PyramidInfo, dict[str, Image.Image]]:
    written: dict[str, bytes] = {}
    write = to_paths(written, str(kwargs.get("image_format", "jpg")))
    info = build_pyramid(lambda r, c: thumbs.get((r, c)), rows, cols, px, write, **kwargs)  # type: ignore[arg-type]
    return info, {path: Image.open(io.BytesIO(data)).convert("RGB") for path, data in written.items()}


def assemble(info: PyramidInfo, tiles: dict[str, Image.Image], level: int) -> Image.Image:
    """Put a level back together from its tiles."""
    image = Image.new("RGB", info.level_size(level), (255, 0, 255))
    ncols, nrows = info.tile_counts(level)
    for row in range(nrows):
        for col in range(ncols):
            image.paste(
                tiles[f"{level}/{col}_{row}.{info.format}"], (col * info.tile_size, row * info.tile_size)
            )
    return image


@pytest.mark.parametrize(
    ("rows", "cols", "px", "size", "levels", "top"),
    [
        (1, 1, 64, 256, 1, (64, 64)),
        (4, 4, 64, 256, 1, (256, 256)),
        (4, 5, 64, 256, 2, (160, 128)),
        (3, 17, 32, 64, 5, (34, 6)),
        (1000, 1000, 64, 256, 9, (250, 250)),
    ],
)
def test_geometry(rows: int, cols: int, px: int, size: int, levels: int, top: tuple[int, int]) -> None:
    info = pyramid_geometry(rows, cols, px, tile_size=size)
    assert (info.width, info.height) == (cols * px, rows * px)
    assert info.levels == levels
    assert info.level_size(0) == top
    assert max(info.level_size(0)) <= size  # the coarsest level is one tile
    assert info.tile_counts(0) == (1, 1)
    assert info.level_size(levels - 1) == (info.width, info.height)
    if levels > 1:  # and the level above it does not fit one tile
        assert max(info.level_size(1)) > size
    for level in range(1, levels):  # each level is its finer neighbour halved, rounding up
        w, h = info.level_size(level)
        assert info.level_size(level - 1) == (-(-w // 2), -(-h // 2))


def test_geometry_rejects_bad_grids() -> None:
    with pytest.raises(ValueError, match="at least 1x1"):
        pyramid_geometry(0, 3, 64)
    with pytest.raises(ValueError, match="tile_size"):
        pyramid_geometry(3, 3, 64, tile_size=8)
    with pytest.raises(ValueError, match="image_format"):
        pyramid_geometry(3, 3, 64, image_format="gif")  # type: ignore[arg-type]
    info = pyramid_geometry(3, 3, 64)
    with pytest.raises(ValueError, match="level"):
        info.level_size(info.levels)


def test_every_level_equals_the_halved_full_picture() -> None:
    rows, cols, px = 5, 7, 24  # 168 x 120 px, 64 px tiles that cut through cells, odd level sizes
    thumbs = noise_thumbs(rows, cols, px, empty=3)
    info, tiles = build(thumbs, rows, cols, px, tile_size=64, image_format="png")
    expected_paths = {
        f"{level}/{c}_{r}.png"
        for level in range(info.levels)
        for c in range(info.tile_counts(level)[0])
        for r in range(info.tile_counts(level)[1])
    }
    assert set(tiles) == expected_paths
    assert len(tiles) == info.tile_count()
    for path, tile in tiles.items():  # edge tiles are cut to the picture
        name, rest = path.split("/")
        col, row = map(int, rest.removesuffix(".png").split("_"))
        w, h = info.level_size(int(name))
        assert tile.size == (min(64, w - col * 64), min(64, h - row * 64))
    picture = naive_mosaic(thumbs, rows, cols, px)
    for level in reversed(range(info.levels)):
        assembled = assemble(info, tiles, level)
        assert np.array_equal(np.asarray(assembled), np.asarray(picture)), f"level {level} differs"
        picture = picture.reduce(2)


def test_tile_pixels_are_the_placed_thumbnails() -> None:
    rows, cols, px = 8, 8, 32
    thumbs = noise_thumbs(rows, cols, px, seed=3)
    info, tiles = build(thumbs, rows, cols, px, tile_size=128, image_format="png")
    top = info.levels - 1
    for r, c in [(0, 0), (2, 5), (7, 7), (4, 3)]:
        tile = tiles[f"{top}/{c * px // 128}_{r * px // 128}.png"]
        x, y = (c * px) % 128, (r * px) % 128
        assert np.array_equal(np.asarray(tile.crop((x, y, x + px, y + px))), np.asarray(thumbs[(r, c)]))


def test_jpeg_tiles_are_close_and_empty_cells_get_the_background() -> None:
    rows, cols, px = 4, 4, 64
    rng = np.random.default_rng(1)
    smooth = {  # JPEG-friendly content: smooth gradients
        (r, c): Image.fromarray(
            np.clip(
                np.linspace(0, 1, px)[None, :, None] * rng.uniform(50, 250, 3)
                + np.linspace(0, 1, px)[:, None, None] * 40,
                0,
                255,
            ).astype(np.uint8)
        )
        for r in range(rows)
        for c in range(cols)
        if (r, c) != (3, 3)
    }
    info, tiles = build(smooth, rows, cols, px, background=(10, 200, 30), quality=90)
    assert info.levels == 1 and info.format == "jpg"
    tile = np.asarray(tiles["0/0_0.jpg"]).astype(int)
    expected = np.asarray(naive_mosaic(smooth, rows, cols, px)).astype(int)
    placed = np.ones((rows * px, cols * px), dtype=bool)
    placed[3 * px :, 3 * px :] = False
    assert np.abs(tile - expected)[placed].mean() < 3
    assert np.abs(tile[3 * px + 8 : -8, 3 * px + 8 : -8] - np.array([10, 200, 30])).max() < 6


def test_thumbnails_are_fetched_once_and_normalised() -> None:
    rows, cols, px = 6, 10, 32
    calls: Counter[tuple[int, int]] = Counter()
    grey = Image.new("L", (px * 2, px * 2), 128)  # wrong mode and size: converted and resized
    rgba = Image.new("RGBA", (px, px), (255, 0, 0, 255))

    def thumb(r: int, c: int) -> Image.Image | None:
        calls[(r, c)] += 1
        return grey if (r + c) % 2 else rgba

    progress: list[tuple[int, int]] = []
    written: dict[str, bytes] = {}
    info = build_pyramid(
        thumb,
        rows,
        cols,
        px,
        to_paths(written, "png"),
        tile_size=64,
        image_format="png",
        progress=lambda done, total: progress.append((done, total)),
    )
    red = np.asarray(Image.open(io.BytesIO(written[f"{info.levels - 1}/0_0.png"])))
    assert red[:px, :px].tolist() == np.full((px, px, 3), [255, 0, 0]).tolist()
    assert np.all(red[:px, px : 2 * px] == 128)
    assert set(calls) == {(r, c) for r in range(rows) for c in range(cols)}
    assert set(calls.values()) == {1}
    assert progress[-1] == (info.tile_count(), info.tile_count())
    assert [d for d, _ in progress] == list(range(1, info.tile_count() + 1))


def test_a_big_grid_writes_every_tile_once() -> None:
    """A 128 x 128 grid of 64 px cells (an 8192 px square); its memory is measured by
    ``python -m benchmarks.tiles``."""
    palette = [Image.effect_noise((64, 64), 40 + 10 * i).convert("RGB") for i in range(8)]
    paths: Counter[str] = Counter()
    info = build_pyramid(
        lambda r, c: palette[(r * 7 + c) % 8],
        128,
        128,
        64,
        lambda level, col, row, data: paths.update([f"{level}/{col}_{row}"]),
        quality=70,
    )
    assert info.levels == 6
    assert len(paths) == info.tile_count() == sum(4**k for k in range(6))
    assert set(paths.values()) == {1}
    assert {p.split("/")[0] for p in paths} == {str(level) for level in range(6)}
