"""Fault injection on the embedded stack: whatever fails, every job ends SUCCEEDED or FAILED.

One test per way a run can go wrong: a step raising, the failure step itself raising, an execution
stopped midway, the event bus refusing the success event, the job record expiring during the run. moto
sends no "Step Functions Execution Status Change" events; the tests play the one AWS sends when an
execution ends (``EmbeddedStack.execution_ended``), to the functions whose template rule matches it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from gridtsne.aws.job import job_prefix
from gridtsne.aws.table import JobTable
from gridtsne.store import S3Store
from gridtsne_dev.stack import EmbeddedStack

from tests.unit.serverless import png, put

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]

PARAMS = {"tile": 16, "perplexity": 2}


class InjectedError(Exception):
    """The fault the tests inject (not a TransientError: the state machine does not retry it)."""


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    with EmbeddedStack() as running:
        yield running


def upload(stack: EmbeddedStack, collection: str, embed: bool = True) -> None:
    """Six small images under ``uploads/<collection>/``, embedded as they arrive unless ``embed`` is False."""
    events = [put(stack, f"uploads/{collection}/{i}.png", png((40 * i, 255 - 40 * i, 90))) for i in range(6)]
    if embed:
        assert stack.deliver(events)["failed"] == 0


@pytest.fixture(scope="module")
def collection(stack: EmbeddedStack) -> str:
    upload(stack, "faults")
    return "faults"


def start(stack: EmbeddedStack, collection: str, token: str) -> str:
    answer = stack.api("POST", "/v2/visualizations", {"collection": collection, "params": PARAMS,
                                                      "client_token": token})  # fmt: skip
    assert answer.status == 202, answer.body
    return str(answer.body["output"]["id"])


def ended(stack: EmbeddedStack, job: str, timeout: float = 120) -> dict[str, Any]:
    """The job's execution once it is no longer RUNNING (without playing its status-change event)."""
    deadline = time.monotonic() + timeout
    while (execution := stack.execution(job))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"execution of {job} still running"
        time.sleep(0.2)
    return execution


def record(stack: EmbeddedStack, job: str) -> Any:
    return JobTable(stack.table).get(job)


def not_stuck(stack: EmbeddedStack) -> list[str]:
    """Jobs whose execution has ended while their record is still PENDING or RUNNING."""
    sfn = stack.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    table = JobTable(stack.table)
    stuck = []
    for execution in executions:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        job = table.get(json.loads(described["input"])["job_id"])
        if execution["status"] != "RUNNING" and job is not None and job.status in ("PENDING", "RUNNING"):
            stuck.append(job.id)
    return stuck


@pytest.mark.parametrize("step", ["prepare", "embed", "reduce", "render", "publish"])
def test_a_step_raising_fails_the_job_with_its_cause(
    stack: EmbeddedStack, collection: str, step: str
) -> None:
    target = collection
    if step == "embed":  # the Map embeds only what no upload event delivered
        target = "faults-embed"
        upload(stack, target, embed=False)
    stack.shim.faults[step] = InjectedError(f"{step} broke")
    try:
        job = start(stack, target, f"step-{step}")
        output = stack.wait(job, timeout=180)
    finally:
        stack.shim.faults.pop(step)
    assert output["status"] == "failed", output
    assert output["error"] == {"error": "InjectedError", "cause": f"{step} broke"}
    assert stack.execution(job)["status"] == "FAILED"
    assert not_stuck(stack) == []


def test_the_failure_step_raising_still_ends_failed(stack: EmbeddedStack, collection: str) -> None:
    stack.shim.faults["reduce"] = InjectedError("reduce broke")
    stack.shim.faults["fail"] = RuntimeError("the table is unreachable")
    try:
        job = start(stack, collection, "failure-step")
        execution = ended(stack, job)
    finally:
        stack.shim.faults.pop("reduce")
        stack.shim.faults.pop("fail")
    assert execution["status"] == "FAILED"
    # Nothing recorded the failure: without the status-change event the job would stay RUNNING.
    assert record(stack, job).status == "RUNNING"
    (answer,) = stack.execution_ended(job)
    assert answer == {"id": job, "status": "FAILED", "reconciled": True}
    failed = record(stack, job)
    assert (failed.status, failed.error, failed.cause) == ("FAILED", "InjectedError", "reduce broke")
    assert not_stuck(stack) == []


def test_an_aborted_execution_ends_failed(stack: EmbeddedStack, collection: str) -> None:
    entered, release = threading.Event(), threading.Event()
    render = stack.shim.handlers["render"]

    def slow_render(event: dict[str, Any], context: Any) -> Any:
        entered.set()
        release.wait(60)
        return render(event, context)

    stack.shim.register("render", slow_render)
    try:
        job = start(stack, collection, "aborted")
        assert entered.wait(120), "render never started"
        arn = stack.execution(job)["executionArn"]
        stack.client("stepfunctions").stop_execution(executionArn=arn, cause="stopped by an operator")
    finally:
        release.set()
        stack.shim.register("render", render)
    assert ended(stack, job)["status"] == "ABORTED"
    assert record(stack, job).status == "RUNNING"
    output = stack.wait(job, timeout=30)  # plays the status-change event, as AWS sends it
    assert output["status"] == "failed", output
    assert output["error"]["error"] == "States.Aborted"
    time.sleep(1)  # the stopped execution runs nothing more: no publish flips it back
    assert record(stack, job).status == "FAILED"
    assert not_stuck(stack) == []


