"""Listing one S3 prefix by several threads at once, in key order.

``ListObjectsV2`` returns at most 1,000 keys a page and each page names where the next starts, so a
sequential listing of 1,000,000 objects is 1,000 requests one after another (~100 s at S3's ~0.1 s a page).
Here the first page is requested alone (a prefix that fits on it costs one request, as before); when it is
truncated, what remains is cut into key ranges (:func:`gridtsne.store.keyrange.split`) listed by a pool of
threads, each with ``StartAfter`` its lower bound and stopping past its upper bound. Whenever a thread's
page comes back truncated while other threads are idle, it cuts what remains of its range again and hands
the upper pieces to them, so the work spreads over the pool whatever the keys look like, and requests that
find nothing (a piece past the last key) are the only ones spent beyond the sequential listing's.

Pages come out in key order: a range yields once every range before it has; what finished early waits
in memory as :data:`Listed` tuples (~0.25 KB an object; in the worst case the whole listing).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gridtsne.store.keyrange import split

#: Threads listing one prefix. S3 serves thousands of LIST requests a second per prefix, so the pool sets
#: the speed: 1,000,000 keys take 64-83 rounds of requests one after another (measured, the ideal being
#: 1,000 / 16), 3-8 s at S3's 0.05-0.1 s a page instead of 50-100 s, for 20-45 % more requests.
#: Sixteen keeps the connections (one per thread) and a Lambda's threads modest.
LIST_WORKERS = 16

#: One object listed: its key, size and ETag (quotes stripped). Kept in place of the ~1 KB dictionary
#: boto3 parses, as ranges listed early wait in memory for those before them.
Listed = tuple[str, int, str]


@dataclass(eq=False)
class _Range:
    """The keys after ``after`` up to and including ``last`` (None: to the end of the prefix)."""

    after: str
    last: str | None
    following: _Range | None = None  # the next range in key order, set by this range's thread
    found: Future[list[Listed]] | None = None


class _Pool:
    """The threads and the ranges they list."""

    def __init__(self, client: Any, bucket: str, prefix: str, page_size: int, workers: int) -> None:
        self.client, self.bucket, self.prefix, self.page_size = client, bucket, prefix, page_size
        self.workers = workers
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="s3-list")
        self.lock = threading.Lock()
        self.busy = 0  # ranges handed to the pool and not finished
        self.stop = threading.Event()
        self.end = _prefix_end(prefix)

    def start(self, piece: _Range) -> None:
        """Hand ``piece`` to a thread (counted in :attr:`busy` by the caller)."""
        piece.found = self.executor.submit(self.fill, piece)

    def cut(self, piece: _Range, after: str) -> None:
        """Cut ``(after, piece.last]`` into a range for each idle thread and the one the caller keeps."""
        with self.lock:
            idle = self.workers - self.busy
            self.busy += max(idle, 0)  # reserved, so that two threads cutting at once share the idle ones
        if idle <= 0:
            return
        cuts = split(after, piece.last if piece.last is not None else self.end, idle + 1)
        with self.lock:
            self.busy -= idle - len(cuts)
        if not cuts:
            return
        bounds = [*cuts, piece.last]
        pieces = [_Range(lower, upper) for lower, upper in zip(cuts, bounds[1:], strict=True)]
        for earlier, later in zip(pieces, [*pieces[1:], piece.following], strict=True):
            earlier.following = later
        piece.last, piece.following = cuts[0], pieces[0]
        for new in pieces:
            self.start(new)

    def fill(self, piece: _Range) -> list[Listed]:
        """List ``piece`` page by page, cutting what remains whenever a thread is idle."""
        try:
            found: list[Listed] = []
            after = piece.after
            while not self.stop.is_set():
                page = self.client.list_objects_v2(
                    Bucket=self.bucket, Prefix=self.prefix, MaxKeys=self.page_size, StartAfter=after
                )
                contents: list[dict[str, Any]] = page.get("Contents", [])
                if piece.last is not None and contents and contents[-1]["Key"] >= piece.last:
                    found.extend(_listed(entry) for entry in contents if entry["Key"] <= piece.last)
                    break
                found.extend(map(_listed, contents))
                if not page.get("IsTruncated") or not contents:
                    break
                after = contents[-1]["Key"]
                self.cut(piece, after)
            return found
        finally:
            with self.lock:
                self.busy -= 1


def list_pages(
    client: Any, bucket: str, prefix: str, page_size: int = 1000, workers: int = LIST_WORKERS
) -> Iterator[list[Listed]]:
    """The objects whose key starts with ``prefix``, in key order, in lists.

    Parameters
    ----------
    client
        A boto3 S3 client (thread-safe; give it a connection pool of ``workers`` connections).
    bucket, prefix
        What to list.
    page_size
        ``MaxKeys`` of each request (S3 returns at most 1,000).
    workers
        Threads listing at once once the first page is truncated.
    """
    first = client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=page_size)
    contents: list[dict[str, Any]] = first.get("Contents", [])
    yield list(map(_listed, contents))
    if not first.get("IsTruncated") or not contents:
        return
    pool = _Pool(client, bucket, prefix, page_size, workers)
    try:
        head = _Range(contents[-1]["Key"], None)
        pool.busy = 1  # the head, started once it is cut
        pool.cut(head, head.after)
        pool.start(head)
        piece: _Range | None = head
        while piece is not None:
            assert piece.found is not None
            yield piece.found.result()
            piece = piece.following
    finally:
        pool.stop.set()
        pool.executor.shutdown(cancel_futures=True)


def _listed(entry: dict[str, Any]) -> Listed:
    return entry["Key"], int(entry["Size"]), str(entry.get("ETag", "")).strip('"')


def _prefix_end(prefix: str) -> str | None:
    """The first key after every key that starts with ``prefix`` (None for the empty prefix)."""
    stripped = prefix.rstrip(chr(0x10FFFF))
    if not stripped:
        return None
    following = ord(stripped[-1]) + 1
    return stripped[:-1] + chr(0xE000 if following == 0xD800 else following)
