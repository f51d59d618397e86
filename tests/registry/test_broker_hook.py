"""The registry's broker enforcement point: which one it builds, what it is told by `mesh up`,
and what a client hears when the broker fails a change the registry recorded."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from streams.config import KafkaSettings
from streams.errors import BrokerUnavailableError
from streams.identity import generate_credential
from streams.kafka.access import KafkaBrokerAccess, UnenforcedBrokerAccess
from streams.local import PlatformInfo
from streams.local._state import read_state
from streams.registry import MemoryDomainLog, MemoryStorage, RegistryAuth, broker_access
from tests.helpers.recording_broker import RecordingBroker
from tests.registry.conftest import ThreadedRegistry


def test_tansu_gets_a_broker_access_that_never_calls_it() -> None:
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:9")
    assert isinstance(broker_access(kafka, broker_kind="tansu"), UnenforcedBrokerAccess)
    assert isinstance(broker_access(kafka, broker_kind="kafka"), KafkaBrokerAccess)
    assert isinstance(broker_access(kafka, broker_kind=None), KafkaBrokerAccess)


def test_mesh_up_tells_the_registry_its_broker_kind(platform: PlatformInfo) -> None:
    state = read_state(platform.state_dir)
    assert state is not None
    environ = Path(f"/proc/{state.registry.pid}/environ").read_bytes().split(b"\0")
    assert f"STREAMS_REGISTRY__BROKER_KIND={platform.broker_kind}".encode() in environ


class DownBroker(RecordingBroker):
    """A broker that cannot be reached when asked to change read ACLs."""

    def grant_read(self, product_id: str, consumer: str) -> str:  # type: ignore[override]
        raise BrokerUnavailableError("Kafka at k:9 did not answer", bootstrap_servers="k:9")


@pytest.fixture
def failing() -> tuple[ThreadedRegistry, httpx.Client]:
    admin = generate_credential("admin")
    auth = RegistryAuth(admin=admin, domains=MemoryDomainLog(), broker=DownBroker())
    registry = ThreadedRegistry(MemoryStorage(), auth=auth).start()
    client = httpx.Client(base_url=registry.url, auth=(admin.name, admin.secret), trust_env=False)
    return registry, client


def test_a_broker_failure_says_what_was_recorded_and_how_to_apply_it(
    failing: tuple[ThreadedRegistry, httpx.Client],
) -> None:
    registry, client = failing
    try:
        reader = generate_credential("listeners")
        body = {"name": reader.name, "secret": reader.secret}
        assert client.post("/mesh/v1/domains", json=body).status_code == 200
        grant = {"product": "player.plays", "consumer": "listeners", "purpose": "charts"}
        answer = client.post("/mesh/v1/access/grants", json=grant)
        assert answer.status_code == 500, answer.text
        assert answer.json()["error_code"] == 50060
        message = answer.json()["message"]
        assert "was recorded" in message
        assert "did not answer" in message
        assert "mesh access grant player.plays --to listeners" in message
        assert client.get("/mesh/v1/access").json()[0]["state"] == "granted"
    finally:
        client.close()
        registry.stop()
