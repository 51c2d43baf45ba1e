"""Shared fixtures: the sample digits, written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from gridtsne_dev.samples import write_digits

from tests.support import ROOT


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All 1,797 sample digits as PNG files in folders named by label."""
    prepared = ROOT / "samples" / "digits"
    if (prepared / ".written").exists():
        return prepared
    dest = tmp_path_factory.mktemp("digits")
    write_digits(dest)
    return dest


@pytest.fixture(scope="session")
def small_digits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 120 digits, for quick end-to-end runs."""
    dest = tmp_path_factory.mktemp("small-digits")
    write_digits(dest, limit=120)
    return dest


@pytest.fixture(autouse=True)
def vector_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh vector cache per test (the command line's default would be the user's own)."""
    folder = tmp_path_factory.mktemp("vector-cache")
    monkeypatch.setenv("GRIDTSNE_CACHE", str(folder))
    return folder
