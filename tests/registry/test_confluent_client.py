"""Our registry with confluent-kafka's own SchemaRegistryClient, AvroSerializer and
AvroDeserializer, unchanged, on the embedded broker."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from streams.local import PlatformInfo

PLAY_V1 = {
    "type": "record",
    "name": "PlayEvent",
    "namespace": "music.player",
    "fields": [
        {"name": "user_id", "type": "string", "doc": "Listener id.", "pii": "pseudonymize"},
        {"name": "track_id", "type": "string", "doc": "Track id."},
        {"name": "ms_played", "type": "long", "doc": "Milliseconds played."},
    ],
}
PLAY_V2 = {
    **PLAY_V1,
    "fields": [
        *PLAY_V1["fields"],
        {"name": "country", "type": ["null", "string"], "default": None, "doc": "ISO country."},
    ],
}


@pytest.fixture
def client(platform: PlatformInfo) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient(platform.registry_conf()) as registry_client:
        yield registry_client


@pytest.fixture
def topic(platform: PlatformInfo) -> str:
    """A fresh one-partition topic."""
    name = f"test.play_events.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": platform.bootstrap_servers})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(10)
    return name


def consume_all(bootstrap: str, topic: str, count: int) -> list[bytes]:
    """Read ``count`` values from partition 0 with assign() (no group join)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"t-{uuid.uuid4().hex}",
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    values: list[bytes] = []
    try:
        for _ in range(100):
            message = consumer.poll(0.2)
            if message is None:
                continue
            if message.error() is not None:
                assert message.error().code() == KafkaError._PARTITION_EOF, message.error()
                if len(values) >= count:
                    break
                continue
            values.append(message.value())
    finally:
        consumer.close()
    return values


def test_serializer_round_trip_through_the_broker(
    platform: PlatformInfo, client: SchemaRegistryClient, topic: str
) -> None:
    serializer = AvroSerializer(client, json.dumps(PLAY_V1))
    producer = Producer({"bootstrap.servers": platform.bootstrap_servers})
    events = [{"user_id": f"u{i}", "track_id": f"t{i}", "ms_played": 1000 * i} for i in range(20)]
    ctx = SerializationContext(topic, MessageField.VALUE)
    for event in events:
        producer.produce(topic, value=serializer(event, ctx))
    assert producer.flush(10) == 0

    registered = client.get_latest_version(f"{topic}-value")
    assert registered.version == 1
    assert json.loads(registered.schema.schema_str)["fields"][0]["pii"] == "pseudonymize"

    values = consume_all(platform.bootstrap_servers, topic, len(events))
    assert values[0][0] == 0  # Confluent wire format: magic byte, then the schema id
    assert int.from_bytes(values[0][1:5], "big") == registered.schema_id
    deserializer = AvroDeserializer(client)
    assert [deserializer(v, ctx) for v in values] == events


def test_old_reader_decodes_new_writer(
    platform: PlatformInfo, client: SchemaRegistryClient, topic: str
) -> None:
    ctx = SerializationContext(topic, MessageField.VALUE)
    old = AvroSerializer(client, json.dumps(PLAY_V1))(
        {"user_id": "u", "track_id": "t", "ms_played": 1}, ctx
    )
    new = AvroSerializer(client, json.dumps(PLAY_V2))(
        {"user_id": "u", "track_id": "t", "ms_played": 2, "country": "SE"}, ctx
    )
    assert client.get_versions(f"{topic}-value") == [1, 2]
    reader = AvroDeserializer(client, json.dumps(PLAY_V1))
    assert reader(new, ctx) == {"user_id": "u", "track_id": "t", "ms_played": 2}
    newer_reader = AvroDeserializer(client, json.dumps(PLAY_V2))
    assert newer_reader(old, ctx)["country"] is None


def test_client_admin_calls(client: SchemaRegistryClient, topic: str) -> None:
    subject = f"{topic}-value"
    first = client.register_schema(subject, Schema(json.dumps(PLAY_V1), "AVRO"))
    assert (
        client.register_schema(f"{topic}.copy-value", Schema(json.dumps(PLAY_V1), "AVRO")) == first
    )
    assert client.lookup_schema(subject, Schema(json.dumps(PLAY_V1), "AVRO")).version == 1
    assert client.test_compatibility(subject, Schema(json.dumps(PLAY_V2), "AVRO")) is True

    breaking = {**PLAY_V1, "fields": [*PLAY_V1["fields"], {"name": "x", "type": "int"}]}
    assert client.test_compatibility(subject, Schema(json.dumps(breaking), "AVRO")) is False
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(subject, Schema(json.dumps(breaking), "AVRO"))
    assert refused.value.http_status_code == 409
    assert "/fields/3" in refused.value.error_message or "'x'" in refused.value.error_message

    assert (
        client.set_compatibility(subject, "FULL_TRANSITIVE")["compatibility"] == "FULL_TRANSITIVE"
    )
    assert client.get_compatibility(subject) == "FULL_TRANSITIVE"
    assert (
        client.get_schema(first).schema_str == client.get_latest_version(subject).schema.schema_str
    )
    assert subject in client.get_subjects()
    assert client.delete_subject(subject) == [1]
    assert client.delete_subject(subject, permanent=True) == [1]
    with pytest.raises(SchemaRegistryError) as missing:
        client.get_versions(subject)  # get_latest_version would answer from the client's cache
    assert missing.value.error_code == 40401
