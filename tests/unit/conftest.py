"""Fixtures for the handler tests: one embedded stack per test module, executions recorded, not run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gridtsne_dev.stack import LocalStack


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """moto with the application's resources; the state machine records executions without running them."""
    with LocalStack(execute=False) as running:
        yield running
