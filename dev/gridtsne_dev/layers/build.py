"""Each layer of ``template.yaml``, built as ``sam build`` ships it, and cached under ``build/layers/``.

``sam build`` runs ``make build-<LogicalId>`` with the Makefile in the layer's ``ContentUri``; the Makefile
calls :func:`build_layer` through ``python -m gridtsne_dev.layers build``, which copies the cached layer into
``$ARTIFACTS_DIR``. The integration tests measure the same cached folders.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gridtsne_dev.layers.deps import BASE_GROUP, ROOT_GROUPS, BuildError, build_deps
from gridtsne_dev.layers.trim import rewrite_record
from gridtsne_dev.template import ROOT

__all__ = ["CACHE", "LAYERS", "MODEL_DIR", "build_layer", "copy_layer"]

#: Where the layers are built and cached (gitignored; never inside a ``ContentUri``, which SAM copies).
CACHE = ROOT / "build" / "layers"
#: Where ``make model`` exports the ONNX model and its spec.
MODEL_DIR = ROOT / "build" / "model"
REQUIREMENTS = ROOT / "layers" / "deps" / "requirements.txt"
LIBRARY = ROOT / "layers" / "gridtsne"


def _files(root: Path) -> Iterator[Path]:
    """Every regular file under ``root``, sorted, skipping byte code."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            yield path


def _build_library(dest: Path) -> None:
    """Install the library (pure Python, no dependencies) into ``dest/python``, with its ``.dist-info``."""
    with tempfile.TemporaryDirectory() as scratch:
        # Build from a copy, so that setuptools' build/ and .egg-info never land in the source tree.
        copy = Path(scratch) / "gridtsne"
        shutil.copytree(LIBRARY, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
            "--no-compile", "--no-build-isolation", "--target", str(dest / "python"), str(copy),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"installing the library failed:\n{done.stdout}\n{done.stderr}")
    shutil.rmtree(dest / "python" / "bin", ignore_errors=True)
    for record in (dest / "python").glob("*.dist-info/RECORD"):
        rewrite_record(dest / "python", record)


def _model_files() -> list[Path]:
    return sorted(MODEL_DIR.glob("*.onnx")) + sorted(MODEL_DIR.glob("*.json"))


def _build_model(dest: Path) -> None:
    """The exported model as ``dest/model/`` (``/opt/model/`` on Lambda, where the library looks first)."""
    if not list(MODEL_DIR.glob("*.onnx")):
        raise BuildError(f"no model in {MODEL_DIR}; run `make model`")
    (dest / "model").mkdir(parents=True)
    for path in _model_files():
        shutil.copy2(path, dest / "model" / path.name)


@dataclass(frozen=True)
class _Recipe:
    """How to build a cached folder and which files it depends on."""

    build: Callable[[Path], None]
    inputs: Callable[[], Iterable[Path]]


_PACKAGE = Path(__file__).resolve().parent
_RECIPES = {
    "deps": _Recipe(
        lambda dest: build_deps(REQUIREMENTS, dest),
        lambda: [REQUIREMENTS, _PACKAGE / "deps.py", _PACKAGE / "trim.py"],
    ),
    "library": _Recipe(_build_library, lambda: [*_files(LIBRARY / "gridtsne"), LIBRARY / "pyproject.toml"]),
    "model": _Recipe(_build_model, _model_files),
}
#: Each ``AWS::Serverless::LayerVersion`` of the template: ``(recipe, sub-folder of its output)``.
LAYERS = {
    **{group: ("deps", group) for group in sorted({BASE_GROUP, *ROOT_GROUPS.values()})},
    "LibraryLayer": ("library", ""),
    "ModelLayer": ("model", ""),
}


def _digest(paths: Iterable[Path]) -> str:
    """A hash of file names and contents, to decide whether a cached build is current."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _cached(name: str, *, force: bool = False) -> Path:
    """``build/layers/<name>/out``, rebuilt only when its inputs changed (or ``force``)."""
    recipe = _RECIPES[name]
    folder = CACHE / name
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # `sam build --parallel` builds the three deps layers at once
        out, stamp = folder / "out", folder / "stamp.json"
        key = _digest(recipe.inputs())
        if not force and out.is_dir() and stamp.is_file() and json.loads(stamp.read_text()) == key:
            return out
        scratch = Path(tempfile.mkdtemp(prefix="building-", dir=folder))
        try:
            recipe.build(scratch)
            shutil.rmtree(out, ignore_errors=True)
            scratch.rename(out)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        stamp.write_text(json.dumps(key))
        return out


def build_layer(logical_id: str, *, force: bool = False) -> Path:
    """Build one layer of the template unless its cached build is current.

    Parameters
    ----------
    logical_id
        The layer's logical id in ``template.yaml`` (a key of :data:`LAYERS`).
    force
        Rebuild even when the cache is current.

    Returns
    -------
    Path
        The layer's contents (what Lambda mounts as ``/opt``).
    """
    if logical_id not in LAYERS:
        raise BuildError(f"no layer {logical_id!r}; known: {', '.join(LAYERS)}")
    recipe, part = LAYERS[logical_id]
    out = _cached(recipe, force=force)
    return out / part if part else out


def copy_layer(logical_id: str, dest: Path) -> None:
    """Build one layer (cached) and copy its contents into ``dest`` (``sam build``'s ``$ARTIFACTS_DIR``)."""
    shutil.copytree(build_layer(logical_id), dest, dirs_exist_ok=True)
