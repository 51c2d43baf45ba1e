"""A collection's embedding vectors in a store, written in shards, keyed by content.

Layout under ``vectors/<collection>/``:

- ``shards/<id>.npz`` — ``vectors`` (M, D) float32 and ``thumbs`` (M, t, t, 3) uint8 tile thumbnails;
- ``shards/<id>.json`` — the shard's manifest, written last: ``model``, the record of the model that
  embedded the shard (:meth:`~gridtsne.core.embed.Embedder.describe`: name, sha256, input size...), and
  one entry per input object, ``{"key", "etag", "hash", "shard", "row"}`` (where its vector is) or
  ``{"key", "etag", "reason"}`` (skipped: not a usable image, and why);
- ``hashes/<sha256>.json`` — ``{"shard", "row"}``: where the vector of that content lives.

A shard's id is a hash of its inputs' (key, etag) pairs, so a redelivered batch finds its manifest and does
nothing, except for objects that shard found deleted before it could read them (:data:`DELETED`): uploaded
again with the same bytes (so the same ETag), they go into a follow-up shard whose id also names the one
before, and a job that lists them again embeds them (:func:`missing`).

An image whose content hash is already known (a re-upload, a copy under another key) gets an entry
pointing at the existing vector and is not embedded again. Several keys with one content are placed once
and reported as duplicates when a job loads the collection. Loading a collection also gives the model
record of the shards its vectors come from, so a job's ``layout.json`` names the model without loading it.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gridtsne.core.embed import DELETED, Embedder, content_hash, embed_sources, read_source
from gridtsne.core.images import Limits
from gridtsne.core.inputs import reader
from gridtsne.store import NotFoundError, ObjectInfo, Store

__all__ = [
    "THUMB_SIDE",
    "Collected",
    "ShardResult",
    "collection_prefix",
    "embed_objects",
    "load_collection",
    "load_thumbs",
    "scan",
    "upload_prefix",
]

#: Side of the tile thumbnails kept with the vectors (renders at this tile size or smaller need no originals).
THUMB_SIDE = 64
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
) -> ShardResult:
    """Embed the uploaded ``objects`` of ``collection`` into one shard; content already known is reused.

    ``source`` is where the objects are read (default ``store``, which holds the shards).
    """
    prefix = collection_prefix(collection)
    objects = sorted({o.key: o for o in objects}.values(), key=lambda o: o.key)
    sid, objects = _unwritten(store, prefix, objects)
    if not objects:
        return ShardResult(sid, redelivered=True)
    manifest_key = f"{prefix}shards/{sid}.json"

    def fetch(obj: ObjectInfo) -> bytes | str:
        # Size and type are checked before the object is read whole (and never past the size limit).
        return read_source(reader(source or store, obj.key, limits or Limits()))

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(objects)))) as pool:
        blobs = list(pool.map(fetch, objects))
    entries: dict[str, Entry] = {}
    known: dict[str, Entry] = {}
    fresh: list[tuple[ObjectInfo, bytes]] = []
    for obj, blob in zip(objects, blobs, strict=True):
        if isinstance(blob, str):
            entries[obj.key] = {"key": obj.key, "etag": obj.etag, "reason": blob}
            continue
        digest = content_hash(blob)
        where = known.get(digest) or _lookup_hash(store, prefix, digest)
        if where is not None:
            known[digest] = where
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
            known[digest] = where
        for dup in done.duplicates:
            entries[dup["key"]] = {**entries[dup["same_as"]], "key": dup["key"], "etag": etags[dup["key"]]}
        for skip in done.skipped:
            entries[skip["key"]] = {"key": skip["key"], "etag": etags[skip["key"]], "reason": skip["reason"]}
        if done.keys:
            thumbs = (
                done.thumbnails
                if done.thumbnails is not None
                else np.zeros((len(done.keys), thumb, thumb, 3), np.uint8)
            )
            buffer = io.BytesIO()
            np.savez(buffer, vectors=done.vectors.astype(np.float32), thumbs=thumbs)
            store.write(f"{prefix}shards/{sid}.npz", buffer.getvalue(), "application/octet-stream")
            for row, digest in enumerate(done.hashes):
                store.write(
                    f"{prefix}hashes/{digest}.json",
                    json.dumps({"shard": sid, "row": row}).encode(),
                    "application/json",
                )
        result.embedded = len(done.keys)
    ordered = [entries[o.key] for o in objects]
    result.reused = sum(1 for e in ordered if "hash" in e) - result.embedded
    result.skipped = [{"key": e["key"], "reason": e["reason"]} for e in ordered if "reason" in e]
    manifest = {
        "version": VERSION,
        "collection": collection,
        "thumb": thumb,
        "model": embedder.describe(),
        "entries": ordered,
    }
    store.write(manifest_key, json.dumps(manifest, indent=0).encode(), "application/json")
    return result


def _reader(data: bytes) -> Any:
    return lambda: data


def _lookup_hash(store: Store, prefix: str, digest: str) -> Entry | None:
    try:
        where = json.loads(store.read(f"{prefix}hashes/{digest}.json"))
    except NotFoundError:
        return None
    # The manifest of the shard that holds it must exist, else that shard was never completed.
    if not store.exists(f"{prefix}shards/{where['shard']}.json"):
        return None
    return {"shard": str(where["shard"]), "row": int(where["row"])}


def _manifests(store: Store, collection: str, workers: int = 16) -> dict[str, dict[str, Any]]:
    """The collection's shard manifests, by shard id."""
    prefix = f"{collection_prefix(collection)}shards/"
    keys = [o.key for o in store.list(prefix) if o.key.endswith(".json")]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(keys) or 1))) as pool:
        docs = list(pool.map(lambda k: json.loads(store.read(k)), keys))
    return {key[len(prefix) : -len(".json")]: doc for key, doc in zip(keys, docs, strict=True)}


