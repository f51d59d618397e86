"""No poison pill: every message the consumer cannot decode goes to the dead-letter topic and
consumption goes on; schemas with references are resolved."""

from __future__ import annotations

import io
import json
import random
import time
from typing import Any

import fastavro
from confluent_kafka import Producer as RawProducer
from confluent_kafka.schema_registry import Schema, SchemaReference
from confluent_kafka.schema_registry.error import SchemaRegistryError
from pydantic import BaseModel

from streams.config import RegistrySettings
from streams.kafka import Consumer, Producer, SchemaSource
from streams.serialization import AvroEncoder, frame
from tests.helpers.kafka import PLAY_V1, Product, drain, play

CURRENCY = {"type": "enum", "name": "Currency", "namespace": "shop", "symbols": ["EUR", "SEK"]}
ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [{"name": "id", "type": "string"}, {"name": "currency", "type": "shop.Currency"}],
}
BAD_DECIMAL = {
    "type": "record",
    "name": "Price",
    "namespace": "shop",
    "fields": [
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 2, "scale": 5},
        }
    ],
}


class CountingSource(SchemaSource):
    def __init__(self, *, settings: RegistrySettings) -> None:
        super().__init__(url=settings.url, conf=settings.client_conf())
        self.asked: list[int] = []

    def writer(self, schema_id: int) -> Any:
        self.asked.append(schema_id)
        return super().writer(schema_id)


def foreign_schema(product: Product, subject: str, schema: dict[str, Any]) -> int:
    """Append ``schema`` to ``_schemas`` directly and wait until the registry serves it."""
    schema_id = random.randrange(10**8, 2**31 - 1)
    key = {"keytype": "SCHEMA", "subject": subject, "version": 1, "magic": 1}
    value = {"subject": subject, "version": 1, "id": schema_id, "schema": json.dumps(schema)}
    raw = RawProducer({"bootstrap.servers": product.bootstrap})
    raw.produce("_schemas", key=json.dumps(key).encode(), value=json.dumps(value).encode())
    assert raw.flush(10) == 0
    deadline = time.monotonic() + 10
    while True:
        try:
            product.registry.get_schema(schema_id)
            return schema_id
        except SchemaRegistryError:
            assert time.monotonic() < deadline, f"the registry never served schema {schema_id}"
            time.sleep(0.05)


def test_unloadable_schemas_tombstones_and_trailing_bytes_are_dead_lettered(
    product: Product,
) -> None:
    registry = product.registry
    prefix = product.ref.domain
    registry.register_schema(f"{prefix}.currency", Schema(json.dumps(CURRENCY), "AVRO"))
    version = registry.get_latest_version(f"{prefix}.currency").version
    order_id = registry.register_schema(
        f"{prefix}.order",
        Schema(
            json.dumps(ORDER),
            "AVRO",
            [SchemaReference("shop.Currency", f"{prefix}.currency", version)],
        ),
    )
    # Our registry refuses this decimal (fastavro cannot load it); an older registry or another
    # tool writing to _schemas may not, so it arrives through the log, as such a writer's would.
    decimal_id = foreign_schema(product, f"{prefix}.price", BAD_DECIMAL)
    play_id = registry.get_latest_version(product.ref.subject).schema_id
    order_body = io.BytesIO()
    full_order = {**ORDER, "fields": [ORDER["fields"][0], {"name": "currency", "type": CURRENCY}]}
    fastavro.schemaless_writer(
        order_body, fastavro.parse_schema(full_order), {"id": "o1", "currency": "SEK"}
    )

    raw = RawProducer({"bootstrap.servers": product.bootstrap})
    good = AvroEncoder(PLAY_V1, schema_id=play_id)
    raw.produce(product.ref.topic, value=good(play(1)), key=b"good-1")
    raw.produce(product.ref.topic, value=frame(order_id, order_body.getvalue()), key=b"order")
    raw.produce(product.ref.topic, value=frame(decimal_id, b"\x02\x01"), key=b"decimal-1")
    raw.produce(product.ref.topic, value=None, key=b"tombstone")
    raw.produce(product.ref.topic, value=good(play(2)) + b"\x00\x00", key=b"trailing")
    raw.produce(product.ref.topic, value=frame(decimal_id, b"\x02\x01"), key=b"decimal-2")
    raw.produce(product.ref.topic, value=good(play(3)), key=b"good-3")
    assert raw.flush(10) == 0

    source = CountingSource(settings=product.settings.registry)
    with Consumer(
        product.ref.id,
        group_id=None,
        settings=product.settings,
        from_beginning=True,
        schemas=source,
    ) as consumer:
        events = drain(consumer, 3)
        assert [e.key for e in events] == [b"good-1", b"order", b"good-3"]
        assert events[1].value == {"id": "o1", "currency": "SEK"}  # the reference was resolved
        assert dict(consumer.dead_letters.counts) == {
            "unreadable-schema": 2,
            "tombstone": 1,
            "trailing-bytes": 1,
        }
        assert source.asked.count(decimal_id) == 1  # the failure is remembered per schema id

    letters = {m.key(): dict(m.headers()) for m in product.read_raw(product.ref.dlq)}
    assert set(letters) == {b"decimal-1", b"tombstone", b"trailing", b"decimal-2"}
    assert f"schema id {decimal_id} cannot be loaded".encode() in letters[b"decimal-1"]["dlq.error"]
    assert b"scale" in letters[b"decimal-1"]["dlq.error"]
    assert b"2 trailing bytes" in letters[b"trailing"]["dlq.error"]
    assert b"tombstones=True" in letters[b"tombstone"]["dlq.error"]


def test_a_typed_consumer_never_gets_a_none_and_tombstones_can_be_asked_for(
    product: Product,
) -> None:
    class PlayEvent(BaseModel):
        user_id: str
        ms_played: int

    with Producer(settings=product.settings) as producer:
        producer.emit(product.ref.id, play(1))
    raw = RawProducer({"bootstrap.servers": product.bootstrap})
    raw.produce(product.ref.topic, value=None, key=b"user-1")
    assert raw.flush(10) == 0

    with Consumer(
        product.ref.id,
        group_id=None,
        settings=product.settings,
        from_beginning=True,
        model=PlayEvent,
    ) as typed:
        events = drain(typed, 1, rounds=10)
        assert [e.value for e in events] == [PlayEvent(user_id="user-1", ms_played=1001)]
        assert dict(typed.dead_letters.counts) == {"tombstone": 1}

    with Consumer(
        product.ref.id,
        group_id=None,
        settings=product.settings,
        from_beginning=True,
        tombstones=True,
    ) as opted_in:
        events = drain(opted_in, 2, rounds=10)
        assert [(e.key, e.value is None) for e in events] == [(None, False), (b"user-1", True)]
        assert opted_in.dead_letters.count == 0
