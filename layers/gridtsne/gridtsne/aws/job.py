"""Visualization jobs: the parameters, the job id, the job record and where a job's files go.

A job is one run of the ``visualize`` state machine over one collection (``uploads/<collection>/``). The
job id is derived from the request, so the same request (same collection, parameters and client token)
always names the same job and the same Step Functions execution: a duplicate event cannot start a second
run. Its record (:class:`JobRecord`) lives in the job table (:mod:`gridtsne.aws.table`).

Layout of a job's outputs: ``visualizations/<id>/`` holds ``inputs.json`` (the snapshot of the collection the
job works on), ``points.npy`` and ``order.json`` (reduce stage), ``mosaic.jpg``, ``layout.json``,
``viewer.html`` and ``scatter.png``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "COLLECTION_PATTERN",
    "OUTPUT_NAMES",
    "JobParams",
    "JobProgress",
    "JobRecord",
    "Progress",
    "Status",
    "job_id",
    "job_prefix",
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
}

#: Called as ``progress(stage, percent)`` while a job runs.
JobProgress = Callable[[str, int], None]


class JobParams(BaseModel):
    """How to lay out a collection (the knobs of ``gridtsne run``)."""

    model_config = ConfigDict(extra="forbid")

    rows: int | None = Field(None, ge=1, le=2048, description="Grid rows; derived from N when omitted.")
    cols: int | None = Field(None, ge=1, le=2048, description="Grid columns; derived from N when omitted.")
    tile: int = Field(64, ge=8, le=512, description="Tile size in pixels in the mosaic.")
    perplexity: float = Field(30.0, gt=1.0, le=500.0, description="t-SNE perplexity.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Random seed for PCA and t-SNE.")
    background: str = Field("#000000", pattern=r"^#[0-9a-fA-F]{6}$", description="Colour of empty cells.")


class Progress(BaseModel):
    """Where a running job is."""

    stage: str = Field(description="The stage now running (or the last one).")
    percent: int = Field(ge=0, le=100, description="Rough completion, 0-100.")


class JobRecord(BaseModel):
    """The job record as stored and as the API reads it."""

    id: str
    collection: str
    status: Status
    params: JobParams
    progress: Progress
    created: str
    updated: str
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


def job_id(collection: str, params: JobParams, token: str = "") -> str:
    """The job id for a request: a hash of collection, canonical parameters and a client token.

    The id doubles as the Step Functions execution name (at most 80 of ``[A-Za-z0-9_-]``).
    """
    if not re.match(COLLECTION_PATTERN, collection):
        raise ValueError(f"invalid collection name: {collection!r}")
    canonical = json.dumps(
        {"collection": collection, "params": params.model_dump(), "token": token},
        sort_keys=True,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return f"{collection[:40].replace('.', '-')}-{digest}"


def job_prefix(job: str) -> str:
    """The key prefix of a job's outputs."""
    return f"visualizations/{job}/"
