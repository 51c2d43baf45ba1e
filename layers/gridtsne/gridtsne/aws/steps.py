"""The ``visualize`` job's steps over a store: what the Lambda handlers and the big-set job call.

Each step reads and writes S3 keys under ``visualizations/<id>/`` and returns a small JSON-able dict, so the
state machine passes keys, never vectors. The algorithms are :mod:`gridtsne.pipeline`'s stage functions;
this module only decides what to read, in which order, and where results go.

Steps: :func:`prepare` (snapshot the inputs, batch what lacks vectors), :func:`embed_batch`,
:func:`reduce_job`, :func:`render_job` (assign + render), :func:`run_job` (both, for the big-set job),
:func:`publish` and :func:`record_failure`.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import numpy as np

from gridtsne.aws.job import (
    COLLECTION_PATTERN,
    OUTPUT_NAMES,
    JobParams,
    JobRecord,
    JobTable,
    job_id,
    job_prefix,
    publish_event,
)
from gridtsne.aws.vectors import (
    Collected,
    ShardResult,
    embed_objects,
    load_collection,
    scan,
    upload_prefix,
)
from gridtsne.aws.vectors import missing as missing_inputs
from gridtsne.core.embed import Embedder
from gridtsne.core.images import ImageError, Limits, decode, square
from gridtsne.core.inputs import Kind, kind_of
from gridtsne.core.model import load_spec
from gridtsne.core.reduce import ReduceParams
from gridtsne.output.layout import Layout
from gridtsne.pipeline import Params, assign_stage, list_inputs, reduce_stage, render_outputs
from gridtsne.store import NotFoundError, ObjectInfo, S3Store, Store

__all__ = [
    "NoImagesError",
    "Settings",
    "TransientError",
    "embed_batch",
    "prepare",
    "publish",
    "record_failure",
    "reduce_job",
    "render_job",
    "run_job",
]

INPUTS = "inputs.json"
POINTS = "points.npy"
ORDER = "order.json"

#: Called as ``progress(stage, percent)``.
JobProgress = Callable[[str, int], None]
#: Turns a key into a URL the viewer can open (presigned for S3).
UrlFor = Callable[[str], str]


class NoImagesError(Exception):
    """The collection has nothing to lay out (empty, or no file is a usable image)."""


class TransientError(Exception):
    """A failure worth retrying (the state machine retries errors of this name)."""


@dataclass(frozen=True)
class Settings:
    """The deployment's settings, from the environment (names in the README's serverless section)."""

    bucket: str
    table: str
    bus: str = "default"
    state_machine_arn: str = ""
    url_expires: int = 3600
    big_set_threshold: int = 4096
    embed_batch: int = 64
    max_megapixels: float = 80.0
    max_megabytes: float = 50.0
    job_ttl_days: int = 0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read ``GRIDTSNE_BUCKET``, ``JOB_TABLE``, ``EVENT_BUS``, ``STATE_MACHINE_ARN``, ``URL_EXPIRES``,
        ``BIG_SET_THRESHOLD``, ``EMBED_BATCH``, ``GRIDTSNE_MAX_MEGAPIXELS``, ``GRIDTSNE_MAX_MEGABYTES``
        and ``JOB_TTL_DAYS``."""
        env = dict(os.environ) if env is None else env
        return cls(
            bucket=env.get("GRIDTSNE_BUCKET", ""),
            table=env.get("JOB_TABLE", ""),
            bus=env.get("EVENT_BUS", "default"),
            state_machine_arn=env.get("STATE_MACHINE_ARN", ""),
            url_expires=int(env.get("URL_EXPIRES", "3600")),
            big_set_threshold=int(env.get("BIG_SET_THRESHOLD", "4096")),
            embed_batch=int(env.get("EMBED_BATCH", "64")),
            max_megapixels=float(env.get("GRIDTSNE_MAX_MEGAPIXELS", "80")),
            max_megabytes=float(env.get("GRIDTSNE_MAX_MEGABYTES", "50")),
            job_ttl_days=int(env.get("JOB_TTL_DAYS", "0")),
        )

    def limits(self) -> Limits:
        """What one input may cost (``GRIDTSNE_MAX_MEGAPIXELS``, ``GRIDTSNE_MAX_MEGABYTES``)."""
        return Limits(
            max_bytes=int(self.max_megabytes * 1024 * 1024), max_pixels=int(self.max_megapixels * 1_000_000)
        )

    def store(self, client: Any = None) -> S3Store:
        """The bucket."""
        return S3Store(self.bucket, client=client)

    def jobs(self, resource: Any = None) -> JobTable:
        """The job table."""
        return JobTable(self.table, resource=resource, ttl_days=self.job_ttl_days or None)

    def progress(self, job: str) -> JobProgress:
        """A progress callback that writes the stage to the job record."""
        table = self.jobs()
        return lambda stage, percent: table.progress(job, stage, percent)


