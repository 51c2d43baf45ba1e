"""The REST API: ask for a visualization, follow it, list a collection's visualizations.

- ``POST /v2/visualizations`` ``{"collection": "...", "params": {...}, "client_token": "..."}``
  -> 202 ``{"output": {"id", "status": "pending"}}``. The id hashes collection, parameters and token: the
  same request twice names the same job and runs it once.
- ``GET /v2/visualizations/{id}`` -> ``{"output": {"id", "status", "progress": {"stage", "percent"},
  "data": {"image": {"url"}, "layout": {"url"}, "viewer": {"url"}, "scatter": {"url"}}}}`` once succeeded
  (presigned URLs, ``URL_EXPIRES`` seconds), ``"error": {"error", "cause"}`` once failed; 404 if unknown.
- ``GET /v2/visualizations?collection=<name>`` -> ``{"output": [{"id", "status", "progress", ...}]}``.

Invalid requests answer 400 with a message.
"""

from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.job import COLLECTION_PATTERN, JobParams, JobRecord, Progress
from gridtsne.aws.settings import Settings
from gridtsne.aws.submit import submit
from gridtsne.aws.vectors import upload_prefix
from pydantic import BaseModel, ConfigDict, Field

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)


class CreateVisualization(BaseModel):
    """The body of ``POST /v2/visualizations``."""

    model_config = ConfigDict(extra="forbid")

    collection: str = Field(pattern=COLLECTION_PATTERN, description="The folder under uploads/ to lay out.")
    params: JobParams = Field(
        default_factory=lambda: JobParams.model_validate({}), description="Layout parameters."
    )
    client_token: str = Field(
        "", max_length=64, description="Makes an otherwise identical request a new job (e.g. to re-run)."
    )


class Link(BaseModel):
    """A presigned URL."""

    url: str


class Failure(BaseModel):
    """Why a job failed."""

    error: str
    cause: str


class Visualization(BaseModel):
    """A job as the API shows it."""

    id: str
    status: str = Field(description="pending, running, succeeded or failed.")
    collection: str
    progress: Progress
    created: str
    updated: str
    count: int | None = Field(None, description="Images placed on the grid.")
    quality: dict[str, Any] | None = Field(
        None, description="The layout's quality (layout.json), when succeeded."
    )
    data: dict[str, Link] | None = Field(None, description="image, layout, viewer, scatter (when succeeded).")
    error: Failure | None = None


def _view(record: JobRecord, urls: dict[str, str] | None = None) -> Visualization:
    return Visualization(
        id=record.id,
        status=record.status.lower(),
        collection=record.collection,
        progress=record.progress,
        created=record.created,
        updated=record.updated,
        count=record.count,
        quality=record.quality,
        data={name: Link(url=url) for name, url in urls.items()} if urls else None,
        error=(
            Failure(error=record.error or "", cause=record.cause or "") if record.status == "FAILED" else None
        ),
    )


def _message(status: int, message: str) -> Response[dict[str, Any]]:
    body = {"message": message}
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def invalid_request(exc: RequestValidationError) -> Response[dict[str, Any]]:
    """400 with what was wrong, instead of the default 422."""
    problems = [
        f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body')}: {err.get('msg', 'invalid')}"
        for err in exc.errors()
    ]
    return _message(400, "invalid request: " + "; ".join(problems))


@app.post("/v2/visualizations")
@tracer.capture_method
def create_visualization(body: CreateVisualization) -> Response[dict[str, Any]]:
    """Start (or find) the job for this request."""
    settings = Settings.from_env()
    store = settings.store()
    if next(iter(store.list(upload_prefix(body.collection))), None) is None:
        return _message(400, f"collection {body.collection!r} has no uploads")
    record, started = submit(
        settings.table(),
        boto3.client("stepfunctions"),
        settings.state_machine_arn,
        body.collection,
        body.params,
        body.client_token,
    )
    if started:
        metrics.add_metric("VisualizationsStarted", MetricUnit.Count, 1)
    logger.info("visualization requested", job_id=record.id, started=started)
    output = {"id": record.id, "status": record.status.lower()}
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body={"output": output})


@app.get("/v2/visualizations/<job_id>")
@tracer.capture_method
def get_visualization(job_id: str) -> Response[dict[str, Any]]:
    """The job's status, progress and, once done, presigned URLs of its outputs."""
    settings = Settings.from_env()
    record = settings.table().get(job_id)
    if record is None:
        return _message(404, f"no visualization {job_id!r}")
    urls = None
    if record.status == "SUCCEEDED":
        store = settings.store()
        urls = {name: store.url(key, settings.url_expires) for name, key in record.outputs.items()}
    body = {"output": _view(record, urls).model_dump(mode="json", exclude_none=True)}
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/v2/visualizations")
@tracer.capture_method
def list_visualizations(
    collection: Annotated[str, Query(pattern=COLLECTION_PATTERN, description="Collection name.")],
) -> dict[str, Any]:
    """The collection's jobs, newest first (no URLs; GET one for those)."""
    records = Settings.from_env().table().list(collection)
    return {"output": [_view(r).model_dump(mode="json", exclude_none=True) for r in records]}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway REST proxy events."""
    return app.resolve(event, context)
