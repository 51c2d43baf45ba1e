"""Listing an S3 prefix in key ranges by several threads: the cut points, and the same listing as one page
after another."""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from gridtsne.store import ObjectInfo, S3Store
from gridtsne.store.keyrange import MAX_KEY_BYTES, midpoint, split
from gridtsne.store.listing import list_pages
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from benchmarks.listing import PREFIX, MemoryBucket, camera

BUCKET = "listing-test"
# Characters at the edges of UTF-8's byte lengths and of the surrogates no key holds.
EDGES = ["\x01", "\x7f", "\x80", "\u07ff", "\u0800", "\ud7ff", "\ue000", "\uffff", "\U00010000", "\U0010ffff"]
# Keys are UTF-8: no surrogates.
key_chars = st.sampled_from([*EDGES, "a", "b", "0", "/", "_"]) | st.characters(blacklist_categories=["Cs"])
keys_text = st.text(key_chars, max_size=12)


@given(keys_text, keys_text)
def test_a_midpoint_lies_strictly_between_its_bounds(a: str, b: str) -> None:
    if a == b:
        return
    lo, hi = min(a, b), max(a, b)
    middle = midpoint(lo, hi)
    if middle is None:
        # Only keys of lo and a control character lie between, and a cut holds none (XML refuses them).
        assert hi.startswith(lo) and len(hi) == len(lo) + 1 and hi[-1] <= " "
    else:
        assert lo < middle < hi
        assert middle.encode() < hi.encode() and middle.encode() > lo.encode()  # S3's order: UTF-8 bytes


@given(keys_text)
def test_a_range_without_end_always_has_a_midpoint(lo: str) -> None:
    middle = midpoint(lo, None)
    assert middle is not None and middle > lo
    assert len(middle) <= len(lo) + 1


@given(keys_text, st.one_of(st.none(), keys_text), st.integers(1, 20))
def test_cuts_increase_strictly_inside_the_range(lo: str, hi: str | None, pieces: int) -> None:
    if hi is not None and hi <= lo:
        return
    cuts = split(lo, hi, pieces)
    assert len(cuts) <= pieces - 1
    bounds = [lo, *cuts] + ([hi] if hi is not None else [])
    assert all(a < b for a, b in itertools.pairwise(bounds))
    assert all(len(cut.encode()) <= MAX_KEY_BYTES for cut in cuts)


def test_the_midpoint_cuts_plain_ascii_near_its_middle() -> None:
    assert midpoint("a", "z") == "n"
    assert midpoint("IMG_0001.jpg", "IMG_0999.jpg") == "IMG_05"
    assert midpoint("IMG_0001.jpg", "IMG_0002.jpg") == "IMG_0001q"  # adjacent: extends the lower bound
    assert midpoint("x", "x\0") is None
    cuts = split("IMG_001000.jpg", None, 16)  # halving towards the keys just listed
    assert cuts[0].startswith("IM") and cuts[0] > "IMG_001000.jpg" and len(cuts) == 15


def test_cuts_hold_no_character_that_xml_refuses_where_they_can() -> None:
    # S3 and its emulators answer in XML, which cannot hold U+FFFE or U+FFFF: a cut avoids them.
    for lo, hi in [("a\ufffd", "a\U00010000"), ("a\ufff0", "a\U00010000"), ("a\ufffd", "a\U00010010")]:
        middle = midpoint(lo, hi)
        assert middle is not None and lo < middle < hi
        assert "\ufffe" not in middle and "\uffff" not in middle
    assert not any("\ufffe" in cut or "\uffff" in cut for cut in split("\ufff0", "\U00010000", 20))


def test_no_cut_is_longer_than_a_key() -> None:
    lo = "a" * MAX_KEY_BYTES
    assert split(lo, "a" * (MAX_KEY_BYTES - 1) + "b", 4) == []


def shapes() -> dict[str, list[str]]:
    """Key sets that each list on many pages of 7."""
    rng = random.Random(3)
    camera = [f"IMG_{i:04d}.jpg" for i in range(1, 400)]
    uuids = [str(uuid.UUID(int=rng.getrandbits(128))) + ".png" for _ in range(300)]
    deep = [f"a/b{i % 3}/c{i % 7}/d/{i}.png" for i in range(300)]
    digits = [str(i) for i in range(300)]
    unicode = [
        f"{c}{i:02d}{d}"
        for i, (c, d) in enumerate(itertools.product([*EDGES, "é", "日本", "😀"], "a\U0010ffff"))
    ]
    unicode += [c * n for c in EDGES for n in (1, 2, 3)]
    # Keys equal to the cut points the listing is likely to use, and keys just around them.
    at_cuts = [cut for key in camera[::60] for cut in split("p/" + key, "p0", 16)]
    at_cuts = [k[2:] for k in at_cuts] + [k[2:] + "\x01" for k in at_cuts] + camera[::3]
    return {
        "camera": camera,
        "uuids": uuids,
        "deep": deep,
        "digits": digits,
        "unicode": sorted(set(unicode)),
        "at-cuts": sorted(set(at_cuts)),
    }


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield s3


