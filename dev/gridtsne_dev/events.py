"""The events AWS would send the functions: S3 "Object Created", Step Functions "Execution Status Change"
and other EventBridge events, SQS batches, API Gateway (signed by :data:`CALLER` unless told otherwise)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import quote_plus

from gridtsne_dev.intrinsics import ACCOUNT, REGION

__all__ = ["CALLER", "api_event", "bus_event", "execution_status_event", "object_created_event", "sqs_event"]

#: The IAM principal that signs API requests by default.
CALLER = f"arn:aws:iam::{ACCOUNT}:user/tester"


def bus_event(
    source: str, detail_type: str, detail: Any, account: str = ACCOUNT, resources: list[str] | None = None
) -> dict[str, Any]:
    """An EventBridge event as a rule's target receives it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": resources or [],
        "detail": detail,
    }


def object_created_event(bucket: str, key: str, size: int, etag: str) -> dict[str, Any]:
    """The EventBridge event S3 sends for a new object (the key URL-encoded, as S3 does)."""
    detail = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": {"key": quote_plus(key, safe="/"), "size": size, "etag": etag, "sequencer": "0"},
        "request-id": uuid.uuid4().hex[:16],
        "requester": ACCOUNT,
        "reason": "PutObject",
    }
    return bus_event("aws.s3", "Object Created", detail, resources=[f"arn:aws:s3:::{bucket}"])


def sqs_event(messages: list[dict[str, Any]], queue: str) -> dict[str, Any]:
    """The event Lambda's SQS poller sends for messages received from ``queue`` (a queue name).

    ``messages`` are as ``ReceiveMessage`` answers them (``MessageId``, ``ReceiptHandle``, ``Body``).
    """
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def api_event(
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    caller: str | None = CALLER,
) -> dict[str, Any]:
    """The event API Gateway (REST, proxy integration, IAM auth) sends for ``/v2/visualizations[/{id}]``,
    signed by ``caller`` (an IAM ARN; None: unsigned)."""
    resource = "/v2/visualizations/{id}" if path.rstrip("/").count("/") >= 3 else "/v2/visualizations"
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", "Host": "localhost"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"id": path.rsplit("/", 1)[-1]} if "{id}" in resource else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/Prod{path}",
            "stage": "Prod",
            "requestId": str(uuid.uuid4()),
            "accountId": ACCOUNT,
            "identity": {"sourceIp": "127.0.0.1"}
            | ({"userArn": caller, "caller": caller.rsplit("/", 1)[-1]} if caller else {}),
        },
        "body": text,
        "isBase64Encoded": False,
    }


def execution_status_event(execution: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge "Step Functions Execution Status Change" event for an execution as
    ``DescribeExecution`` answers it (moto emits none; AWS sends one whenever an execution's status
    changes)."""

    def millis(value: Any) -> int | None:
        return None if value is None else int(value.timestamp() * 1000)

    ended = execution["status"] != "RUNNING"
    detail = {
        "executionArn": execution["executionArn"],
        "stateMachineArn": execution["stateMachineArn"],
        "name": execution["name"],
        "status": execution["status"],
        "startDate": millis(execution.get("startDate")),
        "stopDate": millis(execution.get("stopDate")) if ended else None,
        "input": execution.get("input"),
        "output": execution.get("output"),
        "inputDetails": {"included": "input" in execution},
        "outputDetails": {"included": "output" in execution} if ended else None,
        "error": execution.get("error"),
        "cause": execution.get("cause"),
    }
    kind = "Step Functions Execution Status Change"
    return bus_event("aws.states", kind, detail, resources=[execution["executionArn"]])
