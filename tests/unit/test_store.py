"""One store interface over a folder and an S3 bucket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from gridtsne.store import LocalStore, NotFoundError, S3Store, Store, open_store
from moto import mock_aws


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "local":
        yield LocalStore(tmp_path)
        return
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="store-test")
        yield S3Store("store-test", prefix="root", client=client)


def test_write_read_list_exists(store: Store) -> None:
    store.write("a/x 1.png", b"one")
    store.write("a/b/y.json", b"{}")
    store.write("ab.txt", b"three")
    assert store.read("a/x 1.png") == b"one"
    assert [o.key for o in store.list("a/")] == ["a/b/y.json", "a/x 1.png"]
    assert [o.key for o in store.list("a")] == ["a/b/y.json", "a/x 1.png", "ab.txt"]
    assert [o.size for o in store.list("ab")] == [5]
    assert store.exists("a/b/y.json") and not store.exists("a/b/z.json")
    with pytest.raises(NotFoundError):
        store.read("missing")


def test_etag_changes_with_content(store: Store) -> None:
    store.write("k", b"first")
    (first,) = store.list("k")
    store.write("k", b"second!")
    (second,) = store.list("k")
    assert first.etag != second.etag


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b"])
def test_bad_keys_are_refused(store: Store, key: str) -> None:
    with pytest.raises(ValueError):
        store.write(key, b"")


def test_urls(store: Store) -> None:
    store.write("dir/file.txt", b"hello")
    url = store.url("dir/file.txt", expires=60)
    if isinstance(store, LocalStore):
        assert url.startswith("file://") and Path(url.removeprefix("file://")).read_bytes() == b"hello"
    else:
        assert "Expires=" in url and "root/dir/file.txt" in url
        assert requests.get(url, timeout=5).content == b"hello"


def test_open_store(tmp_path: Path) -> None:
    assert isinstance(open_store(tmp_path), LocalStore)
    with mock_aws():
        opened = open_store("s3://bucket/some/prefix", client=boto3.client("s3", region_name="us-east-1"))
        assert isinstance(opened, S3Store) and opened.bucket == "bucket" and opened.prefix == "some/prefix/"
