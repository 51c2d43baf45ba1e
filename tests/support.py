"""Helpers shared by the tests."""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def layer_build() -> ModuleType:
    """``layers/build.py`` (a script, not a package) loaded as a module."""
    spec = importlib.util.spec_from_file_location("layer_build", ROOT / "layers" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_cli(*args: object) -> subprocess.CompletedProcess[str]:
    """Run ``gridtsne`` in a fresh process with ``args``; output captured as text, exit status not checked."""
    command = [sys.executable, "-m", "gridtsne.cli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False)
