"""The command line: usage errors exit 2, failures exit 1 with one line, success writes the outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from gridtsne.cli import main

from tests.support import run_cli


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("gridtsne ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "{dir}", "--out", "{out}", "--grid", "banana"], "RxC"),
        (["run", "{dir}/missing", "--out", "{out}"], "not a folder"),
        (["run", "{dir}", "--out", "{out}", "--tile", "0"], "--tile"),
        (["run", "{dir}", "--out", "{out}", "--background", "#12345"], "not a colour: '#12345'"),
        (["run", "{dir}", "--out", "{out}", "--model", "{dir}/nope.onnx"], "model file not found"),
    ],
)
def test_usage_errors_exit_2(
    args: list[str], message: str, small_digits_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.format(dir=small_digits_dir, out=tmp_path / "out") for a in args]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_grid_too_small_fails(
    small_digits_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(small_digits_dir), "--out", str(tmp_path), "--grid", "3x3"]) == 1
    assert "a 3x3 grid has 9 cells, fewer than the 120 images" in capsys.readouterr().err


def test_a_folder_without_images_fails_with_one_line_and_writes_why(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("no pictures here")
    out = tmp_path / "out"
    proc = run_cli("run", tmp_path / "in", "--out", out)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"gridtsne: failed: no usable images among 1 files (why: {out / 'layout.json'})"
    assert "skipped 1: not an image file (1)" in proc.stderr
    layout = json.loads((out / "layout.json").read_text())
    assert layout["skipped"] == [{"key": "notes.txt", "reason": "not an image file"}]
    assert layout["quality"] == {}  # nothing placed, nothing measured
    assert "quality:" not in proc.stderr


def test_run_writes_every_output(small_digits_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("run", small_digits_dir, "--out", out, "--grid", "10x12")
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} >= {"layout.json", "mosaic.jpg", "viewer.html", "scatter.png"}
    layout = json.loads((out / "layout.json").read_text())
    assert layout["grid"] == {"rows": 10, "cols": 12, "tile": 64}
    for stage in ("embed", "reduce", "assign", "render"):
        assert f"{stage}" in proc.stderr
    # The reduce line counts its steps (PCA, affinities, t-SNE iterations), not only its start and end.
    steps = re.search(r"^reduce +\[#+\] (\d+)/\1 ", proc.stderr, re.MULTILINE)
    assert steps is not None and int(steps[1]) > 375, proc.stderr
    assert "placed 120 images on a 10x12 grid" in proc.stderr
    quality = layout["quality"]
    assert (quality["images"], quality["k"]) == (120, 8) and 0.5 < quality["dpq16"] <= 1
    assert f"quality: DPQ16 {quality['dpq16']:.3f} · neighbours {quality['neighbours']:.0%}" in proc.stderr
    assert layout["params"]["refine"] == {"radius": 1.5, "dims": 128, "max_sweeps": 6}
    assert layout["params"]["pca_dims"] == 50 and layout["model"]["input_size"] == 224
    assert layout["params"]["tsne"]["backend"] == "opentsne"  # no CUDA device here