def pipeline_params(params: JobParams) -> Params:
    """The pipeline's parameters for a job's parameters."""
    return Params(
        rows=params.rows,
        cols=params.cols,
        tile=params.tile,
        background=params.background,
        reduce=ReduceParams(perplexity=params.perplexity, seed=params.seed),
    )


@functools.cache
def shared_embedder() -> Embedder:
    """One embedder per process (a Lambda container keeps it warm between invocations)."""
    return Embedder(load_spec(None))


def _silent(stage: str, percent: int) -> None:
    return None


def _read_json(store: Store, key: str) -> Any:
    return json.loads(store.read(key))


def _objects(pairs: list[list[str]]) -> list[ObjectInfo]:
    return [ObjectInfo(key=k, size=0, etag=e) for k, e in pairs]


def collection_of(key: str) -> str | None:
    """The collection of an upload key ``uploads/<collection>/...``, or None for any other key."""
    parts = key.split("/")
    if len(parts) >= 3 and parts[0] == "uploads" and re.match(COLLECTION_PATTERN, parts[1]) and parts[-1]:
        return parts[1]
    return None


def object_created(event: dict[str, Any]) -> tuple[str, ObjectInfo]:
    """Bucket and object of an EventBridge "Object Created" event (the key URL-decoded)."""
    if not isinstance(event, dict):
        raise ValueError(f"not an event object: {type(event).__name__}")
    if event.get("detail-type") != "Object Created" or event.get("source") != "aws.s3":
        raise ValueError(f"not an S3 Object Created event: {event.get('source')} {event.get('detail-type')}")
    detail = event["detail"]
    obj = detail["object"]
    key = unquote_plus(str(obj["key"]))
    return str(detail["bucket"]["name"]), ObjectInfo(key, int(obj.get("size", 0)), str(obj.get("etag", "")))


def with_etags(store: Store, objects: list[ObjectInfo]) -> list[ObjectInfo]:
    """Fill in missing etags from a listing (events normally carry them)."""
    out = []
    for obj in objects:
        if not obj.etag:
            found = [o for o in store.list(obj.key) if o.key == obj.key]
            if not found:
                continue  # deleted since: nothing to embed
            obj = found[0]
        out.append(obj)
    return out


def embed_uploads(
    store: Store, objects: list[ObjectInfo], embedder: Embedder | None = None, limits: Limits | None = None
) -> dict[str, Any]:
    """Embed uploaded objects, one shard per collection; control files and foreign keys are ignored."""
    groups: dict[str, list[ObjectInfo]] = {}
    for obj in objects:
        collection = collection_of(obj.key)
        if collection is not None and kind_of(obj.key[len(upload_prefix(collection)) :]) is Kind.IMAGE:
            groups.setdefault(collection, []).append(obj)
    results = {}
    for collection, group in sorted(groups.items()):
        found = with_etags(store, group)
        if found:
            results[collection] = embed_objects(
                store, collection, found, embedder or shared_embedder(), limits=limits
            )
    return {name: result.to_dict() for name, result in results.items()}


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
    threshold: int = 4096,
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
        "threshold": threshold,
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


