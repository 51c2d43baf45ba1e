"""A collection's embedding vectors in a store, written in shards, keyed by content.

Layout under ``vectors/<collection>/``:

- ``shards/<id>.npz`` — ``vectors`` (M, D) float32 and ``thumbs`` (M, t, t, 3) uint8 tile thumbnails;
- ``shards/<id>.json`` — the shard's manifest, written last: ``model``, the record of the model that
  embedded the shard (:meth:`~gridtsne.core.embed.Embedder.describe`: name, sha256, input size...), and
  one entry per input object, ``{"key", "etag", "hash", "shard", "row"}`` (where its vector is) or
  ``{"key", "etag", "reason"}`` (skipped: not a usable image, and why).

A shard's id is a hash of its inputs' (key, etag) pairs, so a redelivered batch finds its manifest and does
nothing, except for objects that shard found deleted before it could read them (:data:`DELETED`): uploaded
again with the same bytes (so the same ETag), they go into a follow-up shard whose id also names the one
before, and a job that lists them again embeds them (:func:`missing`).

Identical images in one batch are embedded once; an image whose content the caller already knows
(``known``: content hash to where its vector lives, such as :func:`known_content` of a scan) gets an entry
pointing at the existing vector and is not embedded again. There is no per-picture index in the bucket: its
PUT (USD 0.005 per 1,000) and the lookup's GET cost about four times what embedding the picture again does
(about 41 ms of one Lambda vCPU), so the embedding Lambdas only reuse within their batch, and the command
line's cache, which scans its manifests anyway, passes what they hold. Several keys with one content are
placed once and reported as duplicates when a job loads the collection. Loading a collection also gives the
model record of the shards its vectors come from, so a job's ``layout.json`` names the model without
loading it.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gridtsne.aws.job import STORED_THUMB
from gridtsne.core.embed import DELETED, Embedder, content_hash, embed_sources, read_source
from gridtsne.core.images import Limits
from gridtsne.core.inputs import reader
from gridtsne.store import ObjectInfo, Store

__all__ = [
    "THUMB_SIDE",
    "ShardResult",
    "collection_prefix",
    "embed_objects",
    "index_entries",
    "known_content",
    "missing",
    "read_manifests",
    "scan",
    "upload_prefix",
    "write_shard",
]

#: Side of the tile thumbnails kept with the vectors (renders at this tile size or smaller need no originals).
THUMB_SIDE = STORED_THUMB
VERSION = 1

Entry = dict[str, Any]


def upload_prefix(collection: str) -> str:
    """Where a collection's images are uploaded."""
    return f"uploads/{collection}/"


def collection_prefix(collection: str) -> str:
    """Where a collection's vectors live."""
    return f"vectors/{collection}/"


def shard_id(objects: Iterable[ObjectInfo], after: str = "") -> str:
    """The id of the shard that embeds exactly these objects (order does not matter); ``after`` names the
    shard that found them deleted, for the follow-up shard that embeds them once they exist again."""
    pairs: list[Any] = sorted((o.key, o.etag) for o in objects)
    if after:
        pairs.append(["after", after])
    return hashlib.sha256(json.dumps(pairs, separators=(",", ":")).encode()).hexdigest()[:40]


def _unwritten(store: Store, prefix: str, objects: list[ObjectInfo]) -> tuple[str, list[ObjectInfo]]:
    """The shard these objects go into and those of them it must still embed (none: a redelivery).

    Following the shards that found some of them deleted, to the first one not written yet.
    """
    sid = shard_id(objects)
    while objects and store.exists(f"{prefix}shards/{sid}.json"):
        manifest = json.loads(store.read(f"{prefix}shards/{sid}.json"))
        gone = {(e["key"], e["etag"]) for e in manifest["entries"] if e.get("reason") == DELETED}
        objects = [o for o in objects if (o.key, o.etag) in gone]
        if objects:
            sid = shard_id(objects, after=sid)
    return sid, objects


@dataclass
class ShardResult:
    """What one embedding call did."""

    shard: str
    embedded: int = 0
    reused: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    redelivered: bool = False
    #: Where the vector of each content hash of the batch now lives, as ``{"shard", "row"}``.
    content: dict[str, Entry] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a handler's response."""
        return {
            "shard": self.shard,
            "embedded": self.embedded,
            "reused": self.reused,
            "skipped": len(self.skipped),
            "redelivered": self.redelivered,
        }


