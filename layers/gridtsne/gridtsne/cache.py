"""The command line's vector cache: embed only what no earlier run embedded with the same model.

The cache is a folder (:func:`cache_dir`: ``--cache DIR``, else ``$GRIDTSNE_CACHE``, else
``$XDG_CACHE_HOME/gridtsne`` or ``~/.cache/gridtsne``) holding the cloud's vector shards
(:mod:`gridtsne.aws.vectors`: vectors and 64-px thumbnails by content hash, a manifest per shard), one
collection per model: the collection's name is a digest of the model's record (the model file's SHA-256,
input size, preprocessing and how pictures are fitted, :func:`model_key`). Changing the model or
``--input-size`` therefore embeds again; changing anything after the embedding (t-SNE, grid, tile) does not.

A file is known by its content: the same bytes under another name or in another folder reuse the vector.
A file unchanged since a run (same key in the same source, same size and modification time, or the same S3
ETag) is not even read again. Files that could not be used are remembered with their reason.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gridtsne.aws.collection import Collected, load_collection
from gridtsne.aws.vectors import embed_objects, known_content, missing, scan
from gridtsne.core.embed import Embedder
from gridtsne.core.images import Limits
from gridtsne.store import ObjectInfo, Store

__all__ = ["CACHE_ENV", "Cached", "cache_dir", "embed_cached", "model_key"]

#: Environment variable naming the cache folder.
CACHE_ENV = "GRIDTSNE_CACHE"
#: Most files and bytes read and embedded into one shard.
CHUNK_FILES = 512
CHUNK_BYTES = 256 * 1024 * 1024


def cache_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: ``explicit``, else ``$GRIDTSNE_CACHE``, else the user's cache folder."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get(CACHE_ENV):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gridtsne"


def model_key(embedder: Embedder) -> str:
    """The cache collection of a model: a digest of its record, with the model file's SHA-256.

    The model file is hashed when its spec does not give its digest, so two files of one name never share
    vectors.
    """
    record: dict[str, Any] = dict(embedder.describe())
    if not record.get("sha256"):
        record["sha256"] = _file_sha256(embedder.spec.path)
    text = json.dumps(record, sort_keys=True, default=str)
    return "model-" + hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class Cached:
    """The inputs resolved to vectors, the cache collection they are in (:func:`model_key`), and how many
    of the placed ones were embedded by this run."""

    collected: Collected
    collection: str
    embedded: int

    @property
    def from_cache(self) -> int:
        """Placed vectors this run did not compute."""
        return len(self.collected.keys) - self.embedded


def embed_cached(
    cache: Store,
    source: Store,
    inputs: list[ObjectInfo],
    embedder: Embedder,
    *,
    limits: Limits | None = None,
    keep_duplicates: bool = False,
    with_thumbs: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Cached:
    """Embed the ``inputs`` of ``source`` that ``cache`` lacks, then load every input's vector and thumbnail.

    Parameters
    ----------
    cache
        The cache folder as a store.
    source
        Where the inputs are.
    inputs
        The images to resolve, keys relative to ``source``.
    embedder
        The model; its record chooses the cache collection (:func:`model_key`).
    limits
        Per-file limits.
    keep_duplicates
        Place every input, identical ones included.
    with_thumbs
        Load the thumbnails too (else :func:`~gridtsne.aws.collection.load_thumbs` loads them when needed).
    progress
        Called as ``progress(done, total)`` over the inputs to embed: first with none done, then once per
        shard written.

    Returns
    -------
    Cached
        Keys relative to ``source``; every input placed, skipped or duplicate.
    """
    collection = model_key(embedder)
    # Keys are the source's; the source's name joins each version tag, so two folders never share an entry
    # by name (they still share vectors by content).
    tag = hashlib.sha256(repr(source).encode()).hexdigest()[:16]
    tagged = [replace(o, etag=f"{tag}:{o.etag}") for o in inputs]
    index = scan(cache, collection)
    todo, known = missing(tagged, index), known_content(index)
    embedded, done = 0, 0
    if progress:
        progress(0, len(todo))
    for chunk in _chunks(todo):
        result = embed_objects(cache, collection, chunk, embedder, limits=limits, source=source, known=known)
        known.update(result.content)
        embedded += result.embedded
        done += len(chunk)
        if progress:
            progress(done, len(todo))
    collected = load_collection(
        cache, collection, tagged, with_thumbs=with_thumbs, keep_duplicates=keep_duplicates
    )
    if collected.missing:
        some = collected.missing[:3]
        raise RuntimeError(f"{len(collected.missing)} inputs have no cached vector, e.g. {some}")
    return Cached(collected, collection, min(embedded, len(collected.keys)))


def _chunks(objects: list[ObjectInfo]) -> Iterator[list[ObjectInfo]]:
    """``objects`` in runs of at most :data:`CHUNK_FILES` files and :data:`CHUNK_BYTES` bytes (or one)."""
    chunk: list[ObjectInfo] = []
    size = 0
    for obj in objects:
        if chunk and (len(chunk) == CHUNK_FILES or size + obj.size > CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(obj)
        size += obj.size
    if chunk:
        yield chunk


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
