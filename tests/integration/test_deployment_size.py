"""Every function, with its layers, fits Lambda's 250 MB unzipped limit and imports with only those layers.

The layers are built for real (``layers/build.py``: Lambda-platform wheels, trimmed) and cached under
``layers/*/build``, so only the first run pays for the download (~1 minute).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, layer_build

build = layer_build()


@pytest.fixture(scope="module")
def layers() -> dict[str, Path]:
    try:
        return dict(build.build_all())
    except build.BuildError as error:
        pytest.fail(f"layer build failed: {error}")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return dict(build.load_template(ROOT / "template.yaml"))


def test_each_function_with_its_layers_fits_lambda(
    layers: dict[str, Path], template: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sizes = build.function_sizes(template)
    assert len(sizes) >= 8
    with capsys.disabled():
        print("\nunzipped size of each function (code + layers), limit 250 MiB:")
        for function, parts in sizes.items():
            detail = ", ".join(
                f"{k.removeprefix('layers/').replace('/build/layer', '')} {v / 2**20:.1f}"
                for k, v in parts.items()
            )
            print(f"  {function:<18} {sum(parts.values()) / 2**20:6.1f} MiB  ({detail})")
    for function, parts in sizes.items():
        assert sum(parts.values()) <= build.LAMBDA_UNZIPPED_LIMIT, function
        # Every layer it names exists and is not empty (a missing folder would measure 0).
        assert all(size > 0 for key, size in parts.items() if key != "code"), function


def test_layers_were_trimmed_and_records_stay_valid(layers: dict[str, Path]) -> None:
    deps = layers["deps"]
    assert not list(deps.rglob("__pycache__")), "byte code is compiled at import, not shipped"
    assert not [p for p in deps.rglob("tests") if p.is_dir()], "test suites are not shipped"
    for record in deps.glob("*/python/*.dist-info/RECORD"):
        site = record.parent.parent
        for line in record.read_text().splitlines():
            path = line.split(",")[0]
            assert (site / path).is_file(), f"{record}: lists {path}, which is not in the layer"
    assert (layers["model"] / "model" / f"{build.MODEL_NAME}.onnx").is_file()
    assert (layers["gridtsne"] / "python" / "gridtsne" / "__init__.py").is_file()


def test_layer_versions_are_the_tested_versions(layers: dict[str, Path]) -> None:
    pinned = {}
    for line in (ROOT / "layers" / "deps" / "requirements.txt").read_text().splitlines():
        name = build.requirement_name(line)
        if name:
            pinned[name] = line.split("==", 1)[1].split("#", 1)[0].strip()
    for name, version in pinned.items():
        assert importlib.metadata.version(name) == version, (
            f"the tests run {name} {importlib.metadata.version(name)}"
        )
    shipped = {}
    for group in layers["deps"].iterdir():
        shipped.update({k: v.name for k, v in build.distributions(group / "python").items()})
    for name, version in pinned.items():
        assert f"-{version}.dist-info" in shipped[name], (name, shipped[name])


def test_no_library_needs_a_newer_glibc_than_lambda(layers: dict[str, Path]) -> None:
    assert build.too_new_symbols(layers["deps"]) == []


def test_each_handler_imports_with_only_its_layers(layers: dict[str, Path], template: dict[str, Any]) -> None:
    """Import each handler in the target interpreter with only its code, its layers and boto3 on the path."""
    try:
        python = build.target_python()
    except build.BuildError as error:
        pytest.skip(str(error))
    runtime = build.lambda_runtime()
    glob = template["Globals"]["Function"]
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1", "HOME": "/tmp"}
    defaults = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    for name, value in glob["Environment"]["Variables"].items():
        if isinstance(value, dict) and "Ref" in value:
            value = defaults.get(value["Ref"], "placeholder")
        env[name] = value if isinstance(value, str) else "4096"  # the one !If picks a number
    for function, folders in build.function_layers(template).items():
        code, *layer_folders = folders
        path = [
            str(code),
            *(str(f / "python") for f in layer_folders if (f / "python").is_dir()),
            str(runtime),
        ]
        handler = template["Resources"][function]["Properties"].get("Handler", glob["Handler"])
        module, _, attr = handler.rpartition(".")
        script = (
            f"import sys; sys.path[:0] = {json.dumps(path)}; import {module}; "
            f"assert callable({module}.{attr}); print('ok')"
        )
        done = subprocess.run(
            [python, "-S", "-B", "-c", script],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0 and done.stdout.strip().endswith("ok"), (
            f"{function}:\n{done.stderr[-2000:]}"
        )


def test_the_embedding_model_runs_from_the_layers(layers: dict[str, Path]) -> None:
    """The embed function's layers alone load the model from the model layer and open a session."""
    try:
        python = build.target_python()
    except build.BuildError as error:
        pytest.skip(str(error))
    groups = layers["deps"]
    path = [
        str(groups / "base" / "python"),
        str(groups / "onnx" / "python"),
        str(layers["gridtsne"] / "python"),
    ]
    model = layers["model"] / "model" / f"{build.MODEL_NAME}.onnx"
    script = (
        f"import sys; sys.path[:0] = {json.dumps(path)}\n"
        "import numpy as np\n"
        "from PIL import Image\n"
        "from gridtsne.core.model import load_spec\n"
        "from gridtsne.core.embed import Embedder\n"
        f"spec = load_spec({str(model)!r})\n"
        "session = Embedder(spec)\n"
        "print(spec.dim, spec.name)\n"
    )
    done = subprocess.run(
        [python, "-S", "-B", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1280", build.MODEL_NAME]
