"""The Lambda layer build, on small fake installations: trimming, the split into layers, the cache."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from gridtsne_dev.layers import build
from gridtsne_dev.layers.deps import BASE_GROUP, RUNTIME_GROUP, distributions, group_distributions
from gridtsne_dev.layers.trim import trim


def _install(site: Path, name: str, files: dict[str, str], requires: tuple[str, ...] = ()) -> None:
    """A fake installed distribution: its files, METADATA and a RECORD listing them."""
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    metadata = [f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"]
    metadata += [f"Requires-Dist: {r}\n" for r in requires]
    (info / "METADATA").write_text("".join(metadata))
    rows = []
    for relative, text in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
        rows.append([relative, "sha256=x", str(len(text))])
    rows += [[f"{info.name}/METADATA", "", ""], [f"{info.name}/RECORD", "", ""]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    (info / "RECORD").write_text(out.getvalue())


def test_trim_removes_what_lambda_never_loads_and_keeps_records_valid(tmp_path: Path) -> None:
    _install(
        tmp_path,
        "pkg",
        {
            "pkg/__init__.py": "x = 1\n",
            "pkg/core.pyi": "x: int\n",
            "pkg/fast.c": "int x;\n",
            "pkg/tests/test_pkg.py": "def test(): ...\n",
            "pkg/__pycache__/core.cpython-312.pyc": "code",
            "bin/pkg-cli": "#!/bin/sh\n",
        },
    )
    trim(tmp_path)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["pkg-1.0.dist-info/METADATA", "pkg-1.0.dist-info/RECORD", "pkg/__init__.py"]
    record = (tmp_path / "pkg-1.0.dist-info" / "RECORD").read_text()
    assert [row[0] for row in csv.reader(io.StringIO(record))] == [
        "pkg/__init__.py",
        "pkg-1.0.dist-info/METADATA",
        "pkg-1.0.dist-info/RECORD",
    ]


def test_each_distribution_goes_to_the_one_layer_that_needs_it(tmp_path: Path) -> None:
    _install(tmp_path, "onnxruntime", {"onnxruntime/__init__.py": ""}, ("numpy", "flatbuffers"))
    _install(tmp_path, "scipy", {"scipy/__init__.py": ""}, ("numpy", 'pywin32; sys_platform == "win32"'))
    _install(tmp_path, "scikit-learn", {"sklearn/__init__.py": ""}, ("scipy", "threadpoolctl"))
    _install(tmp_path, "numpy", {"numpy/__init__.py": ""})
    _install(tmp_path, "flatbuffers", {"flatbuffers/__init__.py": ""})
    _install(tmp_path, "threadpoolctl", {"threadpoolctl.py": ""})
    _install(tmp_path, "pillow", {"PIL/__init__.py": ""})
    _install(tmp_path, "pywin32", {"win32/__init__.py": ""})
    _install(tmp_path, "aws-xray-sdk", {"aws_xray_sdk/__init__.py": ""}, ("botocore",))
    _install(tmp_path, "botocore", {"botocore/__init__.py": ""})
    assert set(distributions(tmp_path)) >= {"scikit-learn", "aws-xray-sdk"}  # canonical names
    roots = {
        "onnxruntime": "OnnxRuntimeLayer",
        "scipy": "ScienceLayer",
        "scikit-learn": "ScienceLayer",
        "pillow": BASE_GROUP,
        "aws-xray-sdk": BASE_GROUP,
    }
    assert group_distributions(tmp_path, roots) == {
        "onnxruntime": "OnnxRuntimeLayer",
        "flatbuffers": "OnnxRuntimeLayer",  # only ONNX Runtime needs it
        "scipy": "ScienceLayer",
        "scikit-learn": "ScienceLayer",
        "threadpoolctl": "ScienceLayer",
        "numpy": BASE_GROUP,  # both need it
        "pillow": BASE_GROUP,
        "pywin32": BASE_GROUP,  # only SciPy on Windows needs it: reached from nothing, left with the rest
        "aws-xray-sdk": BASE_GROUP,
        "botocore": RUNTIME_GROUP,  # the Lambda runtime has it
    }


def test_a_layer_is_rebuilt_only_when_its_inputs_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "model.onnx"
    source.write_text("v1")
    builds = []

    def make(dest: Path) -> None:
        builds.append(source.read_text())
        (dest / "model").mkdir()
        (dest / "model" / "model.onnx").write_text(source.read_text())

    monkeypatch.setattr(build, "ROOT", tmp_path)
    monkeypatch.setattr(build, "CACHE", tmp_path / "build" / "layers")
    monkeypatch.setitem(build._RECIPES, "model", build._Recipe(make, lambda: [source]))
    first = build.build_layer("ModelLayer")
    assert build.build_layer("ModelLayer") == first and builds == ["v1"]
    source.write_text("v2")
    assert (build.build_layer("ModelLayer") / "model" / "model.onnx").read_text() == "v2"
    assert builds == ["v1", "v2"]
    build.copy_layer("ModelLayer", tmp_path / "artifacts")
    assert (tmp_path / "artifacts" / "model" / "model.onnx").read_text() == "v2"
    assert builds == ["v1", "v2"]
