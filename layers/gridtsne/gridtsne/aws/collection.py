"""A collection's vectors gathered for a job: every input placed, skipped, duplicate or missing.

:func:`load_collection` resolves a job's inputs against the shards of :mod:`gridtsne.aws.vectors` and reads
each shard once, a few at a time: memory holds the vectors and the shards in flight, and the thumbnails go
to a spool on local disk (:class:`~gridtsne.core.thumbs.ThumbSpool`). :func:`thumbnails` makes them the tiles
of a render at any size (the job's and the command line's vector cache alike).
"""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gridtsne.aws.vectors import THUMB_SIDE, collection_prefix, index_entries, read_manifests
from gridtsne.core.images import ImageError, Limits, decode, square
from gridtsne.core.thumbs import ArrayThumbnails, Thumbnails, ThumbSpool
from gridtsne.store import NotFoundError, ObjectInfo, Store

__all__ = ["Collected", "load_collection", "load_thumbs", "thumbnails"]


@dataclass
class Collected:
    """A collection's inputs resolved to vectors: each input is placed, skipped, duplicate or missing.

    ``thumbs`` are the placed inputs' thumbnails in the order of ``keys``, spooled to local disk
    (:class:`~gridtsne.core.thumbs.ThumbSpool`; empty when not asked for). ``model`` is the record of the
    model that embedded the placed vectors (``{"models": [...]}`` when shards of several models are mixed;
    empty for shards written before manifests named their model). ``places`` says where each placed key's
    vector and thumbnail are: (shard, row).
    """

    keys: list[str]
    hashes: list[str]
    vectors: np.ndarray
    thumbs: Thumbnails
    skipped: list[dict[str, str]] = field(default_factory=list)
    duplicates: list[dict[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    places: list[tuple[str, int]] = field(default_factory=list)


def load_collection(
    store: Store,
    collection: str,
    inputs: list[ObjectInfo],
    *,
    with_thumbs: bool = True,
    keep_duplicates: bool = False,
    workers: int = 16,
) -> Collected:
    """Resolve ``inputs`` against the collection's shards and gather their vectors (and thumbnails).

    Shards are read ``workers`` at a time and dropped once their rows are copied: memory is the vectors
    plus the shards in flight; thumbnails go to a spool file on local disk, never all in memory. With
    ``keep_duplicates``, inputs of the same content are all placed instead of reported as duplicates of the
    first. Without ``with_thumbs``, :func:`load_thumbs` gathers the thumbnails when they are needed.
    """
    manifests = read_manifests(store, collection)
    index = index_entries(manifests.values())
    out = Collected([], [], np.zeros((0, 0), np.float32), ArrayThumbnails(np.zeros((0, 0, 0, 3), np.uint8)))
    first: dict[str, str] = {}
    for obj in inputs:
        entry = index.get((obj.key, obj.etag))
        if entry is None:
            out.missing.append(obj.key)
        elif "reason" in entry:
            out.skipped.append({"key": obj.key, "reason": str(entry["reason"])})
        elif entry["hash"] in first and not keep_duplicates:
            out.duplicates.append({"key": obj.key, "same_as": first[entry["hash"]]})
        else:
            first.setdefault(entry["hash"], obj.key)
            out.keys.append(obj.key)
            out.hashes.append(entry["hash"])
            out.places.append((entry["shard"], int(entry["row"])))
    out.model = _model_record([manifests[s].get("model") or {} for s in sorted({s for s, _ in out.places})])
    if not out.places:
        return out
    side = {int(manifests[s].get("thumb", THUMB_SIDE)) for s, _ in out.places}
    if with_thumbs and len(side) > 1:
        raise ValueError(f"the collection's shards hold thumbnails of several sizes: {sorted(side)}")
    spool = ThumbSpool(len(out.places), side.pop()) if with_thumbs else None
    vectors = _gather(store, collection, out.places, spool, with_vectors=True, workers=workers)
    if vectors is not None:
        out.vectors = vectors
    if spool is not None:
        out.thumbs = spool
    return out


def load_thumbs(
    store: Store, collection: str, places: list[tuple[str, int]], side: int = THUMB_SIDE
) -> ThumbSpool:
    """The thumbnails at ``places`` ((shard, row) pairs, e.g. :attr:`Collected.places`), in that order,
    spooled to local disk."""
    spool = ThumbSpool(len(places), side)
    _gather(store, collection, places, spool, with_vectors=False)
    return spool


def _gather(
    store: Store,
    collection: str,
    places: list[tuple[str, int]],
    spool: ThumbSpool | None,
    *,
    with_vectors: bool,
    workers: int = 16,
) -> np.ndarray | None:
    """Read each shard at ``places`` once, ``workers`` at a time: its vectors' rows into the returned array
    (with ``with_vectors``), its thumbnails' rows into ``spool``."""
    prefix = f"{collection_prefix(collection)}shards/"
    wanted: dict[str, tuple[list[int], list[int]]] = {}  # shard -> (positions in places, rows in shard)
    for position, (sid, row) in enumerate(places):
        positions, rows = wanted.setdefault(sid, ([], []))
        positions.append(position)
        rows.append(row)
    out: np.ndarray | None = None
    lock = threading.Lock()

    def load(sid: str) -> None:
        nonlocal out
        positions, rows = wanted[sid]
        with np.load(io.BytesIO(store.read(f"{prefix}{sid}.npz"))) as npz:
            if with_vectors:
                vectors = npz["vectors"]
                with lock:
                    if out is None:
                        out = np.empty((len(places), vectors.shape[1]), np.float32)
                out[positions] = vectors[rows]
            if spool is not None:
                thumbs = npz["thumbs"]
                for position, row in zip(positions, rows, strict=True):
                    spool.write(position, thumbs[row : row + 1])

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(wanted)))) as pool:
        for done in [pool.submit(load, sid) for sid in wanted]:
            done.result()
    return out


def _model_record(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The one model record of the shards, or all of them under ``models`` when they differ."""
    distinct: list[dict[str, Any]] = []
    for record in records:
        if record and record not in distinct:
            distinct.append(record)
    if len(distinct) > 1:
        return {"models": distinct}
    return distinct[0] if distinct else {}


def thumbnails(store: Store | None, collected: Collected, tile: int) -> Thumbnails:
    """Tiles of ``tile`` px: the stored thumbnails, resized, or the originals when tiles are larger.

    Other sizes are made one picture at a time into a spool on local disk, never all in memory.
    """
    stored = collected.thumbs
    if tile == stored.side or not collected.keys:
        return stored
    from PIL import Image

    out = ThumbSpool(len(collected.keys), tile)
    for i, key in enumerate(collected.keys):
        picture = None
        if tile > stored.side and store is not None:
            try:
                picture = square(decode(store.read(key, Limits().max_bytes), min_side=tile), tile)
            except (NotFoundError, ImageError, OSError):
                picture = None
        if picture is None:
            picture = Image.fromarray(stored.get(i)).resize((tile, tile), Image.Resampling.LANCZOS)
        out.write(i, np.asarray(picture, np.uint8)[None])
    return out
