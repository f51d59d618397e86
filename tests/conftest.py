"""Session-wide fixtures: one platform per broker kind for every integration test.

A test that uses ``platform`` (directly or through ``settings``, ``product``, ...) runs on
Tansu and on Apache Kafka; ``@pytest.mark.brokers("tansu")`` limits a quirk test to one kind.
Each platform starts when its first test needs it and is stopped by PID at the session's end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.config import BrokerKind, credential_path
from streams.identity import ADMIN, generate_credential, read_credential, write_credential
from streams.local import EmbeddedPlatform, PlatformInfo
from tests.helpers.brokers import brokers, platform_settings

pytest_plugins = ["tests.helpers.kafka", "tests.helpers.sasl_kafka", "tests.helpers.secure_kafka"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "brokers(*kinds): run only on these broker kinds (tansu, kafka)"
    )
    config.addinivalue_line(
        "markers", "topic_config(config): topic configs of the `product` fixture's topic"
    )


# The longest tests first: with two xdist workers, a 70 s test collected last (the demo)
# keeps one worker busy while the other has nothing left to do (also the README tutorial).
_FIRST = ("tests/test_demo.py::", "tests/test_readme_tutorial.py::")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(_FIRST))  # stable: order kept


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "broker_kind" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("brokers")
    kinds = [kind for kind in brokers() if marker is None or kind in marker.args]
    metafunc.parametrize("broker_kind", kinds, indirect=True, scope="session")


@pytest.fixture(scope="session")
def broker_kind(request: pytest.FixtureRequest) -> BrokerKind:
    """The broker kind of this test's run: ``tansu`` or ``kafka``."""
    kind: BrokerKind = request.param
    return kind


@pytest.fixture(scope="session", autouse=True)
def _no_web_catalog() -> Iterator[None]:
    """Platforms the tests start run without the web catalog (one process less per `mesh up`);
    a test that needs it asks for it (``web=True`` in its settings, or the variable set back)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STREAMS_LOCAL__WEB", "false")
        yield


@pytest.fixture(scope="session")
def admin_credential(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's admin credential file, shared by every session platform (one per broker
    kind), and the identity of every client the tests start: ``STREAMS_IDENTITY__FILE`` is set
    for the session, as the platform team's shell would have it, so CLI commands and child
    processes authenticate like any user."""
    path = write_credential(
        generate_credential(ADMIN), tmp_path_factory.mktemp("credentials") / "admin.json"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STREAMS_IDENTITY__FILE", str(path))
        yield path


@pytest.fixture(scope="session")
def platform(
    broker_kind: BrokerKind, tmp_path_factory: pytest.TempPathFactory, admin_credential: Path
) -> Iterator[PlatformInfo]:
    """A running broker and schema registry (with authentication, as `mesh up` starts it) on
    free ports, stopped by PID after the session."""
    # No monitor: it would measure every test's products in the background; the monitor's own
    # tests run theirs.
    state_dir = tmp_path_factory.mktemp(f"mesh-{broker_kind}")
    write_credential(read_credential(admin_credential), credential_path(state_dir, ADMIN))
    settings = platform_settings(broker_kind, state_dir=state_dir, monitor=False)
    with EmbeddedPlatform(settings=settings, free_ports=True) as info:
        assert info.auth
        yield info
