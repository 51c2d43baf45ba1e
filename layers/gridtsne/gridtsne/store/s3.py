"""An S3 bucket (optionally under a prefix) seen as a store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from gridtsne.store.base import NotFoundError, ObjectInfo, Sniffer, check_key, content_type_for, read_bounded


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
        return self.prefix + check_key(key)

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
