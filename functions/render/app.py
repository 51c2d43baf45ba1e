"""Assign a job's points to grid cells and render mosaic.jpg, layout.json, viewer.html and scatter.png."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.events import JobState
from gridtsne.aws.settings import Settings
from gridtsne.aws.steps import render_job

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Input: the state (``job_id``); output ``{"outputs": {name: key}, "count", "skipped", "duplicates"}``.

    The stored viewer carries no URL; the link the API answers brings fresh ones when it is opened.
    """
    settings = Settings.from_env()
    job = JobState.model_validate(event).job_id
    logger.append_keys(job_id=job)
    store = settings.store()
    result = render_job(store, job, progress=settings.progress(job))
    metrics.add_metric("ImagesPlaced", MetricUnit.Count, result["count"])
    logger.info("rendered", **{k: v for k, v in result.items() if k != "outputs"})
    return result
