"""Shared fixtures for tests that use Kafka: a fresh product (topic + registered schema) per test.

Loaded for the whole suite through ``pytest_plugins`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from confluent_kafka import Producer as RawProducer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from streams.config import Settings
from streams.identity import read_credential
from streams.kafka import Consumer as StreamsConsumer
from streams.kafka import Event
from streams.local import PlatformInfo
from streams.naming import ProductRef

PLAY_V1: dict[str, Any] = {
    "type": "record",
    "name": "PlayEvent",
    "namespace": "music.player",
    "doc": "A track was played.",
    "fields": [
        {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"}, "doc": "Id."},
        # No "pii" mark: emit would pseudonymize user_id, and these tests compare it (PII
        # protection has its own tests, tests/access).
        {"name": "user_id", "type": "string", "doc": "Listener."},
        {"name": "track_id", "type": "string", "doc": "Track."},
        {"name": "ms_played", "type": "long", "doc": "Milliseconds played."},
    ],
}
PLAY_V2: dict[str, Any] = {
    **PLAY_V1,
    "fields": [
        *PLAY_V1["fields"],
        {"name": "country", "type": ["null", "string"], "default": None, "doc": "Country."},
    ],
}


def play(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.UUID(int=n)),
        "user_id": f"user-{n}",
        "track_id": f"track-{n}",
        "ms_played": 1000 + n,
        **extra,
    }


def flags(product: Product) -> list[str]:
    """The `mesh` options that point a command at the product's platform."""
    return [
        "--bootstrap-servers",
        product.settings.kafka.bootstrap_servers,
        "--registry-url",
        product.settings.registry.url,
    ]


@dataclass
class Product:
    ref: ProductRef
    settings: Settings
    registry: SchemaRegistryClient
    bootstrap: str

    def register(self, schema: dict[str, Any]) -> int:
        return self.registry.register_schema(self.ref.subject, Schema(json.dumps(schema), "AVRO"))

    def read_raw(self, topic: str | None = None, count: int = 1_000) -> list[Any]:
        """Every message of partition 0 of ``topic`` (default: the product topic), via assign()."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": "raw",
                "enable.partition.eof": True,
                "fetch.wait.max.ms": 10,
            }
        )
        consumer.assign([TopicPartition(topic or self.ref.topic, 0, OFFSET_BEGINNING)])
        messages: list[Any] = []
        try:
            for _ in range(100):
                message = consumer.poll(0.2)
                if message is None:
                    continue
                if message.error() is not None:
                    if message.error().code() == KafkaError._PARTITION_EOF:
                        break
                    continue
                messages.append(message)
                if len(messages) >= count:
                    break
        finally:
            consumer.close()
        return messages


# Apache Kafka refuses records over ~1 MB unless the topic allows more (Tansu has no limit); a
# product topic that must hold a record too large for its dead-letter topic raises its limit.
BIG_RECORDS = {"max.message.bytes": "4000000"}


def produce_huge(product: Product) -> None:
    """Write one 1.1 MB record (key ``huge``): more than a dead letter may be (1 MB)."""
    raw = RawProducer({"bootstrap.servers": product.bootstrap, "message.max.bytes": 4_000_000})
    errors: list[KafkaError | None] = []
    raw.produce(
        product.ref.topic,
        value=b"x" * 1_100_000,
        key=b"huge",
        on_delivery=lambda err, _msg: errors.append(err),
    )
    assert raw.flush(10) == 0
    assert errors == [None], f"the huge record was refused: {errors} (topic_config BIG_RECORDS?)"


def recorded_conf(state_dir: Path) -> dict[str, Any]:
    """The librdkafka conf of the platform recorded in ``state_dir``, as its admin when it
    authenticates clients (``platform.json`` says so; the secret is in ``credentials/``)."""
    state = json.loads((state_dir / "platform.json").read_text())
    conf: dict[str, Any] = {"bootstrap.servers": state["bootstrap_servers"]}
    if state.get("sasl_mechanism"):
        admin = read_credential(state_dir / "credentials" / "admin.json")
        conf |= {
            "security.protocol": state["security_protocol"],
            "sasl.mechanism": state["sasl_mechanism"],
            "sasl.username": admin.name,
            "sasl.password": admin.secret,
        }
    return conf


def create_topic(
    bootstrap: str | dict[str, Any], topic: str, config: dict[str, str] | None = None
) -> None:
    """Create ``topic`` at ``bootstrap`` (an address, or a whole conf: :func:`recorded_conf`)."""
    conf = {"bootstrap.servers": bootstrap} if isinstance(bootstrap, str) else bootstrap
    admin = AdminClient(conf)
    new = NewTopic(topic, num_partitions=1, replication_factor=1, config=config or {})
    admin.create_topics([new])[topic].result(10)


@pytest.fixture
def settings(platform: PlatformInfo) -> Settings:
    """Client settings for the session platform, as its admin (the registry authenticates)."""
    return platform.client_settings()


@pytest.fixture
def product(
    platform: PlatformInfo, settings: Settings, request: pytest.FixtureRequest
) -> Iterator[Product]:
    """A product topic (configs from ``@pytest.mark.topic_config({...})``) with PLAY_V1."""
    ref = ProductRef(domain=f"t{uuid.uuid4().hex[:10]}", name="play_events")
    marker = request.node.get_closest_marker("topic_config")
    create_topic(platform.bootstrap_servers, ref.topic, None if marker is None else marker.args[0])
    with SchemaRegistryClient(platform.registry_conf()) as registry:
        found = Product(ref, settings, registry, platform.bootstrap_servers)
        found.register(PLAY_V1)
        yield found


@pytest.fixture
def closed_url() -> str:
    """The URL of a port nothing listens on (a registry that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def drain(consumer: StreamsConsumer, expected: int, rounds: int = 40) -> list[Event[Any]]:
    """Consume until ``expected`` events arrived or ``rounds`` half-second polls passed."""
    events: list[Event[Any]] = []
    for _ in range(rounds):
        events += consumer.consume(100, timeout=0.5)
        if len(events) >= expected:
            break
    return events


def own_lines(stderr: str) -> list[str]:
    """A command's stderr lines without the catalog's warning about records other tests left
    on the shared session platform (tests/catalog publishes undecodable, forged and revoked
    domains' records on purpose; every command reading the catalog then warns about them)."""
    return [
        line
        for line in stderr.splitlines()
        if not (line.startswith("warning: ignoring") and "catalog record" in line)
    ]


def admin_auth(info: PlatformInfo) -> tuple[str, str]:
    """httpx's ``auth=`` for the platform's admin (the registry authenticates every request)."""
    assert info.admin_credential is not None, "the platform runs without authentication"
    admin = read_credential(info.admin_credential)
    return admin.name, admin.secret
