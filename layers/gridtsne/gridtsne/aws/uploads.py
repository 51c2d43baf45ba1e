"""Embedding uploads as they arrive: each "Object Created" batch becomes one vector shard per collection.

Only images under ``uploads/<collection>/`` (by the one input rule, :func:`~gridtsne.core.inputs.kind_of`)
are embedded; control files such as ``_visualize.json``, other files and foreign keys are ignored.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from gridtsne.aws.job import COLLECTION_PATTERN
from gridtsne.aws.vectors import ShardResult, embed_objects, upload_prefix
from gridtsne.core.embed import Embedder
from gridtsne.core.images import Limits
from gridtsne.core.inputs import Kind, kind_of
from gridtsne.core.model import load_spec
from gridtsne.store import ObjectInfo, Store

__all__ = ["UploadsEmbedded", "collection_of", "embed_uploads", "shared_embedder", "with_etags"]


@functools.cache
def shared_embedder() -> Embedder:
    """One embedder per process (a Lambda container keeps it warm between invocations)."""
    return Embedder(load_spec(None))


def collection_of(key: str) -> str | None:
    """The collection of an upload key ``uploads/<collection>/...``, or None for any other key."""
    parts = key.split("/")
    if len(parts) >= 3 and parts[0] == "uploads" and re.match(COLLECTION_PATTERN, parts[1]) and parts[-1]:
        return parts[1]
    return None


def with_etags(store: Store, objects: list[ObjectInfo]) -> list[ObjectInfo]:
    """Fill in missing etags from a listing (events carry them); objects deleted since are dropped."""
    out = []
    for obj in objects:
        if not obj.etag:
            found = [o for o in store.list(obj.key) if o.key == obj.key]
            if not found:
                continue  # deleted since: nothing to embed
            obj = found[0]
        out.append(obj)
    return out


@dataclass
class UploadsEmbedded:
    """What embedding a batch of uploads did, per collection."""

    shards: dict[str, ShardResult] = field(default_factory=dict)
    #: Collections whose shard could not be written, with the error (their uploads must come again).
    failed: dict[str, Exception] = field(default_factory=dict)


def embed_uploads(
    store: Store, objects: list[ObjectInfo], embedder: Embedder | None = None, limits: Limits | None = None
) -> UploadsEmbedded:
    """Embed uploaded images, one shard per collection; a collection that fails leaves the others be.

    Objects that are not images under ``uploads/<collection>/`` are ignored, and so are objects deleted
    since their event.
    """
    groups: dict[str, list[ObjectInfo]] = {}
    for obj in objects:
        collection = collection_of(obj.key)
        if collection is not None and kind_of(obj.key[len(upload_prefix(collection)) :]) is Kind.IMAGE:
            groups.setdefault(collection, []).append(obj)
    done = UploadsEmbedded()
    for collection, group in sorted(groups.items()):
        try:
            found = with_etags(store, group)
            if found:
                model = embedder or shared_embedder()
                done.shards[collection] = embed_objects(store, collection, found, model, limits=limits)
        except Exception as exc:  # reported per collection; the caller has its uploads delivered again
            done.failed[collection] = exc
    return done
