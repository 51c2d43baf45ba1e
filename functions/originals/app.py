"""The signed redirect to a job's originals (a Lambda function URL, no IAM): the viewer's "Open original".

``GET ?job=<id>&exp=<unix>&sig=<hex>&key=<key>`` -> 302 to a freshly presigned URL of the original; 403 for
a bad or expired signature, 404 for an unknown job or a key outside its collection
(:func:`gridtsne.aws.originals.redirect`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.originals import redirect
from gridtsne.aws.settings import Settings

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """A function URL request (payload 2.0) -> a redirect or a plain-text refusal."""
    settings = Settings.from_env()
    query = event.get("queryStringParameters") or {}
    answer = redirect(settings.table(), settings.store(), query)
    if answer.status == 302:
        return {"statusCode": 302, "headers": {"Location": answer.location, "Cache-Control": "no-store"}}
    logger.info("refused", status=answer.status, reason=answer.message)
    return {
        "statusCode": answer.status,
        "headers": {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"},
        "body": answer.message,
    }