def test_an_event_bus_failure_at_publish_keeps_the_success(
    stack: EmbeddedStack, collection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gridtsne.aws.outcome
    from botocore.exceptions import ClientError

    def unavailable(*args: object, **kwargs: object) -> None:
        error = {"Error": {"Code": "InternalException", "Message": "EventBridge is unavailable"}}
        raise ClientError(error, "PutEvents")  # type: ignore[arg-type]

    monkeypatch.setattr(gridtsne.aws.outcome, "publish_event", unavailable)
    stack.received_events()
    job = start(stack, collection, "quiet-bus")
    output = stack.wait(job, timeout=180)
    assert output["status"] == "succeeded", output
    assert stack.execution(job)["status"] == "SUCCEEDED"
    store = S3Store(stack.bucket)
    assert set(output["data"]) == {"image", "layout", "viewer", "scatter"}
    assert all(store.exists(key) for key in record(stack, job).outputs.values())
    assert [e for e in stack.received_events() if e["detail"]["id"] == job] == []


def test_a_record_expiring_midway_leaves_nothing_stuck(stack: EmbeddedStack, collection: str) -> None:
    reduce = stack.shim.handlers["reduce"]

    def expire_then_reduce(event: dict[str, Any], context: Any) -> Any:
        stack.client("dynamodb").delete_item(TableName=stack.table, Key={"id": {"S": event["job_id"]}})
        return reduce(event, context)

    stack.shim.register("reduce", expire_then_reduce)
    try:
        job = start(stack, collection, "expired")
        execution = ended(stack, job)
    finally:
        stack.shim.register("reduce", reduce)
    # Publish cannot mark a record that is gone, nor can the failure step: the execution fails, and
    # neither a late progress report nor the reconcile writes a record back.
    assert execution["status"] == "FAILED"
    (answer,) = stack.execution_ended(job)
    assert answer == {"id": job, "status": None, "reconciled": False}
    assert record(stack, job) is None
    assert S3Store(stack.bucket).exists(job_prefix(job) + "layout.json")
    assert not_stuck(stack) == []


def test_the_same_request_after_its_record_expired_runs_again(stack: EmbeddedStack, collection: str) -> None:
    job = start(stack, collection, "expired-then-again")
    assert stack.wait(job, timeout=180)["status"] == "succeeded"
    stack.client("dynamodb").delete_item(TableName=stack.table, Key={"id": {"S": job}})
    again = start(stack, collection, "expired-then-again")
    assert stack.wait(again, timeout=60)["status"] == "succeeded"


def test_concurrent_jobs_on_one_collection_each_succeed_with_the_whole_collection(
    stack: EmbeddedStack, collection: str
) -> None:
    jobs = [start(stack, collection, f"concurrent-{i}") for i in range(3)]
    assert len(set(jobs)) == 3
    outputs = [stack.wait(job, timeout=300) for job in jobs]
    assert [o["status"] for o in outputs] == ["succeeded"] * 3
    store = S3Store(stack.bucket)
    for job in jobs:
        layout = json.loads(store.read(job_prefix(job) + "layout.json"))
        assert sorted(i["key"] for i in layout["images"]) == [
            f"uploads/{collection}/{i}.png" for i in range(6)
        ]
    assert not_stuck(stack) == []


def test_uploads_during_a_job_join_the_next_job_not_the_running_one(stack: EmbeddedStack) -> None:
    upload(stack, "growing")
    reduce = stack.shim.handlers["reduce"]

    def upload_then_reduce(event: dict[str, Any], context: Any) -> Any:
        late = [put(stack, f"uploads/growing/late-{i}.png", png((9, 99 + i, 199))) for i in range(2)]
        assert stack.deliver(late)["failed"] == 0
        return reduce(event, context)

    stack.shim.register("reduce", upload_then_reduce)
    try:
        first = start(stack, "growing", "same request")
        output = stack.wait(first, timeout=300)
    finally:
        stack.shim.register("reduce", reduce)
    # The running job lays out the collection as it was when it started, whole and consistent.
    assert output["status"] == "succeeded" and output["count"] == 6
    store = S3Store(stack.bucket)
    layout = json.loads(store.read(job_prefix(first) + "layout.json"))
    assert not any("late-" in i["key"] for i in layout["images"] + layout["skipped"])
    # The same request now finds new content: a new job, with every picture.
    second = start(stack, "growing", "same request")
    assert second != first
    assert stack.wait(second, timeout=300)["count"] == 8
    assert not_stuck(stack) == []
