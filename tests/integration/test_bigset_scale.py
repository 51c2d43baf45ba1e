"""The big-set job, fully local, on synthetic collections in the real formats: every picture placed once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gridtsne.output.layout import check
from gridtsne_dev.lambdas import load_module
from gridtsne_dev.synthetic import JOB, cluster_of, write_synthetic_job

from tests.unit.serverless import ROOT


def run_synthetic(root: Path, n: int) -> tuple[dict[str, object], list[str]]:
    """Write ``n`` synthetic pictures under ``root``, run the job on them; its layout and the input keys."""
    written = write_synthetic_job(root, n, clusters=8, dim=64)
    job = load_module(ROOT / "jobs" / "bigset" / "run.py", "bigset_run_scale")
    job.run(JOB, None, input_root=root, output_root=root / "out")
    inputs = json.loads((root / "visualizations" / JOB / "inputs.json").read_text())
    keys = [key for key, _ in inputs["inputs"]]
    assert len(keys) == written.count == n
    out = root / "out" / "visualizations" / JOB
    assert {"layout.json", "mosaic.jpg", "scatter.png", "viewer.html"} <= {p.name for p in out.iterdir()}
    return json.loads((out / "layout.json").read_text()), keys


def assert_every_picture_placed_once(layout: dict[str, object], keys: list[str]) -> None:
    check(layout, keys)
    images = layout["images"]
    grid = layout["grid"]
    assert isinstance(images, list) and isinstance(grid, dict)
    assert sorted(image["key"] for image in images) == sorted(keys)  # each key exactly once
    cells = [(image["row"], image["col"]) for image in images]
    assert len(set(cells)) == len(keys)  # on distinct cells
    assert all(0 <= r < grid["rows"] and 0 <= c < grid["cols"] for r, c in cells)  # within the grid
    assert grid["rows"] * grid["cols"] >= len(keys)
    assert layout["skipped"] == [] and layout["duplicates"] == []


def same_cluster_share(layout: dict[str, object]) -> float:
    """Share of horizontally adjacent pictures that come from one cluster."""
    images = layout["images"]
    assert isinstance(images, list)
    at = {(image["row"], image["col"]): cluster_of(image["key"]) for image in images}
    pairs = [(label, at[(r, c + 1)]) for (r, c), label in at.items() if (r, c + 1) in at]
    return sum(a == b for a, b in pairs) / len(pairs)


def test_the_job_places_every_picture_of_a_small_synthetic_set(tmp_path: Path) -> None:
    layout, keys = run_synthetic(tmp_path, 1_000)
    assert_every_picture_placed_once(layout, keys)
    assert same_cluster_share(layout) > 0.7  # 8 clusters: 0.125 at random


@pytest.mark.slow
def test_the_job_at_20k_on_synthetic_input_places_every_picture(tmp_path: Path) -> None:
    layout, keys = run_synthetic(tmp_path, 20_000)
    assert_every_picture_placed_once(layout, keys)
    assert same_cluster_share(layout) > 0.7
