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

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.job import account_principal
from gridtsne.aws.requests import CONTROL_FILE, asked
from gridtsne.aws.settings import Settings
from gridtsne.aws.submit import InvalidRequestError, Services, reject, submit

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Output ``{"id", "status", "started"}`` (and ``"error"`` when refused); ``{"ignored": reason}`` for
    an event that asks nothing."""
    services = Services.from_settings(Settings.from_env())
    principal = account_principal(str(event.get("account", "")))
    wanted = asked(services, event)
    if wanted is None:
        return {"ignored": f"not a {CONTROL_FILE} upload"}
    reason = wanted.reason
    if wanted.request is not None:
        try:
            done = submit(services, wanted.request, principal, token=wanted.token)
        except InvalidRequestError as exc:
            reason = str(exc)
        else:
            logger.info("visualization requested", job_id=done.record.id, started=done.started)
            if done.started:
                metrics.add_metric("VisualizationsStarted", MetricUnit.Count, 1)
            return {"id": done.record.id, "status": done.record.status, "started": done.started}
    logger.warning("request refused", reason=reason)
    record = reject(services, reason, principal, collection=wanted.collection, token=wanted.refusal)
    return {"id": record.id, "status": record.status, "started": False, "error": record.cause}
