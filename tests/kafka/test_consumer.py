"""Consumer: decodes what confluent's AvroSerializer wrote, dead-letters what it cannot decode,
projects onto the reader's schema, and commits at least once."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from confluent_kafka import Producer as RawProducer
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streams.errors import ConfigError
from streams.kafka import Consumer, Producer
from streams.serialization import frame
from tests.helpers.kafka import PLAY_V1, PLAY_V2, Product, drain, play


def normal(value: dict[str, Any]) -> dict[str, Any]:
    return {**value, "event_id": str(value["event_id"])}


def group() -> str:
    return f"g-{uuid.uuid4().hex[:8]}"


def test_reads_what_confluents_serializer_wrote(product: Product) -> None:
    serialize = AvroSerializer(product.registry, json.dumps(PLAY_V1))
    ctx = SerializationContext(product.ref.topic, MessageField.VALUE)
    raw = RawProducer({"bootstrap.servers": product.bootstrap})
    for n in range(5):
        raw.produce(product.ref.topic, value=serialize(play(n), ctx), key=b"k")
    assert raw.flush(10) == 0

    with Consumer(
        product.ref.id, group_id=None, settings=product.settings, from_beginning=True
    ) as consumer:
        events = drain(consumer, 5)
        assert [normal(e.value) for e in events] == [play(n) for n in range(5)]
        assert events[0].key == b"k"
        assert (
            events[0].schema_id
            == product.registry.get_latest_version(product.ref.subject).schema_id
        )
        assert consumer.dead_letters.count == 0


def test_undecodable_messages_go_to_the_dlq_and_consumption_continues(product: Product) -> None:
    with Producer(settings=product.settings) as producer:
        producer.emit(product.ref.id, play(1))
    raw = RawProducer({"bootstrap.servers": product.bootstrap})
    raw.produce(product.ref.topic, value=b'{"not": "avro"}', key=b"json")
    raw.produce(product.ref.topic, value=frame(987654, b"\x02"), key=b"unknown-id")
    good_id = product.registry.get_latest_version(product.ref.subject).schema_id
    raw.produce(product.ref.topic, value=frame(good_id, b"\xff\xff\xff"), key=b"corrupt")
    assert raw.flush(10) == 0
    with Producer(settings=product.settings) as producer:
        producer.emit(product.ref.id, play(2))

    name = group()
    with Consumer(
        product.ref.id, group_id=name, settings=product.settings, from_beginning=True
    ) as consumer:
        events = drain(consumer, 2)
        assert [normal(e.value) for e in events] == [play(1), play(2)]
        assert consumer.dead_letters.count == 3
        assert dict(consumer.dead_letters.counts) == {
            "not-framed": 1,
            "unknown-schema": 1,
            "corrupt": 1,
        }
        consumer.commit()

    letters = product.read_raw(product.ref.dlq)
    assert [m.key() for m in letters] == [b"json", b"unknown-id", b"corrupt"]
    first = dict(letters[0].headers())
    assert first["dlq.reason"] == b"not-framed"
    assert first["dlq.original.topic"] == product.ref.topic.encode()
    assert first["dlq.original.offset"] == b"1"
    assert b"magic byte" in first["dlq.error"]
    assert letters[0].value() == b'{"not": "avro"}'  # the original bytes, untouched
    assert b"987654" in dict(letters[1].headers())["dlq.error"]

    # Committed past the bad messages: the group resumes with the next event, not before it.
    with Producer(settings=product.settings) as producer:
        producer.emit(product.ref.id, play(3))
    with Consumer(
        product.ref.id, group_id=name, settings=product.settings, from_beginning=True
    ) as again:
        assert [normal(e.value) for e in drain(again, 1)] == [play(3)]
        assert again.dead_letters.count == 0


def test_old_reader_reads_newer_writer_and_the_reverse(product: Product) -> None:
    with Producer(settings=product.settings) as producer:
        producer.emit(product.ref.id, play(1))
        producer.flush()  # stored before producer2's event, whichever lingers longer
        product.register(PLAY_V2)
        producer2 = Producer(settings=product.settings)
        producer2.emit(product.ref.id, play(2, country="SE"))
        producer2.close()

    with Consumer(
        product.ref.id,
        group_id=None,
        settings=product.settings,
        from_beginning=True,
        reader_schema=json.dumps(PLAY_V1),
    ) as v1_reader:
        assert [normal(e.value) for e in drain(v1_reader, 2)] == [play(1), play(2)]

    with Consumer(
        product.ref.id,
        group_id=None,
        settings=product.settings,
        from_beginning=True,
        reader_schema=json.dumps(PLAY_V2),
    ) as v2_reader:
        got = [normal(e.value) for e in drain(v2_reader, 2)]
        assert got == [play(1, country=None), play(2, country="SE")]


def test_uncommitted_events_are_read_again(product: Product) -> None:
    with Producer(settings=product.settings) as producer:
        for n in range(3):
            producer.emit(product.ref.id, play(n))
    name = group()
    with Consumer(
        product.ref.id, group_id=name, settings=product.settings, from_beginning=True
    ) as first:
        assert len(drain(first, 3)) == 3  # processed, but the process "crashes" before commit
    with Consumer(
        product.ref.id, group_id=name, settings=product.settings, from_beginning=True
    ) as second:
        assert [normal(e.value) for e in drain(second, 3)] == [play(n) for n in range(3)]


def test_a_reader_schema_fastavro_cannot_load_is_refused_at_once(product: Product) -> None:
    bad = {"type": "record", "name": "R", "fields": [{"name": "x", "type": "Nowhere"}]}
    with pytest.raises(ConfigError, match="reader_schema cannot be loaded"):
        Consumer(product.ref.id, group_id=None, settings=product.settings, reader_schema=bad)
