"""The embed function: SQS batches of upload events, and the state machine's Map items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gridtsne.aws.collection import load_collection
from gridtsne.pipeline import list_inputs
from gridtsne.store import S3Store
from gridtsne_dev.events import sqs_event
from gridtsne_dev.stack import EmbeddedStack
from pydantic import ValidationError

from tests.unit.serverless import event, png, put, upload_digits

#: Handlers that emit no metric (a GET, a failure) make Powertools warn; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def shards(stack: EmbeddedStack, collection: str) -> list[str]:
    return [
        o.key for o in S3Store(stack.bucket).list(f"vectors/{collection}/shards/") if o.key.endswith(".npz")
    ]


def test_sqs_batch_with_url_encoded_keys(stack: EmbeddedStack) -> None:
    batch = event("sqs_upload_batch.json")
    contents = {
        "uploads/demo/holiday photo (1).png": png((250, 200, 0)),
        "uploads/demo/cats/tabby.jpg": png((0, 90, 200)),
    }
    for record in batch["Records"]:
        body = json.loads(record["body"])
        key = (
            "uploads/demo/holiday photo (1).png"
            if "holiday" in body["detail"]["object"]["key"]
            else "uploads/demo/cats/tabby.jpg"
        )
        body["detail"]["object"]["etag"] = put(stack, key, contents[key])["detail"]["object"]["etag"]
        record["body"] = json.dumps(body)
    response = stack.shim.invoke("embed", batch)
    assert response == {"batchItemFailures": []}
    store = S3Store(stack.bucket)
    collected = load_collection(store, "demo", list_inputs(store, "uploads/demo/").images)
    # The space came through decoded: the stored key is the real object key.
    assert "uploads/demo/holiday photo (1).png" in collected.keys
    assert "uploads/demo/cats/tabby.jpg" in collected.keys
    assert collected.vectors.shape[1] == 1280
    assert collected.thumbs.side == 64 and len(collected.thumbs) == len(collected.keys)
    # A redelivered batch does no new work: no new shard.
    before = shards(stack, "demo")
    assert stack.shim.invoke("embed", batch) == {"batchItemFailures": []}
    assert shards(stack, "demo") == before


def test_bad_messages_are_reported_alone(stack: EmbeddedStack, tmp_path: Path) -> None:
    events = upload_digits(stack, tmp_path, "partial", 3)
    messages = [
        {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": json.dumps(e)} for i, e in enumerate(events)
    ]
    messages.append({"MessageId": "garbage", "ReceiptHandle": "rg", "Body": "{not json"})
    messages.append({"MessageId": "other", "ReceiptHandle": "ro", "Body": json.dumps({"source": "aws.ec2"})})
    deleted = {**events[0], "detail-type": "Object Deleted"}
    messages.append({"MessageId": "deleted", "ReceiptHandle": "rd", "Body": json.dumps(deleted)})
    response = stack.shim.invoke("embed", sqs_event(messages, stack.upload_queue))
    failed = sorted(f["itemIdentifier"] for f in response["batchItemFailures"])
    assert failed == ["deleted", "garbage", "other"]
    store = S3Store(stack.bucket)
    assert len(load_collection(store, "partial", list_inputs(store, "uploads/partial/").images).keys) == 3


def test_corrupt_and_duplicate_uploads(stack: EmbeddedStack) -> None:
    red = png((220, 0, 0))
    events = [
        put(stack, "uploads/mixed/red.png", red),
        put(stack, "uploads/mixed/copy of red.png", red),
        put(stack, "uploads/mixed/broken.jpg", b"\xff\xd8\xff\xe0 truncated"),
        put(stack, "uploads/mixed/notes.txt", b"hello"),
        put(stack, "uploads/mixed/_visualize.json", b"{}"),
    ]
    messages = [
        {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": json.dumps(e)} for i, e in enumerate(events)
    ]
    assert stack.shim.invoke("embed", sqs_event(messages, "q")) == {"batchItemFailures": []}
    store = S3Store(stack.bucket)
    listed = list_inputs(store, "uploads/mixed/")
    inputs = listed.images
    assert "uploads/mixed/_visualize.json" not in {o.key for o in inputs}
    # The one input rule: a name that is not an image's is skipped by name, never read.
    assert listed.skipped == [{"key": "uploads/mixed/notes.txt", "reason": "not an image file"}]
    collected = load_collection(store, "mixed", inputs)
    assert len(collected.keys) == 1
    assert collected.duplicates == [
        {"key": collected.duplicates[0]["key"], "same_as": collected.keys[0]}
    ] and {collected.keys[0], collected.duplicates[0]["key"]} == {
        "uploads/mixed/red.png",
        "uploads/mixed/copy of red.png",
    }
    reasons = {s["key"]: s["reason"] for s in collected.skipped}
    assert list(reasons) == ["uploads/mixed/broken.jpg"]
    assert reasons["uploads/mixed/broken.jpg"].startswith("corrupt image")
    # A later identical upload under a new key is embedded into a shard of its own (no per-picture index:
    # embedding again costs less than one), and the job still places that content once.
    before = shards(stack, "mixed")
    again = put(stack, "uploads/mixed/red again.png", red)
    assert stack.shim.invoke(
        "embed", sqs_event([{"MessageId": "x", "ReceiptHandle": "x", "Body": json.dumps(again)}], "q")
    ) == {"batchItemFailures": []}
    assert len(shards(stack, "mixed")) == len(before) + 1
    collected = load_collection(store, "mixed", list_inputs(store, "uploads/mixed/").images)
    assert len(collected.keys) == 1 and len(collected.duplicates) == 2


def test_map_item_embeds_its_batch(stack: EmbeddedStack, tmp_path: Path) -> None:
    upload_digits(stack, tmp_path, "mapped", 5)
    state = event("state_prepare.json") | {"job_id": "mapped-job", "collection": "mapped"}
    prepared = stack.shim.invoke("prepare", state)
    assert (prepared["count"], prepared["missing"], prepared["batches"]) == (5, 5, [0])
    item = event("state_embed_item.json") | {
        "job_id": "mapped-job",
        "collection": "mapped",
        "inputs": prepared["inputs"],
    }
    result = stack.shim.invoke("embed", item)
    assert (result["embedded"], result["skipped"], result["redelivered"]) == (5, 0, False)
    assert stack.shim.invoke("embed", item)["redelivered"] is True
    again = stack.shim.invoke("prepare", state)
    assert (again["count"], again["missing"], again["batches"]) == (5, 0, [])


def test_a_batch_with_no_usable_message_fails_as_a_whole(stack: EmbeddedStack) -> None:
    # Powertools raises when every record failed, so the queue redelivers the whole batch.
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    with pytest.raises(BatchProcessingError):
        stack.shim.invoke("embed", {"Records": [{"messageId": "a", "body": "[]"}]})


def test_a_map_item_without_its_batch_fails(stack: EmbeddedStack) -> None:
    with pytest.raises(ValidationError, match="batch"):
        stack.shim.invoke("embed", {"job_id": "x", "inputs": "visualizations/x/inputs.json"})


def test_a_failing_collection_fails_only_its_messages(
    stack: EmbeddedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridtsne.aws import uploads

    def embed_objects(store, collection, objects, embedder, **options):  # type: ignore[no-untyped-def]
        if collection == "unlucky":
            raise OSError("the bucket said no")
        return real(store, collection, objects, embedder, **options)

    real = uploads.embed_objects
    monkeypatch.setattr(uploads, "embed_objects", embed_objects)
    good = put(stack, "uploads/lucky/a.png", png((9, 9, 9)))
    bad = put(stack, "uploads/unlucky/b.png", png((1, 1, 1)))
    messages = [
        {"MessageId": name, "ReceiptHandle": name, "Body": json.dumps(sent)}
        for name, sent in (("g", good), ("b", bad))
    ]
    response = stack.shim.invoke("embed", sqs_event(messages, "q"))
    assert response == {"batchItemFailures": [{"itemIdentifier": "b"}]}
    assert shards(stack, "lucky") and not shards(stack, "unlucky")


def test_oversized_and_disguised_uploads_are_refused_before_they_are_read(
    stack: EmbeddedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file over the size limit is refused from its declared size, a non-image from its first bytes:
    neither is downloaded whole (the bytes read from S3 are counted)."""
    import botocore.response

    monkeypatch.setenv("GRIDTSNE_MAX_MEGABYTES", "1")
    big = b"\x89PNG\r\n\x1a\n" + bytes(3 * 2**20)
    disguised = b"<html>" + bytes(900_000)
    events = [put(stack, "uploads/sizes/big.png", big), put(stack, "uploads/sizes/page.jpg", disguised)]
    served = []
    real_read = botocore.response.StreamingBody.read

    def counted(self: botocore.response.StreamingBody, amt: int | None = None) -> bytes:
        data: bytes = real_read(self, amt)
        served.append(len(data))
        return data

    monkeypatch.setattr(botocore.response.StreamingBody, "read", counted)
    messages = [
        {"MessageId": f"m{i}", "ReceiptHandle": "r", "Body": json.dumps(e)} for i, e in enumerate(events)
    ]
    assert stack.shim.invoke("embed", sqs_event(messages, "q")) == {"batchItemFailures": []}
    monkeypatch.undo()
    store = S3Store(stack.bucket)
    collected = load_collection(store, "sizes", list_inputs(store, "uploads/sizes/").images)
    reasons = {s["key"].rsplit("/", 1)[-1]: s["reason"] for s in collected.skipped}
    assert reasons["big.png"].startswith("file too large")
    assert reasons["page.jpg"].startswith("not an image")
    assert sum(served) < 100_000, served  # neither object was read whole
