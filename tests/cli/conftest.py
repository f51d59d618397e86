"""Fixtures for CLI tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from click.testing import CliRunner


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI configures the ``streams`` logger; give it back as it was."""
    package_logger = logging.getLogger("streams")
    handlers, level = list(package_logger.handlers), package_logger.level
    yield
    package_logger.handlers[:] = handlers
    package_logger.setLevel(level)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
