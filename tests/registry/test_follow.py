"""The registry follows `_schemas`: records written by anyone appear while it runs, and records it
cannot use are skipped and logged with their offset instead of stopping it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import httpx
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from streams.kafka.topics import COMPACTED, create_topic
from streams.local import PlatformInfo
from streams.registry import KafkaStorage, MemoryStorage
from streams.registry.state import SchemaRecord, schema_key
from tests.registry.conftest import ThreadedRegistry

SCHEMA = json.dumps({"type": "record", "name": "Foreign", "fields": [{"name": "f", "type": "int"}]})


def _eventually(check: Callable[[], bool], *, within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "the registry did not see the record in time"
        time.sleep(0.05)


def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes | None]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for key, value in records:
        producer.produce(topic, key=key, value=value, partition=0)
    assert producer.flush(10) == 0


def _foreign(subject: str, version: int, schema_id: int) -> tuple[bytes, bytes]:
    record = SchemaRecord(subject=subject, version=version, id=schema_id, schema=SCHEMA)
    return schema_key(subject, version), record.to_value()


GARBAGE: list[tuple[bytes, bytes | None]] = [
    (b"not json at all", b"{}"),
    (schema_key("bad-value", 1), b"\x00\x01 not json"),
    (schema_key("bad-value", 2), b'{"subject": "bad-value", "version": 2}'),
    (b'{"keytype": "MODE", "subject": null, "magic": 0}', b"[1, 2, 3]"),
]


def test_another_writers_record_is_served_while_running(
    kafka_registry: ThreadedRegistry, platform: PlatformInfo, registry_topic: str
) -> None:
    with httpx.Client(base_url=kafka_registry.url, timeout=30) as http:
        own = http.post("/subjects/own-value/versions", json={"schema": '"string"'}).json()["id"]
        _produce(platform.bootstrap_servers, registry_topic, [_foreign("tool-value", 1, 100)])
        _eventually(lambda: http.get("/schemas/ids/100").status_code == 200)
        assert http.get("/schemas/ids/100").json()["schema"] == SCHEMA
        assert http.get("/subjects/tool-value/versions").json() == [1]
        # The next id the registry hands out is above the one the tool wrote.
        next_id = http.post("/subjects/n-value/versions", json={"schema": '"int"'}).json()["id"]
        assert next_id == 101
        assert own == 1


def test_garbage_in_the_log_is_skipped_and_logged_with_its_offset(
    platform: PlatformInfo, registry_topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    admin = AdminClient({"bootstrap.servers": platform.bootstrap_servers})
    create_topic(admin, registry_topic, config=COMPACTED)
    _produce(platform.bootstrap_servers, registry_topic, [*GARBAGE, _foreign("ok-value", 1, 1)])
    caplog.set_level(logging.WARNING, logger="streams.registry")
    registry = ThreadedRegistry(
        KafkaStorage(bootstrap_servers=platform.bootstrap_servers, topic=registry_topic)
    ).start()
    try:
        with httpx.Client(base_url=registry.url, timeout=30) as http:
            assert http.get("/schemas/ids/1").json()["schema"] == SCHEMA
            # Garbage while running too: the tail skips it and keeps going.
            _produce(
                platform.bootstrap_servers,
                registry_topic,
                [(b"\xff\xfe", b"x"), _foreign("later-value", 1, 2)],
            )
            _eventually(lambda: http.get("/schemas/ids/2").status_code == 200)
            registered = http.post("/subjects/mine-value/versions", json={"schema": '"long"'})
            assert registered.status_code == 200
            assert registered.json()["id"] == 3
    finally:
        registry.stop()
    skipped = [r.getMessage() for r in caplog.records if "skipping the record" in r.getMessage()]
    for offset in (0, 1, 2, 3, 5):
        assert sum(f"at offset {offset} " in m for m in skipped) == 1, skipped
    assert len(skipped) == 5


def test_a_record_from_another_writer_between_our_own_writes_is_applied_in_log_order() -> None:
    storage = MemoryStorage()
    registry = ThreadedRegistry(storage).start()
    try:
        with httpx.Client(base_url=registry.url, timeout=30) as http:
            assert (
                http.post("/subjects/a-value/versions", json={"schema": '"string"'}).json()["id"]
                == 1
            )
            registry.loop.call_soon_threadsafe(storage.write, *_foreign("tool-value", 1, 2))
            _eventually(lambda: http.get("/schemas/ids/2").status_code == 200)
            third = http.post("/subjects/b-value/versions", json={"schema": '"int"'}).json()
            assert third["id"] == 3
    finally:
        registry.stop()


def test_a_skipped_record_is_logged_once_even_when_the_log_is_read_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    storage = MemoryStorage()
    storage.records.append((schema_key("bad-value", 1), b"not json"))
    caplog.set_level(logging.WARNING, logger="streams.registry")
    registry = ThreadedRegistry(storage).start()
    try:
        with httpx.Client(base_url=registry.url, timeout=30) as http:
            storage.fail_next(OSError("write failed"))
            # The failed write makes the registry re-read the whole log.
            assert (
                http.post("/subjects/a-value/versions", json={"schema": SCHEMA}).status_code == 503
            )
            assert (
                http.post("/subjects/a-value/versions", json={"schema": SCHEMA}).status_code == 200
            )
    finally:
        registry.stop()
    skipped = [r.getMessage() for r in caplog.records if "skipping the record" in r.getMessage()]
    assert len(skipped) == 1
    assert "at offset 0 " in skipped[0]
