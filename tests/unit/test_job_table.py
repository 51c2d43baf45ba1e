"""The job table on DynamoDB (moto), created as template.yaml declares it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from gridtsne.aws.job import JobParams
from gridtsne.aws.progress import ProgressWriter
from gridtsne.aws.table import JobTable
from gridtsne_dev.template import load_template, plain
from moto import mock_aws

NAME = "jobs-test"
OUTPUTS = {"image": "visualizations/j/mosaic.jpg", "layout": "visualizations/j/layout.json"}


@pytest.fixture(scope="module")
def declared() -> dict:
    """The table's properties in template.yaml, as create_table takes them."""
    properties = plain(load_template()["Resources"]["JobTable"]["Properties"])
    keep = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
    return {key: properties[key] for key in keep}


@pytest.fixture
def resource(declared: dict) -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        dynamodb.create_table(TableName=NAME, **declared)
        yield dynamodb


@pytest.fixture
def table(resource: Any) -> JobTable:
    return JobTable(NAME, resource=resource)


def test_create_is_idempotent(table: JobTable) -> None:
    record, created = table.create("j", "demo", JobParams(tile=32))
    assert created and (record.status, record.progress.stage, record.params.tile) == ("PENDING", "queued", 32)
    again, created = table.create("j", "demo", JobParams(tile=99))
    assert not created and again == record  # the first record, untouched
    assert table.get("j") == record


def test_progress_marks_running_and_leaves_finished_jobs_alone(table: JobTable) -> None:
    table.create("ok", "demo", JobParams())
    table.create("bad", "demo", JobParams())
    table.progress("ok", "reduce", 155)
    running = table.get("ok")
    assert running is not None and running.status == "RUNNING"
    assert (running.progress.stage, running.progress.percent) == ("reduce", 100)
    table.succeed("ok", OUTPUTS, count=12)
    table.progress("bad", "render", 85)
    table.fail("bad", "NoImagesError", "x" * 5000)
    # A late progress report (a retried step) changes neither finished job.
    table.progress("ok", "render", 85)
    table.progress("bad", "publish", 95)
    done, failed = table.get("ok"), table.get("bad")
    assert done is not None and failed is not None
    assert (done.status, done.progress.stage, done.progress.percent) == ("SUCCEEDED", "done", 100)
    assert (done.outputs, done.count) == (OUTPUTS, 12)
    assert (failed.status, failed.error, failed.progress.stage) == ("FAILED", "NoImagesError", "render")
    assert failed.cause == "x" * 4000
    # Progress for a job with no record creates none.
    table.progress("ghost", "reduce", 50)
    assert table.get("ghost") is None


def test_finishing_an_unknown_job_raises(table: JobTable) -> None:
    with pytest.raises(KeyError, match="no job record 'ghost'"):
        table.succeed("ghost", OUTPUTS)
    with pytest.raises(KeyError, match="no job record 'ghost'"):
        table.fail("ghost", "E", "cause")
    assert table.get("ghost") is None


def test_started_keeps_the_execution(table: JobTable) -> None:
    table.create("j", "demo", JobParams())
    table.started("j", "arn:aws:states:us-east-1:123456789012:execution:visualize:j")
    record = table.get("j")
    assert record is not None and record.execution_arn is not None and record.execution_arn.endswith(":j")


def test_list_gives_a_collections_jobs_newest_first(table: JobTable) -> None:
    for i in range(4):
        table.create(f"mine-{i}", "mine", JobParams(seed=i))
        time.sleep(0.002)  # creation times have millisecond resolution
    table.create("theirs", "theirs", JobParams())
    assert [r.id for r in table.list("mine")] == ["mine-3", "mine-2", "mine-1", "mine-0"]
    assert [r.id for r in table.list("mine", limit=2)] == ["mine-3", "mine-2"]
    assert [r.id for r in table.list("nobody")] == []