def scan(store: Store, collection: str) -> dict[tuple[str, str], Entry]:
    """Every entry of the collection's shards, by (key, etag); an entry with a vector wins over a skip."""
    return _index(_manifests(store, collection).values())


def _index(docs: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Entry]:
    index: dict[tuple[str, str], Entry] = {}
    for doc in docs:
        for entry in doc["entries"]:
            pair = (entry["key"], entry["etag"])
            if pair not in index or ("hash" in entry and "hash" not in index[pair]):
                index[pair] = entry
    return index


def missing(inputs: list[ObjectInfo], index: dict[tuple[str, str], Entry]) -> list[ObjectInfo]:
    """The inputs no shard covers yet: new or changed since they were embedded, or found deleted before
    (they exist again: the caller has just listed them)."""
    return [o for o in inputs if index.get((o.key, o.etag), {"reason": DELETED}).get("reason") == DELETED]


@dataclass
class Collected:
    """A collection's inputs resolved to vectors: each input is placed, skipped, duplicate or missing.

    ``model`` is the record of the model that embedded the placed vectors (``{"models": [...]}`` when
    shards of several models are mixed; empty for shards written before manifests named their model).
    ``places`` says where each placed key's vector and thumbnail are: (shard, row).
    """

    keys: list[str]
    hashes: list[str]
    vectors: np.ndarray
    thumbs: np.ndarray
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
) -> Collected:
    """Resolve ``inputs`` against the collection's shards and gather their vectors (and thumbnails).

    With ``keep_duplicates``, inputs of the same content are all placed instead of reported as duplicates
    of the first. Without ``with_thumbs``, :func:`load_thumbs` gathers the thumbnails when they are needed.
    """
    manifests = _manifests(store, collection)
    index = _index(manifests.values())
    out = Collected([], [], np.zeros((0, 0), np.float32), np.zeros((0, 0, 0, 3), np.uint8))
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
    if out.places:
        out.vectors = _gather(store, collection, out.places, "vectors")
        if with_thumbs:
            out.thumbs = load_thumbs(store, collection, out.places)
    return out


def load_thumbs(store: Store, collection: str, places: list[tuple[str, int]]) -> np.ndarray:
    """The thumbnails at ``places`` ((shard, row) pairs, e.g. :attr:`Collected.places`), in that order."""
    if not places:
        return np.zeros((0, THUMB_SIDE, THUMB_SIDE, 3), np.uint8)
    return _gather(store, collection, places, "thumbs")


def _gather(store: Store, collection: str, places: list[tuple[str, int]], name: str) -> np.ndarray:
    """The rows at ``places`` of the array ``name`` of the shards, stacked in that order.

    Shards are read a few at a time and copied into the result, so memory holds the result and a few
    shards, never every shard besides it.
    """
    prefix = f"{collection_prefix(collection)}shards/"
    rows_of: dict[str, list[tuple[int, int]]] = {}
    for i, (sid, row) in enumerate(places):
        rows_of.setdefault(sid, []).append((i, row))
    shards = sorted(rows_of)

    def load(sid: str) -> tuple[str, np.ndarray]:
        with np.load(io.BytesIO(store.read(f"{prefix}{sid}.npz"))) as npz:
            return sid, npz[name]

    out: np.ndarray | None = None
    workers = max(1, min(16, len(shards)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(shards), workers):
            for sid, array in pool.map(load, shards[start : start + workers]):
                if out is None:
                    out = np.empty((len(places), *array.shape[1:]), array.dtype)
                at, rows = np.array(rows_of[sid], dtype=np.intp).T
                out[at] = array[rows]
    assert out is not None
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
