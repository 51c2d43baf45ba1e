"""The layout.json contract: a lossless round trip, the version, and :func:`check` catching broken layouts."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest
from gridtsne.output.layout import VERSION, Layout, check, quality_text


def sample() -> Layout:
    return Layout(
        rows=2,
        cols=3,
        tile=32,
        keys=["a.png", "sub/b.jpg", "c é.png"],
        cells=np.asarray([[0, 0], [1, 2], [0, 1]]),
        points=np.asarray([[0.5, -1.25], [3.0, 2.0], [-0.0625, 7.5]]),
        skipped=[{"key": "notes.txt", "reason": "not an image file"}],
        duplicates=[{"key": "copy.png", "same_as": "a.png"}],
        timings={"embed": 1.5, "reduce": 0.25},
        model={"name": "m", "input_size": 64},
        params={"perplexity": 30.0},
        quality={
            "dpq16": 0.9,
            "neighbours": 0.5,
            "k": 8,
            "images": 3,
            "dpq_images": 3,
            "neighbour_images": 3,
        },
    )


def test_round_trip_through_json_keeps_everything() -> None:
    layout = sample()
    data = json.loads(layout.to_json())
    assert data["version"] == VERSION
    assert data["images"][1] == {"key": "sub/b.jpg", "row": 1, "col": 2, "x": 3.0, "y": 2.0}
    back = Layout.from_dict(data)
    assert back.keys == layout.keys
    assert np.array_equal(back.cells, layout.cells) and np.array_equal(back.points, layout.points)
    assert (back.rows, back.cols, back.tile) == (2, 3, 32)
    assert back.skipped == layout.skipped and back.duplicates == layout.duplicates
    assert back.timings == layout.timings and back.model == layout.model and back.params == layout.params
    assert back.quality == layout.quality
    assert back.to_dict() == data


def test_an_empty_layout_round_trips() -> None:
    empty = Layout(1, 1, 16, [], np.zeros((0, 2), dtype=np.int64), np.zeros((0, 2)))
    back = Layout.from_dict(empty.to_dict())
    assert back.cells.shape == (0, 2) and back.points.shape == (0, 2)


@pytest.mark.parametrize("version", [None, 0, 2, "1"])
def test_other_versions_are_refused(version: object) -> None:
    data = sample().to_dict()
    data["version"] = version
    with pytest.raises(ValueError, match="unsupported layout version"):
        Layout.from_dict(data)


def test_a_sound_layout_passes_check() -> None:
    check(sample().to_dict(), ["a.png", "sub/b.jpg", "c é.png", "notes.txt", "copy.png"])


def broken(change: str) -> dict[str, Any]:
    data = copy.deepcopy(sample().to_dict())
    images = data["images"]
    if change == "shared cell":
        images[1].update(row=0, col=0)
    elif change == "row below":
        images[1]["row"] = 2
    elif change == "col below":
        images[1]["col"] = 3
    elif change == "negative":
        images[0]["row"] = -1
    elif change == "placed and skipped":
        data["skipped"].append({"key": "a.png", "reason": "corrupt image"})
    elif change == "placed twice":
        images.append({"key": "a.png", "row": 1, "col": 0, "x": 0, "y": 0})
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("shared cell", "two images share a cell"),
        ("row below", "outside the grid"),
        ("col below", "outside the grid"),
        ("negative", "outside the grid"),
        ("placed and skipped", "more than once"),
        ("placed twice", "more than once"),
    ],
)
def test_check_catches_broken_layouts(change: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check(broken(change))


def test_check_compares_with_the_inputs() -> None:
    data = sample().to_dict()
    keys = ["a.png", "sub/b.jpg", "c é.png", "notes.txt", "copy.png"]
    with pytest.raises(ValueError, match=r"missing \['lost.png'\], unexpected \[\]"):
        check(data, [*keys, "lost.png"])
    with pytest.raises(ValueError, match=r"missing \[\], unexpected \['copy.png'\]"):
        check(data, keys[:-1])


def test_quality_text_says_what_the_numbers_are() -> None:
    block = {"dpq16": 0.91234, "neighbours": 0.4567, "k": 8, "images": 20_000, "dpq_images": 4000}
    text = quality_text({**block, "neighbour_images": 10_000})
    assert text.startswith(
        "DPQ16 0.912 · neighbours 46% (of the 8 cells around each image, the share holding"
    )
    assert text.endswith("on a sample)")
    whole = quality_text({**block, "images": 4000, "neighbour_images": 4000})
    assert "sample" not in whole
