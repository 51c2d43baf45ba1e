"""EventBridge, played locally: which functions an event reaches, and what the application announced.

moto's EventBridge cannot invoke a Lambda target in-process, so the embedded stack routes events to the
functions itself (:func:`routes`, by the rules the template declares) and reads the application's own events
from a queue its listener rule feeds (:func:`drain`).
"""

from __future__ import annotations

import json
from typing import Any

from gridtsne.aws.events import REQUESTED

from gridtsne_dev.contract import check_event
from gridtsne_dev.resources import Plan

__all__ = ["drain", "routes"]


def routes(plan: Plan, event: dict[str, Any]) -> list[str]:
    """The functions (short names) whose template rules match ``event``, in rule order."""
    from moto.events.models import EventPattern

    functions = {plan.attributes[k]["Arn"]: name for k, name in plan.functions().items()}
    reached = []
    for rule in plan.rules().values():
        if EventPattern.load(json.dumps(rule["EventPattern"])).matches_event(event):  # type: ignore[arg-type]
            reached += [functions[t["Arn"]] for t in rule["Targets"] if t["Arn"] in functions]
    return reached


def drain(sqs: Any, url: str, wait: float = 0) -> list[dict[str, Any]]:
    """Receive and delete every event on the queue at ``url``.

    The events the application emits (Visualization Succeeded / Failed) are checked against their JSON
    Schemas (:func:`~gridtsne_dev.contract.check_event`); requests that clients put (Visualization
    Requested) are not: clients may send anything.
    """
    found: list[dict[str, Any]] = []
    while True:
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=int(wait))
        messages = received.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            event = json.loads(message["Body"])
            if event.get("detail-type") != REQUESTED:
                check_event(event)
            found.append(event)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
