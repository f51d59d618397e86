"""``scripts/demo --tour``: the fifteen-step tour of streams, one capability after another.

On the platform ``scripts/demo`` started (``demo.py`` starts and stops it), it registers a
``PlayEvent`` Avro schema, produces and consumes Avro events with confluent-kafka's own
serializers, evolves the schema compatibly, shows an incompatible change being refused, publishes
the company's products and emits and consumes their events, runs a derived product's agent
(`mesh agent run`) in the background and shows its output, replays it into v2 and shows its
lineage, watches guarantees breach and recover, makes a product with ``mesh product new``, and
shows access, encrypted personal data, ``mesh forget`` and a forged catalog entry refused.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from rich.console import Console
from rich.table import Table

from streams.local import PlatformInfo

TOPIC = "demo.plays.v1"  # the registry tour's own topic; the events tour uses the real products
SUBJECT = f"{TOPIC}-value"

PLAY_EVENT_V1: dict[str, Any] = {
    "type": "record",
    "name": "PlayEvent",
    "namespace": "music.player",
    "doc": "A listener played a track.",
    "fields": [
        {"name": "event_id", "type": "string"},
        {"name": "user_id", "type": "string"},
        {"name": "track_id", "type": "string"},
        {"name": "played_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "duration_ms", "type": "int"},
    ],
}
# Compatible: a new optional field with a default, so new readers still read old events.
PLAY_EVENT_V2: dict[str, Any] = {
    **PLAY_EVENT_V1,
    "fields": [
        *PLAY_EVENT_V1["fields"],
        {"name": "device", "type": ["null", "string"], "default": None},
    ],
}
# Incompatible: duration_ms changes from int to string, so old events cannot be read.
PLAY_EVENT_BROKEN: dict[str, Any] = {
    **PLAY_EVENT_V2,
    "fields": [
        {**field, "type": "string"} if field["name"] == "duration_ms" else field
        for field in PLAY_EVENT_V2["fields"]
    ],
}

out = Console()
err = Console(stderr=True)


sys.path.insert(0, str(Path(__file__).resolve().parent))
from _demo_access import access_tour  # noqa: E402
from _demo_agents import tour as agents_tour  # noqa: E402
from _demo_events import tour as events_tour  # noqa: E402
from _demo_guarantees import tour as guarantees_tour  # noqa: E402
from _demo_selfserve import selfserve_tour  # noqa: E402


def step(title: str) -> None:
    out.rule(f"[bold cyan]{title}", align="left")


def avro(schema: dict[str, Any]) -> Schema:
    return Schema(json.dumps(schema), "AVRO")


def events(count: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC).replace(microsecond=0)
    return [
        {
            "event_id": str(uuid.uuid4()),
            "user_id": f"user-{index % 3}",
            "track_id": f"track-{100 + index}",
            "played_at": now - timedelta(minutes=count - index),
            "duration_ms": 180_000 + 1_000 * index,
        }
        for index in range(count)
    ]


def create_topic(info: PlatformInfo) -> None:
    admin = AdminClient({"bootstrap.servers": info.bootstrap_servers})
    future = admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1)])[TOPIC]
    try:
        future.result(timeout=10)
    except KafkaException as exc:  # a demo platform left over from a crash is reused
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
    out.print(f"topic [bold]{TOPIC}[/] with 1 partition")


def produce(
    info: PlatformInfo, registry: SchemaRegistryClient, records: list[dict[str, Any]]
) -> None:
    # Producers look their schema up instead of registering it: registration is a governed step.
    serializer = AvroSerializer(
        registry, json.dumps(PLAY_EVENT_V1), conf={"auto.register.schemas": False}
    )
    producer = Producer({"bootstrap.servers": info.bootstrap_servers, "enable.idempotence": True})
    for record in records:
        ctx = SerializationContext(TOPIC, MessageField.VALUE)
        producer.produce(TOPIC, key=record["user_id"].encode(), value=serializer(record, ctx))
    if producer.flush(10) != 0:
        raise RuntimeError("some events were not delivered within 10 s")
    out.print(f"produced {len(records)} PlayEvents")


def consume(info: PlatformInfo, registry: SchemaRegistryClient) -> list[tuple[int, int, Any]]:
    deserializer = AvroDeserializer(registry)
    # assign(), not subscribe(): no consumer group is needed to read a partition from the start,
    # and the embedded broker is slow to complete group joins.
    consumer = Consumer(
        {
            "bootstrap.servers": info.bootstrap_servers,
            "group.id": f"demo-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    rows: list[tuple[int, int, Any]] = []
    try:
        consumer.assign([TopicPartition(TOPIC, 0, 0)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    break
                raise RuntimeError(f"consume failed: {message.error()}")
            raw = message.value()
            schema_id = int.from_bytes(raw[1:5], "big")
            ctx = SerializationContext(TOPIC, MessageField.VALUE)
            rows.append((message.offset(), schema_id, deserializer(raw, ctx)))
    finally:
        consumer.close()
    return rows


def show(rows: list[tuple[int, int, Any]]) -> None:
    table = Table(title=f"consumed from {TOPIC}", title_justify="left")
    for column in ("offset", "schema id", "user", "track", "played at", "duration"):
        table.add_column(column)
    for offset, schema_id, event in rows:
        table.add_row(
            str(offset),
            str(schema_id),
            event["user_id"],
            event["track_id"],
            event["played_at"].strftime("%Y-%m-%d %H:%M UTC"),
            f"{event['duration_ms'] / 1000:.0f} s",
        )
    out.print(table)


def tour(info: PlatformInfo) -> bool:
    registry = SchemaRegistryClient(info.registry_conf())

    step("1. register PlayEvent v1")
    schema_id = registry.register_schema(SUBJECT, avro(PLAY_EVENT_V1))
    out.print(f"subject [bold]{SUBJECT}[/] → schema id [bold]{schema_id}[/]")

    step("2. produce and consume Avro events")
    create_topic(info)
    sent = events(5)
    produce(info, registry, sent)
    rows = consume(info, registry)
    show(rows)
    received = [event["event_id"] for _, _, event in rows]
    if received[-len(sent) :] != [event["event_id"] for event in sent]:
        err.print("[red]the consumed events differ from the produced ones")
        return False

    step("3. evolve compatibly: add an optional field")
    v2_id = registry.register_schema(SUBJECT, avro(PLAY_EVENT_V2))
    out.print(f"accepted: new optional field [bold]device[/] → schema id [bold]{v2_id}[/]")

    step("4. an incompatible change is refused")
    try:
        registry.register_schema(SUBJECT, avro(PLAY_EVENT_BROKEN))
    except SchemaRegistryError as exc:
        out.print(
            f"refused (HTTP {exc.http_status_code}, error {exc.error_code}): "
            f"[yellow]{exc.error_message}[/]",
            highlight=False,
        )
    else:
        err.print("[red]the registry accepted an incompatible schema")
        return False
    versions = registry.get_versions(SUBJECT)
    out.print(f"versions of {SUBJECT}: {versions}")
    return True


def run(info: PlatformInfo, logs: Path) -> bool:
    """The fifteen steps, in order; False at the first that fails."""
    return (
        tour(info)
        and events_tour(info)
        and agents_tour(info, logs)
        and guarantees_tour(info)
        and selfserve_tour(info)
        and access_tour(info)
    )
