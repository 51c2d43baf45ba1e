"""What every store is: the :class:`Store` interface, :class:`ObjectInfo`, the errors, and bounded reading."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Protocol, runtime_checkable

#: How many leading bytes a :data:`Sniffer` is shown (fewer when the object is shorter).
HEAD_BYTES = 64
#: Checks an object's first bytes before the rest is read; raises to refuse the object.
Sniffer = Callable[[bytes], None]
_CHUNK = 1 << 20


class NotFoundError(KeyError):
    """The key does not exist in the store (or no longer: deleted between listing and reading)."""


class ObjectError(OSError):
    """An object that exists but cannot be read as asked; ``reason`` says why in a few words."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


class TooLargeError(ObjectError):
    """The object is larger than the ``max_bytes`` the reader allowed.

    Attributes
    ----------
    size
        The size declared or found (at least ``limit + 1`` when the object grew while being read).
    limit
        The ``max_bytes`` asked for.
    """

    def __init__(self, key: str, size: int, limit: int) -> None:
        super().__init__(key, f"file too large ({size} bytes > {limit})")
        self.size = size
        self.limit = limit


class NotAFileError(ObjectError):
    """The key names something that is not a regular file (a FIFO, a device, a folder...)."""


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object.

    Attributes
    ----------
    key
        Relative to the store's root.
    size
        In bytes.
    etag
        A version tag that changes when the content does: the S3 ETag (quotes stripped) for S3,
        ``<size>-<mtime_ns>`` for a local file.
    problem
        Why the object cannot be read, when the listing already knows (a broken link, a FIFO, a folder
        that cannot be listed...); None for a readable object. S3 objects never have one.
    """

    key: str
    size: int
    etag: str
    problem: str | None = None


@runtime_checkable
class Store(Protocol):
    """What every stage needs from storage."""

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield the objects whose key starts with ``prefix``, in key order."""
        ...

    def read(self, key: str, max_bytes: int | None = None, *, sniff: Sniffer | None = None) -> bytes:
        """Return the object's bytes.

        Parameters
        ----------
        key
            The object.
        max_bytes
            Refuse an object larger than this, before reading it whole (None: no limit).
        sniff
            Called with the first :data:`HEAD_BYTES` bytes before the rest is read; what it raises
            propagates and the rest is never read.

        Raises
        ------
        NotFoundError
            The object does not exist.
        TooLargeError
            It is larger than ``max_bytes``.
        NotAFileError
            It is not a regular file (local stores only).
        """
        ...

    def write(self, key: str, data: bytes | IO[bytes], content_type: str | None = None) -> None:
        """Create or replace the object, from bytes or streamed from a file open for reading."""
        ...

    def exists(self, key: str) -> bool:
        """Whether the object exists."""
        ...

    def url(self, key: str, expires: int = 3600) -> str:
        """A URL that fetches the object: presigned for S3 (``expires`` seconds), ``file://`` locally."""
        ...


def content_type_for(key: str) -> str:
    """The MIME type for a key, by extension (``application/octet-stream`` when unknown)."""
    guessed, _ = mimetypes.guess_type(key)
    return guessed or "application/octet-stream"


def check_key(key: str) -> str:
    """``key`` if it is a valid relative key; raise ``ValueError`` otherwise."""
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"invalid key: {key!r}")
    return key


def read_bounded(
    read: Callable[[int], bytes], key: str, size: int | None, max_bytes: int | None, sniff: Sniffer | None
) -> bytes:
    """Read a stream to its end: refused on its declared ``size``, then never beyond ``max_bytes + 1``."""
    if max_bytes is not None and size is not None and size > max_bytes:
        raise TooLargeError(key, size, max_bytes)
    limit = None if max_bytes is None else max_bytes + 1
    data = bytearray()
    sniffed = sniff is None
    while limit is None or len(data) < limit:
        want = _CHUNK if sniffed else HEAD_BYTES - len(data)
        chunk = read(want if limit is None else min(want, limit - len(data)))
        data += chunk
        if not sniffed and (not chunk or len(data) >= HEAD_BYTES):
            assert sniff is not None
            sniff(bytes(data))
            sniffed = True
        if not chunk:
            break
    if max_bytes is not None and len(data) > max_bytes:
        raise TooLargeError(key, len(data), max_bytes)
    return bytes(data)
