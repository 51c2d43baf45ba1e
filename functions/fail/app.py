"""Record a failed job: job record FAILED with the cause, EventBridge "Visualization Failed".

Input: the state with the caught error under ``error`` (``{"Error", "Cause"}``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.events import FailedState
from gridtsne.aws.outcome import record_failure
from gridtsne.aws.settings import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Mark the job FAILED unless it has finished; output ``{"id", "status", "error", "cause", "recorded",
    "announced"}``."""
    settings = Settings.from_env()
    state = FailedState.model_validate(event)
    logger.append_keys(job_id=state.job_id)
    result = record_failure(
        settings.table(), state.job_id, state.error.error, state.error.cause, bus=settings.bus
    )
    if not result["recorded"]:
        logger.warning("job already finished; record left as it is", status=result["status"])
        return result
    metrics.add_metric("VisualizationsFailed", MetricUnit.Count, 1)
    if not result["announced"]:
        metrics.add_metric("EventsNotPublished", MetricUnit.Count, 1)
    logger.error("visualization failed", error=result["error"], cause=result["cause"])
    return result
