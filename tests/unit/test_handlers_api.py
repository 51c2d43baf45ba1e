"""The API function on API Gateway events: create, follow and list visualizations."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests
from gridtsne.aws.job import JobParams
from gridtsne.aws.progress import ProgressWriter
from gridtsne.aws.steps import reduce_job
from gridtsne.aws.table import JobTable
from gridtsne.core import reduce as reduce_module
from gridtsne.store import S3Store
from gridtsne_dev.events import CALLER, api_event
from gridtsne_dev.stack import EmbeddedStack

from tests.unit.serverless import event, png, put

#: Handlers that emit no metric (a GET, a failure) make Powertools warn; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def call(stack: EmbeddedStack, request: dict) -> tuple[int, dict]:
    response = stack.shim.invoke("api", request)
    return int(response["statusCode"]), json.loads(response["body"])


def executions(stack: EmbeddedStack) -> list[dict]:
    sfn = stack.client("stepfunctions")
    return list(sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"])


def test_post_answers_202_pending_and_starts_one_execution_per_request(stack: EmbeddedStack) -> None:
    put(stack, "uploads/demo/a.png", png((200, 10, 10)))
    before = len(executions(stack))
    status, body = call(stack, event("api_post_visualization.json"))
    assert status == 202
    job = body["output"]["id"]
    assert body["output"]["status"] == "pending"
    assert re.fullmatch(r"demo-[0-9a-f]{32}", job)  # random, not derived from the request
    # The same request again (a client retry) names the same job and starts nothing new.
    status, again = call(stack, event("api_post_visualization.json"))
    assert (status, again["output"]["id"]) == (202, job)
    started = executions(stack)
    assert len(started) == before + 1
    # One execution for the job, its name the job id and a suffix unique to the attempt.
    (arn,) = [e["executionArn"] for e in started if e["name"].startswith(job + "-")]
    sfn = stack.client("stepfunctions")
    payload = json.loads(sfn.describe_execution(executionArn=arn)["input"])
    assert payload == {
        "job_id": job,
        "collection": "demo",
        "params": JobParams(tile=48, perplexity=20, seed=1).model_dump(),
    }
    record = JobTable(stack.table).get(job)
    assert record is not None and record.execution_arn == arn and record.status == "PENDING"
    assert record.principal == CALLER


def test_another_client_token_is_another_job(stack: EmbeddedStack) -> None:
    put(stack, "uploads/demo/a.png", png((200, 10, 10)))
    request = event("api_post_visualization.json")
    request["body"] = json.dumps({"collection": "demo", "client_token": "second run"})
    _, first = call(stack, request)
    request["body"] = json.dumps({"collection": "demo", "client_token": "third run"})
    _, second = call(stack, request)
    assert first["output"]["id"] != second["output"]["id"]


def test_invalid_body_is_400_with_a_message(stack: EmbeddedStack) -> None:
    status, body = call(stack, event("api_post_visualization_invalid.json"))
    assert status == 400
    assert "tile" in body["message"]
    for bad in ("not json", json.dumps({"params": {}}), json.dumps({"collection": "../etc"})):
        request = event("api_post_visualization.json")
        request["body"] = bad
        status, body = call(stack, request)
        assert status == 400, bad
        assert body["message"].startswith("invalid request")


def test_collection_without_uploads_is_400(stack: EmbeddedStack) -> None:
    status, body = call(stack, api_event("POST", "/v2/visualizations", {"collection": "nothing-here"}))
    assert status == 400
    assert "no uploads" in body["message"]


def test_unknown_id_is_404(stack: EmbeddedStack) -> None:
    status, body = call(stack, event("api_get_visualization.json"))
    assert status == 404
    assert "demo-0123456789abcdef0123456789abcdef" in body["message"]


def test_get_follows_progress_then_gives_presigned_urls(stack: EmbeddedStack) -> None:
    table = JobTable(stack.table)
    job = "follow-0123456789abcdef0123456789abcdef"
    table.create(job, "follow", JobParams(), CALLER)
    table.progress(job, "reduce", 55)
    status, body = call(stack, api_event("GET", f"/v2/visualizations/{job}"))
    assert status == 200
    assert body["output"]["status"] == "running"
    assert body["output"]["progress"] == {"stage": "reduce", "percent": 55}
    assert "data" not in body["output"]

    s3 = stack.client("s3")
    outputs = {}
    for name, file in {
        "image": "mosaic.jpg",
        "layout": "layout.json",
        "viewer": "viewer.html",
        "scatter": "scatter.png",
    }.items():
        outputs[name] = f"visualizations/{job}/{file}"
        s3.put_object(Bucket=stack.bucket, Key=outputs[name], Body=f"content of {file}".encode())
    quality = {
        "dpq16": 0.9123,
        "neighbours": 0.5,
        "k": 8,
        "images": 7,
        "dpq_images": 7,
        "neighbour_images": 7,
    }
    table.succeed(job, outputs, count=7, quality=quality)
    status, body = call(stack, api_event("GET", f"/v2/visualizations/{job}"))
    output = body["output"]
    assert (status, output["status"], output["count"]) == (200, "succeeded", 7)
    assert output["quality"] == quality
    assert output["progress"] == {"stage": "done", "percent": 100}
    assert set(output["data"]) == {"image", "layout", "viewer", "scatter"}
    url = output["data"]["image"]["url"]
    assert f"visualizations/{job}/mosaic.jpg" in url and "Signature=" in url and "Expires=" in url
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200 and fetched.content == b"content of mosaic.jpg"


def test_get_failed_job_gives_the_cause(stack: EmbeddedStack) -> None:
    table = JobTable(stack.table)
    job = "broken-0123456789abcdef0123456789abcdef"
    table.create(job, "broken", JobParams(), CALLER)
    table.fail(job, "NoImagesError", "no usable images in collection 'broken'")
    _, body = call(stack, api_event("GET", f"/v2/visualizations/{job}"))
    assert body["output"]["status"] == "failed"
    assert body["output"]["error"] == {
        "error": "NoImagesError",
        "cause": "no usable images in collection 'broken'",
    }


def test_list_by_collection_newest_first(stack: EmbeddedStack) -> None:
    table = JobTable(stack.table)
    for i in range(3):
        table.create(f"listed-{i}", "listed", JobParams(seed=i), CALLER)
        time.sleep(0.002)  # creation times have millisecond resolution
    table.create("other-0", "other", JobParams(), CALLER)
    table.create("listed-someone-else", "listed", JobParams(), "arn:aws:iam::123456789012:user/other")
    status, body = call(
        stack,
        event("api_list_visualizations.json")
        | {
            "queryStringParameters": {"collection": "listed"},
            "multiValueQueryStringParameters": {"collection": ["listed"]},
        },
    )
    assert status == 200
    assert [v["id"] for v in body["output"]] == ["listed-2", "listed-1", "listed-0"]
    status, body = call(stack, api_event("GET", "/v2/visualizations"))
    assert status == 400


OTHER = "arn:aws:iam::123456789012:user/someone-else"
FOREIGN = "arn:aws:iam::999999999999:user/tester"


def test_a_job_is_its_callers_alone(stack: EmbeddedStack) -> None:
    put(stack, "uploads/mine/a.png", png((1, 200, 1)))
    status, body = call(stack, api_event("POST", "/v2/visualizations", {"collection": "mine"}))
    job = body["output"]["id"]
    assert call(stack, api_event("GET", f"/v2/visualizations/{job}"))[0] == 200
    for caller in (OTHER, FOREIGN, None):
        status, body = call(stack, api_event("GET", f"/v2/visualizations/{job}", caller=caller))
        assert status == 404 and job in body["message"], caller
        status, body = call(
            stack, api_event("GET", "/v2/visualizations", query={"collection": "mine"}, caller=caller)
        )
        assert (status, body["output"]) == (200, []), caller
    # An unsigned request owns nothing.
    status, body = call(stack, api_event("POST", "/v2/visualizations", {"collection": "mine"}, caller=None))
    assert status == 403 and "caller" in body["message"]
    # The same request by another caller is another job, theirs.
    status, theirs = call(
        stack, api_event("POST", "/v2/visualizations", {"collection": "mine"}, caller=OTHER)
    )
    assert status == 202 and theirs["output"]["id"] != job
    # A job the account started (console, event) is every caller's of that account, no other account's.
    JobTable(stack.table).create("account-job", "mine", JobParams(), "account:123456789012")
    assert call(stack, api_event("GET", "/v2/visualizations/account-job", caller=OTHER))[0] == 200
    assert call(stack, api_event("GET", "/v2/visualizations/account-job", caller=FOREIGN))[0] == 404


def test_new_uploads_make_the_same_request_a_new_job(stack: EmbeddedStack) -> None:
    put(stack, "uploads/growing/a.png", png((9, 9, 200)))
    request = api_event("POST", "/v2/visualizations", {"collection": "growing", "params": {"seed": 2}})
    first = call(stack, request)[1]["output"]["id"]
    assert call(stack, request)[1]["output"]["id"] == first  # same content and parameters: same job
    put(stack, "uploads/growing/b.png", png((200, 9, 9)))
    second = call(stack, request)[1]["output"]["id"]
    assert second != first
    assert call(stack, request)[1]["output"]["id"] == second
    put(stack, "uploads/growing/b.png", png((100, 9, 9)))  # replaced: new content again
    assert call(stack, request)[1]["output"]["id"] not in (first, second)


def test_idempotency_records_are_no_jobs(stack: EmbeddedStack) -> None:
    put(stack, "uploads/keys/a.png", png((3, 3, 3)))
    call(stack, api_event("POST", "/v2/visualizations", {"collection": "keys"}))
    items = stack.client("dynamodb").scan(TableName=stack.table)["Items"]
    (claim, *_) = [i["id"]["S"] for i in items if i["id"]["S"].startswith("request#")]
    status, _ = call(stack, api_event("GET", f"/v2/visualizations/{claim}"))
    assert status == 404


def test_get_shows_the_reduction_moving_with_the_time_left(
    stack: EmbeddedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reduce_module, "cpu_count", lambda: 1)  # 12 points: threads would only wait
    collection, job = "moving", "moving-0123456789abcdef0123456789abcdef"
    for i in range(12):
        put(stack, f"uploads/{collection}/{i}.png", png((20 * i, 255 - 20 * i, (70 * i) % 256)))
    table = JobTable(stack.table)
    table.create(job, collection, JobParams(), CALLER)
    state = {"job_id": job, "collection": collection, "params": {}}
    prepared = stack.shim.invoke("prepare", state)
    for batch in prepared["batches"]:
        item = {"job_id": job, "inputs": prepared["inputs"], "batch": batch, "batches": 1}
        stack.shim.invoke("embed", item)

    seen: list[dict] = []
    writer = ProgressWriter(table, job, interval=0.0)

    def write_then_get(stage: str, percent: int, eta: float | None = None) -> None:
        """Each report written, then read back through the API while the reduction runs."""
        written = writer.writes
        writer(stage, percent, eta)
        if writer.writes == written:  # the same percent: not written again
            return
        status, body = call(stack, api_event("GET", f"/v2/visualizations/{job}"))
        assert status == 200
        seen.append(body["output"])
        time.sleep(0.2)  # a reduction long enough to measure its pace (12 points take well under a second)

    reduce_job(S3Store(stack.bucket), job, progress=write_then_get)
    assert {o["status"] for o in seen} == {"running"} and {o["progress"]["stage"] for o in seen} == {"reduce"}
    percents = [o["progress"]["percent"] for o in seen]
    assert percents[0] == 55 and percents == sorted(percents) and percents[-1] == 75
    assert len(set(percents)) >= 10  # it moves with the iterations, not only at the stage's ends
    # Once the stage has run a second, each report says when it should end and how long that is from now.
    estimated = [o["progress"] for o in seen if 55 < o["progress"]["percent"] < 75 and "eta" in o["progress"]]
    assert len(estimated) >= 3
    assert all(isinstance(p["eta_seconds"], int) and p["eta_seconds"] >= 0 for p in estimated)
    assert all(p["eta"].endswith("Z") for p in estimated)

    # A job that stopped running shows where it was, without an estimate.
    table.fail(job, "States.Timeout", "the render step timed out")
    status, body = call(stack, api_event("GET", f"/v2/visualizations/{job}"))
    assert (status, body["output"]["progress"]) == (200, {"stage": "reduce", "percent": 75})
