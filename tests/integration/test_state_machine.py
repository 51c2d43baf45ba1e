"""The whole application on the embedded stack: the real state machine, the real handlers.

One stack for the module; each test uses its own collection (or client token), so the jobs do not mix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from gridtsne.aws.collection import load_collection
from gridtsne.aws.steps import TransientError
from gridtsne.aws.table import JobTable
from gridtsne.output.layout import check
from gridtsne.pipeline import list_inputs
from gridtsne.store import S3Store
from gridtsne_dev.stack import EmbeddedStack

from tests.unit.serverless import png, put, upload_digits

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]

N = 56


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    with EmbeddedStack(url_expires=900) as running:
        yield running


@pytest.fixture(scope="module")
def digits(stack: EmbeddedStack, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """N sample digits uploaded to uploads/digits/ and delivered to the embed function."""
    events = upload_digits(stack, tmp_path_factory.mktemp("sm"), "digits", N)
    assert stack.deliver(events) == {"delivered": N, "failed": 0}
    return events


def start(stack: EmbeddedStack, collection: str, **extra: object) -> str:
    answer = stack.api("POST", "/v2/visualizations", {"collection": collection, **extra})
    assert answer.status == 202, answer.body
    assert answer.body["output"]["status"] in ("pending", "running")
    return str(answer.body["output"]["id"])


def events_for(stack: EmbeddedStack, job: str) -> list[dict]:
    return [e for e in stack.received_events() if e["detail"]["id"] == job]


def test_small_set_end_to_end(stack: EmbeddedStack, digits: list[dict]) -> None:
    job = start(stack, "digits", params={"tile": 32, "perplexity": 15})
    output = stack.wait(job, timeout=300)
    assert output["status"] == "succeeded", output
    assert output["count"] == N
    assert stack.execution(job)["status"] == "SUCCEEDED"
    record = JobTable(stack.table).get(job)
    assert record is not None and record.status == "SUCCEEDED" and record.progress.percent == 100

    # Every output is reachable through its presigned URL.
    fetched = {name: requests.get(link["url"], timeout=10) for name, link in output["data"].items()}
    assert all(r.status_code == 200 for r in fetched.values())
    assert fetched["image"].content[:2] == b"\xff\xd8"
    assert fetched["scatter"].content[:4] == b"\x89PNG"
    layout = fetched["layout"].json()
    check(layout, [o.key for o in list_inputs(S3Store(stack.bucket), "uploads/digits/").images])
    assert len(layout["images"]) == N and layout["grid"]["tile"] == 32
    assert layout["model"]["name"] == "efficientnet_lite0" and layout["model"]["sha256"]
    viewer = fetched["viewer"].text
    first_original = layout["images"][0]["key"]
    assert "Signature=" not in viewer and first_original.split("/")[-1] in viewer  # nothing in it expires
    assert parse_qs(urlsplit(output["data"]["viewer"]["url"]).fragment) == {
        "mosaic": [output["data"]["image"]["url"]]
    }

    # The EventBridge rule delivered the announcement to its queue.
    (announced,) = events_for(stack, job)
    assert announced["detail-type"] == "Visualization Succeeded"
    assert announced["detail"]["count"] == N
    assert requests.get(announced["detail"]["urls"]["viewer"], timeout=10).status_code == 200

    # The big-set branch was not taken; the Map had nothing left to embed.
    assert "bigset" not in stack.shim.calls


def test_duplicate_events_make_one_execution_and_one_vector_set(
    stack: EmbeddedStack, digits: list[dict]
) -> None:
    store = S3Store(stack.bucket)

    def vector_files() -> list[str]:
        return sorted(o.key for o in store.list("vectors/digits/") if not o.key.endswith(".json"))

    before = vector_files()
    # S3 and SQS deliver at least once: the same upload events again (through the emulated queue this
    # time, in other batches, so other shards: embedding a picture again costs less than an index that
    # would find it), and the same request twice.
    assert stack.deliver(digits[:20], via_queue=True) == {"delivered": 20, "failed": 0}
    redelivered = vector_files()
    assert set(before) <= set(redelivered) and len(redelivered) - len(before) <= 20
    collected = load_collection(store, "digits", list_inputs(store, "uploads/digits/").images)
    assert len(collected.keys) == N and not collected.duplicates and not collected.missing
    first = start(stack, "digits", params={"tile": 32, "perplexity": 15}, client_token="twice")
    second = start(stack, "digits", params={"tile": 32, "perplexity": 15}, client_token="twice")
    assert first == second
    sfn = stack.client("stepfunctions")
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]]
    assert sum(name.startswith(first + "-") for name in names) == 1
    assert stack.wait(first, timeout=300)["status"] == "succeeded"
    assert vector_files() == redelivered


def test_only_corrupt_files_fail_with_the_cause(stack: EmbeddedStack) -> None:
    for i in range(3):
        put(stack, f"uploads/corrupt/file {i}.jpg", b"\xff\xd8\xff garbage " * (i + 1))
    job = start(stack, "corrupt")
    output = stack.wait(job, timeout=120)
    assert output["status"] == "failed"
    assert output["error"]["error"] == "NoImagesError"
    assert "no usable images in collection 'corrupt'" in output["error"]["cause"]
    execution = stack.execution(job)
    assert execution["status"] == "FAILED"
    (announced,) = events_for(stack, job)
    assert announced["detail-type"] == "Visualization Failed"
    assert announced["detail"]["error"] == "NoImagesError"


def test_a_failing_step_is_retried_then_recorded_failed(stack: EmbeddedStack, digits: list[dict]) -> None:
    calls_before = stack.shim.calls.count("reduce")
    stack.shim.faults["reduce"] = TransientError("throttled by a dependency")
    try:
        job = start(stack, "digits", client_token="faulty")
        output = stack.wait(job, timeout=120)
    finally:
        stack.shim.faults.pop("reduce")
    assert output["status"] == "failed"
    assert output["error"] == {"error": "TransientError", "cause": "throttled by a dependency"}
    assert output["progress"]["stage"] == "prepare"
    # One try and two retries (MaxAttempts 2 in the ASL), then the Catch.
    assert stack.shim.calls.count("reduce") - calls_before == 3
    assert stack.execution(job)["status"] == "FAILED"


def test_a_transient_fault_recovers(stack: EmbeddedStack, digits: list[dict]) -> None:
    stack.shim.faults["render"] = [TransientError("first try fails")]
    job = start(stack, "digits", params={"tile": 16}, client_token="recovers")
    output = stack.wait(job, timeout=300)
    assert output["status"] == "succeeded", output


def test_big_sets_run_the_processing_job(stack: EmbeddedStack, tmp_path: Path) -> None:
    for i in range(6):
        put(stack, f"uploads/bigset/{i}.png", png((40 * i, 255 - 40 * i, 128)))
    os.environ["BIG_SET_THRESHOLD"] = "4"
    try:
        job = start(stack, "bigset", params={"tile": 16})
        output = stack.wait(job, timeout=300)
    finally:
        os.environ["BIG_SET_THRESHOLD"] = str(stack.big_set_threshold)
    assert output["status"] == "succeeded", output
    assert output["count"] == 6
    assert "bigset" in stack.shim.calls
    # The Map embedded what no upload event had delivered.
    layout = json.loads(S3Store(stack.bucket).read(f"visualizations/{job}/layout.json"))
    assert len(layout["images"]) == 6
