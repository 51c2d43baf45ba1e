"""Events in and out: S3 "Object Created" events, the state machine's step inputs, and the job's events.

In: :func:`object_created` reads an EventBridge "Object Created" event from S3 with Powertools' parser
model, :func:`requested` a "Visualization Requested" event (a request put on the bus by a client);
:class:`JobInput` (an execution's input), :class:`JobState`, :class:`EmbedItem` and :class:`FailedState`
are what the state machine passes to its Lambda steps. Out: :func:`publish_event` puts a ``gridtsne`` event
("Visualization Succeeded" or "Visualization Failed") on the EventBridge bus.
The application never emits "Visualization Requested", so its rule on that type cannot loop. The events'
JSON Schemas are in ``events/schemas/``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import (
    S3EventNotificationEventBridgeModel,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from gridtsne.aws.job import COLLECTION_PATTERN, JobParams
from gridtsne.store import ObjectInfo

__all__ = [
    "EVENT_SOURCE",
    "REQUESTED",
    "EmbedItem",
    "FailedState",
    "JobInput",
    "JobState",
    "RequestedEvent",
    "object_created",
    "publish_event",
    "requested",
]

#: The ``source`` of the events a job puts on the bus.
EVENT_SOURCE = "gridtsne"
#: The ``detail-type`` of a request to lay out a collection (put on the bus by a client, never by a job).
REQUESTED = "Visualization Requested"


def object_created(event: Any) -> tuple[str, ObjectInfo]:
    """Bucket and object of an EventBridge "Object Created" event from S3 (the key URL-decoded).

    Raises
    ------
    ValueError
        The event is not an S3 "Object Created" event (pydantic's ``ValidationError`` is one).
    """
    parsed = S3EventNotificationEventBridgeModel.model_validate(event)
    if parsed.source != "aws.s3" or parsed.detail_type != "Object Created":
        raise ValueError(f"not an S3 Object Created event: {parsed.source} {parsed.detail_type}")
    obj = parsed.detail.object
    info = ObjectInfo(unquote_plus(obj.key), int(obj.size or 0), obj.etag)
    return parsed.detail.bucket.name, info


class RequestedEvent(BaseModel):
    """A "Visualization Requested" event: who put it and what it asks (validated by the submit path)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="EventBridge's id of the event (the same when redelivered).")
    account: str = Field(description="The account whose bus carried it; the job's owner.")
    detail: Any = Field(description="The request: the body of POST /v2/visualizations.")


def requested(event: Any) -> RequestedEvent | None:
    """The "Visualization Requested" event ``event`` is, or None when it is another event.

    Raises
    ------
    ValueError
        A ``gridtsne`` "Visualization Requested" event without the envelope EventBridge gives every event.
    """
    if not isinstance(event, dict):
        return None
    if event.get("source") != EVENT_SOURCE or event.get("detail-type") != REQUESTED:
        return None
    return RequestedEvent.model_validate(event)


class JobState(BaseModel):
    """The state the state machine passes to its steps: at least the job id (other keys ignored)."""

    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1, description="The job, also the execution's name.")


class JobInput(JobState):
    """The execution's input, as :func:`~gridtsne.aws.submit.submit` starts it (and prepare reads it)."""

    collection: str = Field(pattern=COLLECTION_PATTERN, description="The collection the job lays out.")
    params: JobParams = Field(default_factory=lambda: JobParams.model_validate({}))

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, value: Any) -> Any:
        return {} if value is None else value


class EmbedItem(BaseModel):
    """One item of the state machine's embedding Map: batch ``batch`` of the job's ``inputs.json``."""

    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1)
    inputs: str = Field(min_length=1, description="S3 key of the job's inputs.json.")
    batch: int = Field(ge=0, description="Which batch of inputs.json to embed.")
    batches: int = Field(1, ge=1, description="How many batches the job has (for progress).")


class CaughtError(BaseModel):
    """An error as a state machine Catch records it."""

    error: str = Field("States.Unknown", alias="Error")
    cause: str = Field("unknown cause", alias="Cause")

    @field_validator("error", "cause", mode="before")
    @classmethod
    def _given(cls, value: Any, info: ValidationInfo) -> Any:
        # A Catch without a name or cause gets the defaults, never a second failure.
        return value or cls.model_fields[info.field_name or ""].default


class FailedState(BaseModel):
    """The state after a Catch: the job and the caught error under ``error``."""

    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1)
    error: CaughtError = Field(default_factory=lambda: CaughtError.model_validate({}))


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
