"""Helpers shared by the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: object) -> subprocess.CompletedProcess[str]:
    """Run ``gridtsne`` in a fresh process with ``args``; output captured as text, exit status not checked."""
    command = [sys.executable, "-m", "gridtsne.cli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False)
