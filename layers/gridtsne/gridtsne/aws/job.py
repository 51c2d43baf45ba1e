"""Visualization jobs: the parameters, the job id, the DynamoDB job record and the job's events.

A job is one run of the ``visualize`` state machine over one collection (``uploads/<collection>/``).
Its record lives in a DynamoDB table keyed by ``id`` with a global secondary index ``by-collection``
(partition key ``collection``, sort key ``created``) for listing, and ``expires_at`` (epoch seconds) as
its time-to-live attribute. The job id is derived from the request, so
the same request (same collection, parameters and client token) always names the same job and the same
Step Functions execution: a duplicate event cannot start a second run.

Layout of a job's outputs: ``visualizations/<id>/`` holds ``inputs.json`` (the snapshot of the collection the
job works on), ``points.npy`` and ``order.json`` (reduce stage), ``mosaic.jpg``, ``layout.json``,
``viewer.html`` and ``scatter.png``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "COLLECTION_PATTERN",
    "OUTPUT_NAMES",
    "JobParams",
    "JobRecord",
    "JobTable",
    "Progress",
    "Status",
    "job_id",
    "job_prefix",
    "publish_event",
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

EVENT_SOURCE = "gridtsne"


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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals back to int/float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class JobTable:
    """The DynamoDB job table."""

    def __init__(self, name: str, resource: Any = None, ttl_days: int | None = None) -> None:
        if resource is None:
            import boto3

            resource = boto3.resource("dynamodb")
        self.name = name
        self.ttl_days = ttl_days
        self.table = resource.Table(name)

    def create(self, job: str, collection: str, params: JobParams) -> tuple[JobRecord, bool]:
        """Create a PENDING record; return ``(record, created)``, the existing record if the id is taken."""
        now = _now()
        item: dict[str, Any] = {
            "id": job,
            "collection": collection,
            "status": "PENDING",
            "params": json.dumps(params.model_dump(), sort_keys=True),
            "progress": {"stage": "queued", "percent": 0},
            "created": now,
            "updated": now,
        }
        if self.ttl_days:
            # DynamoDB's time to live removes the record this long after creation.
            item["expires_at"] = int(time.time()) + int(self.ttl_days) * 86400
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            existing = self.get(job)
            if existing is None:  # deleted in between: try once more
                return self.create(job, collection, params)
            return existing, False
        record = self._record(item)
        return record, True

    def started(self, job: str, execution_arn: str) -> None:
        """Remember the execution that runs the job."""
        self._update(job, {"execution_arn": execution_arn})

    def progress(self, job: str, stage: str, percent: int) -> None:
        """Record the stage now running; a finished job is left alone."""
        with contextlib.suppress(self.table.meta.client.exceptions.ConditionalCheckFailedException):
            self.table.update_item(
                Key={"id": job},
                UpdateExpression="SET progress = :p, #s = :running, updated = :u",
                ConditionExpression="attribute_exists(id) AND NOT #s IN (:done, :failed)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":p": {"stage": stage, "percent": max(0, min(100, int(percent)))},
                    ":running": "RUNNING",
                    ":done": "SUCCEEDED",
                    ":failed": "FAILED",
                    ":u": _now(),
                },
            )

    def succeed(self, job: str, outputs: dict[str, str], count: int | None = None) -> None:
        """Mark the job SUCCEEDED with its output keys."""
        values: dict[str, Any] = {
            "status": "SUCCEEDED",
            "outputs": outputs,
            "progress": {"stage": "done", "percent": 100},
        }
        if count is not None:
            values["count"] = count
        self._update(job, values)

    def fail(self, job: str, error: str, cause: str) -> None:
        """Mark the job FAILED with the error name and its cause (the stage it failed in is kept)."""
        self._update(job, {"status": "FAILED", "error": error, "cause": cause[:4000]})

    def get(self, job: str) -> JobRecord | None:
        """The record, or None."""
        item = self.table.get_item(Key={"id": job}, ConsistentRead=True).get("Item")
        return None if item is None else self._record(item)

    def list(self, collection: str, limit: int = 50) -> list[JobRecord]:
        """The collection's jobs, newest first."""
        from boto3.dynamodb.conditions import Key

        response = self.table.query(
            IndexName="by-collection",
            KeyConditionExpression=Key("collection").eq(collection),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [self._record(item) for item in response.get("Items", [])]

    def _update(self, job: str, values: dict[str, Any]) -> None:
        values = {**values, "updated": _now()}
        names = {f"#k{i}": k for i, k in enumerate(values)}
        try:
            self.table.update_item(
                Key={"id": job},
                UpdateExpression="SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(values))),
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":v{i}": v for i, v in enumerate(values.values())},
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            raise KeyError(f"no job record {job!r}") from None

    @staticmethod
    def _record(item: dict[str, Any]) -> JobRecord:
        data = _plain(item)
        if isinstance(data.get("params"), str):
            data["params"] = json.loads(data["params"])
        return JobRecord.model_validate(data)


def publish_event(detail_type: str, detail: dict[str, Any], bus: str = "default", client: Any = None) -> None:
    """Put one ``gridtsne`` event on the EventBridge bus (e.g. "Visualization Succeeded")."""
    if client is None:
        import boto3

        client = boto3.client("events")
    response = client.put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, sort_keys=True),
                "EventBusName": bus,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge rejected {detail_type!r}: {response['Entries']}")


def wait_until(predicate: Any, timeout: float, interval: float = 0.2) -> bool:
    """Poll ``predicate()`` until it is truthy or ``timeout`` seconds pass; return whether it became true."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
