"""Object storage behind one interface: an S3 bucket or a local folder.

Keys are ``/``-separated strings relative to the store's root (an S3 prefix or a directory). Every stage
that reads or writes data (the CLI, the Lambda handlers, the SageMaker job, the embedded stack) goes through
:class:`Store`, so the same code runs against a folder on disk and against a bucket.

Reading is bounded: ``read(key, max_bytes)`` refuses an object over ``max_bytes`` from its declared size
(``fstat``, the S3 ``Content-Length``) before reading it, and never holds more than ``max_bytes + 1`` bytes
of one that grows or lies about its size. ``sniff`` sees the first :data:`HEAD_BYTES` bytes before the rest
is read, so a file that is not what it claims is refused for the price of one small read.

An S3 prefix longer than one page of keys is listed by several threads at once, each over a range of
keys (:mod:`gridtsne.store.listing`): a million objects in 64-83 rounds of requests rather than 1,000.

A local folder holds more than regular files. :meth:`LocalStore.list` yields every entry that is not a
folder, each once: regular files and links to regular files (followed, wherever they point) are readable;
the rest (broken links, link loops, links to folders, FIFOs, sockets, devices, folders that cannot be
listed) come with :attr:`ObjectInfo.problem`, the reason they cannot be read. :meth:`LocalStore.read` only
ever opens regular files, without blocking, so a FIFO or ``/dev/zero`` named ``x.jpg`` cannot hang a run.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

from gridtsne.store.base import (
    HEAD_BYTES,
    NotAFileError,
    NotFoundError,
    ObjectError,
    ObjectInfo,
    Sniffer,
    Store,
    TooLargeError,
    content_type_for,
)
from gridtsne.store.folder import LocalStore
from gridtsne.store.s3 import S3Store

__all__ = [
    "HEAD_BYTES",
    "LocalStore",
    "NotAFileError",
    "NotFoundError",
    "ObjectError",
    "ObjectInfo",
    "S3Store",
    "Sniffer",
    "Store",
    "TooLargeError",
    "content_type_for",
    "open_store",
]


def open_store(location: str | os.PathLike[str], client: Any = None) -> Store:
    """Open ``s3://bucket/prefix`` as an :class:`S3Store`, anything else as a :class:`LocalStore`."""
    text = os.fspath(location)
    if text.startswith("s3://"):
        parsed = urlparse(text)
        return S3Store(parsed.netloc, parsed.path.lstrip("/"), client=client)
    return LocalStore(text)
