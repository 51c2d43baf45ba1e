"""Fixtures for the handler tests: one embedded stack per test module, executions recorded, not run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gridtsne_dev.stack import EmbeddedStack


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    """moto with the application's resources; the state machine records executions without running them."""
    with EmbeddedStack(execute=False) as running:
        yield running
