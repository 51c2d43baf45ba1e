"""The ``visualize`` state machine's steps over a store: what the Lambda handlers and the big-set job call.

Each step reads and writes S3 keys under ``visualizations/<id>/`` and returns a small JSON-able dict, so the
state machine passes keys, never vectors. The algorithms are :mod:`gridtsne.pipeline`'s stage functions;
this module only decides what to read, in which order, and where results go.

Steps: :func:`prepare` (snapshot the inputs, batch what lacks vectors), :func:`embed_batch`,
:func:`reduce_job` and :func:`render_job` (assign + render; with ``reduce=True`` it reduces first, in the
same process, as the big-set job does); how a job ends is :mod:`gridtsne.aws.outcome`. The state machine
retries :class:`TransientError` by its name.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from typing import IO, Any

import numpy as np

from gridtsne.aws.collection import Collected, load_collection, thumbnails
from gridtsne.aws.job import OPTIONAL_OUTPUTS, OUTPUT_NAMES, JobParams, JobProgress, job_prefix
from gridtsne.aws.progress import REDUCE_PERCENT, silent, stage_steps
from gridtsne.aws.uploads import shared_embedder
from gridtsne.aws.vectors import ShardResult, embed_objects, scan, upload_prefix
from gridtsne.aws.vectors import missing as missing_inputs
from gridtsne.core.embed import Embedder
from gridtsne.core.images import Limits
from gridtsne.core.reduce import Reduced, ReduceParams
from gridtsne.output.files import render_outputs
from gridtsne.pipeline import Params, list_inputs, place, reduce_stage
from gridtsne.store import ObjectInfo, Store

__all__ = [
    "NoImagesError",
    "TransientError",
    "embed_batch",
    "prepare",
    "reduce_job",
    "render_job",
]

INPUTS = "inputs.json"
POINTS = "points.npy"
ORDER = "order.json"

logger = logging.getLogger(__name__)


class NoImagesError(Exception):
    """The collection has nothing to lay out (empty, or no file is a usable image)."""


class TransientError(Exception):
    """A failure worth retrying (the state machine retries errors of this name)."""


def pipeline_params(params: JobParams) -> Params:
    """The pipeline's parameters for a job's parameters."""
    return Params(
        rows=params.rows,
        cols=params.cols,
        tile=params.tile,
        background=params.background,
        reduce=ReduceParams(perplexity=params.perplexity, seed=params.seed),
    )


def _read_json(store: Store, key: str) -> Any:
    return json.loads(store.read(key))


def _objects(pairs: list[list[str]]) -> list[ObjectInfo]:
    return [ObjectInfo(key=k, size=0, etag=e) for k, e in pairs]


def processing_job_name(job: str) -> str:
    """A SageMaker job name for the job (at most 63 characters)."""
    return f"gridtsne-{hashlib.sha256(job.encode()).hexdigest()[:24]}-{int(time.time())}"


def prepare(
    store: Store,
    job: str,
    collection: str,
    params: JobParams,
    *,
    batch: int = 64,
    threshold: int = 100_000,
) -> dict[str, Any]:
    """Snapshot the collection's inputs into ``inputs.json`` and batch those still missing vectors."""
    found = list_inputs(store, upload_prefix(collection))
    inputs = found.images
    if not inputs and not found.skipped:
        raise NoImagesError(f"no files under uploads/{collection}/")
    todo = missing_inputs(inputs, scan(store, collection))
    batches = [todo[i : i + batch] for i in range(0, len(todo), max(1, batch))]
    key = job_prefix(job) + INPUTS
    doc = {
        "job_id": job,
        "collection": collection,
        "params": params.model_dump(),
        "inputs": [[o.key, o.etag] for o in inputs],
        "skipped": found.skipped,
        "batches": [[[o.key, o.etag] for o in b] for b in batches],
    }
    store.write(key, json.dumps(doc).encode(), "application/json")
    return {
        "inputs": key,
        "count": len(inputs),
        "missing": len(todo),
        "threshold": params.lambda_limit(threshold),
        "batches": list(range(len(batches))),
        "batch_count": len(batches),
        "processing_job_name": processing_job_name(job),
    }


def embed_batch(
    store: Store,
    inputs_key: str,
    batch: int,
    embedder: Embedder | None = None,
    limits: Limits | None = None,
) -> ShardResult:
    """Embed batch number ``batch`` of a job's ``inputs.json``."""
    doc = _read_json(store, inputs_key)
    objects = _objects(doc["batches"][batch])
    return embed_objects(store, doc["collection"], objects, embedder or shared_embedder(), limits=limits)