@contextmanager
def requests(client: Any) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every ListObjectsV2 request made meanwhile."""
    made: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        made.append(params)

    client.meta.events.register("provide-client-params.s3.ListObjectsV2", record)
    try:
        yield made
    finally:
        client.meta.events.unregister("provide-client-params.s3.ListObjectsV2", record)


def fill(client: Any, root: str, keys: list[str]) -> None:
    for i, key in enumerate(keys):
        client.put_object(Bucket=BUCKET, Key=f"{root}/{key}", Body=b"x" * (i % 5))
    client.put_object(Bucket=BUCKET, Key=f"{root}0", Body=b"after the prefix")  # must not be listed
    client.put_object(Bucket=BUCKET, Key=f"{root}.", Body=b"before the prefix")


def sequential(client: Any, prefix: str) -> list[ObjectInfo]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [
        ObjectInfo(o["Key"][len(prefix) :], int(o["Size"]), o["ETag"].strip('"'))
        for page in pages
        for o in page.get("Contents", [])
    ]


@pytest.mark.parametrize("shape", list(shapes()))
def test_the_parallel_listing_equals_the_sequential_one(client: Any, shape: str) -> None:
    keys = shapes()[shape]
    fill(client, shape, keys)
    store = S3Store(BUCKET, prefix=shape, client=client, page_size=7)
    with requests(client) as made:
        listed = list(store.list())
    assert listed == sequential(client, shape + "/")
    assert [o.key for o in listed] == sorted(keys)
    assert len({r.get("StartAfter") for r in made}) == len(made)  # no page requested twice
    # Beyond the sequential listing's pages, a range for an idle thread at each cut, most found empty with
    # pages this small (at S3's 1,000 keys a page, 15-50 % more requests: benchmarks/listing.py).
    pages = -(-len(keys) // 7)
    assert pages <= len(made) <= 4 * pages + 20
    some = sorted(keys)[len(keys) // 3][:3]
    assert list(store.list(some)) == [o for o in listed if o.key.startswith(some)]


# Keys that moto can answer in XML, which forbids most control characters (S3 takes them, encoded).
moto_chars = st.sampled_from([*EDGES[1:], "a", "0", "/"]) | st.characters(blacklist_categories=["Cc", "Cs"])
moto_text = st.text(moto_chars, max_size=8)


@settings(max_examples=12, deadline=None)
@given(st.lists(moto_text.filter(lambda k: k != ""), max_size=25, unique=True))
def test_any_keys_list_as_they_do_one_page_after_another(client: Any, keys: list[str]) -> None:
    root = f"any-{uuid.uuid4().hex}"
    fill(client, root, keys)
    listed = [o.key for o in S3Store(BUCKET, prefix=root, client=client, page_size=2).list()]
    assert listed == sorted(keys) == [o.key for o in sequential(client, root + "/")]


@pytest.mark.parametrize("count", [0, 1, 7])
def test_a_prefix_on_one_page_costs_one_request(client: Any, count: int) -> None:
    fill(client, f"small-{count}", [f"k{i}" for i in range(count)])
    with requests(client) as made:
        assert len(list(S3Store(BUCKET, prefix=f"small-{count}", client=client, page_size=7).list())) == count
    assert len(made) == 1


def test_threads_shorten_the_requests_one_after_another() -> None:
    latency, keys = 0.005, camera(3000)
    bucket = MemoryBucket(keys, latency)
    started = time.perf_counter()
    assert sum(len(page) for page in list_pages(bucket, "b", PREFIX, page_size=10, workers=16)) == len(keys)
    rounds = (time.perf_counter() - started) / latency
    assert rounds < 300 / 3  # 300 one after another (~40 measured, the ideal being 300 / 16 + a few)


def test_the_threads_stop_when_the_reader_does(client: Any) -> None:
    fill(client, "stop", [f"{i:04d}" for i in range(200)])
    pages = list_pages(client, BUCKET, "stop/", page_size=5, workers=4)
    assert [key for key, _, _ in next(pages)] == [f"stop/{i:04d}" for i in range(5)]
    next(pages)
    with requests(client) as made:
        pages.close()
    assert len(made) <= 4  # at most the requests already under way
