"""Every door into a job on the embedded stack, the real state machine running: an execution started by
hand in the console, a "Visualization Requested" event, and the API that follows them all."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from gridtsne.aws.events import REQUESTED
from gridtsne.aws.table import JobTable
from gridtsne_dev.stack import EmbeddedStack

from tests.unit.serverless import event, upload_digits

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]

N = 12
PARAMS = {"tile": 32, "perplexity": 3}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    with EmbeddedStack(url_expires=900) as running:
        events = upload_digits(running, tmp_path_factory.mktemp("doors"), "con", N)
        assert running.deliver(events) == {"delivered": N, "failed": 0}
        yield running


def emitted(stack: EmbeddedStack, job: str) -> list[dict]:
    """The application's events about ``job`` (each checked against its schema by the stack)."""
    return [e for e in stack.received_events() if e["detail-type"] != REQUESTED and e["detail"]["id"] == job]


def test_an_execution_started_by_hand_is_a_job_like_any_other(stack: EmbeddedStack) -> None:
    sample = event("console_execution.json")
    name = stack.start_by_hand({**sample, "collection": "con", "params": PARAMS})
    output = stack.wait(name, timeout=300)
    assert output["status"] == "succeeded", output
    assert output["count"] == N
    execution = stack.execution(name)
    assert execution["status"] == "SUCCEEDED"
    # The output panel shows what the API answers: status, count, presigned URLs.
    shown = json.loads(execution["output"])["output"]
    assert (shown["id"], shown["status"], shown["count"]) == (name, "succeeded", N)
    assert set(shown["data"]) == {"image", "layout", "viewer", "scatter"}
    fetched = requests.get(shown["data"]["image"]["url"], timeout=10)
    assert fetched.status_code == 200 and fetched.content[:2] == b"\xff\xd8"
    record = JobTable(stack.table).get(name)
    assert record is not None and record.principal == "account:123456789012"
    assert record.execution_arn == execution["executionArn"]
    (announced,) = emitted(stack, name)
    assert announced["detail-type"] == "Visualization Succeeded"


def test_an_invalid_execution_by_hand_fails_with_the_reason(stack: EmbeddedStack) -> None:
    name = stack.start_by_hand({"collection": "con", "params": {"rows": True}})
    output = stack.wait(name, timeout=120)
    assert output["status"] == "failed" and "rows" in output["error"]["cause"]
    assert output["error"]["error"] == "InvalidRequest"
    assert stack.execution(name)["status"] == "FAILED"
    (announced,) = emitted(stack, name)
    assert announced["detail-type"] == "Visualization Failed" and "rows" in announced["detail"]["cause"]


def test_a_request_event_runs_one_job_to_the_end(stack: EmbeddedStack) -> None:
    detail = {"collection": "con", "params": {**PARAMS, "seed": 5}}
    (first,) = stack.put_event(REQUESTED, detail)
    (second,) = stack.put_event(REQUESTED, detail)
    # The second finds the first's job (whose status may have moved on) and starts nothing.
    assert first["started"] is True and (second["id"], second["started"]) == (first["id"], False)
    output = stack.wait(first["id"], timeout=300)
    assert output["status"] == "succeeded" and output["count"] == N
    (announced,) = emitted(stack, first["id"])
    assert announced["detail-type"] == "Visualization Succeeded" and announced["detail"]["count"] == N
