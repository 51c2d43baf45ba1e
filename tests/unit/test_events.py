"""Events in: S3 "Object Created" events and the state machine's step inputs."""

from __future__ import annotations

import pytest
from gridtsne.aws.events import EmbedItem, FailedState, JobInput, object_created
from gridtsne.aws.job import JobParams
from pydantic import ValidationError

from tests.unit.serverless import event


def test_object_created_gives_bucket_and_the_decoded_key() -> None:
    sample = event("s3_object_created.json")
    sample["detail"]["object"].update(key="uploads/demo/holiday+photo+%281%29.png", size=42, etag="abc")
    bucket, obj = object_created(sample)
    assert bucket == sample["detail"]["bucket"]["name"]
    assert (obj.key, obj.size, obj.etag) == ("uploads/demo/holiday photo (1).png", 42, "abc")


@pytest.mark.parametrize(
    "change",
    [{"detail-type": "Object Deleted"}, {"source": "aws.ec2"}, {"detail": {"bucket": {"name": "b"}}}],
)
def test_other_events_are_refused(change: dict) -> None:
    with pytest.raises(ValueError):
        object_created(event("s3_object_created.json") | change)


def test_step_inputs() -> None:
    started = JobInput.model_validate(event("state_prepare.json") | {"params": None, "prepared": {}})
    assert (started.collection, started.params) == ("demo", JobParams())
    with pytest.raises(ValidationError, match="collection"):
        JobInput.model_validate({"job_id": "j", "collection": "../etc"})
    item = EmbedItem.model_validate(event("state_embed_item.json"))
    assert (item.batch, item.batches, item.inputs.endswith("/inputs.json")) == (0, 1, True)
    failed = FailedState.model_validate(event("state_fail.json"))
    assert failed.error.error == "NoImagesError" and "errorMessage" in failed.error.cause
    bare = FailedState.model_validate({"job_id": "j", "error": {"Error": None}})
    assert (bare.error.error, bare.error.cause) == ("States.Unknown", "unknown cause")
