"""The state machine's Lambda steps, called one by one with state inputs: prepare, reduce, render,
publish and fail."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import requests
from gridtsne.aws.job import NO_BIG_SET, JobParams
from gridtsne.aws.table import JobTable
from gridtsne.aws.uploads import shared_embedder
from gridtsne.core.images import decode, square
from gridtsne.output.keyfile import read_block, read_index
from gridtsne.output.layout import check
from gridtsne.pipeline import list_inputs
from gridtsne.store import S3Store
from gridtsne_dev.stack import EmbeddedStack
from PIL import Image
from pmtiles.reader import MemorySource, Reader

from tests.unit.serverless import event, png, put, run_steps, upload_digits

#: Handlers that emit no metric (a GET, a failure) make Powertools warn; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


@pytest.fixture(scope="module")
def finished(stack: EmbeddedStack, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A 14-file collection (12 digits, one copy, one corrupt file) run through every step."""
    tmp = tmp_path_factory.mktemp("steps")
    upload_digits(stack, tmp, "steps", 12)
    first = S3Store(stack.bucket).read(list_inputs(S3Store(stack.bucket), "uploads/steps/").images[0].key)
    put(stack, "uploads/steps/zz copy.png", first)
    put(stack, "uploads/steps/zz corrupt.png", b"\x89PNG\r\n\x1a\n broken")
    job = "steps-0123456789abcdef0123456789abcdef"
    JobTable(stack.table).create(job, "steps", JobParams(tile=32, perplexity=5))
    stack.received_events()
    return run_steps(stack, job, "steps", {"tile": 32, "perplexity": 5})


def test_prepare_snapshots_inputs_and_batches_missing(stack: EmbeddedStack, finished: dict) -> None:
    prepared = finished["prepared"]
    assert (prepared["count"], prepared["missing"], prepared["threshold"]) == (14, 14, 100_000)
    assert prepared["batches"] == [0] and prepared["batch_count"] == 1
    assert len(prepared["processing_job_name"]) <= 63
    doc = json.loads(S3Store(stack.bucket).read(prepared["inputs"]))
    assert len(doc["inputs"]) == 14 and doc["params"]["tile"] == 32
    # The state stays small: keys, not vectors.
    assert len(json.dumps(finished)) < 4000


def test_reduce_writes_points_for_placed_images(stack: EmbeddedStack, finished: dict) -> None:
    points = np.load(io.BytesIO(S3Store(stack.bucket).read(finished["reduced"]["points"])))
    assert points.shape == (12, 2) and np.isfinite(points).all()
    assert finished["reduced"]["count"] == 12


def test_render_writes_every_output(stack: EmbeddedStack, finished: dict) -> None:
    store = S3Store(stack.bucket)
    rendered = finished["rendered"]
    assert (rendered["count"], rendered["skipped"], rendered["duplicates"]) == (12, 1, 1)
    layout = json.loads(store.read(rendered["outputs"]["layout"]))
    check(layout, [o.key for o in list_inputs(store, "uploads/steps/").images])
    assert layout["grid"]["tile"] == 32
    assert layout["skipped"][0]["key"] == "uploads/steps/zz corrupt.png"
    assert layout["duplicates"][0]["key"] == "uploads/steps/zz copy.png"
    assert layout["quality"]["images"] == 12 and 0 < layout["quality"]["dpq16"] <= 1
    assert layout["params"]["refine"] == {"radius": 1.5, "dims": 128, "max_sweeps": 6}
    # What the reduce Lambda ran travels with its points to the render Lambda's layout.
    assert layout["params"]["tsne"]["backend"] == "opentsne"
    mosaic = Image.open(io.BytesIO(store.read(rendered["outputs"]["image"])))
    assert mosaic.size == (layout["grid"]["cols"] * 32, layout["grid"]["rows"] * 32)
    viewer = store.read(rendered["outputs"]["viewer"]).decode()
    assert "Signature=" not in viewer and "Expires=" not in viewer  # nothing in the page expires
    assert '"mosaic":"mosaic.jpg"' in viewer and "tiles" not in rendered["outputs"]
    assert Image.open(io.BytesIO(store.read(rendered["outputs"]["scatter"]))).format == "PNG"


