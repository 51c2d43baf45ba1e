"""Visualization jobs: the parameters, the job id, the job record and where a job's files go.

A job is one run of the ``visualize`` state machine over one collection (``uploads/<collection>/``). Its
id is random (:func:`new_job_id`) and names its Step Functions execution; the same request (same principal,
collection content, parameters and client token: :func:`request_key`) finds the same job through an
idempotency record in the job table, so a duplicate event cannot start a second run. Its record
(:class:`JobRecord`) lives in the job table (:mod:`gridtsne.aws.table`) and names its owner, the principal
that asked for it; only the owner reads it (:func:`may_read`).

Layout of a job's outputs: ``visualizations/<id>/`` holds ``inputs.json`` (the snapshot of the collection the
job works on), ``points.npy`` and ``order.json`` (reduce stage), ``mosaic.jpg``, ``layout.json``,
``viewer.html`` and ``scatter.png``, and for a grid too big for one picture ``tiles.pmtiles`` (the deep-zoom
archive) and ``keys.bin`` (the keys of its cells), which the viewer reads by range requests.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "COLLECTION_PATTERN",
    "OPTIONAL_OUTPUTS",
    "OUTPUT_NAMES",
    "JobParams",
    "JobProgress",
    "JobRecord",
    "Progress",
    "Status",
    "account_principal",
    "job_prefix",
    "may_read",
    "new_job_id",
    "request_key",
]

Status = Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED"]

#: A collection name: one path segment under ``uploads/``.
COLLECTION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"

#: The files a finished job publishes, by the name used in the API's ``data`` object.
OUTPUT_NAMES: dict[str, str] = {
    "image": "mosaic.jpg",
    "layout": "layout.json",
    "viewer": "viewer.html",
    "scatter": "scatter.png",
    "tiles": "tiles.pmtiles",
    "keys": "keys.bin",
}
#: Outputs only some jobs have: the deep-zoom archive and key file of a grid too big for one picture.
OPTIONAL_OUTPUTS = frozenset({"tiles", "keys"})


#: ``BIG_SET_THRESHOLD`` of a stack without the big-set job (template.yaml: no ``ProcessingImageUri``).
NO_BIG_SET = 1_000_000_000
#: Side of the thumbnails stored with the vectors (:data:`gridtsne.aws.vectors.THUMB_SIDE`).
STORED_THUMB = 64
#: Local disk the render Lambda's thumbnail spools may fill: 6 GiB of its 10,240 MB ``/tmp``, the rest left
#: to the deep-zoom archive and its spool. At 64 px tiles that is 524,288 pictures, at 128 px 104,857, at
#: 512 px 8,065; a bigger set runs as the big-set job whatever the threshold.
RENDER_SPOOL_BYTES = 6 * 1024**3
#: Pictures the render Lambda cuts from their originals (tiles larger than the stored thumbnails) in 300 s,
#: a third of its 15 minutes: it decodes them one at a time, and one core decodes about 60 large
#: (1600 × 1200) JPEGs a second.
CUT_LIMIT = 18_000


class JobProgress(Protocol):
    """Told where a running job is (:class:`~gridtsne.aws.progress.ProgressWriter` writes it down)."""

    def __call__(self, stage: str, percent: int, eta: float | None = None) -> None:
        """``stage`` runs, the job is ``percent`` done, the stage has ``eta`` seconds left (if known)."""


class JobParams(BaseModel):
    """How to lay out a collection (the knobs of ``gridtsne run``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    rows: int | None = Field(None, ge=1, le=2048, description="Grid rows; derived from N when omitted.")
    cols: int | None = Field(None, ge=1, le=2048, description="Grid columns; derived from N when omitted.")
    tile: int = Field(64, ge=8, le=512, description="Tile size in pixels in the mosaic.")
    perplexity: float = Field(30.0, gt=1.0, le=500.0, description="t-SNE perplexity.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Random seed for PCA and t-SNE.")
    background: str = Field("#000000", pattern=r"^#[0-9a-fA-F]{6}$", description="Colour of empty cells.")

    def lambda_limit(self, threshold: int) -> int:
        """The most pictures the reduce and render Lambdas take for these params: ``threshold``, or fewer
        when their tiles would not fit the render Lambda's local disk (:data:`RENDER_SPOOL_BYTES`: the stored
        64 px thumbnails, 12 KiB a picture, plus the tiles made at another size) or, for tiles larger than
        the stored thumbnails, when cutting them from the originals would take too long
        (:data:`CUT_LIMIT`)."""
        if threshold >= NO_BIG_SET:
            return threshold  # nowhere else to go: the Lambdas take every set
        per_picture = 3 * (STORED_THUMB**2 + (self.tile**2 if self.tile != STORED_THUMB else 0))
        limit = min(threshold, RENDER_SPOOL_BYTES // per_picture)
        if self.tile > STORED_THUMB:
            limit = min(limit, CUT_LIMIT)
        return max(1, limit)


class Progress(BaseModel):
    """Where a running job is."""

    stage: str = Field(description="The stage now running (or the last one).")
    percent: int = Field(ge=0, le=100, description="Completion of the whole job, 0-100.")
    eta: str | None = Field(
        None,
        description="When the running stage should end (ISO 8601, UTC), estimated from its progress so far;"
        " absent when unknown.",
    )


class JobRecord(BaseModel):
    """The job record as stored and as the API reads it."""

    id: str
    collection: str
    status: Status
    params: JobParams
    progress: Progress
    created: str
    updated: str
    principal: str = Field("", description="Who asked for the job (an IAM ARN or ``account:<id>``).")
    secret: str = Field("", description="Signs the job's links to its originals (gridtsne.aws.originals).")
    execution_arn: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict, description="Output name -> S3 key.")
    count: int | None = Field(None, description="Images placed on the grid.")
    quality: dict[str, Any] | None = Field(None, description="The layout's quality block (layout.json).")
    error: str | None = None
    cause: str | None = None

    @field_validator("outputs", mode="before")
    @classmethod
    def _outputs(cls, value: Any) -> Any:
        return value or {}


def new_job_id(collection: str) -> str:
    """A new, unguessable job id: the collection's name (for people reading it) and 128 random bits.

    Each attempt to run it gets its own execution name (:func:`execution_name`).
    """
    name = collection[:40].replace(".", "-") if re.match(COLLECTION_PATTERN, collection) else "request"
    return f"{name}-{uuid.uuid4().hex}"


def execution_name(job: str) -> str:
    """A Step Functions execution name for one attempt at ``job``: the id and a fresh suffix.

    Names are unique per attempt, so an ended execution (whose name Step Functions keeps for 90 days) never
    blocks a new one for a job whose record expired and was created again. At most 80 characters.
    """
    return f"{job[:73]}-{uuid.uuid4().hex[:6]}"


def request_key(principal: str, collection: str, params: JobParams, token: str, content: str) -> str:
    """The idempotency key of a request: who asks, for which collection content, with which parameters.

    ``content`` is the digest of the collection's inputs (:func:`~gridtsne.aws.submit.content_digest`):
    new uploads make the same request a new job; the same content and parameters find the existing one.
    """
    canonical = json.dumps(
        {
            "principal": principal,
            "collection": collection,
            "params": params.model_dump(),
            "token": token,
            "content": content,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def account_principal(account: str) -> str:
    """The principal of jobs the account itself starts (a console execution, an event on its bus)."""
    return f"account:{account}"


def may_read(owner: str, caller: str) -> bool:
    """Whether the IAM principal ``caller`` (an ARN) may read a job owned by ``owner``.

    A job started through the API belongs to its caller alone; one started by the account (console, event)
    to every caller of that account.
    """
    if not owner or not caller:
        return False
    if owner == caller:
        return True
    parts = caller.split(":")
    return len(parts) > 4 and owner == account_principal(parts[4])


def job_prefix(job: str) -> str:
    """The key prefix of a job's outputs."""
    return f"visualizations/{job}/"
