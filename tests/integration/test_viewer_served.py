"""The viewer of a finished job as a user opens it: the link the API answers, the bucket served over HTTP
(:mod:`gridtsne_dev.serve`, presigned URLs expiring as on AWS), in headless Chromium."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from gridtsne.aws.job import JobParams
from gridtsne.aws.table import JobTable
from gridtsne.store import S3Store
from gridtsne_dev.events import CALLER
from gridtsne_dev.serve import S3Server, expired
from gridtsne_dev.stack import EmbeddedStack

from tests.integration.chromium import NEEDS_CHROMIUM, Watch, near, open_viewer, rgb_at, shot, wait_until
from tests.unit.serverless import png, put, run_steps

#: Seconds a presigned URL lives here: long enough to open a page, short enough to wait past.
EXPIRES = 10
COLOURS = {"red.png": (220, 40, 40), "green.png": (40, 200, 60), "blue.png": (50, 80, 230)}
#: 33 cells of 512 px: wider than one mosaic picture may be, so the job writes a deep-zoom archive.
PARAMS = {"rows": 1, "cols": 33, "tile": 512}

pytestmark = [
    *NEEDS_CHROMIUM,
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    with S3Server() as server, EmbeddedStack(endpoint=server.endpoint, url_expires=EXPIRES) as running:
        yield running


@pytest.fixture(scope="module")
def job(stack: EmbeddedStack) -> dict[str, Any]:
    """Three pictures of one colour each laid out by the state machine's steps; the layout."""
    for name, colour in COLOURS.items():
        put(stack, f"uploads/deep/{name}", png(colour))
    job = "deep-0123456789abcdef0123456789abcdef"
    JobTable(stack.table).create(job, "deep", JobParams.model_validate(PARAMS), principal=CALLER)
    state = run_steps(stack, job, "deep", PARAMS)
    outputs = state["rendered"]["outputs"]
    assert "tiles" in outputs
    layout = json.loads(S3Store(stack.bucket).read(outputs["layout"]))
    return {
        "id": job,
        "cells": {image["key"].rsplit("/", 1)[-1]: image for image in layout["images"]},
        "page": S3Store(stack.bucket).read(outputs["viewer"]).decode(),
    }


def links(stack: EmbeddedStack, job: str) -> dict[str, str]:
    """The job's links as the API answers them now."""
    answer = stack.api("GET", f"/v2/visualizations/{job}")
    assert answer.status == 200
    return {name: link["url"] for name, link in answer.body["output"]["data"].items()}


def check_tiles_drawn(
    page: Any, watch: Watch, urls: dict[str, str], cells: dict[str, Any], path: Path
) -> None:
    """Every range request went to the one archive URL or the key file's, and each picture is drawn in its
    cell."""
    assert page.evaluate("gridtsneViewer.source()") == "tiles"
    assert {url for url, _ in watch.ranges} == {urls["tiles"], urls["keys"]}
    assert not any(urlsplit(u).path.endswith("mosaic.jpg") for u in watch.requests)
    image = shot(page, path)
    for name, colour in COLOURS.items():
        rect = page.evaluate(f"gridtsneViewer.cellRect({cells[name]['row']}, {cells[name]['col']})")
        x, y = rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2
        assert near(rgb_at(image, x, y), colour, tol=20), f"{name} at {(x, y)}: {rgb_at(image, x, y)}"


def test_the_stored_viewer_opens_through_fresh_links_after_the_first_expire(
    stack: EmbeddedStack, job: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    first = links(stack, job["id"])
    fragment = parse_qs(urlsplit(first["viewer"]).fragment)
    assert fragment == {"mosaic": [first["image"]], "tiles": [first["tiles"]], "keys": [first["keys"]]}
    watch = Watch()
    context, page = open_viewer(browser, first["viewer"], watch)
    check_tiles_drawn(page, watch, first, job["cells"], tmp_path / "first.png")
    assert len(watch.ranges) >= 3  # the archive's header and directory, then tiles; the key file's header
    watch.check()
    context.close()

    # past the links' expiry the first link is refused, as S3 refuses it ...
    deadline = int(parse_qs(urlsplit(first["viewer"]).query)["Expires"][0])
    time.sleep(max(0.0, deadline - time.time()) + 1.1)
    assert expired(urlsplit(first["tiles"]).query)
    stale = browser.new_context().new_page()
    assert stale.goto(first["viewer"]).status == 403
    stale.context.close()

    # ... and the link the API answers now opens the same stored page, with tiles
    fresh = links(stack, job["id"])
    assert fresh["viewer"] != first["viewer"]
    watch = Watch()
    context, page = open_viewer(browser, fresh["viewer"], watch)
    check_tiles_drawn(page, watch, fresh, job["cells"], tmp_path / "fresh.png")
    page.click("#zoom-in")
    page.click("#zoom-in")
    wait_until(page, "gridtsneViewer.idle()")
    assert {url for url, _ in watch.ranges} == {fresh["tiles"], fresh["keys"]}
    # the page holds no key: hovering a picture reads its key from the key file, through the fresh link
    page.keyboard.press("0")
    green = job["cells"]["green.png"]
    rect = page.evaluate(f"gridtsneViewer.cellRect({green['row']}, {green['col']})")
    page.mouse.move(rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2)
    wait_until(page, "document.querySelector('#tooltip-key').textContent === 'uploads/deep/green.png'")
    assert "uploads/deep/green.png" in page.inner_text("#status-cell")
    assert "uploads/deep/" not in job["page"]
    watch.check()
    context.close()
