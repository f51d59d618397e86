"""Only a durable broker passes these: restart it under the registry and the catalog, lose nothing.

Each test runs its own platform (the shared one must not be restarted under other tests).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from streams.catalog import apply, load_products
from streams.catalog.store import CatalogStore
from streams.config import BrokerKind, LocalSettings, Settings
from streams.local import PlatformInfo, start, stop
from streams.local._state import state_path
from tests.catalog._repo import REPO
from tests.helpers.brokers import platform_settings
from tests.helpers.kafka import PLAY_V1, PLAY_V2, create_topic


@pytest.fixture
def durable(broker_kind: BrokerKind, tmp_path: Path) -> Iterator[LocalSettings]:
    """Settings of a platform of this test's own; stopped by PID at the end."""
    if broker_kind == "tansu":
        pytest.skip("Tansu keeps every record in memory: a restart loses them (BROKER.md)")
    settings = platform_settings(broker_kind, state_dir=tmp_path, monitor=False)
    try:
        yield settings
    finally:
        if state_path(tmp_path).exists():
            stop(tmp_path, timeout_s=15.0)


def _settings(info: PlatformInfo) -> Settings:
    return info.client_settings()  # as this platform's admin


def _restart(settings: LocalSettings) -> PlatformInfo:
    stop(settings.state_dir, timeout_s=15.0)
    info = start(settings, free_ports=True)
    assert not info.already_running
    return info


def _schemas(
    url: str, conf: dict[str, str | int] | None = None
) -> dict[str, list[tuple[int, int, str]]]:
    """Every subject's (version, id, schema) triples, as an independent client sees them
    (``conf``: its configuration, with credentials; default: ``url`` alone)."""
    with SchemaRegistryClient(conf or {"url": url}) as client:
        return {
            subject: [
                (version, found.schema_id, found.schema.schema_str)
                for version in client.get_versions(subject)
                for found in [client.get_version(subject, version)]
            ]
            for subject in client.get_subjects()
        }


def test_schemas_catalog_and_committed_offsets_survive_a_broker_restart(
    durable: LocalSettings,
) -> None:
    # One restart for all three (a Kafka restart costs ~15 s of the suite's budget).
    info = start(durable, free_ports=True)
    settings = _settings(info)
    result = apply(load_products(REPO), settings=settings)
    assert result.published
    subject = f"t{uuid.uuid4().hex[:8]}.play_events.v1-value"
    with SchemaRegistryClient(info.registry_conf()) as client:
        first = client.register_schema(subject, Schema(json.dumps(PLAY_V1), "AVRO"))
        second = client.register_schema(subject, Schema(json.dumps(PLAY_V2), "AVRO"))
    assert first != second
    schemas = _schemas(info.registry_url, info.registry_conf())
    with CatalogStore(settings=settings) as store:
        catalog = {key: entry.to_value() for key, entry in store.read().items()}
    assert set(catalog) >= set(result.published)
    topic, group = _commit_three_of_five(info.bootstrap_servers)

    info = _restart(durable)
    settings = _settings(info)

    assert _schemas(info.registry_url, info.registry_conf()) == schemas
    with SchemaRegistryClient(info.registry_conf()) as client:
        assert client.get_latest_version(subject).schema_id == second
        # A new registration after the restart gets a fresh id, not a reused one.
        third = client.register_schema(
            subject,
            Schema(json.dumps({**PLAY_V2, "doc": "A track was played, again."}), "AVRO"),
        )
    assert third not in {schema_id for rows in schemas.values() for _, schema_id, _ in rows}
    with CatalogStore(settings=settings) as store:
        assert {key: entry.to_value() for key, entry in store.read().items()} == catalog
    assert apply(load_products(REPO), settings=settings).changes == ()
    _assert_reads_from_the_commit(info.bootstrap_servers, topic, group)


def _commit_three_of_five(bootstrap: str) -> tuple[str, str]:
    """A topic of five records and a group that committed offset 3 on it."""
    topic, group = f"t{uuid.uuid4().hex[:8]}.offsets.v1", f"g-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)
    producer = Producer({"bootstrap.servers": bootstrap})
    for n in range(5):
        producer.produce(topic, value=str(n).encode())
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        consumer.commit(offsets=[TopicPartition(topic, 0, 3)], asynchronous=False)
    finally:
        consumer.close()
    return topic, group


def _assert_reads_from_the_commit(bootstrap: str, topic: str, group: str) -> None:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    )
    try:
        [committed] = consumer.committed([TopicPartition(topic, 0)], timeout=30)
        assert committed.offset == 3
        consumer.subscribe([topic])
        values = []
        for _ in range(100):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value())
            if len(values) == 2:
                break
        assert values == [b"3", b"4"]
    finally:
        consumer.close()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    assert topic in admin.list_topics(timeout=10).topics
