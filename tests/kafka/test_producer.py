"""emit(): an independent reader (confluent's AvroDeserializer) decodes what we wrote."""

from __future__ import annotations

import pytest
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from pydantic import BaseModel

from streams.config import KafkaSettings
from streams.errors import DeliveryError, OwnershipError, SchemaError, SerializationError
from streams.kafka import Producer
from streams.naming import ProductRef
from tests.helpers.kafka import Product, play


def test_emit_is_read_by_confluents_deserializer(product: Product) -> None:
    with Producer(settings=product.settings, domain=product.ref.domain) as producer:
        for n in range(10):
            producer.emit(product.ref.id, play(n), key=f"user-{n}", trace_id=f"trace-{n}")
    assert producer.sent == 10

    messages = product.read_raw()
    assert len(messages) == 10
    deserialize = AvroDeserializer(product.registry)
    ctx = SerializationContext(product.ref.topic, MessageField.VALUE)
    decoded = [deserialize(m.value(), ctx) for m in messages]
    # Avro's uuid logical type decodes to uuid.UUID.
    assert [{**d, "event_id": str(d["event_id"])} for d in decoded] == [play(n) for n in range(10)]
    first = messages[0]
    assert first.key() == b"user-0"
    headers = dict(first.headers())
    assert headers["event_id"] == play(0)["event_id"].encode()
    assert headers["domain"] == product.ref.domain.encode()
    assert headers["content-type"] == b"application/vnd.confluent.avro"
    assert headers["trace_id"] == b"trace-0"


def test_invalid_event_raises_and_sends_nothing(product: Product) -> None:
    with Producer(settings=product.settings) as producer:
        with pytest.raises(SerializationError) as caught:
            producer.emit(product.ref.id, play(1, ms_played="a lot"))
        assert caught.value.path == "ms_played"
        assert caught.value.expected == "long"
        assert caught.value.value == "a lot"
        assert producer.sent == 0
    assert product.read_raw() == []


def test_pydantic_models_are_accepted(product: Product) -> None:
    class PlayEvent(BaseModel):
        event_id: str
        user_id: str
        track_id: str
        ms_played: int

    with Producer(settings=product.settings) as producer:
        producer.emit(product.ref.id, PlayEvent(**play(3)))
    deserialize = AvroDeserializer(product.registry)
    value = product.read_raw()[0].value()
    decoded = deserialize(value, SerializationContext(product.ref.topic, MessageField.VALUE))
    assert {**decoded, "event_id": str(decoded["event_id"])} == play(3)


def test_only_the_owning_domain_may_emit(product: Product) -> None:
    with (
        Producer(settings=product.settings, domain="listeners") as producer,
        pytest.raises(OwnershipError, match="owns"),
    ):
        producer.emit(product.ref.id, play(1))


def test_unregistered_product_says_how_to_fix(product: Product) -> None:
    with (
        Producer(settings=product.settings) as producer,
        pytest.raises(SchemaError, match="mesh product apply"),
    ):
        producer.emit(ProductRef(domain=product.ref.domain, name="nothing_here"), play(1))


def test_undelivered_events_are_reported_by_flush(product: Product) -> None:
    dead_broker = product.settings.model_copy(
        update={"kafka": KafkaSettings(bootstrap_servers="127.0.0.1:1")}
    )
    producer = Producer(settings=dead_broker, config={"message.timeout.ms": 300})
    producer.emit(product.ref.id, play(1))
    producer.emit(product.ref.id, play(2))
    with pytest.raises(DeliveryError) as caught:
        producer.close(5)  # flushes, raises, and still releases the registry client
    assert caught.value.undelivered == 2
    assert "2 of 2 events were not delivered" in str(caught.value)


def test_a_failed_flush_does_not_fail_the_next_one(product: Product) -> None:
    """Each flush reports the failures since the previous one (a real timeout: no broker)."""
    dead_broker = product.settings.model_copy(
        update={"kafka": KafkaSettings(bootstrap_servers="127.0.0.1:1")}
    )
    producer = Producer(settings=dead_broker, config={"message.timeout.ms": 300})
    try:
        producer.emit(product.ref.id, play(1))
        with pytest.raises(DeliveryError, match="1 of 1 events were not delivered"):
            producer.flush(5)
        assert producer.flush(5) == 1  # before: the old failure failed every later flush
        producer.emit(product.ref.id, play(2))
        with pytest.raises(DeliveryError) as caught:
            producer.flush(5)
        assert caught.value.undelivered == 1  # only its own event, not the first one again
        assert len(caught.value.failures) == 1
        assert producer.failed == 2
    finally:
        producer.close(1)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"key": 123}, "key must be a str, bytes or None, got 123 (int)"),
        ({"trace_id": 5}, "trace_id must be a str or None, got 5 (int)"),
        ({"headers": {"origin": 5}}, "headers['origin'] must be a str or bytes, got 5 (int)"),
        ({"headers": {7: "x"}}, "a header name must be a str, got 7 (int)"),
    ],
)
def test_wrong_argument_types_are_named(
    product: Product, arguments: dict[str, object], named: str
) -> None:
    with Producer(settings=product.settings) as producer:
        with pytest.raises(TypeError) as caught:
            producer.emit(product.ref.id, play(1), **arguments)  # type: ignore[arg-type]
        assert named in str(caught.value)
        assert producer.sent == 0
