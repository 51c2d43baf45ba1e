"""Embed uploaded images into the collection's vector shards.

Two callers:

- the upload queue: an SQS batch whose bodies are EventBridge "Object Created" events for
  ``uploads/<collection>/...`` (keys URL-encoded). One shard per collection per batch; failures are
  reported per message (partial batch response), so only the failed messages come back;
- the state machine's Map: ``{"job_id", "collection", "inputs", "batch", "batches"}`` — embed batch
  number ``batch`` of the job's ``inputs.json``.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.events import EmbedItem, object_created
from gridtsne.aws.settings import Settings
from gridtsne.aws.steps import embed_batch
from gridtsne.aws.uploads import collection_of, embed_uploads
from gridtsne.store import ObjectInfo

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def _parse(record: SQSRecord) -> ObjectInfo:
    _bucket, obj = object_created(json.loads(record.body))
    return obj


@tracer.capture_method
def embed_queue_batch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Parse every message, embed the parsed objects (one shard per collection), report failed messages."""
    settings = Settings.from_env()
    store = settings.store()
    parsed: dict[str, ObjectInfo] = {}
    for raw in event["Records"]:
        record = SQSRecord(raw)
        try:
            parsed[record.message_id] = _parse(record)
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("unusable message", message_id=record.message_id, error=str(exc))
    done = embed_uploads(store, list(parsed.values()), limits=settings.limits())
    for collection, error in done.failed.items():
        logger.error("embedding failed", collection=collection, exc_info=error)
    for collection, result in done.shards.items():
        logger.info("embedded", collection=collection, **result.to_dict())
        metrics.add_metric("ImagesEmbedded", MetricUnit.Count, result.embedded)
        metrics.add_metric("ImagesReused", MetricUnit.Count, result.reused)
        metrics.add_metric("ImagesSkipped", MetricUnit.Count, len(result.skipped))

    def record_handler(record: SQSRecord) -> str:
        obj = parsed.get(record.message_id)
        if obj is None:
            raise ValueError("not an S3 Object Created event for this bucket")
        error = done.failed.get(collection_of(obj.key) or "")
        if error is not None:
            raise RuntimeError(f"{type(error).__name__}: {error}")
        return obj.key

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=BatchProcessor(EventType.SQS), context=context
    )
    return dict(response)


@tracer.capture_method
def embed_map_item(event: dict[str, Any]) -> dict[str, Any]:
    """One Map item: embed a batch of the job's missing inputs."""
    settings = Settings.from_env()
    item = EmbedItem.model_validate(event)
    settings.progress(item.job_id)("embed", 10 + (40 * item.batch) // item.batches)
    result = embed_batch(settings.store(), item.inputs, item.batch, limits=settings.limits())
    metrics.add_metric("ImagesEmbedded", MetricUnit.Count, result.embedded)
    return result.to_dict()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Dispatch on the caller: the upload queue or the state machine's Map."""
    if "Records" in event:
        return embed_queue_batch(event, context)
    return embed_map_item(event)
