"""The catalog topic against the embedded broker, checked with an independent consumer."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    ResourceType,
)

from streams.catalog import PRODUCTS_TOPIC, CatalogEntry, CatalogStore, entry_key
from streams.config import Settings
from streams.errors import DeserializationError
from tests.catalog._entries import PUBLISHED, descriptor, domain, entry


@pytest.fixture
def store(settings: Settings) -> Iterator[CatalogStore]:
    with CatalogStore(settings=settings) as found:
        found.ensure_topic()
        yield found


def test_entry_round_trips_through_its_value() -> None:
    original = entry(descriptor(domain(), status="deprecated", deprecation={"note": "use v2"}))
    decoded = CatalogEntry.from_value(original.key, original.to_value())
    assert decoded == original
    assert orjson.loads(original.to_value())["product"]["outputPort"]["eventTime"] == "event_time"


def test_key_names_the_major_version() -> None:
    dom = domain()
    assert entry_key(descriptor(dom, version=3)) == f"{dom}.play_events.v3"


def test_naive_published_at_is_utc() -> None:
    original = entry(descriptor(domain()))
    value = orjson.loads(original.to_value())
    value["published_at"] = "2025-01-02T03:04:05"
    decoded = CatalogEntry.from_value(original.key, orjson.dumps(value))
    assert decoded.published_at == PUBLISHED
    assert decoded.published_at.tzinfo == datetime.UTC


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (b"not json", "cannot be decoded"),
        (b"[1]", "expected a JSON object"),
        (b'{"schema": "x"}', "missing field"),
    ],
)
def test_bad_values_raise_deserialization_error(value: bytes, problem: str) -> None:
    with pytest.raises(DeserializationError, match=problem) as caught:
        CatalogEntry.from_value("a.b.v1", value)
    assert caught.value.topic == PRODUCTS_TOPIC
    assert "mesh product apply" in str(caught.value)


def test_topic_is_compacted_single_partition_kept_forever(
    store: CatalogStore, settings: Settings
) -> None:
    store.ensure_topic()  # twice is fine
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    metadata = admin.list_topics(PRODUCTS_TOPIC, timeout=10)
    assert len(metadata.topics[PRODUCTS_TOPIC].partitions) == 1
    resource = ConfigResource(ResourceType.TOPIC, PRODUCTS_TOPIC)
    configs = admin.describe_configs([resource])[resource].result(10)
    assert configs["cleanup.policy"].value == "compact"
    assert configs["retention.ms"].value == "-1"


def test_publish_versions_and_tombstone_then_read(store: CatalogStore, settings: Settings) -> None:
    dom = domain()
    v1, v2, other = descriptor(dom), descriptor(dom, version=2), descriptor(dom, name="skips")
    store.publish(entry(v1, schema_id=1))
    store.publish(entry(v2, schema_id=2))
    store.publish(entry(other, schema_id=3))
    updated = entry(descriptor(dom, status="deprecated", deprecation={"note": "use v2"}))
    store.publish(updated)
    store.remove(entry_key(other))

    found = {key: value for key, value in store.read().items() if key.startswith(f"{dom}.")}

    assert sorted(found) == [f"{dom}.play_events.v1", f"{dom}.play_events.v2"]
    assert found[f"{dom}.play_events.v1"] == updated  # the last value wins
    assert found[f"{dom}.play_events.v2"].schema_id == 2
    # An independent consumer sees the five records, keyed by product version.
    keys = [m.key().decode() for m in _raw(settings) if m.key().decode().startswith(f"{dom}.")]
    assert keys == [entry_key(v1), entry_key(v2), entry_key(other), entry_key(v1), entry_key(other)]


def test_undecodable_record_is_skipped_with_a_warning(
    store: CatalogStore, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    dom = domain()
    raw = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    raw.produce(PRODUCTS_TOPIC, key=f"{dom}.broken.v1".encode(), value=b"{oops", partition=0)
    raw.flush(10)
    store.publish(entry(descriptor(dom)))

    with caplog.at_level(logging.INFO, logger="streams.catalog.store"):
        found = [key for key in store.read() if key.startswith(f"{dom}.")]

    assert found == [f"{dom}.play_events.v1"]
    assert any(f"{dom}.broken.v1" in record.getMessage() for record in caplog.records)
    assert [r.key for r in store.rejected if r.key.startswith(dom)] == [f"{dom}.broken.v1"]
    assert any(r.levelno == logging.WARNING for r in caplog.records)  # one summary warning


def test_read_from_a_fresh_store_sees_what_another_published(
    store: CatalogStore, settings: Settings
) -> None:
    dom = domain()
    store.publish(entry(descriptor(dom)))
    with CatalogStore(settings=settings) as reader:
        assert f"{dom}.play_events.v1" in reader.read()


def _raw(settings: Settings) -> list[Any]:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka.bootstrap_servers,
            "group.id": "raw",
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 10,
        }
    )
    consumer.assign([TopicPartition(PRODUCTS_TOPIC, 0, OFFSET_BEGINNING)])
    messages = []
    try:
        for _ in range(200):
            message = consumer.poll(0.2)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    break
                continue
            messages.append(message)
    finally:
        consumer.close()
    return messages
