"""Listing a large S3 prefix: one page after another against the threads of :mod:`gridtsne.store.listing`.

Two backends. moto (in process, ~all CPU under one lock, so threads gain little there) gives the requests
made and seconds. An in-memory bucket that answers each ``ListObjectsV2`` after ``--latency`` seconds, as
S3 does (~0.05-0.1 s a page), gives the rounds of requests one after another that set the time on S3:
``(seconds - seconds without latency) / latency``, and the memory the listing holds at its peak (the
ranges listed ahead of those before them; traced in a third run). ``python -m benchmarks.listing
[--sizes 20000,100000] [--memory-sizes 20000,100000,1000000] [--shapes camera,uuids,folders]
[--latency 0.05]``. moto sorts the whole bucket for every request (~0.2 s at 20,000 keys), so there the
extra requests cost more than the threads save.
"""

from __future__ import annotations

import argparse
import bisect
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, Sequence, Sized
from random import Random
from typing import Any

from gridtsne.store.listing import LIST_WORKERS, list_pages

from benchmarks.measure import table

PREFIX = "uploads/c/"


def camera(n: int) -> list[str]:
    """Names as cameras write them: one long shared start."""
    return [f"{PREFIX}IMG_{i:07d}.JPG" for i in range(n)]


def uuids(n: int) -> list[str]:
    """Random names spread over the hexadecimal digits."""
    rng = Random(0)
    return [f"{PREFIX}{uuid.UUID(int=rng.getrandbits(128))}.jpg" for _ in range(n)]


def folders(n: int) -> list[str]:
    """Pictures in nested folders of a few hundred."""
    return [
        f"{PREFIX}{2000 + i // 100_000}/{i // 300 % 12 + 1:02d}/{i // 300:05d}/p{i % 300:03d}.jpg"
        for i in range(n)
    ]


SHAPES: dict[str, Callable[[int], list[str]]] = {"camera": camera, "uuids": uuids, "folders": folders}


class MemoryBucket:
    """A bucket's sorted keys answering ``list_objects_v2`` after ``latency`` seconds, counting requests."""

    def __init__(self, keys: list[str], latency: float) -> None:
        self.keys = sorted(keys)
        self.latency = latency
        self.requests = 0
        self.lock = threading.Lock()

    def list_objects_v2(self, **params: Any) -> dict[str, Any]:
        prefix, limit, after = params["Prefix"], params.get("MaxKeys", 1000), params.get("StartAfter", "")
        with self.lock:
            self.requests += 1
        time.sleep(self.latency)
        start = max(bisect.bisect_right(self.keys, after), bisect.bisect_left(self.keys, prefix))
        page = []
        for key in self.keys[start : start + limit + 1]:
            if not key.startswith(prefix):
                break
            page.append(key)
        contents = [{"Key": key, "Size": 1, "ETag": '"e"'} for key in page[:limit]]
        return {"Contents": contents, "IsTruncated": len(page) > limit}


def sequential(client: Any, bucket: str) -> Iterator[list[dict[str, Any]]]:
    """The listing as before: each page asked from where the last ended."""
    after = ""
    while True:
        page = client.list_objects_v2(Bucket=bucket, Prefix=PREFIX, MaxKeys=1000, StartAfter=after)
        yield page.get("Contents", [])
        if not page.get("IsTruncated"):
            return
        after = page["Contents"][-1]["Key"]


def timed(pages: Iterator[Sized], expected: int) -> float:
    started = time.perf_counter()
    count = sum(len(page) for page in pages)
    assert count == expected, (count, expected)
    return time.perf_counter() - started


def on_moto(sizes: Sequence[int], shapes: Sequence[str]) -> list[dict[str, Any]]:
    return [moto_case(n, shape) for n in sizes for shape in shapes]


def moto_case(n: int, shape: str) -> dict[str, Any]:
    """List ``n`` keys of ``shape`` from moto one page after another, then with threads."""
    import boto3
    from moto import mock_aws
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="bench")
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for key in SHAPES[shape](n):
            backend.put_object("bench", key, b"")
        made: list[object] = []
        client.meta.events.register("before-call.s3.ListObjectsV2", lambda **params: made.append(params))
        row: dict[str, Any] = {"backend": "moto", "keys": n, "shape": shape}
        for name, pages in (
            ("sequential", sequential(client, "bench")),
            ("parallel", list_pages(client, "bench", PREFIX, workers=10)),
        ):
            made.clear()
            row[f"{name} s"] = round(timed(pages, n), 2)
            row[f"{name} requests"] = len(made)
        return row


def in_memory(sizes: Sequence[int], shapes: Sequence[str], latency: float) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        for shape in shapes:
            keys = SHAPES[shape](n)
            row: dict[str, Any] = {"backend": f"memory, {latency * 1000:.0f} ms", "keys": n, "shape": shape}
            row["sequential requests"] = -(-n // 1000)
            row["sequential rounds"] = row["sequential requests"]
            bare = timed(list_pages(MemoryBucket(keys, 0.0), "b", PREFIX, workers=LIST_WORKERS), n)
            bucket = MemoryBucket(keys, latency)
            seconds = timed(list_pages(bucket, "b", PREFIX, workers=LIST_WORKERS), n)
            row["parallel s"] = round(seconds, 2)
            row["parallel requests"] = bucket.requests
            row["parallel rounds"] = round((seconds - bare) / latency, 1)
            tracemalloc.start()  # once more, for the memory held: the ranges waiting for those before them
            timed(list_pages(MemoryBucket(keys, latency), "b", PREFIX, workers=LIST_WORKERS), n)
            row["peak MB"] = round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
            tracemalloc.stop()
            rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.listing", description=__doc__)
    parser.add_argument("--sizes", default="20000,100000", help="keys listed through moto")
    parser.add_argument("--memory-sizes", default="20000,100000,1000000", help="keys listed with latency")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="key shapes: " + ", ".join(SHAPES))
    parser.add_argument(
        "--latency", type=float, default=0.05, help="seconds per page of the in-memory bucket"
    )
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.sizes.split(",") if n]
    memory = [int(n) for n in args.memory_sizes.split(",") if n]
    shapes = args.shapes.split(",")
    for rows in (in_memory(memory, shapes, args.latency), on_moto(sizes, shapes)):
        if rows:
            print(table(list(rows[0]), [list(row.values()) for row in rows]), flush=True)


if __name__ == "__main__":
    main()
