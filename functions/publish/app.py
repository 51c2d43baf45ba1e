"""Publish a finished job: job record SUCCEEDED, then EventBridge "Visualization Succeeded" with presigned
URLs (an event that cannot be sent is logged and counted; it does not fail the job)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.events import JobState
from gridtsne.aws.outcome import publish
from gridtsne.aws.settings import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Input: the state (``job_id``); output ``{"id", "status", "count", "outputs", "announced"}``."""
    settings = Settings.from_env()
    job = JobState.model_validate(event).job_id
    logger.append_keys(job_id=job)
    result = publish(
        settings.store(),
        settings.table(),
        job,
        expires=settings.url_expires,
        bus=settings.bus,
        originals_url=settings.originals_url,
    )
    metrics.add_metric("VisualizationsSucceeded", MetricUnit.Count, 1)
    if not result["announced"]:
        # The job is SUCCEEDED with its outputs; only the event is missing.
        metrics.add_metric("EventsNotPublished", MetricUnit.Count, 1)
    logger.info("published", count=result["count"], announced=result["announced"])
    return result
