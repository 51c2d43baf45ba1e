"""Reduce a job's vectors to 2-D (PCA + t-SNE); writes ``points.npy``, returns its key."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.events import JobState
from gridtsne.aws.settings import Settings
from gridtsne.aws.steps import reduce_job

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Input: the state (``job_id``); output ``{"points", "count"}``."""
    settings = Settings.from_env()
    job = JobState.model_validate(event).job_id
    logger.append_keys(job_id=job)
    result = reduce_job(settings.store(), job, progress=settings.progress(job))
    metrics.add_metric("ImagesReduced", MetricUnit.Count, result["count"])
    logger.info("reduced", count=result["count"])
    return result
