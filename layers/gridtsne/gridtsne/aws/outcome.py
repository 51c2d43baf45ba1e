"""How a job ends: :func:`publish` marks it SUCCEEDED and :func:`record_failure` FAILED, each announced once
on the event bus. The record is always final before the event is tried.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from gridtsne.aws.events import publish_event
from gridtsne.aws.job import OPTIONAL_OUTPUTS, OUTPUT_NAMES, job_prefix
from gridtsne.aws.originals import originals_link
from gridtsne.aws.steps import TransientError
from gridtsne.aws.table import JobTable
from gridtsne.aws.view import job_view, output_urls
from gridtsne.store import Store

__all__ = ["publish", "record_failure"]

logger = logging.getLogger(__name__)


def publish(
    store: Store,
    table: JobTable,
    job: str,
    *,
    expires: int = 3600,
    bus: str = "default",
    events: Any = None,
    originals_url: str = "",
) -> dict[str, Any]:
    """Check the outputs exist, mark the job SUCCEEDED, then announce it with presigned URLs.

    The record is final before the event is tried: an event that cannot be sent is logged and reported
    as ``announced: False``, and the job stays SUCCEEDED with its outputs. With ``originals_url`` (the
    signed redirect to originals), the viewer links carry the job's token for it.

    Returns
    -------
    dict
        ``{"id", "status", "count", "outputs", "announced", "output"}``; ``output`` is the job as the API's
        GET shows it (presigned URLs under ``data``), so the execution's output shows what an API client gets.
    """
    prefix = job_prefix(job)
    found = {name: (prefix + file, store.exists(prefix + file)) for name, file in OUTPUT_NAMES.items()}
    absent = [key for name, (key, there) in found.items() if not there and name not in OPTIONAL_OUTPUTS]
    outputs = {name: key for name, (key, there) in found.items() if there}
    if absent:
        raise TransientError(f"outputs not found: {absent}")
    layout = json.loads(store.read(outputs["layout"]))
    count = len(layout["images"])
    table.succeed(job, outputs, count=count, quality=layout.get("quality"))
    record = table.get(job)
    originals = originals_link(originals_url, record, expires) if originals_url and record else None
    detail = {
        "id": job,
        "collection": layout["params"].get("collection"),
        "status": "SUCCEEDED",
        "count": count,
        "skipped": len(layout["skipped"]),
        "duplicates": len(layout["duplicates"]),
        "outputs": outputs,
        "urls": output_urls(outputs, store, expires, originals),
    }
    announced = _announce("Visualization Succeeded", job, detail, bus, events)
    result = {"id": job, "status": "SUCCEEDED", "count": count, "outputs": outputs, "announced": announced}
    if record is not None:
        result["output"] = job_view(record, store, expires, originals_url)
    return result


def record_failure(
    table: JobTable, job: str, error: str, cause: str, *, bus: str = "default", events: Any = None
) -> dict[str, Any]:
    """Mark the job FAILED with the cause and announce it, unless it has already finished.

    A job already SUCCEEDED or FAILED keeps its status, its first cause and its one announcement; the
    answer then gives the record as it is, with ``recorded: False``. An event that cannot be sent is
    logged and reported as ``announced: False``; the record is FAILED regardless.

    Raises
    ------
    KeyError
        The job has no record.
    """
    cause = _cause_text(cause)
    marked = table.fail(job, error, cause)
    record = table.get(job)
    if not marked and record is not None:
        return {
            "id": job,
            "status": record.status,
            "error": record.error,
            "cause": record.cause,
            "recorded": False,
            "announced": False,
        }
    detail = {
        "id": job,
        "collection": record.collection if record else None,
        "status": "FAILED",
        "error": error,
        "cause": cause,
        "stage": record.progress.stage if record else None,
    }
    announced = _announce("Visualization Failed", job, detail, bus, events)
    return {
        "id": job,
        "status": "FAILED",
        "error": error,
        "cause": cause,
        "recorded": True,
        "announced": announced,
    }


def _announce(detail_type: str, job: str, detail: dict[str, Any], bus: str, events: Any) -> bool:
    """Put the job's event on the bus; a failure is logged and answered False, never raised."""
    try:
        publish_event(detail_type, detail, bus=bus, client=events)
    except Exception:
        logger.exception("could not announce %r for job %s", detail_type, job)
        return False
    return True


def _cause_text(cause: str) -> str:
    """A Lambda error's Cause is JSON with errorMessage; keep the message."""
    try:
        data = json.loads(cause)
    except (TypeError, ValueError):
        return cause
    if isinstance(data, dict) and "errorMessage" in data:
        return str(data["errorMessage"])
    return cause
