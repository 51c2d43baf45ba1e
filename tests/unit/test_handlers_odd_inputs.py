"""Inputs the cloud must survive and report as the command line does: odd S3 keys, names that look like
control files, objects deleted before they were read and uploaded again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gridtsne.aws.job import JobParams
from gridtsne.aws.table import JobTable
from gridtsne.aws.vectors import DELETED, scan
from gridtsne.core.inputs import UNUSABLE_KEY
from gridtsne.store import S3Store
from gridtsne_dev.events import CALLER
from gridtsne_dev.stack import EmbeddedStack

from tests.support import run_cli
from tests.unit.serverless import png, put, run_steps

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def layout_of(stack: EmbeddedStack, collection: str, params: dict | None = None) -> dict:
    """Run a job on the collection through every step; its layout.json."""
    job = f"{collection}-job-{len(JobTable(stack.table).list(collection))}"
    JobTable(stack.table).create(job, collection, JobParams.model_validate(params or {}), CALLER)
    state = run_steps(stack, job, collection, params)
    return json.loads(S3Store(stack.bucket).read(state["rendered"]["outputs"]["layout"]))


def test_odd_keys_are_skipped_with_a_reason_and_fail_nothing(stack: EmbeddedStack) -> None:
    good = [put(stack, f"uploads/odd/good {i}.png", png((40 * i, 90, 200 - 40 * i))) for i in range(3)]
    odd = [
        put(stack, "uploads/odd/sub/", b""),  # the console's "Create folder"
        put(stack, "uploads/odd/a//b.png", png((1, 2, 3))),
        put(stack, "uploads/odd/x/../y.png", png((3, 2, 1))),
        put(stack, "uploads/odd/x/./z.png", png((3, 3, 1))),
    ]
    listed = {o.key for o in S3Store(stack.bucket).list("uploads/odd/")}
    assert {"uploads/odd/sub/", "uploads/odd/a//b.png", "uploads/odd/x/../y.png"} <= listed
    # One batch with all of them: no message fails, the images are embedded.
    assert stack.deliver([*odd, *good]) == {"delivered": 7, "failed": 0}
    assert sum("hash" in e for e in scan(S3Store(stack.bucket), "odd").values()) == 3
    # Every later job on the collection succeeds and reports each odd key once, with its reason.
    for _ in range(2):
        layout = layout_of(stack, "odd")
        assert sorted(i["key"] for i in layout["images"]) == sorted(
            e["detail"]["object"]["key"].replace("+", " ") for e in good
        )
        assert sorted((s["key"], s["reason"]) for s in layout["skipped"]) == [
            ("uploads/odd/a//b.png", UNUSABLE_KEY),
            ("uploads/odd/x/../y.png", UNUSABLE_KEY),
            ("uploads/odd/x/./z.png", UNUSABLE_KEY),
        ]
        assert "uploads/odd/sub/" not in json.dumps(layout)


def test_names_like_control_files_are_reported_as_the_command_line_does(
    stack: EmbeddedStack, tmp_path: Path
) -> None:
    files = {
        "_DSC0001.JPG": png((200, 30, 30)),
        "_visualize.json.png": png((30, 200, 30)),
        "photo.png": png((30, 30, 200)),
        "_notes.txt": b"not a picture",
        ".hidden.png": png((90, 90, 90)),
        "_visualize.json": b"{}",
    }
    folder = tmp_path / "named"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
        put(stack, f"uploads/named/{name}", data)
    stack.deliver([put(stack, f"uploads/named/{name}", data) for name, data in files.items()])
    cloud = layout_of(stack, "named", {"tile": 32})
    done = run_cli("run", folder, "--out", tmp_path / "out", "--tile", 32)
    assert done.returncode == 0, done.stderr
    local = json.loads((tmp_path / "out" / "layout.json").read_text())

    def report(layout: dict, prefix: str) -> tuple[list, list]:
        placed = sorted(i["key"].removeprefix(prefix) for i in layout["images"])
        skipped = sorted((s["key"].removeprefix(prefix), s["reason"]) for s in layout["skipped"])
        return placed, skipped

    assert report(cloud, "uploads/named/") == report(local, "")
    placed, skipped = report(cloud, "uploads/named/")
    assert {"_DSC0001.JPG", "_visualize.json.png", "photo.png"} <= set(placed)
    assert ("_notes.txt", "not an image file") in skipped


def test_an_upload_deleted_before_reading_and_uploaded_again_is_placed(stack: EmbeddedStack) -> None:
    first = put(stack, "uploads/again/a.png", png((250, 10, 10)))
    other = put(stack, "uploads/again/b.png", png((10, 10, 250)))
    stack.client("s3").delete_object(Bucket=stack.bucket, Key="uploads/again/a.png")
    # Each alone, so the event of the same bytes uploaded again is the same batch as the first.
    assert stack.deliver([first]) == {"delivered": 1, "failed": 0}
    assert stack.deliver([other]) == {"delivered": 1, "failed": 0}
    etag = first["detail"]["object"]["etag"]
    assert scan(S3Store(stack.bucket), "again")[("uploads/again/a.png", etag)]["reason"] == DELETED
    # The same bytes again: the same ETag. Its event embeds it, a redelivery does nothing more.
    again = put(stack, "uploads/again/a.png", png((250, 10, 10)))
    assert again["detail"]["object"]["etag"] == etag
    assert stack.deliver([again]) == {"delivered": 1, "failed": 0}
    assert "hash" in scan(S3Store(stack.bucket), "again")[("uploads/again/a.png", etag)]
    shards = len(list(S3Store(stack.bucket).list("vectors/again/shards/")))
    stack.deliver([again, first])
    assert len(list(S3Store(stack.bucket).list("vectors/again/shards/"))) == shards
    layout = layout_of(stack, "again")
    assert sorted(i["key"] for i in layout["images"]) == ["uploads/again/a.png", "uploads/again/b.png"]
    assert layout["skipped"] == []


def test_a_job_embeds_what_was_deleted_before_reading_when_it_exists_again(stack: EmbeddedStack) -> None:
    first = put(stack, "uploads/relisted/a.png", png((250, 250, 10)))
    put(stack, "uploads/relisted/b.png", png((10, 250, 250)))
    stack.client("s3").delete_object(Bucket=stack.bucket, Key="uploads/relisted/a.png")
    stack.deliver([first])
    put(stack, "uploads/relisted/a.png", png((250, 250, 10)))  # its event not delivered (yet)
    layout = layout_of(stack, "relisted")
    assert sorted(i["key"] for i in layout["images"]) == ["uploads/relisted/a.png", "uploads/relisted/b.png"]