def _collected(store: Store, job: str, with_thumbs: bool) -> tuple[dict[str, Any], Collected]:
    """The job's ``inputs.json`` and its inputs resolved to vectors; every input must have its vector."""
    doc = _read_json(store, job_prefix(job) + INPUTS)
    collected = load_collection(store, doc["collection"], _objects(doc["inputs"]), with_thumbs=with_thumbs)
    collected.skipped = [*doc.get("skipped", []), *collected.skipped]
    if collected.missing:
        raise TransientError(
            f"{len(collected.missing)} inputs have no vectors yet, e.g. {collected.missing[:3]}"
        )
    if not collected.keys:
        reasons = "; ".join(f"{s['key']}: {s['reason']}" for s in collected.skipped[:5])
        raise NoImagesError(
            f"no usable images in collection {doc['collection']!r} "
            f"({len(collected.skipped)} files skipped: {reasons})"
        )
    return doc, collected


def _reduce(
    collected: Collected, params: JobParams, progress: JobProgress
) -> tuple[Reduced, dict[str, float]]:
    start = time.perf_counter()
    steps = stage_steps(progress, "reduce", REDUCE_PERCENT)
    reduced = reduce_stage(collected.vectors, pipeline_params(params), steps)
    return reduced, {"reduce": time.perf_counter() - start}


def reduce_job(store: Store, job: str, progress: JobProgress = silent) -> dict[str, Any]:
    """PCA + t-SNE of the job's vectors; writes ``points.npy`` and ``order.json``."""
    progress("reduce", REDUCE_PERCENT[0])
    doc, collected = _collected(store, job, with_thumbs=False)
    reduced, timings = _reduce(collected, JobParams.model_validate(doc["params"]), progress)
    buffer = io.BytesIO()
    np.save(buffer, reduced.points.astype(np.float64))
    prefix = job_prefix(job)
    store.write(prefix + POINTS, buffer.getvalue(), "application/octet-stream")
    order = {"keys": collected.keys, "timings": timings, "tsne": reduced.method}
    store.write(prefix + ORDER, json.dumps(order).encode(), "application/json")
    return {"points": prefix + POINTS, "count": len(collected.keys)}


def _reduced(store: Store, job: str, keys: list[str]) -> tuple[Reduced, dict[str, float]]:
    """The points :func:`reduce_job` wrote and how, checked against the keys they belong to."""
    prefix = job_prefix(job)
    order = _read_json(store, prefix + ORDER)
    if order["keys"] != keys:
        raise TransientError("the collection changed between the reduce and render steps")
    points = np.load(io.BytesIO(store.read(prefix + POINTS)))
    return Reduced(points, dict(order.get("tsne", {}))), dict(order["timings"])


def render_job(
    store: Store,
    job: str,
    *,
    reduce: bool = False,
    out: Store | None = None,
    originals: Store | None = None,
    progress: JobProgress = silent,
) -> dict[str, Any]:
    """Assign the job's points to grid cells and write mosaic, layout, viewer and scatter (and the deep-zoom
    archive ``tiles.pmtiles`` of a grid too big for one picture).

    The viewer carries no URL: the link that opens it brings fresh ones (:func:`gridtsne.aws.view.job_view`).

    Parameters
    ----------
    store
        Where the job's ``inputs.json`` and the collection's vectors are.
    job
        The job id.
    reduce
        Reduce first, in this process, instead of reading :func:`reduce_job`'s ``points.npy`` (the
        big-set job: no intermediate files).
    out
        Where results go (default ``store``).
    originals
        Where tiles larger than the stored thumbnails are cut from (default ``store``).
    progress
        Told each stage as it starts, and the reduction's steps.

    Returns
    -------
    dict
        ``{"outputs": {name: key}, "count", "skipped", "duplicates"}``.
    """
    if reduce:
        progress("reduce", REDUCE_PERCENT[0])
    doc, collected = _collected(store, job, with_thumbs=True)
    params = JobParams.model_validate(doc["params"])
    prefix = job_prefix(job)
    reduced, timings = (
        _reduce(collected, params, progress) if reduce else _reduced(store, job, collected.keys)
    )
    progress("assign", REDUCE_PERCENT[1])
    layout = place(
        collected.keys,
        reduced.points,
        pipeline_params(params),
        vectors=collected.vectors,
        skipped=collected.skipped,
        duplicates=collected.duplicates,
        timings=timings,
        model=collected.model,
        extra_params={"collection": doc["collection"], "tsne": reduced.method},
    )
    progress("render", 85)
    tiles = thumbnails(store if originals is None else originals, collected, params.tile)
    target = store if out is None else out
    written: set[str] = set()

    def write_file(name: str, file: IO[bytes]) -> None:
        target.write(prefix + name, file)
        written.add(name)

    files = render_outputs(layout, tiles, background=params.background, write_tiles=write_file)
    for name, data in files.items():
        target.write(prefix + name, data)
    return {
        "outputs": {
            name: prefix + file
            for name, file in OUTPUT_NAMES.items()
            if name not in OPTIONAL_OUTPUTS or file in written
        },
        "count": len(collected.keys),
        "skipped": len(collected.skipped),
        "duplicates": len(collected.duplicates),
    }