def test_publish_marks_succeeded_and_announces(stack: EmbeddedStack, finished: dict) -> None:
    record = JobTable(stack.table).get(finished["job_id"])
    assert record is not None and record.status == "SUCCEEDED" and record.count == 12
    assert record.outputs == finished["rendered"]["outputs"]
    layout = json.loads(S3Store(stack.bucket).read(record.outputs["layout"]))
    assert record.quality == layout["quality"]  # the API shows the layout's quality block
    (announced,) = [e for e in stack.received_events() if e["detail"]["id"] == finished["job_id"]]
    assert announced["source"] == "gridtsne" and announced["detail-type"] == "Visualization Succeeded"
    assert announced["detail"]["count"] == 12
    fetched = requests.get(announced["detail"]["urls"]["image"], timeout=10)
    assert fetched.status_code == 200 and fetched.content[:2] == b"\xff\xd8"


def test_publish_refuses_missing_outputs(stack: EmbeddedStack) -> None:
    JobTable(stack.table).create("nothing", "steps", JobParams())
    with pytest.raises(Exception, match="outputs not found") as raised:
        stack.shim.invoke("publish", {"job_id": "nothing"})
    assert type(raised.value).__name__ == "TransientError"


def test_steps_of_an_unknown_job_fail(stack: EmbeddedStack) -> None:
    with pytest.raises(KeyError, match="no job record"):
        stack.shim.invoke("fail", {"job_id": "never-created", "error": {"Error": "X", "Cause": "y"}})


def test_fail_records_the_cause_and_announces(stack: EmbeddedStack) -> None:
    state = event("state_fail.json")
    JobTable(stack.table).create(state["job_id"], "demo", JobParams())
    stack.received_events()
    result = stack.shim.invoke("fail", state)
    assert result["status"] == "FAILED" and result["error"] == "NoImagesError"
    record = JobTable(stack.table).get(state["job_id"])
    assert record is not None and record.status == "FAILED"
    assert record.cause is not None and record.cause.startswith("no usable images in collection 'demo'")
    (announced,) = stack.received_events()
    assert announced["detail-type"] == "Visualization Failed"
    assert announced["detail"]["error"] == "NoImagesError"


def test_reduce_of_only_corrupt_files_raises_no_images(stack: EmbeddedStack, tmp_path: Path) -> None:
    put(stack, "uploads/junk/a.png", b"not a png")
    put(stack, "uploads/junk/b.jpg", b"")
    with pytest.raises(Exception, match="no usable images") as raised:
        run_steps(stack, "junk-job", "junk")
    assert type(raised.value).__name__ == "NoImagesError"


def test_prepare_of_an_empty_collection_raises(stack: EmbeddedStack) -> None:
    with pytest.raises(Exception, match="no files under uploads/void/"):
        stack.shim.invoke("prepare", {"job_id": "void-job", "collection": "void", "params": {}})


