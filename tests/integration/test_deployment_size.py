"""Every function, with its layers as ``sam build`` builds them, fits Lambda's 250 MB unzipped limit and
imports with nothing but those layers.

The layers are built for real by what each layer's Makefile runs (:mod:`gridtsne_dev.layers`: Lambda-platform
wheels, trimmed, split) and cached under ``build/layers/``, so only the first run pays for the download.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from gridtsne_dev.layers.build import CACHE, LAYERS, build_layer
from gridtsne_dev.layers.deps import (
    TARGET_PYTHON,
    BuildError,
    distributions,
    install_for_lambda,
    read_requirements,
)
from gridtsne_dev.layers.sizes import LAMBDA_UNZIPPED_LIMIT, function_layers, function_sizes, tree_size
from gridtsne_dev.template import load_template
from packaging.utils import canonicalize_name

from tests.support import ROOT

MODEL = "efficientnet_lite0"


@pytest.fixture(scope="module")
def layers() -> dict[str, Path]:
    try:
        return {logical_id: build_layer(logical_id) for logical_id in LAYERS}
    except BuildError as error:
        pytest.fail(f"layer build failed: {error}")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def lambda_python() -> str:
    """A local interpreter of the Lambda runtime's version (python3.12), to import the handlers with."""
    name = f"python{TARGET_PYTHON}"
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    check = f"import sys; assert sys.version.startswith('{TARGET_PYTHON}.')"
    for candidate in [shutil.which(name), *sorted(pyenv.glob(f"{TARGET_PYTHON}.*/bin/{name}"))]:
        # A pyenv shim is on PATH even where it has no such version to run.
        if candidate and subprocess.run([candidate, "-c", check], capture_output=True).returncode == 0:
            return str(candidate)
    pytest.skip(f"no {name} here to import the handlers with")


@pytest.fixture(scope="module")
def lambda_runtime() -> Path:
    """What the Lambda Python runtime itself provides (boto3), for the import checks; never deployed."""
    folder = CACHE / "lambda-runtime"
    if not (folder / "boto3").is_dir():
        install_for_lambda(folder, "boto3")
    return folder


def test_each_function_with_its_layers_fits_lambda(
    layers: dict[str, Path], template: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sizes = function_sizes(template, layers)
    assert len(sizes) >= 8
    with capsys.disabled():
        print("\nunzipped size of each layer and function (code + layers), limit 250 MiB:")
        for logical_id, folder in layers.items():
            print(f"  {logical_id:<18} {tree_size(folder) / 2**20:6.1f} MiB")
        for function, parts in sizes.items():
            detail = ", ".join(f"{k} {v / 2**20:.1f}" for k, v in parts.items())
            print(f"  {function:<18} {sum(parts.values()) / 2**20:6.1f} MiB  ({detail})")
    for function, parts in sizes.items():
        assert sum(parts.values()) <= LAMBDA_UNZIPPED_LIMIT, function
        # Every layer it names is built and not empty.
        assert all(size > 0 for key, size in parts.items() if key != "code"), function


def test_layers_are_trimmed_and_records_stay_valid(layers: dict[str, Path]) -> None:
    for logical_id, folder in layers.items():
        assert not list(folder.rglob("__pycache__")), f"{logical_id}: byte code is compiled at import"
        assert not [p for p in folder.rglob("tests") if p.is_dir()], f"{logical_id}: test suites shipped"
        for record in folder.glob("python/*.dist-info/RECORD"):
            for line in record.read_text().splitlines():
                path = line.split(",")[0]
                assert (folder / "python" / path).is_file(), f"{record}: lists {path}, not in the layer"
    assert (layers["ModelLayer"] / "model" / f"{MODEL}.onnx").is_file()
    assert (layers["LibraryLayer"] / "python" / "gridtsne" / "__init__.py").is_file()
    assert not list(layers["DepsLayer"].glob("python/boto3*")), "the Lambda runtime provides boto3"


def test_layer_versions_are_the_tested_versions(layers: dict[str, Path]) -> None:
    shipped: dict[str, str] = {}
    for logical_id in ("DepsLayer", "OnnxRuntimeLayer", "ScienceLayer"):
        shipped.update({k: v.name for k, v in distributions(layers[logical_id] / "python").items()})
    pinned = read_requirements(ROOT / "layers" / "deps" / "requirements.txt")
    assert len(pinned) >= 10
    for requirement in pinned:
        (pin,) = requirement.specifier
        assert importlib.metadata.version(requirement.name) == pin.version, (
            f"the tests run another {requirement}"
        )
        assert shipped[canonicalize_name(requirement.name)].endswith(f"-{pin.version}.dist-info"), requirement


def test_each_handler_imports_with_only_its_layers(
    layers: dict[str, Path], template: dict[str, Any], lambda_python: str, lambda_runtime: Path
) -> None:
    """Import each handler in Python 3.12 with only its code, its layers and boto3 on the path."""
    glob = template["Globals"]["Function"]
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1", "HOME": "/tmp"}
    defaults = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    for name, value in glob["Environment"]["Variables"].items():
        if isinstance(value, dict) and "Ref" in value:
            value = defaults.get(value["Ref"], "placeholder")
        env[name] = value if isinstance(value, str) else "4096"  # the one !If picks a number
    for function, (code, layer_ids) in function_layers(template).items():
        path = [
            str(code),
            *(str(layers[i] / "python") for i in layer_ids if (layers[i] / "python").is_dir()),
            str(lambda_runtime),
        ]
        handler = template["Resources"][function]["Properties"].get("Handler", glob["Handler"])
        module, _, attr = handler.rpartition(".")
        script = (
            f"import sys; sys.path[:0] = {json.dumps(path)}; import {module}; "
            f"assert callable({module}.{attr}); print('ok')"
        )
        done = subprocess.run(
            [lambda_python, "-S", "-B", "-c", script],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0 and done.stdout.strip().endswith("ok"), (
            f"{function}:\n{done.stderr[-2000:]}"
        )


def test_the_embedding_model_runs_from_the_layers(layers: dict[str, Path], lambda_python: str) -> None:
    """The embed function's layers alone load the model from the model layer and open a session."""
    path = [str(layers[i] / "python") for i in ("DepsLayer", "OnnxRuntimeLayer", "LibraryLayer")]
    model = layers["ModelLayer"] / "model" / f"{MODEL}.onnx"
    script = (
        f"import sys; sys.path[:0] = {json.dumps(path)}\n"
        "from gridtsne.core.model import load_spec\n"
        "from gridtsne.core.embed import Embedder\n"
        f"spec = load_spec({str(model)!r})\n"
        "session = Embedder(spec)\n"
        "print(spec.dim, spec.name)\n"
    )
    done = subprocess.run(
        [lambda_python, "-S", "-B", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1280", MODEL]
