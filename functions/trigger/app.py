"""Start a visualization when ``uploads/<collection>/_visualize.json`` is dropped (EventBridge rule).

The file holds the parameters (``{"rows", "cols", "tile", "perplexity", "seed", "background"}``, all
optional). The job id hashes collection, parameters and the file's ETag, so a redelivered event finds the
same job and starts nothing; dropping the file again (new content) starts a new run.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.events import object_created
from gridtsne.aws.job import JobParams
from gridtsne.aws.settings import Settings
from gridtsne.aws.submit import submit
from gridtsne.aws.uploads import collection_of
from pydantic import ValidationError

logger = Logger()
tracer = Tracer()
metrics = Metrics()

CONTROL_FILE = "_visualize.json"


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Output ``{"id", "status", "started"}``, or ``{"ignored": reason}`` for other keys or bad files."""
    settings = Settings.from_env()
    _bucket, obj = object_created(event)
    collection = collection_of(obj.key)
    if collection is None or obj.key != f"uploads/{collection}/{CONTROL_FILE}":
        return {"ignored": f"not a {CONTROL_FILE} upload: {obj.key}"}
    store = settings.store()
    try:
        params = JobParams.model_validate(json.loads(store.read(obj.key) or b"{}"))
    except (ValueError, ValidationError) as exc:
        logger.warning("invalid parameters file", key=obj.key, error=str(exc))
        return {"ignored": f"invalid {CONTROL_FILE}: {exc}"}
    record, started = submit(
        settings.table(),
        boto3.client("stepfunctions"),
        settings.state_machine_arn,
        collection,
        params,
        token=f"etag:{obj.etag}",
    )
    logger.info("visualization requested", job_id=record.id, started=started)
    if started:
        metrics.add_metric("VisualizationsStarted", MetricUnit.Count, 1)
    return {"id": record.id, "status": record.status, "started": started}
