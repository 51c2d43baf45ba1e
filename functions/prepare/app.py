"""Prepare a visualization: snapshot the collection's inputs and batch the images still missing vectors.

Input ``{"job_id", "collection", "params"}``; output ``{"inputs", "count", "missing", "threshold", "batches",
"batch_count", "processing_job_name"}`` (``inputs`` is the S3 key of the snapshot).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.events import JobInput
from gridtsne.aws.settings import Settings
from gridtsne.aws.steps import prepare

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """List uploads and vectors; write ``visualizations/<id>/inputs.json``."""
    settings = Settings.from_env()
    state = JobInput.model_validate(event)
    logger.append_keys(job_id=state.job_id)
    settings.progress(state.job_id)("prepare", 5)
    result = prepare(
        settings.store(),
        state.job_id,
        state.collection,
        state.params,
        batch=settings.embed_batch,
        threshold=settings.big_set_threshold,
    )
    logger.info("prepared", count=result["count"], missing=result["missing"])
    metrics.add_metric("ImagesInCollection", MetricUnit.Count, result["count"])
    return result
