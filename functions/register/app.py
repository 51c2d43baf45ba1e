"""Register an execution started by hand (the console's "Start execution" with ``{"collection", "params"}``).

The state machine's first step for an input without a ``job_id``. Input ``{"input": <execution input>,
"execution": <execution ARN>, "name": <execution name>}``; output the job's input ``{"job_id",
"collection", "params"}`` (the job id is the execution's name), after :func:`gridtsne.aws.submit.submit`
has recorded the job, owned by the account, as the API would. A request that cannot run is recorded FAILED
with a "Visualization Failed" event, and the step fails with ``InvalidRequestError``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from gridtsne.aws.events import JobInput
from gridtsne.aws.job import account_principal
from gridtsne.aws.settings import Settings
from gridtsne.aws.submit import InvalidRequestError, Services, parse_request, reject, submit

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Record the execution as a job; return its input for the steps that follow."""
    services = Services.from_settings(Settings.from_env())
    name, arn = str(event["name"]), str(event["execution"])
    principal = account_principal(arn.split(":")[4])
    data = event.get("input")
    try:
        request = parse_request(data)
        submit(services, request, principal, execution=(name, arn))
    except InvalidRequestError as exc:
        collection = str(data.get("collection", "")) if isinstance(data, dict) else ""
        reject(services, str(exc), principal, collection=collection, job=name)
        raise
    logger.info("execution registered", job_id=name, collection=request.collection)
    return JobInput(job_id=name, collection=request.collection, params=request.params).model_dump(mode="json")
