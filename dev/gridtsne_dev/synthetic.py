"""A synthetic big-set job written fast in the real formats, for the big-set benchmark and its tests.

:func:`write_synthetic_job` lays out in a local folder what the big-set job reads: N upload objects
(a few bytes each, never decoded), the job's ``inputs.json`` (written by
:func:`gridtsne.aws.steps.prepare`) and the collection's vector shards (written by
:func:`gridtsne.aws.vectors.write_shard`, one per prepared batch). The vectors are Gaussian clusters
and each thumbnail is a square of its cluster's colour with a lighter inner square, so a layout's quality
can be checked against the clusters.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gridtsne.aws.job import JobParams
from gridtsne.aws.steps import prepare
from gridtsne.aws.vectors import THUMB_SIDE, upload_prefix, write_shard
from gridtsne.store import LocalStore, ObjectInfo

__all__ = ["SyntheticJob", "cluster_of", "synthetic_thumbs", "write_synthetic_job"]

COLLECTION = "synthetic"
JOB = "bigset-synthetic"
#: What the shards say embedded them.
MODEL = {"name": "synthetic-clusters", "fit": "none"}


@dataclass(frozen=True)
class SyntheticJob:
    """A written job: its id, collection, and the number of pictures and clusters."""

    root: Path
    job: str
    collection: str
    count: int
    clusters: int


def cluster_of(key: str) -> int:
    """The cluster of a synthetic picture, from its key (``.../c<cluster>/<index>.png``)."""
    return int(key.rsplit("/", 2)[-2][1:])


def synthetic_thumbs(colours: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    """(k, side, side, 3) thumbnails: squares of the (k, 3) ``colours``, each with an inner square of a
    random shade of its colour."""
    thumbs = np.empty((len(colours), side, side, 3), np.uint8)
    thumbs[...] = colours[:, None, None, :]
    inner = slice(side // 4, side - side // 4)
    shade = rng.integers(-30, 30, (len(colours), 1, 1, 1))
    thumbs[:, inner, inner] = np.clip(colours[:, None, None, :] + shade, 0, 255)
    return thumbs


def write_synthetic_job(
    root: str | Path,
    n: int,
    *,
    clusters: int = 32,
    dim: int = 1280,
    side: int = THUMB_SIDE,
    params: JobParams | None = None,
    batch: int = 64,
    seed: int = 0,
) -> SyntheticJob:
    """Write a job of ``n`` synthetic pictures in ``clusters`` clusters under the folder ``root``.

    Parameters
    ----------
    root
        The folder store (created).
    n, clusters
        Pictures, and Gaussian clusters of their ``dim``-dimensional vectors (unit noise around centres
        with unit-variance coordinates).
    side
        Side of the stored thumbnails in pixels.
    params
        The job's parameters (default: :class:`~gridtsne.aws.job.JobParams` with ``tile = side``).
    batch
        Pictures per shard (the embed step's default batch).
    seed
        Seed of vectors and colours.
    """
    base = Path(root)
    store = LocalStore(base)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, clusters, n)
    folder = base / upload_prefix(COLLECTION)
    for c in range(clusters):
        (folder / f"c{c:03d}").mkdir(parents=True, exist_ok=True)
    for i, label in enumerate(labels):
        (folder / f"c{label:03d}" / f"{i:07d}.png").write_bytes(i.to_bytes(8, "little"))
    prepared = prepare(
        store, JOB, COLLECTION, params or JobParams.model_validate({"tile": side}), batch=batch
    )
    doc = json.loads(store.read(prepared["inputs"]))
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    colours = rng.integers(30, 226, (clusters, 3))
    for pairs in doc["batches"]:
        objects = [ObjectInfo(key=k, size=0, etag=e) for k, e in pairs]
        own = np.array([cluster_of(o.key) for o in objects])
        vectors = centres[own] + rng.standard_normal((len(own), dim), dtype=np.float32)
        thumbs = synthetic_thumbs(colours[own], side, rng)
        hashes = [hashlib.sha256(o.key.encode()).hexdigest() for o in objects]
        write_shard(store, COLLECTION, objects, vectors, thumbs, hashes, MODEL)
    return SyntheticJob(base, JOB, COLLECTION, len(doc["inputs"]), clusters)
