"""Helpers for the serverless tests: sample events, sample images, an embedded stack."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from gridtsne_dev.events import object_created_event
from gridtsne_dev.samples import write_digits
from gridtsne_dev.stack import EmbeddedStack
from PIL import Image

from tests.support import ROOT, encode

EVENTS = ROOT / "events"


def event(name: str) -> dict[str, Any]:
    """A sample event from ``events/`` (a fresh copy)."""
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return copy.deepcopy(data)


def png(colour: tuple[int, int, int], size: int = 48) -> bytes:
    """A small solid PNG."""
    return encode(Image.new("RGB", (size, size), colour), "PNG")


def upload_digits(stack: EmbeddedStack, tmp: Path, collection: str, count: int) -> list[dict[str, Any]]:
    """Upload ``count`` sample digits to ``uploads/<collection>/``; return their Object Created events."""
    folder = tmp / f"digits-{count}"
    if not folder.exists():
        write_digits(folder, limit=count)
    return stack.upload(folder, collection)


def put(stack: EmbeddedStack, key: str, data: bytes) -> dict[str, Any]:
    """Put one object; return its Object Created event."""
    return stack.put_object(key, data)


def created(stack: EmbeddedStack, key: str, data: bytes) -> dict[str, Any]:
    """The Object Created event for ``key`` (without putting it)."""
    return object_created_event(stack.bucket, key, len(data), "")


def run_steps(
    stack: EmbeddedStack, job: str, collection: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run the state machine's Lambda steps by hand, in order, as the small-set branch does."""
    state: dict[str, Any] = {"job_id": job, "collection": collection, "params": params or {}}
    state["prepared"] = stack.shim.invoke("prepare", state)
    for batch in state["prepared"]["batches"]:
        item = {
            "job_id": job,
            "collection": collection,
            "inputs": state["prepared"]["inputs"],
            "batch": batch,
            "batches": state["prepared"]["batch_count"],
        }
        stack.shim.invoke("embed", item)
    state["reduced"] = stack.shim.invoke("reduce", state)
    state["rendered"] = stack.shim.invoke("render", state)
    state["published"] = stack.shim.invoke("publish", state)
    return state
