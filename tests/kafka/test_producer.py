"""emit(): an independent reader (confluent's AvroDeserializer) decodes what we wrote."""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from pydantic import BaseModel

from streams.config import KafkaSettings
from streams.errors import DeliveryError, OwnershipError, SchemaError, SerializationError
from streams.kafka import Producer
from streams.kafka.directory import ProductStatus
from streams.kafka.topics import read_to_end
from streams.local._kafka_dist import resolve_libs
from streams.naming import ProductRef
from tests.helpers.brokers import kafka_settings
from tests.helpers.kafka import PLAY_V1, PLAY_V2, Product, play


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


class Directory:
    """A catalog stand-in: every product is published with ``key`` as its key field."""

    def __init__(self, key: str | None) -> None:
        self.key = key
        self.asked: list[ProductRef] = []

    def resolve(self, ref: ProductRef) -> ProductStatus | None:
        self.asked.append(ref)
        return ProductStatus(ref.topic, "active", key=self.key)


def test_emit_keys_by_the_descriptors_key_field_by_default(product: Product) -> None:
    """Consumers that aggregate by the key need one key's events on one partition."""
    directory = Directory("user_id")
    with Producer(settings=product.settings, directory=directory) as producer:
        producer.emit(product.ref.id, play(1))
        producer.emit(product.ref.id, play(2))
        producer.emit(product.ref.id, play(3), key="explicit")  # an explicit key still wins
    assert [m.key() for m in product.read_raw()] == [b"user-1", b"user-2", b"explicit"]
    assert directory.asked == [product.ref]  # resolved once per product, then cached


def test_a_key_field_that_is_not_a_string_keys_by_its_text(product: Product) -> None:
    with Producer(settings=product.settings, directory=Directory("ms_played")) as producer:
        producer.emit(product.ref.id, play(1))
    assert [m.key() for m in product.read_raw()] == [b"1001"]


def test_an_event_without_a_value_for_the_key_field_is_refused(product: Product) -> None:
    product.register(PLAY_V2)
    with Producer(settings=product.settings, directory=Directory("country")) as producer:
        with pytest.raises(SerializationError, match=r"no value for 'country', the key") as info:
            producer.emit(product.ref.id, play(1, country=None))
        assert info.value.path == "country"
        assert "key=" in str(info.value)
        producer.emit(product.ref.id, play(2, country="SE"))
    assert [m.key() for m in product.read_raw()] == [b"SE"]  # nothing sent for the first


def test_a_product_whose_descriptor_has_no_key_gets_null_keys_quietly(
    product: Product, caplog: pytest.LogCaptureFixture
) -> None:
    with Producer(settings=product.settings, directory=Directory(None)) as producer:
        producer.emit(product.ref.id, play(1))
    assert [m.key() for m in product.read_raw()] == [None]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_without_a_descriptor_emit_sends_null_keys_and_says_so_once(
    product: Product, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="streams.kafka.producer")
    unknown = Directory(None)
    unknown.resolve = lambda ref: None  # type: ignore[method-assign]  # not in the catalog
    for directory in (None, unknown):
        caplog.clear()
        with Producer(settings=product.settings, directory=directory) as producer:
            producer.emit(product.ref.id, play(1))
            producer.emit(product.ref.id, play(2))
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 1, lines
        assert f"{product.ref.topic} without a key" in lines[0]
        assert "key=" in lines[0]
    assert [m.key() for m in product.read_raw()] == [None] * 4


def java_partitions(keys: list[str], partitions: int) -> list[int]:
    """Where Apache Kafka's Java producer puts each key: its own partitioner, run in Java."""
    libs = resolve_libs(kafka_settings())
    source = (
        "import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;"
        "public class Where { public static void main(String[] a) {"
        " int n = Integer.parseInt(a[0]);"
        " for (int i = 1; i < a.length; i++) System.out.println(BuiltInPartitioner"
        ".partitionForKey(a[i].getBytes(java.nio.charset.StandardCharsets.UTF_8), n)); } }"
    )
    with tempfile.TemporaryDirectory() as folder:
        program = Path(folder) / "Where.java"
        program.write_text(source)
        done = subprocess.run(
            ["java", "-cp", str(libs / "*"), str(program), str(partitions), *keys],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    return [int(line) for line in done.stdout.split()]


def test_a_key_lands_on_the_partition_the_java_producer_chooses(product: Product) -> None:
    """murmur2_random, the Java client's partitioner: Python and Java producers (Kafka Connect,
    Kafka Streams, ...) writing one key reach the same partition, so co-partitioning holds."""
    topic = ProductRef(product.ref.domain, "keyed_plays")
    admin = AdminClient({"bootstrap.servers": product.bootstrap})
    admin.create_topics([NewTopic(topic.topic, num_partitions=12)])[topic.topic].result(10)
    product.registry.register_schema(topic.subject, Schema(json.dumps(PLAY_V1), "AVRO"))
    keys = [f"user-{n}" for n in range(40)] + ["ü-ñícode", "7"]
    with Producer(settings=product.settings) as producer:
        for key in keys:
            producer.emit(topic.id, play(1), key=key)
    found = {}
    for message in read_to_end({"bootstrap.servers": product.bootstrap}, topic.topic):
        found[message.key().decode()] = message.partition()
    assert [found[key] for key in keys] == java_partitions(keys, 12)


def test_a_tombstone_deletes_a_key_and_only_the_owner_may_send_it(product: Product) -> None:
    with Producer(settings=product.settings, domain=product.ref.domain) as producer:
        producer.emit(product.ref.id, play(1), key="user-1@0")
        producer.tombstone(product.ref.id, "user-1@0")
    written = product.read_raw()
    assert [(m.key(), m.value() is None) for m in written] == [
        (b"user-1@0", False),
        (b"user-1@0", True),
    ]
    assert dict(written[1].headers() or [])["domain"] == product.ref.domain.encode()
    with Producer(settings=product.settings, domain="someone_else") as producer:
        with pytest.raises(OwnershipError):
            producer.tombstone(product.ref.id, "user-1@0")
        with pytest.raises(TypeError, match="key"):
            producer.tombstone(product.ref.id, 42)  # type: ignore[arg-type]


class Versions(Directory):
    """A catalog stand-in that also knows a bare name's latest active version."""

    def __init__(self, latest: ProductRef) -> None:
        super().__init__(None)
        self.latest = latest

    def pick(self, name: str, *, version: int | None = None) -> ProductRef:
        assert name == self.latest.id
        return self.latest


def test_a_bare_name_is_emitted_to_the_latest_active_version(product: Product) -> None:
    """As in every mesh command: `player.play_events` means its latest active major version,
    not v1, when the producer has a catalog to ask."""
    v2 = ProductRef(product.ref.domain, product.ref.name, 2)
    admin = AdminClient({"bootstrap.servers": product.bootstrap})
    admin.create_topics([NewTopic(v2.topic, num_partitions=1)])[v2.topic].result(10)
    product.registry.register_schema(v2.subject, Schema(json.dumps(PLAY_V1), "AVRO"))
    with Producer(settings=product.settings, directory=Versions(v2)) as producer:
        producer.emit(product.ref.id, play(1))  # bare: v2
        producer.emit(product.ref.topic, play(2))  # named: v1
    assert len(product.read_raw(v2.topic)) == 1
    assert len(product.read_raw()) == 1