def test_larger_tiles_are_cut_from_the_originals(stack: EmbeddedStack) -> None:
    """Tiles above the stored 64 px thumbnails come from the originals: 2 px patterns survive a 128 px
    tile but average to flat grey in a 64 px thumbnail, so an upscaled thumbnail cannot show them."""
    yy, xx = np.mgrid[:256, :256] // 2
    patterns = {"checks.png": (yy + xx) % 2 * 255, "stripes.png": yy % 2 * 255}
    originals = {}
    for name, pattern in patterns.items():
        buffer = io.BytesIO()
        Image.fromarray(pattern.astype(np.uint8)).convert("RGB").save(buffer, "PNG")
        originals[name] = buffer.getvalue()
        put(stack, f"uploads/big/{name}", originals[name])
    JobTable(stack.table).create("big-job", "big", JobParams(tile=128))
    state = run_steps(stack, "big-job", "big", {"tile": 128})
    store = S3Store(stack.bucket)
    mosaic = np.asarray(Image.open(io.BytesIO(store.read(state["rendered"]["outputs"]["image"]))), float)
    layout = json.loads(store.read(state["rendered"]["outputs"]["layout"]))
    assert layout["grid"]["tile"] == 128 and len(layout["images"]) == 2
    for image in layout["images"]:
        data = originals[image["key"].rsplit("/", 1)[-1]]
        top, left = image["row"] * 128, image["col"] * 128
        tile = mosaic[top : top + 128, left : left + 128]
        cut = np.asarray(square(decode(data), 128), float)
        upscaled = np.asarray(square(decode(data), 64).resize((128, 128), Image.Resampling.LANCZOS), float)
        assert upscaled.std() < 8 < 20 < cut.std()  # a thumbnail cannot hold the pattern
        assert np.abs(tile - cut).mean() < 8 < 20 < np.abs(tile - upscaled).mean()