def reduce_job(store: Store, job: str, progress: JobProgress = _silent) -> dict[str, Any]:
    """PCA + t-SNE of the job's vectors; writes ``points.npy`` and ``order.json``."""
    progress("reduce", 55)
    doc, collected = _collected(store, job, with_thumbs=False)
    params = JobParams.model_validate(doc["params"])
    start = time.perf_counter()
    points = reduce_stage(collected.vectors, pipeline_params(params))
    buffer = io.BytesIO()
    np.save(buffer, points.astype(np.float64))
    prefix = job_prefix(job)
    store.write(prefix + POINTS, buffer.getvalue(), "application/octet-stream")
    order = {"keys": collected.keys, "timings": {"reduce": time.perf_counter() - start}}
    store.write(prefix + ORDER, json.dumps(order).encode(), "application/json")
    return {"points": prefix + POINTS, "count": len(collected.keys)}


def thumbnails(store: Store | None, collected: Collected, tile: int) -> np.ndarray:
    """Tiles of ``tile`` px: the stored thumbnails resized, or the originals when tiles are larger."""
    side = collected.thumbs.shape[1]
    if tile == side:
        return collected.thumbs
    out = np.empty((len(collected.keys), tile, tile, 3), np.uint8)
    for i, key in enumerate(collected.keys):
        picture = None
        if tile > side and store is not None:
            try:
                picture = square(decode(store.read(key), min_side=tile), tile)
            except (NotFoundError, ImageError, OSError):
                picture = None
        if picture is None:
            from PIL import Image

            picture = Image.fromarray(collected.thumbs[i]).resize((tile, tile), Image.Resampling.LANCZOS)
        out[i] = np.asarray(picture, np.uint8)
    return out


def render_job(
    store: Store,
    job: str,
    url_for: UrlFor,
    *,
    out: Store | None = None,
    originals: Store | None = None,
    points: np.ndarray | None = None,
    timings: dict[str, float] | None = None,
    progress: JobProgress = _silent,
) -> dict[str, Any]:
    """Assign the job's points to grid cells and write mosaic, layout, viewer and scatter.

    ``points`` (with ``timings``) skips reading ``points.npy``; ``out`` is where results go (default
    ``store``); ``originals`` is where larger tiles are read from (default ``store``).
    """
    progress("assign", 75)
    doc, collected = _collected(store, job, with_thumbs=True)
    params = JobParams.model_validate(doc["params"])
    prefix = job_prefix(job)
    if points is None:
        points = np.load(io.BytesIO(store.read(prefix + POINTS)))
        order = _read_json(store, prefix + ORDER)
        if order["keys"] != collected.keys:
            raise TransientError("the collection changed between the reduce and render steps")
        timings = order["timings"]
    pipe = pipeline_params(params)
    start = time.perf_counter()
    rows, cols, cells = assign_stage(points, pipe)
    assign_seconds = time.perf_counter() - start
    progress("render", 85)
    layout = Layout(
        rows=rows,
        cols=cols,
        tile=params.tile,
        keys=collected.keys,
        cells=cells,
        points=points,
        skipped=collected.skipped,
        duplicates=collected.duplicates,
        timings={**(timings or {}), "assign": assign_seconds},
        model=load_spec(None).describe() if _has_model() else {},
        params={**pipe.describe(), "collection": doc["collection"]},
    )
    tiles = thumbnails(store if originals is None else originals, collected, params.tile)
    files = render_outputs(
        layout,
        tiles,
        background=params.background,
        mosaic_url=url_for(prefix + OUTPUT_NAMES["image"]),
        original_urls={key: url_for(key) for key in collected.keys},
    )
    target = store if out is None else out
    for name, data in files.items():
        target.write(prefix + name, data)
    return {
        "outputs": {name: prefix + file for name, file in OUTPUT_NAMES.items()},
        "count": len(collected.keys),
        "skipped": len(collected.skipped),
        "duplicates": len(collected.duplicates),
    }


