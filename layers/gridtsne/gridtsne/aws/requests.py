"""What an event asks for: a dropped ``_visualize.json`` or a "Visualization Requested" event, as a request.

The trigger function reads both kinds of event through :func:`asked`, then hands the request to
:func:`gridtsne.aws.submit.submit`, or the reason it cannot be one to :func:`gridtsne.aws.submit.reject`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from gridtsne.aws.events import RequestedEvent, object_created, requested
from gridtsne.aws.job import JobParams
from gridtsne.aws.submit import InvalidRequestError, JobRequest, Services, parse_request, problems
from gridtsne.aws.uploads import collection_of
from gridtsne.core.inputs import CONTROL_FILES

__all__ = ["CONTROL_FILE", "Asked", "asked"]

(CONTROL_FILE,) = CONTROL_FILES


@dataclass
class Asked:
    """What an event asks: the request, or the reason it cannot be one."""

    request: JobRequest | None
    reason: str
    collection: str
    #: Part of the request's idempotency key (a file's ETag; nothing for an event: identical requests are
    #: one job, whichever event carried them).
    token: str
    #: Names the request when it is refused, so a redelivery finds the same failed job.
    refusal: str


def asked(services: Services, event: dict[str, Any]) -> Asked | None:
    """The request an EventBridge event makes; None for an upload that is not a ``_visualize.json``.

    Parameters
    ----------
    services
        The bucket (to read the dropped file) and the rest of the job's services.
    event
        An S3 "Object Created" event or a "Visualization Requested" event.
    """
    request = requested(event)
    return _from_request(request) if request is not None else _from_file(services, event)


def _from_file(services: Services, event: dict[str, Any]) -> Asked | None:
    """The request a dropped ``_visualize.json`` makes; None for any other key."""
    _bucket, obj = object_created(event)
    collection = collection_of(obj.key)
    if collection is None or obj.key != f"uploads/{collection}/{CONTROL_FILE}":
        return None
    token = f"etag:{obj.etag}"
    try:
        params = JobParams.model_validate(json.loads(services.store.read(obj.key) or b"{}"))
    except ValidationError as exc:
        return Asked(None, f"invalid {CONTROL_FILE}: {problems(exc.errors())}", collection, token, token)
    except (ValueError, RecursionError) as exc:
        return Asked(None, f"invalid {CONTROL_FILE}: not JSON ({exc})", collection, token, token)
    return Asked(
        JobRequest(collection=collection, params=params, client_token=""), "", collection, token, token
    )


def _from_request(event: RequestedEvent) -> Asked:
    """The request a "Visualization Requested" event makes."""
    detail = event.detail
    collection = str(detail.get("collection", ""))[:200] if isinstance(detail, dict) else ""
    try:
        return Asked(parse_request(detail), "", collection, "", f"event:{event.id}")
    except InvalidRequestError as exc:
        return Asked(None, str(exc), collection, "", f"event:{event.id}")
