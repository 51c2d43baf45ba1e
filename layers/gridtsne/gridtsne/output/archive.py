"""The deep-zoom pyramid as one PMTiles v3 archive (``tiles.pmtiles``), so one URL serves every tile.

A page reads a tile with one HTTP range request (the npm ``pmtiles`` library, inlined in the viewer), so a
single presigned URL of the archive reaches the whole pyramid however many tiles it has. Archive tile
``(z, x, y)`` is pyramid tile ``(level, col, row)`` of :mod:`gridtsne.output.tiles` (level 0: the whole grid
in one tile). The header says the tile type (JPEG or PNG, stored uncompressed); the metadata's
``"gridtsne"`` entry is the pyramid's geometry (:meth:`~gridtsne.output.tiles.PyramidInfo.to_dict`).

Memory stays bounded: the ``pmtiles`` writer spools tile bytes to a temporary file as they come and keeps
one directory entry per distinct tile (identical tiles, such as empty ones, are stored once); the finished
archive is another temporary file, handed to the caller as an open file to stream into a store.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from gridtsne.output.tiles import ImageFormat, PyramidInfo

__all__ = ["ARCHIVE", "TileArchive", "tile_archive"]

#: File name of the archive, next to the other outputs.
ARCHIVE = "tiles.pmtiles"

_TILE_TYPES = {"jpg": TileType.JPEG, "png": TileType.PNG}


class TileArchive:
    """Collects a pyramid's tiles (:meth:`add`, a ``write`` for :func:`~gridtsne.output.tiles.build_pyramid`)
    and writes the archive (:meth:`finish`)."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._writer = Writer(out)  # type: ignore[no-untyped-call]
        self.tiles = 0

    def add(self, level: int, col: int, row: int, data: bytes) -> None:
        """Store the encoded tile ``(level, col, row)``."""
        self._writer.write_tile(zxy_to_tileid(level, col, row), data)  # type: ignore[no-untyped-call]
        self.tiles += 1

    def finish(self, info: PyramidInfo, image_format: ImageFormat = "jpg") -> None:
        """Write the header, directories and metadata, then the spooled tiles, to the output file."""
        if not self.tiles:
            raise ValueError("an archive needs at least one tile")
        header: dict[str, Any] = {
            "tile_type": _TILE_TYPES[image_format],
            "tile_compression": Compression.NONE,
            "center_zoom": 0,
        }
        metadata = {"name": "gridtsne", "format": image_format, "gridtsne": info.to_dict()}
        self._writer.finalize(header, metadata)  # type: ignore[no-untyped-call]


@contextmanager
def tile_archive() -> Iterator[tuple[TileArchive, Callable[[], IO[bytes]]]]:
    """A :class:`TileArchive` over a temporary file, and a function that gives that file rewound.

    Both temporary files are removed on leaving the context.
    """
    with tempfile.TemporaryFile() as out:
        archive = TileArchive(out)

        def rewound() -> IO[bytes]:
            out.flush()
            out.seek(0)
            return out

        yield archive, rewound
