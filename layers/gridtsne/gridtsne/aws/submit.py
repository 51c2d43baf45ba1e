"""Starting a job, once: the one path by which every door (the API, a ``_visualize.json`` upload, a
"Visualization Requested" event, an execution started by hand) creates a job.

:func:`submit` checks the request against the collection's content, then binds the request's idempotency
key (:func:`~gridtsne.aws.job.request_key`: principal, collection content, parameters, token) to a new
random job id with one conditional write, creates the job record and starts the execution named by the
job id. The same request twice finds the same job and runs it once; new uploads make it a new job. An
execution started by hand is adopted instead: its name is the job id. A request that cannot run is
refused with :class:`InvalidRequestError`; doors that cannot answer their caller record it with :func:`reject`
(a FAILED job and a "Visualization Failed" event).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gridtsne.aws.events import JobInput
from gridtsne.aws.job import COLLECTION_PATTERN, JobParams, JobRecord, execution_name, new_job_id, request_key
from gridtsne.aws.outcome import record_failure
from gridtsne.aws.settings import Settings
from gridtsne.aws.table import JobTable
from gridtsne.aws.vectors import upload_prefix
from gridtsne.core.assign import grid_shape
from gridtsne.pipeline import Inputs, list_inputs
from gridtsne.store import Store

__all__ = [
    "MAX_OUTPUT_PIXELS",
    "InvalidRequestError",
    "JobRequest",
    "Services",
    "Submitted",
    "content_digest",
    "parse_request",
    "problems",
    "reject",
    "submit",
]

#: A grid may have at most this many cells per image (or :data:`MIN_CELLS`, whichever is more).
CELLS_PER_IMAGE = 4
MIN_CELLS = 16
#: The most pixels a job's full-resolution grid (cells x tile²) may have.
MAX_OUTPUT_PIXELS = 2**32


class InvalidRequestError(ValueError):
    """A request that cannot run; the message says why (the API answers it with a 400)."""


class JobRequest(BaseModel):
    """What every door asks for: the API's body, a "Visualization Requested" event's detail, the input of
    an execution started by hand."""

    model_config = ConfigDict(extra="forbid", strict=True)

    collection: str = Field(pattern=COLLECTION_PATTERN, description="The folder under uploads/ to lay out.")
    params: JobParams = Field(
        default_factory=lambda: JobParams.model_validate({}), description="Layout parameters."
    )
    client_token: str = Field(
        "", max_length=64, description="Makes an otherwise identical request a new job (e.g. to re-run)."
    )


@dataclass
class Services:
    """What submitting a job talks to."""

    table: JobTable
    store: Store
    sfn: Any
    state_machine_arn: str
    bus: str = "default"
    events: Any = None

    @classmethod
    def from_settings(cls, settings: Settings, sfn: Any = None) -> Services:
        """The deployment's table, bucket and state machine (a new Step Functions client by default)."""
        if sfn is None:
            import boto3

            sfn = boto3.client("stepfunctions")
        return cls(settings.table(), settings.store(), sfn, settings.state_machine_arn, settings.bus)


@dataclass
class Submitted:
    """A submitted request: its job and whether this call started it."""

    record: JobRecord
    started: bool


def problems(errors: Sequence[Mapping[str, Any]]) -> str:
    """Validation errors (pydantic's ``errors()``) as one line: ``field: message; ...``."""
    found = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        found.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(found)


def parse_request(data: Any) -> JobRequest:
    """Validate a request given as plain data (an event's detail, an execution's input).

    Raises
    ------
    InvalidRequestError
        With what is wrong.
    """
    try:
        return JobRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequestError(f"invalid request: {problems(exc.errors())}") from None


def content_digest(inputs: Inputs) -> str:
    """A digest of the collection's inputs, (key, ETag) of each image and key of each skipped file."""
    pairs = sorted([[o.key, o.etag] for o in inputs.images] + [[s["key"], ""] for s in inputs.skipped])
    return hashlib.sha256(json.dumps(pairs, separators=(",", ":")).encode()).hexdigest()


