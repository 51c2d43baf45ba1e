"""``keys.bin``: which picture lies in each cell, read a block at a time by HTTP range requests.

The viewer of a small grid carries its keys inline (:mod:`gridtsne.output.viewer`); beside a deep-zoom
archive (a big grid) it reads them from this file instead, so the page stays the same size at a million
pictures. Hovering or clicking a cell fetches the one block that holds it (one range request, cached);
the first search fetches the whole file (one request, its progress shown) and decodes every block.

Format (little-endian), every part readable on its own:

``MAGIC`` (8 bytes ``gridkeys``) | header length ``H`` (uint32) | header (``H`` bytes of UTF-8 JSON) | blocks

The header is ``{"version": 1, "rows", "cols", "block", "count", "offsets"}``: the grid, the cells per
block, the pictures placed and ``blocks + 1`` offsets counted from the first byte after the header (block
``b`` is bytes ``offsets[b]`` to ``offsets[b + 1]``). Block ``b`` holds cells ``b * block`` up to
``(b + 1) * block`` in reading order (cell ``row * cols + col``; the last block may be shorter), as one gzip
member (what a browser's ``DecompressionStream("gzip")`` reads) of the UTF-8 JSON
``{"keys": [key or null, ...]}``, null for an empty cell, with ``"urls": [url or null, ...]``, the
originals' links, when the grid has any. Fields may be added, never renamed.

Size, measured by ``python -m benchmarks.viewer_size --n 100000 --n 1000000`` (keys as the big-set
benchmark names them, ``uploads/synthetic/c012/0001234.png``, placed at random): the page with its keys
inline is 5.0 MB at 100k pictures and 50 MB at 1M; with this file, 68 KB at any size, and the file 0.52 MB
at 100k, 5.7 MB at 1M (245 blocks of at most 24 KB). Incompressible keys (``uploads/photos/<uuid4>.jpg``):
7.1 MB / 71 MB inline, 2.3 MB / 23 MB here, blocks of at most 93 KB. gzip level 6: level 9 saves 11% and
takes 6 times as long.
"""

from __future__ import annotations

import gzip
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

__all__ = ["BLOCK", "KEYS", "MAGIC", "KeyIndex", "read_block", "read_index", "write_keys"]

#: File name of the key file, next to the other outputs.
KEYS = "keys.bin"
#: The file's first bytes.
MAGIC = b"gridkeys"
#: Cells per block: a hover reads one block, 14-24 KB of gzip for synthetic keys, 93 KB for uuid-named ones.
BLOCK = 4096
VERSION = 1
_LENGTH = struct.Struct("<I")


@dataclass(frozen=True)
class KeyIndex:
    """The header of a key file: the grid, cells per block, pictures placed and where each block lies."""

    rows: int
    cols: int
    block: int
    count: int
    offsets: tuple[int, ...]
    start: int
    """Bytes before the first block (the magic, the header's length and the header)."""

    @property
    def blocks(self) -> int:
        """How many blocks the file has."""
        return len(self.offsets) - 1

    def span(self, number: int) -> tuple[int, int]:
        """Where block ``number`` lies in the file: its first byte and its length."""
        return self.start + self.offsets[number], self.offsets[number + 1] - self.offsets[number]


def write_keys(
    out: IO[bytes],
    rows: int,
    cols: int,
    keys: Sequence[str],
    cells: np.ndarray,
    urls: Sequence[str | None] | None = None,
    *,
    block: int = BLOCK,
) -> KeyIndex:
    """Write the key file of a grid to ``out``; return its header.

    Parameters
    ----------
    out
        A binary file open for writing.
    rows, cols
        The grid.
    keys, cells
        The placed pictures: their keys and (N, 2) (row, col) cells.
    urls
        Each picture's link to its original (None: not linked), in the order of ``keys``.
    block
        Cells per block.

    Raises
    ------
    ValueError
        When a cell lies outside the grid or holds two pictures, or the lengths disagree.
    """
    at = _picture_at(rows, cols, keys, cells)
    if urls is not None and len(urls) != len(keys):
        raise ValueError(f"{len(urls)} urls for {len(keys)} keys")
    linked = urls is not None and any(u is not None for u in urls)
    packed = []
    for first in range(0, rows * cols, block):
        pictures = at[first : first + block].tolist()
        content: dict[str, Any] = {"keys": [keys[i] if i >= 0 else None for i in pictures]}
        if linked:
            content["urls"] = [urls[i] if i >= 0 else None for i in pictures]  # type: ignore[index]
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        packed.append(gzip.compress(text.encode(), compresslevel=6, mtime=0))
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in packed])]).tolist()
    header = {"version": VERSION, "rows": rows, "cols": cols, "block": block, "count": len(keys)}
    encoded = json.dumps({**header, "offsets": offsets}, separators=(",", ":")).encode()
    out.write(MAGIC + _LENGTH.pack(len(encoded)) + encoded)
    for data in packed:
        out.write(data)
    start = len(MAGIC) + _LENGTH.size + len(encoded)
    return KeyIndex(rows, cols, block, len(keys), tuple(offsets), start)


def read_index(file: IO[bytes]) -> KeyIndex:
    """Read the header of the key file ``file`` (seekable, binary).

    Raises
    ------
    ValueError
        When ``file`` is not a key file of this :data:`VERSION`.
    """
    file.seek(0)
    lead = file.read(len(MAGIC) + _LENGTH.size)
    if lead[: len(MAGIC)] != MAGIC or len(lead) < len(MAGIC) + _LENGTH.size:
        raise ValueError("not a key file")
    (length,) = _LENGTH.unpack(lead[len(MAGIC) :])
    header = json.loads(file.read(length))
    if header.get("version") != VERSION:
        raise ValueError(f"unsupported key file version {header.get('version')!r}")
    start = len(lead) + length
    return KeyIndex(
        header["rows"], header["cols"], header["block"], header["count"], tuple(header["offsets"]), start
    )


def read_block(file: IO[bytes], index: KeyIndex, number: int) -> dict[str, list[str | None]]:
    """Block ``number`` of the key file ``file``: ``{"keys": [...]}`` (and ``"urls"``), one entry per cell."""
    offset, length = index.span(number)
    file.seek(offset)
    content: dict[str, list[str | None]] = json.loads(gzip.decompress(file.read(length)))
    return content


def _picture_at(rows: int, cols: int, keys: Sequence[str], cells: np.ndarray) -> np.ndarray:
    """Cell (``row * cols + col``) -> index of its picture, -1 where empty."""
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
    if len(cells) != len(keys):
        raise ValueError(f"{len(cells)} cells for {len(keys)} keys")
    inside = (cells >= 0).all(axis=1) & (cells[:, 0] < rows) & (cells[:, 1] < cols)
    if not inside.all():
        raise ValueError(f"a cell lies outside the {rows}x{cols} grid: {cells[~inside][0].tolist()}")
    flat = cells[:, 0] * cols + cells[:, 1]
    at = np.full(rows * cols, -1, dtype=np.int64)
    at[flat] = np.arange(len(flat))
    if (at >= 0).sum() != len(flat):
        raise ValueError("two pictures share a cell")
    return at
