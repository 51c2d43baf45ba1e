"""The trigger function: a dropped uploads/<collection>/_visualize.json starts the state machine once."""

from __future__ import annotations

import json

import pytest
from gridtsne.aws.job import JobParams
from gridtsne.aws.table import JobTable
from gridtsne_dev.stack import EmbeddedStack

from tests.unit.serverless import event, png, put

#: Handlers that emit no metric (a GET, a failure) make Powertools warn; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def executions(stack: EmbeddedStack) -> list[dict]:
    sfn = stack.client("stepfunctions")
    return list(sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"])


def control_event(stack: EmbeddedStack, collection: str, params: dict, indent: int | None = None) -> dict:
    text = json.dumps(params, indent=indent)
    dropped = put(stack, f"uploads/{collection}/_visualize.json", text.encode())
    sample = event("s3_visualize_json_created.json")
    sample["detail"]["object"].update(
        key=f"uploads/{collection}/_visualize.json", etag=dropped["detail"]["object"]["etag"]
    )
    return sample


def test_dropped_file_starts_one_execution(stack: EmbeddedStack) -> None:
    put(stack, "uploads/dropped/a.png", png((1, 2, 3)))
    request = control_event(stack, "dropped", {"tile": 40, "seed": 3})
    before = len(executions(stack))
    result = stack.shim.invoke("trigger", request)
    assert result["started"] is True and result["status"] == "PENDING"
    record = JobTable(stack.table).get(result["id"])
    assert record is not None and record.params.tile == 40 and record.params.seed == 3
    # A redelivered event starts nothing new.
    again = stack.shim.invoke("trigger", request)
    assert again == {**result, "started": False}
    names = [e["name"] for e in executions(stack)]
    assert len(names) == before + 1 and any(name.startswith(result["id"] + "-") for name in names)


def test_dropping_the_file_again_is_a_new_run_and_redelivery_is_not(stack: EmbeddedStack) -> None:
    put(stack, "uploads/again/a.png", png((4, 5, 6)))
    dropped = control_event(stack, "again", {"tile": 40})
    first = stack.shim.invoke("trigger", dropped)
    # The same parameters uploaded again (written out differently, so S3 gives the object a new ETag).
    dropped_again = control_event(stack, "again", {"tile": 40}, indent=2)
    assert dropped_again["detail"]["object"]["etag"] != dropped["detail"]["object"]["etag"]
    second = stack.shim.invoke("trigger", dropped_again)
    assert second["started"] is True and second["id"] != first["id"]
    records = [JobTable(stack.table).get(result["id"]) for result in (first, second)]
    assert [r.params for r in records if r] == [JobParams(tile=40)] * 2
    # Either event delivered once more finds its own job and starts nothing.
    assert stack.shim.invoke("trigger", dropped) == {**first, "started": False}
    assert stack.shim.invoke("trigger", dropped_again) == {**second, "started": False}


def test_invalid_parameters_fail_a_job_with_the_reason_and_other_keys_are_ignored(
    stack: EmbeddedStack,
) -> None:
    put(stack, "uploads/bad/a.png", png((7, 8, 9)))
    before = len(executions(stack))
    stack.received_events()
    dropped = control_event(stack, "bad", {"tile": "huge"})
    refused = stack.shim.invoke("trigger", dropped)
    assert (refused["status"], refused["started"]) == ("FAILED", False)
    record = JobTable(stack.table).get(refused["id"])
    assert record is not None and record.status == "FAILED" and record.error == "InvalidRequest"
    assert record.cause is not None and "_visualize.json" in record.cause and "tile" in record.cause
    assert record.collection == "bad" and record.principal == "account:123456789012"
    (announced,) = stack.received_events()
    assert announced["detail-type"] == "Visualization Failed" and announced["detail"]["id"] == refused["id"]
    assert "tile" in announced["detail"]["cause"]
    # Redelivered: the same failed job, announced once.
    assert stack.shim.invoke("trigger", dropped) == refused
    assert stack.received_events() == []
    # Not JSON at all.
    put(stack, "uploads/bad/_visualize.json", b"{not json")
    garbled = event("s3_visualize_json_created.json")
    garbled["detail"]["object"].update(key="uploads/bad/_visualize.json", etag="garbled")
    assert "not JSON" in stack.shim.invoke("trigger", garbled)["error"]
    sample = event("s3_object_created.json")  # an image, not the control file
    assert "not a _visualize.json upload" in stack.shim.invoke("trigger", sample)["ignored"]
    assert len(executions(stack)) == before
