"""One store interface over a folder and an S3 bucket."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from gridtsne.store import (
    HEAD_BYTES,
    LocalStore,
    NotAFileError,
    NotFoundError,
    S3Store,
    Store,
    TooLargeError,
    open_store,
)
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


def test_read_refuses_an_object_over_max_bytes_by_its_declared_size(store: Store) -> None:
    store.write("k", b"x" * 1000)
    assert store.read("k", max_bytes=1000) == b"x" * 1000
    with pytest.raises(TooLargeError) as refused:
        store.read("k", max_bytes=10)
    # The declared size, not the 11 bytes a bounded read would have found: refused before reading.
    assert (refused.value.size, refused.value.limit) == (1000, 10)
    assert refused.value.reason == "file too large (1000 bytes > 10)"
    with pytest.raises(NotFoundError):
        store.read("missing", max_bytes=10)


def test_sniff_sees_the_first_bytes_and_can_stop_the_read(store: Store) -> None:
    store.write("long", bytes(range(256)) * 10)
    store.write("short", b"abc")
    seen: list[bytes] = []
    assert store.read("long", sniff=seen.append) == bytes(range(256)) * 10
    assert store.read("short", 100, sniff=seen.append) == b"abc"
    assert seen == [bytes(range(HEAD_BYTES)), b"abc"]

    def refuse(head: bytes) -> None:
        raise ValueError(f"refused after {len(head)} bytes")

    with pytest.raises(ValueError, match=f"refused after {HEAD_BYTES} bytes"):
        store.read("long", sniff=refuse)


def test_a_file_larger_than_it_declares_is_read_no_further_than_the_bound(tmp_path: Path) -> None:
    (tmp_path / "lies").symlink_to("/proc/self/status")  # a regular file whose declared size is 0
    assert (tmp_path / "lies").stat().st_size == 0
    with pytest.raises(TooLargeError) as refused:
        LocalStore(tmp_path).read("lies", max_bytes=16)
    assert refused.value.size == 17


def test_local_listing_reports_what_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.png").write_bytes(b"a")
    (tmp_path / "outside.png").write_bytes(b"out")
    (tmp_path / "link.png").symlink_to(tmp_path / "outside.png")
    (tmp_path / "dangling").symlink_to("nowhere")
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "dirlink").symlink_to("sub")
    (tmp_path / "zero").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock"))
    listed = {info.key: (info.size, info.problem) for info in LocalStore(tmp_path).list()}
    assert listed == {
        "dangling": (0, "broken link (its target does not exist)"),
        "dirlink": (0, "not a regular file (link to a folder)"),
        "fifo": (0, "not a regular file (a FIFO)"),
        "link.png": (3, None),
        "loop": (0, "link loop"),
        "outside.png": (3, None),
        "sock": (0, "not a regular file (a socket)"),
        "sub/a.png": (1, None),
        "zero": (0, "not a regular file (link to a character device)"),
    }
    store = LocalStore(tmp_path)
    assert store.read("link.png") == b"out"
    for key, problem in [("fifo", "a FIFO"), ("zero", "a character device"), ("sub", "a folder")]:
        with pytest.raises(NotAFileError, match=problem):
            store.read(key)  # refused without opening: a FIFO would block, /dev/zero never ends
    with pytest.raises(NotFoundError):
        store.read("dangling")
    with pytest.raises(OSError, match="Too many levels"):
        store.read("loop")


def test_local_listing_names_a_folder_it_cannot_enter_and_a_name_that_is_not_utf8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "a.png").write_bytes(b"a")
    fd = os.open(os.fsencode(tmp_path) + b"/caf\xe9.png", os.O_WRONLY | os.O_CREAT, 0o644)
    os.close(fd)
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]) -> object:  # root may enter any folder: deny it here
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    listed = {info.key: info.problem for info in LocalStore(tmp_path).list()}
    assert listed == {
        "caf\\xe9.png": "file name is not valid UTF-8",
        "locked/": "unreadable folder (Permission denied)",
    }
    monkeypatch.setattr(os, "scandir", lambda path: scandir(tmp_path / "locked"))
    with pytest.raises(PermissionError):  # the folder asked for itself: the caller must know
        list(LocalStore(tmp_path).list())