def test_records_expire_after_the_time_to_live(resource: Any) -> None:
    before = int(time.time())
    JobTable(NAME, resource=resource, ttl_days=30).create("kept-30-days", "demo", JobParams())
    JobTable(NAME, resource=resource).create("kept", "demo", JobParams())
    raw = resource.Table(NAME)
    expires = int(raw.get_item(Key={"id": "kept-30-days"})["Item"]["expires_at"])
    assert before + 30 * 86400 <= expires <= int(time.time()) + 30 * 86400
    assert "expires_at" not in raw.get_item(Key={"id": "kept"})["Item"]


def test_fail_leaves_a_finished_job_as_it_is(table: JobTable) -> None:
    table.create("done", "demo", JobParams())
    table.succeed("done", OUTPUTS, count=3)
    assert table.fail("done", "States.Aborted", "stopped after publishing") is False
    done = table.get("done")
    assert done is not None and (done.status, done.error, done.outputs) == ("SUCCEEDED", None, OUTPUTS)
    table.create("bad", "demo", JobParams())
    table.progress("bad", "reduce", 55)
    assert table.fail("bad", "NoImagesError", "the first cause") is True
    assert table.fail("bad", "States.Failed", "a later one") is False
    failed = table.get("bad")
    assert failed is not None and (failed.status, failed.error, failed.cause) == (
        "FAILED",
        "NoImagesError",
        "the first cause",
    )


def test_an_idempotency_key_binds_one_job_and_is_no_job_itself(table: JobTable) -> None:
    assert table.claim("k1", "first-job") == "first-job"
    assert table.claim("k1", "second-job") == "first-job"  # the second request finds the first job
    assert table.claim("k2", "second-job") == "second-job"
    table.create("first-job", "c", JobParams(), "arn:aws:iam::123456789012:user/a")
    assert table.get("request#k1") is None
    assert [r.id for r in table.list("c")] == ["first-job"]  # the index lists jobs only
    assert table.get("first-job").principal == "arn:aws:iam::123456789012:user/a"  # type: ignore[union-attr]


def test_progress_keeps_when_the_stage_should_end(table: JobTable) -> None:
    table.create("eta", "demo", JobParams())
    before = datetime.now(UTC)
    table.progress("eta", "reduce", 60, eta=120.0)
    record = table.get("eta")
    assert record is not None and record.progress.eta is not None
    ends = datetime.fromisoformat(record.progress.eta)
    assert before + timedelta(seconds=119) <= ends <= datetime.now(UTC) + timedelta(seconds=121)
    table.progress("eta", "assign", 75)  # a stage with no estimate clears the last one
    record = table.get("eta")
    assert record is not None and (record.progress.stage, record.progress.eta) == ("assign", None)


def test_progress_writer_throttles_a_long_stage(table: JobTable, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[tuple[str, int, float | None]] = []
    real = table.progress

    def counted(job: str, stage: str, percent: int, eta: float | None = None) -> None:
        writes.append((stage, percent, eta))
        real(job, stage, percent, eta)

    monkeypatch.setattr(table, "progress", counted)
    table.create("long", "demo", JobParams())
    now = [0.0]
    writer = ProgressWriter(table, "long", interval=5.0, clock=lambda: now[0])

    def stage(stage: str, seconds: float, reports: int = 2000) -> list[int]:
        """``reports`` reports over ``seconds`` while the percent goes from 55 to 75; the percents written."""
        writes.clear()
        for i in range(reports):
            writer(stage, 55 + (20 * i) // reports, seconds - now[0])
            now[0] += seconds / reports
        return [w[1] for w in writes]

    # A short stage: the percent moves every second, a write at most every 5 s.
    fast = stage("reduce", 20.0)
    assert len(fast) <= 5 and fast[0] == 55 and fast == sorted(set(fast))
    # A long one: 40 five-second windows, but only 20 percents to tell.
    slow = stage("embed", 200.0)
    assert 10 <= len(slow) <= 21 and slow == sorted(set(slow))
    writer("assign", 75)  # a new stage is written at once
    assert writes[-1] == ("assign", 75, None)
    record = table.get("long")
    assert record is not None and (record.progress.stage, record.progress.percent) == ("assign", 75)
