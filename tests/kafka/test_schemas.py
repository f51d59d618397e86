"""A registry that cannot be reached gives RegistryUnavailableError with a one-line message
naming the URL and the fix, whichever HTTP library the registry client uses underneath."""

from __future__ import annotations

import httpx
import httpx2
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.catalog._mesh import Mesh
from streams.config import KafkaSettings, RegistrySettings, Settings
from streams.errors import DeserializationError, RegistryUnavailableError
from streams.kafka import Producer, SchemaSource
from streams.kafka.schemas import registry_errors, unreachable


def quick(url: str) -> SchemaSource:
    """A source whose client does not retry (the default retries take seconds)."""
    return SchemaSource(url=url, client=SchemaRegistryClient({"url": url, "max.retries": 0}))


def assert_one_line(error: RegistryUnavailableError, url: str, fix: str) -> None:
    message = str(error)
    assert "\n" not in message
    assert f"the schema registry at {url} is unreachable" in message
    assert fix in message
    assert error.url == url


def test_schema_source_by_id_and_latest(closed_url: str) -> None:
    source = quick(closed_url)
    with pytest.raises(RegistryUnavailableError) as caught:
        source.writer(1)
    assert_one_line(caught.value, closed_url, "mesh up")
    with pytest.raises(RegistryUnavailableError):
        source.latest("a.b.v1-value")


def test_emit(closed_url: str) -> None:
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers="127.0.0.1:1"),
        registry=RegistrySettings(url=closed_url),
    )
    producer = Producer(settings=settings, schemas=quick(closed_url))
    try:
        with pytest.raises(RegistryUnavailableError) as caught:
            producer.emit("player.play_events", {"user_id": "u"})
        assert_one_line(caught.value, closed_url, "STREAMS_REGISTRY__URL")
    finally:
        producer.close(0.1)


def test_catalog(closed_url: str) -> None:
    settings = Settings(registry=RegistrySettings(url=closed_url))
    with Mesh(settings=settings) as mesh:
        mesh._registry = SchemaRegistryClient({"url": closed_url, "max.retries": 0})
        with pytest.raises(RegistryUnavailableError) as caught:
            mesh.register("a.b.v1-value", '"string"')
        assert_one_line(caught.value, closed_url, "--registry-url")


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx2.ConnectError("refused"),
        httpx2.ReadTimeout("slow"),
        ConnectionResetError("reset"),
    ],
)
def test_network_errors_of_any_http_library_are_recognised(error: Exception) -> None:
    found = unreachable(error, "http://r:8081")
    assert isinstance(found, RegistryUnavailableError)


def test_other_errors_pass_through() -> None:
    assert unreachable(TypeError("a bug"), "http://r:8081") is None
    with pytest.raises(TypeError), registry_errors("http://r:8081", "anything"):
        raise TypeError("a bug")


class _Unknown:
    """A registry client that knows no schema id."""

    def get_schema(self, schema_id: int) -> None:
        raise SchemaRegistryError(404, 40403, "Schema not found")


def test_an_unknown_schema_id_says_how_to_fix_it() -> None:
    source = SchemaSource(url="http://registry.test", client=_Unknown())  # type: ignore[arg-type]
    with pytest.raises(DeserializationError) as caught:
        source.writer(987)
    assert caught.value.reason == "unknown-schema"
    assert caught.value.schema_id == 987
    text = str(caught.value)
    assert "schema id 987 is not known to the registry at http://registry.test" in text
    assert "--registry-url" in text  # the likely fix: the producer used another registry