def embed_objects(
    store: Store,
    collection: str,
    objects: list[ObjectInfo],
    embedder: Embedder,
    *,
    thumb: int = THUMB_SIDE,
    limits: Limits | None = None,
    workers: int = 8,
    source: Store | None = None,
    known: Mapping[str, Entry] | None = None,
) -> ShardResult:
    """Embed the uploaded ``objects`` of ``collection`` into one shard; content already known is reused.

    ``source`` is where the objects are read (default ``store``, which holds the shards); ``known`` maps
    content hashes to the ``{"shard", "row"}`` of vectors already written (:func:`known_content`).
    """
    prefix = collection_prefix(collection)
    objects = sorted({o.key: o for o in objects}.values(), key=lambda o: o.key)
    sid, objects = _unwritten(store, prefix, objects)
    if not objects:
        return ShardResult(sid, redelivered=True)

    def fetch(obj: ObjectInfo) -> bytes | str:
        # Size and type are checked before the object is read whole (and never past the size limit).
        return read_source(reader(source or store, obj.key, limits or Limits()))

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(objects)))) as pool:
        blobs = list(pool.map(fetch, objects))
    entries: dict[str, Entry] = {}
    known = dict(known or {})
    fresh: list[tuple[ObjectInfo, bytes]] = []
    for obj, blob in zip(objects, blobs, strict=True):
        if isinstance(blob, str):
            entries[obj.key] = {"key": obj.key, "etag": obj.etag, "reason": blob}
            continue
        digest = content_hash(blob)
        if (where := known.get(digest)) is not None:
            entries[obj.key] = {"key": obj.key, "etag": obj.etag, "hash": digest, **where}
        else:
            fresh.append((obj, blob))

    result = ShardResult(sid)
    if fresh:
        data = {obj.key: blob for obj, blob in fresh}
        done = embed_sources(
            [(obj.key, _reader(data[obj.key])) for obj, _ in fresh],
            embedder,
            tile=thumb,
            limits=limits,
            workers=workers,
        )
        etags = {obj.key: obj.etag for obj, _ in fresh}
        for row, (key, digest) in enumerate(zip(done.keys, done.hashes, strict=True)):
            where = {"shard": sid, "row": row}
            entries[key] = {"key": key, "etag": etags[key], "hash": digest, **where}
        for dup in done.duplicates:
            entries[dup["key"]] = {**entries[dup["same_as"]], "key": dup["key"], "etag": etags[dup["key"]]}
        for skip in done.skipped:
            entries[skip["key"]] = {"key": skip["key"], "etag": etags[skip["key"]], "reason": skip["reason"]}
        if done.keys:
            thumbs = (
                done.thumbnails.read(0, len(done.keys))
                if done.thumbnails is not None
                else np.zeros((len(done.keys), thumb, thumb, 3), np.uint8)
            )
            _write_rows(store, prefix, sid, done.vectors, thumbs)
        result.embedded = len(done.keys)
    ordered = [entries[o.key] for o in objects]
    result.reused = sum(1 for e in ordered if "hash" in e) - result.embedded
    result.skipped = [{"key": e["key"], "reason": e["reason"]} for e in ordered if "reason" in e]
    result.content = {e["hash"]: {"shard": e["shard"], "row": e["row"]} for e in ordered if "hash" in e}
    _write_manifest(store, collection, sid, ordered, thumb=thumb, model=embedder.describe())
    return result


def write_shard(
    store: Store,
    collection: str,
    objects: list[ObjectInfo],
    vectors: np.ndarray,
    thumbs: np.ndarray,
    hashes: list[str],
    model: dict[str, Any],
) -> str:
    """Write vectors already computed as one shard of ``collection``, one row per object, in order.

    The same files :func:`embed_objects` writes (for synthetic collections: benchmarks, load tests).

    Returns
    -------
    str
        The shard's id.
    """
    sid = shard_id(objects)
    prefix = collection_prefix(collection)
    _write_rows(store, prefix, sid, vectors, thumbs)
    entries = [
        {"key": o.key, "etag": o.etag, "hash": digest, "shard": sid, "row": row}
        for row, (o, digest) in enumerate(zip(objects, hashes, strict=True))
    ]
    _write_manifest(store, collection, sid, entries, thumb=thumbs.shape[1], model=model)
    return sid


def _write_rows(store: Store, prefix: str, sid: str, vectors: np.ndarray, thumbs: np.ndarray) -> None:
    """The shard's vectors and thumbnails."""
    buffer = io.BytesIO()
    np.savez(buffer, vectors=vectors.astype(np.float32), thumbs=thumbs)
    store.write(f"{prefix}shards/{sid}.npz", buffer.getvalue(), "application/octet-stream")


def _write_manifest(
    store: Store, collection: str, sid: str, entries: list[Entry], *, thumb: int, model: dict[str, Any]
) -> None:
    """The shard's manifest, written last: the shard is complete once it exists."""
    manifest = {
        "version": VERSION,
        "collection": collection,
        "thumb": thumb,
        "model": model,
        "entries": entries,
    }
    key = f"{collection_prefix(collection)}shards/{sid}.json"
    store.write(key, json.dumps(manifest, indent=0).encode(), "application/json")


def _reader(data: bytes) -> Any:
    return lambda: data


def read_manifests(store: Store, collection: str, workers: int = 16) -> dict[str, dict[str, Any]]:
    """The collection's shard manifests, by shard id."""
    prefix = f"{collection_prefix(collection)}shards/"
    keys = [o.key for o in store.list(prefix) if o.key.endswith(".json")]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(keys) or 1))) as pool:
        docs = list(pool.map(lambda k: json.loads(store.read(k)), keys))
    return {key[len(prefix) : -len(".json")]: doc for key, doc in zip(keys, docs, strict=True)}


def scan(store: Store, collection: str) -> dict[tuple[str, str], Entry]:
    """Every entry of the collection's shards, by (key, etag); an entry with a vector wins over a skip."""
    return index_entries(read_manifests(store, collection).values())


def index_entries(docs: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Entry]:
    """The entries of shard manifests ``docs`` by (key, etag); an entry with a vector wins over a skip."""
    index: dict[tuple[str, str], Entry] = {}
    for doc in docs:
        for entry in doc["entries"]:
            pair = (entry["key"], entry["etag"])
            if pair not in index or ("hash" in entry and "hash" not in index[pair]):
                index[pair] = entry
    return index


def known_content(index: Mapping[tuple[str, str], Entry]) -> dict[str, Entry]:
    """Where the vector of each content hash in ``index`` (:func:`scan`) lives, as ``{"shard", "row"}``."""
    return {e["hash"]: {"shard": e["shard"], "row": e["row"]} for e in index.values() if "hash" in e}


def missing(inputs: list[ObjectInfo], index: dict[tuple[str, str], Entry]) -> list[ObjectInfo]:
    """The inputs no shard covers yet: new or changed since they were embedded, or found deleted before
    (they exist again: the caller has just listed them)."""
    return [o for o in inputs if index.get((o.key, o.etag), {"reason": DELETED}).get("reason") == DELETED]
