"""The reconcile function: a job whose execution ended FAILED, TIMED_OUT or ABORTED is never left PENDING
or RUNNING, and a finished job is left as it is."""

from __future__ import annotations

import json

import pytest
from gridtsne.aws.job import JobParams
from gridtsne.aws.reconcile import execution_status_change
from gridtsne.aws.table import JobTable
from gridtsne_dev.stack import EmbeddedStack

from tests.unit.serverless import event

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def aborted(job: str, **detail: object) -> dict:
    """The sample "Execution Status Change" event (ABORTED) for ``job``, with ``detail`` changed."""
    sample = event("sfn_execution_aborted.json")
    sample["detail"]["input"] = json.dumps(json.loads(sample["detail"]["input"]) | {"job_id": job})
    sample["detail"] |= detail
    return sample


def test_the_template_rule_delivers_an_aborted_execution_and_the_job_fails(stack: EmbeddedStack) -> None:
    sample = event("sfn_execution_aborted.json")
    job = json.loads(sample["detail"]["input"])["job_id"]
    table = JobTable(stack.table)
    table.create(job, "demo", JobParams())
    table.progress(job, "reduce", 55)
    stack.received_events()
    (answer,) = stack.emit(sample)
    assert answer == {"id": job, "status": "FAILED", "reconciled": True}
    record = table.get(job)
    assert record is not None and (record.status, record.error) == ("FAILED", "States.Aborted")
    assert record.cause == "the execution was stopped" and record.progress.stage == "reduce"
    (announced,) = stack.received_events()
    assert announced["detail-type"] == "Visualization Failed" and announced["detail"]["id"] == job


def test_the_executions_error_and_cause_are_recorded(stack: EmbeddedStack) -> None:
    JobTable(stack.table).create("timed-out", "demo", JobParams())
    change = aborted("timed-out", status="TIMED_OUT", error="States.Timeout", cause="ran 6 hours")
    assert stack.shim.invoke("reconcile", change)["reconciled"] is True
    record = JobTable(stack.table).get("timed-out")
    assert record is not None and (record.status, record.error, record.cause) == (
        "FAILED",
        "States.Timeout",
        "ran 6 hours",
    )


def test_a_finished_job_is_left_as_it_is(stack: EmbeddedStack) -> None:
    table = JobTable(stack.table)
    table.create("finished", "demo", JobParams())
    table.succeed("finished", {"image": "visualizations/finished/mosaic.jpg"}, count=1)
    stack.received_events()
    answer = stack.shim.invoke("reconcile", aborted("finished"))
    assert answer == {"id": "finished", "status": "SUCCEEDED", "reconciled": False}
    record = table.get("finished")
    assert record is not None and record.status == "SUCCEEDED" and record.error is None
    assert stack.received_events() == []


def test_without_the_input_the_job_is_the_execution_name(stack: EmbeddedStack) -> None:
    JobTable(stack.table).create("named-only", "demo", JobParams())
    change = aborted("ignored", name="named-only", input=None, inputDetails={"included": False})
    assert stack.shim.invoke("reconcile", change)["id"] == "named-only"
    record = JobTable(stack.table).get("named-only")
    assert record is not None and record.status == "FAILED"


def test_an_expired_record_is_not_written_again(stack: EmbeddedStack) -> None:
    answer = stack.shim.invoke("reconcile", aborted("expired-long-ago"))
    assert answer == {"id": "expired-long-ago", "status": None, "reconciled": False}
    assert JobTable(stack.table).get("expired-long-ago") is None


def test_the_rule_ignores_other_ends_and_other_state_machines(stack: EmbeddedStack) -> None:
    JobTable(stack.table).create("untouched", "demo", JobParams())
    other = "arn:aws:states:us-east-1:123456789012:stateMachine:someone-else"
    assert stack.emit(aborted("untouched", status="SUCCEEDED")) == []
    assert stack.emit(aborted("untouched", stateMachineArn=other)) == []
    record = JobTable(stack.table).get("untouched")
    assert record is not None and record.status == "PENDING"


def test_anything_but_an_execution_status_change_is_refused() -> None:
    with pytest.raises(ValueError):
        execution_status_change(event("s3_object_created.json"))
