"""A schema larger than the broker accepts is a clear 422 naming the size and the limit."""

from __future__ import annotations

import json

import httpx
from confluent_kafka.admin import AdminClient

from streams.kafka.topics import COMPACTED, create_topic
from streams.local import PlatformInfo
from streams.registry import KafkaStorage
from tests.registry.conftest import ThreadedRegistry


def _big_schema(doc_bytes: int) -> str:
    fields = [{"name": "f", "type": "string", "doc": "x" * doc_bytes}]
    return json.dumps({"type": "record", "name": "Big", "fields": fields})


def test_a_schema_over_the_message_limit_is_a_422(kafka_registry: ThreadedRegistry) -> None:
    with httpx.Client(base_url=kafka_registry.url, timeout=60) as http:
        answer = http.post("/subjects/big-value/versions", json={"schema": _big_schema(1_200_000)})
        assert answer.status_code == 422
        body = answer.json()
        assert body["error_code"] == 42209
        assert "1,000,000 bytes" in body["message"]
        assert "1,200," in body["message"]
        # Nothing was stored and the registry keeps working.
        assert http.get("/subjects").json() == []
        ok = http.post("/subjects/small-value/versions", json={"schema": _big_schema(10)})
        assert ok.status_code == 200


def test_the_topic_limit_is_read_from_the_broker(
    platform: PlatformInfo, registry_topic: str
) -> None:
    admin = AdminClient({"bootstrap.servers": platform.bootstrap_servers})
    create_topic(admin, registry_topic, config={**COMPACTED, "max.message.bytes": "200000"})
    storage = KafkaStorage(bootstrap_servers=platform.bootstrap_servers, topic=registry_topic)
    registry = ThreadedRegistry(storage).start()
    try:
        with httpx.Client(base_url=registry.url, timeout=60) as http:
            answer = http.post(
                "/subjects/big-value/versions", json={"schema": _big_schema(300_000)}
            )
            assert answer.status_code == 422
            assert "at most 200,000 bytes" in answer.json()["message"]
    finally:
        registry.stop()


def test_a_record_kafka_refuses_as_too_large_is_a_422_too(
    kafka_registry: ThreadedRegistry,
) -> None:
    # As if the limit we know were wrong: the refusal itself is mapped, not turned into a 5xx.
    assert kafka_registry.server is not None
    storage = kafka_registry.storage
    assert isinstance(storage, KafkaStorage)
    storage.max_message_bytes = 2**31 - 1
    with httpx.Client(base_url=kafka_registry.url, timeout=60) as http:
        answer = http.post("/subjects/big-value/versions", json={"schema": _big_schema(1_200_000)})
        assert answer.status_code == 422
        assert answer.json()["error_code"] == 42209
        assert "too large" in answer.json()["message"]
        ok = http.post("/subjects/small-value/versions", json={"schema": _big_schema(10)})
        assert ok.status_code == 200
        assert http.get("/subjects").json() == ["small-value"]