def test_a_grid_too_big_for_one_picture_gets_one_tile_archive_behind_a_fresh_link(
    stack: EmbeddedStack,
) -> None:
    colours = {"red.png": (220, 40, 40), "blue.png": (50, 80, 230)}
    for name, colour in colours.items():
        put(stack, f"uploads/wide/{name}", png(colour))
    params = {"rows": 1, "cols": 33, "tile": 512}  # 16,896 px wide: more than one mosaic picture may be
    JobTable(stack.table).create("wide-job", "wide", JobParams.model_validate(params))
    state = run_steps(stack, "wide-job", "wide", params)
    store = S3Store(stack.bucket)
    outputs = state["rendered"]["outputs"]
    assert outputs["tiles"] == "visualizations/wide-job/tiles.pmtiles"
    reader = Reader(MemorySource(store.read(outputs["tiles"])))
    top = reader.header()["max_zoom"]
    layout = json.loads(store.read(outputs["layout"]))
    for image in layout["images"]:  # each picture at full resolution in the finest tiles
        x, y = image["col"] * 512 + 256, 256
        tile = np.asarray(Image.open(io.BytesIO(reader.get(top, x // 256, y // 256))).convert("RGB"))
        colour = colours[image["key"].rsplit("/", 1)[-1]]
        assert np.abs(tile[y % 256, x % 256].astype(int) - colour).max() < 12
    viewer = store.read(outputs["viewer"]).decode()
    assert "Signature=" not in viewer and '"url":"tiles.pmtiles"' in viewer
    assert (
        outputs["keys"] == "visualizations/wide-job/keys.bin"
    )  # the keys beside the archive, not in the page
    assert "uploads/wide/" not in viewer and '"keyfile":{"url":"keys.bin"}' in viewer
    keys = io.BytesIO(store.read(outputs["keys"]))
    block = read_block(keys, read_index(keys), 0)  # 33 cells: one block
    assert all(block["keys"][image["col"]] == image["key"] for image in layout["images"])
    data = state["published"]["output"]["data"]  # what the API answers: one link per file
    assert set(data) == {"image", "layout", "viewer", "scatter", "tiles", "keys"}
    fragment = parse_qs(urlsplit(data["viewer"]["url"]).fragment)
    assert fragment == {
        "mosaic": [data["image"]["url"]],
        "tiles": [data["tiles"]["url"]],
        "keys": [data["keys"]["url"]],
    }
    assert JobTable(stack.table).get("wide-job").outputs == outputs  # type: ignore[union-attr]
    (announced,) = [e for e in stack.received_events() if e["detail"]["id"] == "wide-job"]
    urls = announced["detail"]["urls"]  # the event's links, checked against its schema on the way
    assert parse_qs(urlsplit(urls["viewer"]).fragment)["tiles"] == [urls["tiles"]]


def test_render_names_the_model_from_the_shards_without_the_model_file(
    stack: EmbeddedStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The render function has no model layer on AWS: the record comes from the shards' manifests.
    put(stack, "uploads/nomodel/red.png", png((230, 0, 0)))
    put(stack, "uploads/nomodel/blue.png", png((0, 0, 230)))
    JobTable(stack.table).create("nomodel-job", "nomodel", JobParams(tile=16))
    state = {"job_id": "nomodel-job", "collection": "nomodel", "params": {"tile": 16}}
    prepared = stack.shim.invoke("prepare", state)
    item = {"job_id": "nomodel-job", "inputs": prepared["inputs"], "batch": 0}
    assert stack.shim.invoke("embed", item)["embedded"] == 2
    embedded_with = json.loads(json.dumps(shared_embedder().describe()))
    monkeypatch.setenv("GRIDTSNE_MODEL", str(tmp_path / "no such model.onnx"))
    stack.shim.invoke("reduce", state)
    rendered = stack.shim.invoke("render", state)
    layout = json.loads(S3Store(stack.bucket).read(rendered["outputs"]["layout"]))
    assert layout["model"] == embedded_with
    assert layout["model"]["name"] == "efficientnet_lite0" and layout["model"]["sha256"]
    assert layout["model"]["input_size"] == 224


def test_publish_keeps_the_success_when_the_event_cannot_be_sent(
    stack: EmbeddedStack, finished: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gridtsne.aws.outcome

    job = "steps-quiet-bus"
    s3 = stack.client("s3")
    for key in finished["rendered"]["outputs"].values():
        copy = key.replace(finished["job_id"], job)
        s3.copy_object(Bucket=stack.bucket, Key=copy, CopySource={"Bucket": stack.bucket, "Key": key})
    JobTable(stack.table).create(job, "steps", JobParams())
    stack.received_events()

    def refused(*args: object, **kwargs: object) -> None:
        raise RuntimeError("EventBridge rejected 'Visualization Succeeded'")

    monkeypatch.setattr(gridtsne.aws.outcome, "publish_event", refused)
    result = stack.shim.invoke("publish", {"job_id": job})
    assert (result["status"], result["announced"]) == ("SUCCEEDED", False)
    record = JobTable(stack.table).get(job)
    assert record is not None and record.status == "SUCCEEDED" and record.count == 12
    assert all(S3Store(stack.bucket).exists(key) for key in record.outputs.values())
    assert stack.received_events() == []


def test_a_late_failure_does_not_undo_a_success(stack: EmbeddedStack, finished: dict) -> None:
    stack.received_events()
    failure = {"job_id": finished["job_id"], "error": {"Error": "States.Runtime", "Cause": "late"}}
    result = stack.shim.invoke("fail", failure)
    assert (result["status"], result["recorded"], result["announced"]) == ("SUCCEEDED", False, False)
    record = JobTable(stack.table).get(finished["job_id"])
    assert record is not None and record.status == "SUCCEEDED" and record.error is None
    assert stack.received_events() == []


def test_tiles_that_would_not_fit_the_render_lambdas_disk_lower_the_threshold() -> None:
    # 6 GiB of spool: 12 KiB a picture at the stored 64 px, plus the tiles cut at any other size.
    assert JobParams(tile=64).lambda_limit(100_000) == 100_000
    assert JobParams(tile=32).lambda_limit(100_000) == 100_000  # made from the stored thumbnails
    assert JobParams(tile=32).lambda_limit(10**6) == 6 * 1024**3 // (3 * (64**2 + 32**2))
    # Larger tiles are cut from the originals, one at a time: at most 18,000 in a third of 15 minutes.
    assert JobParams(tile=128).lambda_limit(100_000) == 18_000
    assert JobParams(tile=512).lambda_limit(100_000) == 8_065
    assert JobParams(tile=512).lambda_limit(NO_BIG_SET) == NO_BIG_SET  # a stack without the big-set job
