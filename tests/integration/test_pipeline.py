"""End to end on folders: the digits' quality bar, determinism (bad inputs: ``test_hostile_inputs``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gridtsne.core.quality import dpq, knn_label_accuracy
from gridtsne.output.layout import check
from gridtsne.pipeline import Params, list_inputs, run, write_outputs
from gridtsne.store import LocalStore
from gridtsne_dev.samples import label_of

from tests.support import run_cli


@pytest.fixture(scope="module")
def digits_result(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, np.ndarray]:
    store = LocalStore(digits_dir)
    result = run(store, Params())
    out = LocalStore(tmp_path_factory.mktemp("digits-out"))
    files = write_outputs(result, out, Params())
    assert set(files) == {"layout.json", "mosaic.jpg", "viewer.html", "scatter.png"}
    return json.loads(files["layout.json"]), result.vectors


@pytest.mark.slow
def test_digits_every_image_placed_once(digits_result: tuple[dict, np.ndarray], digits_dir: Path) -> None:
    layout, _ = digits_result
    keys = list_inputs(LocalStore(digits_dir)).keys
    assert len(keys) == 1797
    check(layout, keys)
    assert len(layout["images"]) + len(layout["duplicates"]) == 1797
    assert layout["skipped"] == []


@pytest.mark.slow
def test_digits_quality(digits_result: tuple[dict, np.ndarray]) -> None:
    layout, vectors = digits_result
    cells = np.array([[im["row"], im["col"]] for im in layout["images"]])
    labels = [label_of(im["key"]) for im in layout["images"]]
    assert knn_label_accuracy(cells, labels, k=10) >= 0.80
    assert dpq(vectors, cells, p=16) >= 0.85
    assert layout["quality"]["dpq16"] == pytest.approx(dpq(vectors, cells, p=16), abs=1e-4)
    assert layout["quality"]["images"] == layout["quality"]["dpq_images"] == len(cells)


def test_same_input_and_seed_give_the_same_layout(small_digits_dir: Path, tmp_path: Path) -> None:
    layouts = []
    for attempt in range(2):
        out = tmp_path / str(attempt)
        code = run_cli("run", small_digits_dir, "--out", out, "--seed", 7).returncode
        assert code == 0
        layout = json.loads((out / "layout.json").read_text())
        layout.pop("timings")
        layouts.append(layout)
    assert layouts[0] == layouts[1]


def test_runtime_never_imports_torch(small_digits_dir: Path, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from gridtsne.pipeline import Params, run\n"
        "from gridtsne.store import LocalStore\n"
        f"run(LocalStore({str(small_digits_dir)!r}), Params())\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