def _has_model() -> bool:
    try:
        load_spec(None)
    except FileNotFoundError:
        return False
    return True


def run_job(
    store: Store,
    job: str,
    url_for: UrlFor,
    *,
    out: Store | None = None,
    originals: Store | None = None,
    progress: JobProgress = _silent,
) -> dict[str, Any]:
    """Reduce, assign and render in one process (the big-set job): no intermediate files."""
    progress("reduce", 55)
    doc, collected = _collected(store, job, with_thumbs=False)
    params = JobParams.model_validate(doc["params"])
    start = time.perf_counter()
    points = reduce_stage(collected.vectors, pipeline_params(params))
    timings = {"reduce": time.perf_counter() - start}
    return render_job(
        store,
        job,
        url_for,
        out=out,
        originals=originals,
        points=points,
        timings=timings,
        progress=progress,
    )


def publish(
    store: Store, table: JobTable, job: str, *, expires: int = 3600, bus: str = "default", events: Any = None
) -> dict[str, Any]:
    """Check the outputs exist, mark the job SUCCEEDED and announce it with presigned URLs."""
    prefix = job_prefix(job)
    outputs = {name: prefix + file for name, file in OUTPUT_NAMES.items()}
    absent = [key for key in outputs.values() if not store.exists(key)]
    if absent:
        raise TransientError(f"outputs not found: {absent}")
    layout = _read_json(store, outputs["layout"])
    count = len(layout["images"])
    table.succeed(job, outputs, count=count)
    urls = {name: store.url(key, expires) for name, key in outputs.items()}
    record = table.get(job)
    detail = {
        "id": job,
        "collection": record.collection if record else layout["params"].get("collection"),
        "status": "SUCCEEDED",
        "count": count,
        "skipped": len(layout["skipped"]),
        "duplicates": len(layout["duplicates"]),
        "outputs": outputs,
        "urls": urls,
    }
    publish_event("Visualization Succeeded", detail, bus=bus, client=events)
    return {"id": job, "status": "SUCCEEDED", "count": count, "outputs": outputs}


def record_failure(
    table: JobTable, job: str, error: str, cause: str, *, bus: str = "default", events: Any = None
) -> dict[str, Any]:
    """Mark the job FAILED with the cause and announce it."""
    cause = _cause_text(cause)
    table.fail(job, error, cause)
    record = table.get(job)
    detail = {
        "id": job,
        "collection": record.collection if record else None,
        "status": "FAILED",
        "error": error,
        "cause": cause,
        "stage": record.progress.stage if record else None,
    }
    publish_event("Visualization Failed", detail, bus=bus, client=events)
    return {"id": job, "status": "FAILED", "error": error, "cause": cause}


def _cause_text(cause: str) -> str:
    """A Lambda error's Cause is JSON with errorMessage; keep the message."""
    try:
        data = json.loads(cause)
    except (TypeError, ValueError):
        return cause
    if isinstance(data, dict) and "errorMessage" in data:
        return str(data["errorMessage"])
    return cause


def submit(
    table: JobTable,
    sfn: Any,
    state_machine_arn: str,
    collection: str,
    params: JobParams,
    token: str = "",
) -> tuple[JobRecord, bool]:
    """Create the job record and start its execution, once: return ``(record, started)``.

    The execution name is the job id, so a duplicate request (or a redelivered event) finds the existing
    record, or Step Functions answers ExecutionAlreadyExists, and nothing runs twice.
    """
    job = job_id(collection, params, token)
    record, created = table.create(job, collection, params)
    if not created and (record.execution_arn or record.status != "PENDING"):
        return record, False
    payload = {"job_id": job, "collection": collection, "params": params.model_dump()}
    try:
        response = sfn.start_execution(stateMachineArn=state_machine_arn, name=job, input=json.dumps(payload))
    except sfn.exceptions.ExecutionAlreadyExists:
        return record, False
    table.started(job, response["executionArn"])
    return record, True
