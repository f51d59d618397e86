"""Session-wide fixtures: one embedded broker and registry for every integration test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streams.local import EmbeddedPlatform, PlatformInfo

pytest_plugins = ["tests.helpers.kafka"]


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformInfo]:
    """A running broker and schema registry on free ports, stopped by PID after the session."""
    state_dir = tmp_path_factory.mktemp("mesh")
    with EmbeddedPlatform(state_dir=state_dir, free_ports=True) as info:
        yield info