def check(request: JobRequest, inputs: Inputs) -> None:
    """Refuse a request the collection cannot satisfy: no uploads, or a grid out of proportion to it.

    Raises
    ------
    InvalidRequestError
        With the reason.
    """
    if not inputs.images and not inputs.skipped:
        raise InvalidRequestError(f"collection {request.collection!r} has no uploads")
    params, count = request.params, len(inputs.images)
    try:
        rows, cols = grid_shape(count, params.rows, params.cols)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    most = max(CELLS_PER_IMAGE * count, MIN_CELLS)
    if rows * cols > most:
        raise InvalidRequestError(
            f"a {rows}x{cols} grid has {rows * cols} cells; {count} images allow at most {most}"
        )
    pixels = rows * cols * params.tile**2
    if pixels > MAX_OUTPUT_PIXELS:
        raise InvalidRequestError(
            f"a {rows}x{cols} grid of {params.tile} px tiles has {pixels} pixels; at most {MAX_OUTPUT_PIXELS}"
        )


#: Seconds a created job may wait for its creator to start its execution before a repeat request does.
START_GRACE_SECONDS = 60.0


def submit(
    services: Services,
    request: JobRequest,
    principal: str,
    *,
    token: str = "",
    execution: tuple[str, str] | None = None,
) -> Submitted:
    """Create the job for ``request`` and start its execution, once.

    Parameters
    ----------
    services
        The job table, the bucket and the state machine.
    request
        The collection, parameters and client token.
    principal
        Who asks; the job's owner, part of the idempotency key.
    token
        What else tells this request from an identical one (a ``_visualize.json``'s ETag).
    execution
        ``(name, arn)`` of an execution already running this request (started by hand): the job takes its
        name as id and nothing else is started.

    Raises
    ------
    InvalidRequestError
        The request cannot run.
    """
    inputs = list_inputs(services.store, upload_prefix(request.collection))
    check(request, inputs)
    table = services.table
    if execution is not None:
        name, arn = execution
        record, created = table.create(name, request.collection, request.params, principal)
        if created:
            table.started(name, arn)
        return Submitted(record, created)
    key = request_key(
        principal,
        request.collection,
        request.params,
        json.dumps([request.client_token, token]),
        content_digest(inputs),
    )
    job = table.claim(key, new_job_id(request.collection))
    record, created = table.create(job, request.collection, request.params, principal)
    if not created and not abandoned(record):
        return Submitted(record, False)
    payload = JobInput(job_id=job, collection=request.collection, params=request.params).model_dump_json()
    response = services.sfn.start_execution(
        stateMachineArn=services.state_machine_arn, name=execution_name(job), input=payload
    )
    table.started(job, response["executionArn"])
    return Submitted(record, True)


def abandoned(record: JobRecord, grace: float = START_GRACE_SECONDS) -> bool:
    """Whether a PENDING job was never started: no execution, created more than ``grace`` seconds ago.

    The request that created the record starts its execution at once; a repeat of the request within
    ``grace`` seconds leaves that to it (so two concurrent requests run one execution), a later repeat
    starts it (the first caller failed between the record and the start).
    """
    if record.status != "PENDING" or record.execution_arn:
        return False
    created = datetime.fromisoformat(record.created.replace("Z", "+00:00"))
    return (datetime.now(UTC) - created).total_seconds() > grace


def reject(
    services: Services,
    reason: str,
    principal: str,
    *,
    collection: str = "",
    token: str = "",
    job: str | None = None,
) -> JobRecord:
    """Record a request that cannot run: a FAILED job with the reason and a "Visualization Failed" event.

    ``token`` identifies the request (an event's id, a file's ETag), so a redelivered request finds the
    same failed job and announces nothing twice; ``job`` names the job instead (an execution's name).
    """
    table = services.table
    if job is None:
        key = request_key(principal, collection, JobParams.model_validate({}), token, "rejected")
        job = table.claim(key, new_job_id(collection))
    # An index key cannot be empty: a request without a collection is listed under "-".
    record, created = table.create(job, collection[:200] or "-", JobParams.model_validate({}), principal)
    if created or record.status != "FAILED":
        record_failure(table, job, "InvalidRequest", reason, bus=services.bus, events=services.events)
    found = table.get(job)
    assert found is not None
    return found
