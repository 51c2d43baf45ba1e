"""The submit path's rule for a job that was recorded but never started."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gridtsne.aws.job import JobParams, JobRecord, Progress, execution_name, new_job_id
from gridtsne.aws.submit import abandoned


def record(age_seconds: float, status: str = "PENDING", arn: str | None = None) -> JobRecord:
    created = (datetime.now(UTC) - timedelta(seconds=age_seconds)).isoformat().replace("+00:00", "Z")
    return JobRecord(
        id="c-1",
        collection="c",
        status=status,  # type: ignore[arg-type]
        params=JobParams(),
        progress=Progress(stage="queued", percent=0),
        created=created,
        updated=created,
        execution_arn=arn,
    )


def test_a_fresh_pending_job_is_left_to_its_creator() -> None:
    assert abandoned(record(1)) is False


def test_a_pending_job_never_started_is_started_by_a_later_request() -> None:
    assert abandoned(record(120)) is True


def test_started_or_finished_jobs_are_never_started_again() -> None:
    assert abandoned(record(120, arn="arn:aws:states:us-east-1:1:execution:m:c-1-abc")) is False
    assert abandoned(record(120, status="RUNNING")) is False
    assert abandoned(record(120, status="FAILED")) is False


def test_every_attempt_has_its_own_execution_name() -> None:
    job = new_job_id("x" * 60)
    names = {execution_name(job) for _ in range(50)}
    assert len(names) == 50
    assert all(n.startswith(job[:73]) and len(n) <= 80 for n in names)
