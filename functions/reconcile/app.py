"""Reconcile a job with its ended execution: a FAILED, TIMED_OUT or ABORTED execution whose job record is
still PENDING or RUNNING marks the job FAILED with the execution's error and cause.

Input: the EventBridge "Step Functions Execution Status Change" event (events/sfn_execution_aborted.json).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.reconcile import execution_status_change, reconcile
from gridtsne.aws.settings import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Mark the job FAILED unless it has finished; output ``{"id", "status", "reconciled"}``."""
    settings = Settings.from_env()
    change = execution_status_change(event)
    logger.append_keys(execution=change.execution_arn, execution_status=change.status)
    result = reconcile(settings.table(), change, bus=settings.bus)
    logger.append_keys(job_id=result["id"])
    if result["reconciled"]:
        metrics.add_metric("JobsReconciled", MetricUnit.Count, 1)
        logger.warning("job marked FAILED after its execution ended", error=change.error, cause=change.cause)
    else:
        logger.info("job already final or without a record", status=result["status"])
    return result
