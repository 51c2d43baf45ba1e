"""Start a visualization from an event (EventBridge rules): a dropped ``_visualize.json`` or a request.

- ``uploads/<collection>/_visualize.json`` written (S3 "Object Created"): the file holds the parameters
  (``{"rows", "cols", "tile", "perplexity", "seed", "background"}``, all optional). Its ETag is part of the
  request, so a redelivered event finds the same job and dropping the file again starts a new run.
- "Visualization Requested" (source ``gridtsne``): the detail is the API's body (``collection``,
  ``params``, ``client_token``).

Both go through :func:`gridtsne.aws.submit.submit`, as the API does; the job belongs to the event's
account. A request that cannot run becomes a FAILED job and a "Visualization Failed" event with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.events import RequestedEvent, object_created, requested
from gridtsne.aws.job import JobParams, account_principal
from gridtsne.aws.settings import Settings
from gridtsne.aws.submit import (
    InvalidRequestError,
    JobRequest,
    Services,
    parse_request,
    problems,
    reject,
    submit,
)
from gridtsne.aws.uploads import collection_of
from gridtsne.core.inputs import CONTROL_FILES
from pydantic import ValidationError

logger = Logger()
tracer = Tracer()
metrics = Metrics()

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


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Output ``{"id", "status", "started"}`` (and ``"error"`` when refused); ``{"ignored": reason}`` for
    an event that asks nothing."""
    services = Services.from_settings(Settings.from_env())
    request = requested(event)
    principal = account_principal(str(event.get("account", "")))
    asked = _from_request(request) if request is not None else _from_file(services, event)
    if asked is None:
        return {"ignored": f"not a {CONTROL_FILE} upload"}
    reason = asked.reason
    if asked.request is not None:
        try:
            done = submit(services, asked.request, principal, token=asked.token)
        except InvalidRequestError as exc:
            reason = str(exc)
        else:
            logger.info("visualization requested", job_id=done.record.id, started=done.started)
            if done.started:
                metrics.add_metric("VisualizationsStarted", MetricUnit.Count, 1)
            return {"id": done.record.id, "status": done.record.status, "started": done.started}
    logger.warning("request refused", reason=reason)
    record = reject(services, reason, principal, collection=asked.collection, token=asked.refusal)
    return {"id": record.id, "status": record.status, "started": False, "error": record.cause}
