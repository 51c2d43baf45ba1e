"""Object storage behind one interface: an S3 bucket or a local folder.

Keys are ``/``-separated strings relative to the store's root (an S3 prefix or a directory). Every stage
that reads or writes data (the CLI, the Lambda handlers, the SageMaker job, the embedded stack) goes through
:class:`Store`, so the same code runs against a folder on disk and against a bucket.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlparse

__all__ = [
    "LocalStore",
    "NotFoundError",
    "ObjectInfo",
    "S3Store",
    "Store",
    "content_type_for",
    "open_store",
]


class NotFoundError(KeyError):
    """The key does not exist in the store."""


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
    """

    key: str
    size: int
    etag: str


@runtime_checkable
class Store(Protocol):
    """What every stage needs from storage."""

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield the objects whose key starts with ``prefix``, in key order."""
        ...

    def read(self, key: str) -> bytes:
        """Return the object's bytes; raise :class:`NotFoundError` if it does not exist."""
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
        """Yield files under the root whose relative key starts with ``prefix``, in key order."""
        if not self.root.is_dir():
            return
        # Walk only the deepest directory the prefix names completely, then filter by the rest.
        base = self.root
        head, _, _ = prefix.rpartition("/")
        if head:
            base = self.root / head
            if not base.is_dir():
                return
        found: list[tuple[str, Path]] = []
        for dirpath, _dirnames, filenames in os.walk(base):
            for name in filenames:
                path = Path(dirpath) / name
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append((key, path))
        for key, path in sorted(found):
            st = path.stat()
            yield ObjectInfo(key=key, size=st.st_size, etag=f"{st.st_size}-{st.st_mtime_ns}")

    def read(self, key: str) -> bytes:
        """Return the file's bytes."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(key) from exc

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

    def read(self, key: str) -> bytes:
        """Return the object's bytes."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._full(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise NotFoundError(key) from exc
        body: bytes = response["Body"].read()
        return body

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


def open_store(location: str | os.PathLike[str], client: Any = None) -> Store:
    """Open ``s3://bucket/prefix`` as an :class:`S3Store`, anything else as a :class:`LocalStore`."""
    text = os.fspath(location)
    if text.startswith("s3://"):
        parsed = urlparse(text)
        return S3Store(parsed.netloc, parsed.path.lstrip("/"), client=client)
    return LocalStore(text)
