"""Tile thumbnails read one at a time or a batch at a time, so a render never holds all of them.

:class:`Thumbnails` is what the render reads: ``len``, ``side``, :meth:`~Thumbnails.get` (one picture) and
:meth:`~Thumbnails.read` (a run of consecutive pictures). :class:`ThumbSpool` keeps them in an unlinked
file on local disk, written in any order by position and read back by offset (``pread``): the pictures
live in the page cache, which the kernel reclaims, not in the process's memory. :class:`ArrayThumbnails`
wraps an array already in memory (small sets, tests).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["ArrayThumbnails", "ThumbSpool", "Thumbnails", "as_thumbnails", "batches"]

#: Bytes of pictures per batch when a whole source is read through (at 64 px: 1365 pictures).
BATCH_BYTES = 16 * 2**20


@runtime_checkable
class Thumbnails(Protocol):
    """``len(self)`` square RGB pictures of ``side`` px, in the order of the keys they belong to."""

    @property
    def side(self) -> int:
        """Side of every picture in pixels."""
        ...

    def __len__(self) -> int: ...

    def get(self, index: int) -> np.ndarray:
        """Picture ``index``: (side, side, 3) uint8."""
        ...

    def read(self, start: int, stop: int) -> np.ndarray:
        """Pictures ``start`` to ``stop`` (excluded): (stop - start, side, side, 3) uint8."""
        ...


class ArrayThumbnails:
    """Thumbnails held in one (N, t, t, 3) uint8 array."""

    def __init__(self, pixels: np.ndarray) -> None:
        if pixels.ndim != 4 or pixels.shape[3] != 3 or pixels.shape[1] != pixels.shape[2]:
            raise ValueError(f"thumbnails must be (N, t, t, 3), got {pixels.shape}")
        self.pixels = np.asarray(pixels, dtype=np.uint8)

    @property
    def side(self) -> int:
        """Side of every picture in pixels."""
        return int(self.pixels.shape[1])

    def __len__(self) -> int:
        return len(self.pixels)

    def get(self, index: int) -> np.ndarray:
        """Picture ``index``."""
        return np.asarray(self.pixels[index])

    def read(self, start: int, stop: int) -> np.ndarray:
        """Pictures ``start`` to ``stop`` (excluded)."""
        return self.pixels[start:stop]


class ThumbSpool:
    """``count`` thumbnails of ``side`` px in a temporary file, written and read by position.

    The file is unlinked from the start (it disappears with the process or :meth:`close`); a position
    never written reads as black. Writes at distinct positions may come from several threads.

    Parameters
    ----------
    count
        Number of pictures (more can be appended).
    side
        Their side in pixels.
    folder
        Where the file goes (default: the system's temporary folder, ``TMPDIR``).
    """

    def __init__(self, count: int, side: int, *, folder: str | None = None) -> None:
        self.count = count
        self._side = side
        self.size = side * side * 3
        self._file = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 (open as long as the spool)
        self._fd = self._file.fileno()
        os.ftruncate(self._fd, count * self.size)

    @property
    def side(self) -> int:
        """Side of every picture in pixels."""
        return self._side

    def __len__(self) -> int:
        return self.count

    def __enter__(self) -> ThumbSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the file."""
        self._file.close()

    def write(self, start: int, pictures: np.ndarray) -> None:
        """Store ``pictures`` (k, side, side, 3) at positions ``start`` to ``start + k``."""
        if pictures.shape[1:] != (self._side, self._side, 3):
            raise ValueError(f"expected (k, {self._side}, {self._side}, 3) pictures, got {pictures.shape}")
        if start < 0 or start + len(pictures) > self.count:
            raise IndexError(f"positions {start}..{start + len(pictures)} outside 0..{self.count}")
        data = np.ascontiguousarray(pictures, dtype=np.uint8).tobytes()
        offset = start * self.size
        while data:
            written = os.pwrite(self._fd, data, offset)
            data, offset = data[written:], offset + written

    def append(self, pictures: np.ndarray) -> None:
        """Store ``pictures`` (k, side, side, 3) after the last position, which grows by k."""
        self.count += len(pictures)
        self.write(self.count - len(pictures), pictures)

    def get(self, index: int) -> np.ndarray:
        """Picture ``index``."""
        return np.asarray(self.read(index, index + 1)[0])

    def read(self, start: int, stop: int) -> np.ndarray:
        """Pictures ``start`` to ``stop`` (excluded)."""
        if not 0 <= start <= stop <= self.count:
            raise IndexError(f"positions {start}..{stop} outside 0..{self.count}")
        want = (stop - start) * self.size
        data = os.pread(self._fd, want, start * self.size)
        while len(data) < want:  # a short read: the rest
            more = os.pread(self._fd, want - len(data), start * self.size + len(data))
            if not more:
                raise OSError("thumbnail spool ended early")
            data += more
        return np.frombuffer(data, dtype=np.uint8).reshape(stop - start, self._side, self._side, 3)


def as_thumbnails(pictures: Thumbnails | np.ndarray) -> Thumbnails:
    """``pictures`` as a :class:`Thumbnails` source (an array is wrapped, a source kept)."""
    return ArrayThumbnails(pictures) if isinstance(pictures, np.ndarray) else pictures


def batches(
    source: Thumbnails, size: int | None = None, *, start: int = 0, stop: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """``(position, pictures)`` over the source (from ``start`` to ``stop``, default all of it), ``size``
    pictures at a time (default: about :data:`BATCH_BYTES`)."""
    size = size or max(1, BATCH_BYTES // max(1, source.side * source.side * 3))
    end = len(source) if stop is None else stop
    for position in range(start, end, size):
        yield position, source.read(position, min(end, position + size))
