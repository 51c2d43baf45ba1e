"""The REST API: ask for a visualization, follow it, list a collection's visualizations.

- ``POST /v2/visualizations`` ``{"collection": "...", "params": {...}, "client_token": "..."}``
  -> 202 ``{"output": {"id", "status": "pending"}}``. The same request (same caller, collection content,
  parameters and token) finds the same job and runs it once; after new uploads it is a new job.
- ``GET /v2/visualizations/{id}`` -> ``{"output": {"id", "status", "progress": {"stage", "percent"},
  "data": {"image": {"url"}, "layout": {"url"}, "viewer": {"url"}, "scatter": {"url"}}}}`` once succeeded
  (presigned URLs, ``URL_EXPIRES`` seconds), ``"error": {"error", "cause"}`` once failed; 404 if unknown
  or not the caller's. While the reduction runs, ``progress`` also has ``eta`` (when the stage should end)
  and ``eta_seconds``.
- ``GET /v2/visualizations?collection=<name>`` -> ``{"output": [{"id", "status", "progress", ...}]}``, the
  caller's jobs.

Callers sign with IAM; a job belongs to the caller that asked for it (``requestContext.identity.userArn``).
Every malformed request answers 400 with a message, types checked strictly.
"""

import json
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.job import COLLECTION_PATTERN, may_read
from gridtsne.aws.settings import Settings
from gridtsne.aws.submit import InvalidRequestError, JobRequest, Services, problems, submit
from gridtsne.aws.view import job_view

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)

#: The largest request body read (bytes).
MAX_BODY = 16 * 1024


def _message(status: int, message: str) -> Response[dict[str, Any]]:
    body = {"message": message}
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _caller() -> str:
    identity = app.current_event.request_context.identity
    return str(identity.user_arn or identity.caller or "")


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def invalid_request(exc: RequestValidationError) -> Response[dict[str, Any]]:
    """400 with what was wrong, instead of the default 422."""
    return _message(400, "invalid request: " + problems(exc.errors()))


@app.post("/v2/visualizations")
@tracer.capture_method
def create_visualization(body: JobRequest) -> Response[dict[str, Any]]:
    """Start (or find) the job for this request."""
    caller = _caller()
    if not caller:
        return _message(403, "the request names no IAM caller")
    try:
        done = submit(Services.from_settings(Settings.from_env()), body, caller)
    except InvalidRequestError as exc:
        return _message(400, str(exc))
    if done.started:
        metrics.add_metric("VisualizationsStarted", MetricUnit.Count, 1)
    logger.info("visualization requested", job_id=done.record.id, started=done.started)
    output = {"id": done.record.id, "status": done.record.status.lower()}
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body={"output": output})


@app.get("/v2/visualizations/<job_id>")
@tracer.capture_method
def get_visualization(job_id: str) -> Response[dict[str, Any]]:
    """The job's status, progress and, once done, presigned URLs of its outputs."""
    settings = Settings.from_env()
    record = settings.table().get(job_id)
    if record is None or not may_read(record.principal, _caller()):
        return _message(404, f"no visualization {job_id!r}")
    body = {"output": job_view(record, settings.store(), settings.url_expires, settings.originals_url)}
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/v2/visualizations")
@tracer.capture_method
def list_visualizations(
    collection: Annotated[str, Query(pattern=COLLECTION_PATTERN, description="Collection name.")],
) -> dict[str, Any]:
    """The caller's jobs on the collection, newest first (no URLs; GET one for those)."""
    caller = _caller()
    records = Settings.from_env().table().list(collection)
    return {"output": [job_view(r) for r in records if may_read(r.principal, caller)]}


def _unreadable(event: dict[str, Any]) -> dict[str, Any] | None:
    """The 4xx answer to a body that is too big or no JSON the service reads (a number of thousands of
    digits, nesting deep enough to exhaust the parser); None when it reads."""
    text = event.get("body")
    if not text:
        return None
    if len(text) > MAX_BODY:
        message, status = f"request body over {MAX_BODY} bytes", 413
    else:
        try:
            json.loads(text)
            return None
        except RecursionError:
            message, status = "invalid request: body: JSON nested too deeply", 400
        except ValueError as exc:
            message, status = f"invalid request: body: not JSON the service reads ({exc})", 400
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps({"message": message[:500]}),
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway REST proxy events."""
    return _unreadable(event) or app.resolve(event, context)
