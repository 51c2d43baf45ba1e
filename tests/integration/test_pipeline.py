"""End to end on folders: the digits' quality bar, a corpus of bad inputs, determinism."""

from __future__ import annotations

import io
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
from PIL import Image

from tests.support import encode, exif_rotated_jpeg, png_claiming, run_cli


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


def write_bad_corpus(root: Path) -> dict[str, str]:
    """Write the corpus; return each file's expected outcome: 'placed', 'duplicate' or a skip reason."""
    rng = np.random.default_rng(0)

    def noise(size: tuple[int, int] = (48, 48)) -> Image.Image:
        return Image.fromarray(rng.integers(0, 255, (*size[::-1], 3), dtype=np.uint8))

    files: dict[str, tuple[bytes, str]] = {
        "empty.jpg": (b"", "empty file"),
        "truncated.jpg": (encode(noise((200, 200)), "JPEG")[:400], "corrupt image"),
        "text.jpg": (b"this is not a picture\n", "not an image (unknown format)"),
        "tiny.png": (b"", "placed"),
        "bomb.png": (png_claiming(30000, 30000), "image too large"),
        "cmyk.jpg": (encode(Image.new("CMYK", (40, 40), (0, 200, 200, 0)), "JPEG"), "placed"),
        "deep.png": (b"", "placed"),
        "palette.png": (b"", "placed"),
        "rotated.jpg": (exif_rotated_jpeg(), "duplicate"),
        "animated.gif": (b"", "placed"),
        "with space.png": (b"", "placed"),
        "ünïcödé 写真.png": (b"", "placed"),
        "nested/deeper/leaf.webp": (b"", "placed"),
        "notes.txt": (b"just notes", "not an image file"),
        "data.csv": (b"a,b\n1,2\n", "not an image file"),
        "copy-of-rotated.jpg": (exif_rotated_jpeg(), "placed"),  # first in key order
    }
    buffers: dict[str, Image.Image] = {
        "tiny.png": Image.new("RGB", (1, 1), "red"),
        "deep.png": Image.fromarray((np.arange(48 * 48).reshape(48, 48) * 28).astype(np.uint16)),
        "palette.png": noise().convert("P"),
        "with space.png": noise(),
        "ünïcödé 写真.png": noise(),
        "nested/deeper/leaf.webp": noise(),
    }
    expected: dict[str, str] = {}
    for name, (data, outcome) in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name in buffers:
            buffer = io.BytesIO()
            image = buffers[name]
            kwargs = {"transparency": 0} if name == "palette.png" else {}
            image.save(buffer, Image.registered_extensions()[path.suffix], **kwargs)
            data = buffer.getvalue()
        if name == "animated.gif":
            buffer = io.BytesIO()
            frames = [noise() for _ in range(3)]
            frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
            data = buffer.getvalue()
        path.write_bytes(data)
        expected[name] = outcome
    for i in range(6):  # a few ordinary images so t-SNE has something to do
        name = f"plain/{i}.png"
        (root / "plain").mkdir(exist_ok=True)
        noise().save(root / name)
        expected[name] = "placed"
    return expected


def test_bad_inputs_are_skipped_with_their_reason(tmp_path: Path) -> None:
    expected = write_bad_corpus(tmp_path / "in")
    proc = run_cli("run", tmp_path / "in", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    layout = json.loads((tmp_path / "out" / "layout.json").read_text())
    check(layout, list(expected))
    outcome = {im["key"]: "placed" for im in layout["images"]}
    outcome |= {d["key"]: "duplicate" for d in layout["duplicates"]}
    outcome |= {s["key"]: s["reason"] for s in layout["skipped"]}
    for key, want in expected.items():
        assert outcome[key].startswith(want), (key, outcome[key])
    assert layout["duplicates"] == [{"key": "rotated.jpg", "same_as": "copy-of-rotated.jpg"}]
    assert "skipped 6" in proc.stderr


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
