"""An S3 bucket (optionally under a prefix) seen as a store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from gridtsne.store.base import NotFoundError, ObjectInfo, Sniffer, check_key, content_type_for, read_bounded
from gridtsne.store.listing import LIST_WORKERS, list_pages


class S3Store:
    """An S3 bucket (optionally under a prefix) seen as a store.

    Parameters
    ----------
    bucket
        The bucket's name.
    prefix
        The store's root inside the bucket (``""`` for the whole bucket).
    client
        A boto3 S3 client (default: a new one with a connection for each listing thread).
    page_size
        Keys per ``ListObjectsV2`` page (S3's maximum, 1,000, by default).
    """

    def __init__(self, bucket: str, prefix: str = "", client: Any = None, page_size: int = 1000) -> None:
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("s3", config=Config(max_pool_connections=LIST_WORKERS))
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client
        self.page_size = page_size

    def __repr__(self) -> str:
        return f"S3Store('s3://{self.bucket}/{self.prefix}')"

    def _full(self, key: str) -> str:
        return self.prefix + check_key(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield objects under ``prefix`` in key order: one request when they fit on a page, else the key
        range is listed by up to :data:`~gridtsne.store.listing.LIST_WORKERS` threads, no more than the client
        has connections (see :mod:`gridtsne.store.listing`)."""
        workers = min(LIST_WORKERS, self.client.meta.config.max_pool_connections)
        for page in list_pages(self.client, self.bucket, self.prefix + prefix, self.page_size, workers):
            for key, size, etag in page:
                yield ObjectInfo(key=key[len(self.prefix) :], size=size, etag=etag)

    def read(self, key: str, max_bytes: int | None = None, *, sniff: Sniffer | None = None) -> bytes:
        """Return the object's bytes, streamed; one GET, refused on its ``Content-Length`` when too large."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._full(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise NotFoundError(key) from exc
        body = response["Body"]
        try:
            return read_bounded(body.read, key, response.get("ContentLength"), max_bytes, sniff)
        finally:
            body.close()

    def write(self, key: str, data: bytes | IO[bytes], content_type: str | None = None) -> None:
        """Put the object with its content type (guessed from the key when not given); a file is streamed
        (in parts when large)."""
        kind = content_type or content_type_for(key)
        if isinstance(data, bytes):
            self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=data, ContentType=kind)
        else:
            self.client.upload_fileobj(data, self.bucket, self._full(key), ExtraArgs={"ContentType": kind})

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
