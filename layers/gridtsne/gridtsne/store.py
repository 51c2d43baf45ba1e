"""Object storage behind one interface: an S3 bucket or a local folder.

Keys are ``/``-separated strings relative to the store's root (an S3 prefix or a directory). Every stage
that reads or writes data (the CLI, the Lambda handlers, the SageMaker job, the embedded stack) goes through
:class:`Store`, so the same code runs against a folder on disk and against a bucket.

Reading is bounded: ``read(key, max_bytes)`` refuses an object over ``max_bytes`` from its declared size
(``fstat``, the S3 ``Content-Length``) before reading it, and never holds more than ``max_bytes + 1`` bytes
of one that grows or lies about its size. ``sniff`` sees the first :data:`HEAD_BYTES` bytes before the rest
is read, so a file that is not what it claims is refused for the price of one small read.

A local folder holds more than regular files. :meth:`LocalStore.list` yields every entry that is not a
folder, each once: regular files and links to regular files (followed, wherever they point) are readable;
the rest (broken links, link loops, links to folders, FIFOs, sockets, devices, folders that cannot be
listed) come with :attr:`ObjectInfo.problem`, the reason they cannot be read. :meth:`LocalStore.read` only
ever opens regular files, without blocking, so a FIFO or ``/dev/zero`` named ``x.jpg`` cannot hang a run.
"""

from __future__ import annotations

import errno
import mimetypes
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlparse

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

    def write(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Create or replace the object."""
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


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"invalid key: {key!r}")
    return key


class LocalStore:
    """A folder on disk seen as a store; keys are paths relative to ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield every non-folder entry under the root whose key starts with ``prefix``, in key order.

        Links are followed to regular files only; an entry that cannot be read (broken link, link loop,
        link to a folder, FIFO, socket, device) and a folder that cannot be listed (its key ends in
        ``/``) are yielded with their :attr:`~ObjectInfo.problem`.
        """
        if not self.root.is_dir():
            return
        # Walk only the deepest directory the prefix names completely, then filter by the rest.
        head, _, _ = prefix.rpartition("/")
        base = self.root / head if head else self.root
        if head and not base.is_dir():
            return
        found = [
            _printable(info)
            for info in _walk(base, base.relative_to(self.root).as_posix())
            if info.key.startswith(prefix)
        ]
        yield from sorted(found, key=lambda info: info.key)

    def read(self, key: str, max_bytes: int | None = None, *, sniff: Sniffer | None = None) -> bytes:
        """Return the bytes of a regular file (links followed), bounded by ``max_bytes``."""
        path = self._path(key)
        try:
            before = path.stat()
            if not stat.S_ISREG(before.st_mode):  # refused before opening: opening a FIFO or device can block
                raise NotAFileError(key, _not_a_file(before.st_mode))
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError as exc:
            raise NotFoundError(key) from exc
        try:
            now = os.fstat(fd)  # what was opened, which may have been replaced since the stat
            if not stat.S_ISREG(now.st_mode):
                raise NotAFileError(key, _not_a_file(now.st_mode))
            return _read_bounded(lambda n: os.read(fd, n), key, now.st_size, max_bytes, sniff)
        finally:
            os.close(fd)

    def write(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Write atomically (temporary file, then rename)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self._path(key).is_file()

    def url(self, key: str, expires: int = 3600) -> str:
        """A ``file://`` URI (local files do not expire)."""
        return self._path(key).as_uri()


class S3Store:
    """An S3 bucket (optionally under a prefix) seen as a store.

    Parameters
    ----------
    bucket
        The bucket's name.
    prefix
        The store's root inside the bucket (``""`` for the whole bucket).
    client
        A boto3 S3 client (default: a new one).
    """

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client

    def __repr__(self) -> str:
        return f"S3Store('s3://{self.bucket}/{self.prefix}')"

    def _full(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield objects under ``prefix`` page by page (S3 returns them in key order)."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for obj in page.get("Contents", []):
                yield ObjectInfo(
                    key=obj["Key"][len(self.prefix) :],
                    size=int(obj["Size"]),
                    etag=str(obj.get("ETag", "")).strip('"'),
                )

    def read(self, key: str, max_bytes: int | None = None, *, sniff: Sniffer | None = None) -> bytes:
        """Return the object's bytes, streamed; one GET, refused on its ``Content-Length`` when too large."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._full(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise NotFoundError(key) from exc
        body = response["Body"]
        try:
            return _read_bounded(body.read, key, response.get("ContentLength"), max_bytes, sniff)
        finally:
            body.close()

    def write(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Put the object with its content type (guessed from the key when not given)."""
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._full(key),
            Body=data,
            ContentType=content_type or content_type_for(key),
        )

    def exists(self, key: str) -> bool:
        """HEAD the object."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def url(self, key: str, expires: int = 3600) -> str:
        """A presigned GET URL valid for ``expires`` seconds."""
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._full(key)}, ExpiresIn=expires
        )
        return url


def _read_bounded(
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


def _walk(base: Path, key_prefix: str) -> Iterator[ObjectInfo]:
    """Every non-folder entry under ``base``, unsorted; links to folders are not followed, and any depth goes.

    Raises
    ------
    OSError
        When ``base`` itself cannot be listed (a subfolder that cannot is yielded with its problem).
    """
    stack = [(base, f"{key_prefix}/" if key_prefix not in ("", ".") else "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError as exc:
            if folder == base:
                raise
            yield ObjectInfo(prefix, 0, "", problem=f"unreadable folder ({exc.strerror or exc})")
            continue
        for entry in entries:
            key = prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), key + "/"))
                    continue
                st = entry.stat(follow_symlinks=True)
            except OSError as exc:
                yield ObjectInfo(key, 0, "", problem=_link_problem(exc))
                continue
            if stat.S_ISREG(st.st_mode):
                yield ObjectInfo(key, st.st_size, f"{st.st_size}-{st.st_mtime_ns}")
            else:
                yield ObjectInfo(key, 0, "", problem=_not_a_file(st.st_mode, link=entry.is_symlink()))


def _printable(info: ObjectInfo) -> ObjectInfo:
    """``info``, or a printable stand-in when its name is not valid UTF-8 (JSON could not hold it)."""
    try:
        info.key.encode()
    except UnicodeEncodeError:
        raw = info.key.encode(errors="surrogateescape").decode(errors="backslashreplace")
        return ObjectInfo(raw, info.size, info.etag, problem="file name is not valid UTF-8")
    return info


def _not_a_file(mode: int, *, link: bool = False) -> str:
    kinds = [
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ]
    kind = next((name for test, name in kinds if test(mode)), "an unknown kind of file")
    return f"not a regular file ({'link to ' if link else ''}{kind})"


def _link_problem(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "broken link (its target does not exist)"
    if exc.errno == errno.ELOOP:
        return "link loop"
    return f"unreadable ({exc.strerror or exc})"


def open_store(location: str | os.PathLike[str], client: Any = None) -> Store:
    """Open ``s3://bucket/prefix`` as an :class:`S3Store`, anything else as a :class:`LocalStore`."""
    text = os.fspath(location)
    if text.startswith("s3://"):
        parsed = urlparse(text)
        return S3Store(parsed.netloc, parsed.path.lstrip("/"), client=client)
    return LocalStore(text)
