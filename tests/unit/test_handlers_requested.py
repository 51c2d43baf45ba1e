"""The event door: a "Visualization Requested" event starts a job as the API does, refusals are announced,
the application's rules never see its own events, and every event keeps to its schema."""

from __future__ import annotations

import json

import jsonschema
import pytest
from gridtsne.aws.events import REQUESTED
from gridtsne.aws.submit import JobRequest
from gridtsne.aws.table import JobTable
from gridtsne_dev.contract import SCHEMAS, check_event, schema
from gridtsne_dev.events import bus_event
from gridtsne_dev.stack import EmbeddedStack
from moto.events.models import EventPattern
from pydantic import ValidationError

from tests.unit.serverless import event, png, put

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

EMITTED = ("Visualization Succeeded", "Visualization Failed")


def executions(stack: EmbeddedStack) -> list[str]:
    sfn = stack.client("stepfunctions")
    return [e["name"] for e in sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]]


def emitted(stack: EmbeddedStack) -> list[dict]:
    """The application's own events since the last call (checked against their schemas on the way)."""
    return [e for e in stack.received_events() if e["detail-type"] != REQUESTED]


def test_a_request_event_starts_one_job(stack: EmbeddedStack) -> None:
    put(stack, "uploads/evented/a.png", png((10, 20, 30)))
    before = executions(stack)
    detail = {"collection": "evented", "params": {"tile": 40}, "client_token": "nightly"}
    (first,) = stack.put_event(REQUESTED, detail)
    assert first["started"] is True and first["status"] == "PENDING"
    record = JobTable(stack.table).get(first["id"])
    assert record is not None and record.params.tile == 40 and record.principal == "account:123456789012"
    # The same event again, and the same request in another event: still one job, one execution.
    (again,) = stack.put_event(REQUESTED, detail)
    assert again == {**first, "started": False}
    (new,) = set(executions(stack)) - set(before)
    assert new.startswith(first["id"] + "-")  # the job id and a suffix unique to the attempt
    # The API's caller sees it too: it belongs to the account.
    assert stack.api("GET", f"/v2/visualizations/{first['id']}").status == 200


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        ({"collection": "../etc"}, "collection"),
        ({"collection": "evented", "params": {"rows": True}}, "rows"),
        ({"collection": "evented", "params": {"tile": "64"}}, "tile"),
        ({"collection": "evented", "colour": "red"}, "colour"),
        ("just a string", "body"),
        ({"collection": "nothing-uploaded"}, "no uploads"),
        ({"collection": "evented", "params": {"rows": 2048, "cols": 2048, "tile": 512}}, "cells"),
    ],
)
def test_an_invalid_request_event_is_announced_failed(
    stack: EmbeddedStack, detail: object, reason: str
) -> None:
    put(stack, "uploads/evented/a.png", png((10, 20, 30)))
    emitted(stack)
    before = len(executions(stack))
    (refused,) = stack.put_event(REQUESTED, detail)
    assert (refused["status"], refused["started"]) == ("FAILED", False) and reason in refused["error"]
    (announced,) = emitted(stack)
    assert announced["detail-type"] == "Visualization Failed"
    assert announced["detail"]["id"] == refused["id"] and announced["detail"]["error"] == "InvalidRequest"
    assert reason in announced["detail"]["cause"]
    record = JobTable(stack.table).get(refused["id"])
    assert record is not None and record.status == "FAILED"
    assert len(executions(stack)) == before


def test_the_applications_rules_never_match_its_own_events(stack: EmbeddedStack) -> None:
    samples = [bus_event("gridtsne", detail_type, {"id": "x"}) for detail_type in EMITTED]
    request = bus_event("gridtsne", REQUESTED, {"collection": "c"})
    matching = {
        name: [
            e["detail-type"]
            for e in [*samples, request]
            if EventPattern.load(json.dumps(rule["EventPattern"])).matches_event(e)
        ]  # type: ignore[arg-type]
        for name, rule in stack.plan.rules().items()
    }
    assert [types for types in matching.values() if types] == [[REQUESTED]]


def test_every_schema_is_a_valid_schema_and_emitted_types_have_one() -> None:
    files = sorted(p.name for p in SCHEMAS.glob("*.json"))
    assert files == [
        "visualization_failed.json",
        "visualization_requested.json",
        "visualization_succeeded.json",
    ]
    for detail_type in (*EMITTED, REQUESTED):
        jsonschema.Draft202012Validator.check_schema(schema(detail_type))
    sample = event("visualization_requested.json")  # sam local invoke TriggerFunction -e ...
    jsonschema.validate(sample, schema(REQUESTED), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize(
    "detail",
    [
        {"collection": "c"},
        {"collection": "c.d_e-1", "params": {"rows": 3, "cols": None, "tile": 8, "perplexity": 2.5}},
        {"collection": "c", "params": {"seed": 2**31 - 1, "background": "#a0B0c0"}, "client_token": "t" * 64},
        {"collection": "../c"},
        {"collection": "c", "params": {"rows": True}},
        {"collection": "c", "params": {"rows": 0}},
        {"collection": "c", "params": {"tile": 4}},
        {"collection": "c", "params": {"perplexity": 1}},
        {"collection": "c", "params": {"background": "red"}},
        {"collection": "c", "params": {"seed": 2**31}},
        {"collection": "c", "client_token": "t" * 65},
        {"collection": "c", "extra": 1},
        {"params": {}},
        {"collection": 7},
    ],
)
def test_the_requested_schema_accepts_what_the_service_accepts(detail: dict) -> None:
    try:
        JobRequest.model_validate(detail)
        accepted = True
    except ValidationError:
        accepted = False
    event = bus_event("gridtsne", REQUESTED, detail)
    valid = jsonschema.Draft202012Validator(schema(REQUESTED)).is_valid(event)
    assert valid == accepted


def test_an_event_off_its_contract_is_caught() -> None:
    event = bus_event("gridtsne", "Visualization Failed", {"id": "x", "status": "FAILED"})
    with pytest.raises(jsonschema.ValidationError):
        check_event(event)
    with pytest.raises(FileNotFoundError):
        check_event(bus_event("gridtsne", "Visualization Exploded", {}))
