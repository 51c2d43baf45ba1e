"""The key file: every key at its cell, read back a block at a time as the viewer reads it."""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pytest
from gridtsne.output.keyfile import MAGIC, read_block, read_index, write_keys


def grid(rows: int, cols: int, n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``n`` keys (some hostile) on random distinct cells of a ``rows`` × ``cols`` grid."""
    rng = np.random.default_rng(seed)
    flat = rng.permutation(rows * cols)[:n]
    keys = [f"photos/c{i % 7:03d}/{i:07d}.jpg" for i in range(n)]
    keys[:1] = ['line\nbreak "quoted" </script> ünïcødé 写真.png'][:n]
    return keys, np.stack([flat // cols, flat % cols], axis=1)


def read_all(data: bytes) -> dict[int, tuple[str, str | None]]:
    """Cell -> (key, url) of every picture in the file, block by block."""
    file = io.BytesIO(data)
    index = read_index(file)
    found = {}
    for number in range(index.blocks):
        content = read_block(file, index, number)
        urls = content.get("urls") or [None] * len(content["keys"])
        for j, (key, url) in enumerate(zip(content["keys"], urls, strict=True)):
            if key is not None:
                found[number * index.block + j] = (key, url)
            else:
                assert url is None
    return found


@pytest.mark.parametrize(("rows", "cols", "n", "block"), [(37, 23, 800, 64), (1, 5, 5, 4096), (9, 9, 0, 10)])
def test_every_key_reads_back_at_its_cell(rows: int, cols: int, n: int, block: int) -> None:
    keys, cells = grid(rows, cols, n)
    out = io.BytesIO()
    index = write_keys(out, rows, cols, keys, cells, block=block)
    assert (index.rows, index.cols, index.block, index.count) == (rows, cols, block, n)
    assert index.blocks == -(-rows * cols // block)  # the last block holds the rest
    data = out.getvalue()
    assert data.startswith(MAGIC) and read_index(io.BytesIO(data)) == index
    assert index.span(0)[0] == index.start and sum(index.span(index.blocks - 1)) == len(data)  # no gap
    expected = {int(r) * cols + int(c): (key, None) for key, (r, c) in zip(keys, cells, strict=True)}
    assert read_all(data) == expected
    for number in range(index.blocks):  # each block is one gzip member of one JSON object, on its own
        offset, length = index.span(number)
        content = json.loads(gzip.decompress(data[offset : offset + length]))
        assert len(content["keys"]) == min(block, rows * cols - number * block)
        assert "urls" not in content  # none given: none stored


def test_urls_are_stored_beside_their_keys() -> None:
    keys, cells = grid(12, 10, 100, seed=3)
    urls = [None if i % 3 else f"../originals/{i}.jpg?a=1&b=2" for i in range(100)]
    out = io.BytesIO()
    write_keys(out, 12, 10, keys, cells, urls, block=32)
    found = read_all(out.getvalue())
    for i, (r, c) in enumerate(cells):
        assert found[int(r) * 10 + int(c)] == (keys[i], urls[i])


def test_a_block_costs_a_fraction_of_its_keys() -> None:
    keys, cells = grid(100, 100, 10_000)
    out = io.BytesIO()
    index = write_keys(out, 100, 100, keys, cells)
    assert index.start < 200  # the header is small: three blocks' offsets
    raw = sum(len(k.encode()) for k in keys)
    assert len(out.getvalue()) < raw / 3


def test_refuses_what_is_not_a_grid() -> None:
    keys = ["a", "b"]
    with pytest.raises(ValueError, match="share a cell"):
        write_keys(io.BytesIO(), 2, 2, keys, np.array([[0, 1], [0, 1]]))
    with pytest.raises(ValueError, match="outside"):
        write_keys(io.BytesIO(), 2, 2, keys, np.array([[0, 1], [2, 0]]))
    with pytest.raises(ValueError, match="cells for"):
        write_keys(io.BytesIO(), 2, 2, keys, np.array([[0, 1]]))
    with pytest.raises(ValueError, match="urls for"):
        write_keys(io.BytesIO(), 2, 2, keys, np.array([[0, 1], [1, 1]]), ["x"])
    with pytest.raises(ValueError, match="not a key file"):
        read_index(io.BytesIO(b"PMTiles\x03" + bytes(20)))
