"""Benchmark: emit and consume+decode of PlayEvents against raw librdkafka + fastavro.

Three paths each way, in one run, on the embedded broker:
- raw: confluent-kafka ``Producer.produce`` / ``Consumer.consume`` + fastavro
  ``schemaless_writer`` / ``schemaless_reader`` with a pre-parsed schema and hand-written framing;
- ours: ``streams.kafka.Producer.emit`` / ``streams.kafka.Consumer.consume`` (validation,
  framing, standard headers, dead-letter checks);
- confluent: ``AvroSerializer`` / ``AvroDeserializer``.
All producers share one configuration (linger.ms=5, idempotence); all consumers read the same
topic, and consumer timing starts at the first batch so group joins are not counted.
Each measurement is the best of ``ROUNDS``. Targets: emit and consume >= 0.85x raw.
"""

from __future__ import annotations

import io
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from rich.console import Console
from rich.table import Table

from streams import kafka
from streams.config import KafkaSettings, RegistrySettings, Settings
from streams.local import EmbeddedPlatform
from streams.naming import ProductRef

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
ROUNDS = 2
BATCH = 1000
TARGET = 0.85
ROOT = Path(__file__).parents[1]
PRODUCER_CONF = {"linger.ms": 5, "enable.idempotence": True}
err = Console(stderr=True)


def make_events(n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    users = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(5_000)]
    tracks = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(20_000)]
    schema = json.loads((ROOT / "schemas/player/PlayEvent.avsc").read_text())
    events = []
    base = 1_790_000_000_000
    for i in range(n):
        event: dict[str, Any] = {}
        for field in schema["fields"]:
            event[field["name"]] = _value(field, rng, users, tracks, base + i)
        events.append(event)
    return events


def _value(
    field: dict[str, Any], rng: random.Random, users: list[str], tracks: list[str], t: int
) -> Any:
    name, kind = field["name"], field["type"]
    if name == "event_id":
        return str(uuid.UUID(int=rng.getrandbits(128)))
    if name == "user_id":
        return rng.choice(users)
    if name == "track_id":
        return rng.choice(tracks)
    if name == "event_time":
        return t
    if isinstance(kind, list):
        return None
    if isinstance(kind, dict) and kind.get("type") == "enum":
        return rng.choice(kind["symbols"])
    if isinstance(kind, dict) and kind.get("logicalType") == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128)))
    if isinstance(kind, dict) and kind.get("type") == "long":
        return t
    return {
        "string": "DE",
        "long": rng.randrange(1, 400_000),
        "int": rng.randrange(0, 100),
        "boolean": rng.random() < 0.1,
        "double": rng.random(),
    }.get(kind)


def create(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(10)


def timed(run: Callable[[], int]) -> float:
    started = time.perf_counter()
    count = run()
    return count / (time.perf_counter() - started)


def produce_raw(
    bootstrap: str, topic: str, schema: Any, schema_id: int, events: list[dict[str, Any]]
) -> float:
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONF})
    head = b"\x00" + schema_id.to_bytes(4, "big")
    writer = fastavro.schemaless_writer

    def run() -> int:
        for event in events:
            buffer = io.BytesIO()
            buffer.write(head)
            writer(buffer, schema, event)
            while True:
                try:
                    producer.produce(topic, buffer.getvalue(), event["user_id"].encode())
                    break
                except BufferError:
                    producer.poll(0.05)
        assert producer.flush(60) == 0
        return len(events)

    return timed(run)


def produce_ours(settings: Settings, ref: ProductRef, events: list[dict[str, Any]]) -> float:
    producer = kafka.Producer(settings=settings, domain=ref.domain, config={"linger.ms": 5})
    producer.emit(ref, events[0], key=events[0]["user_id"])  # resolve the schema once, untimed
    producer.flush()

    def run() -> int:
        emit = producer.emit
        for event in events:
            emit(ref, event, key=event["user_id"])
        producer.flush(60)
        return len(events)

    rate = timed(run)
    producer.close()
    return rate


def produce_confluent(
    bootstrap: str,
    registry: SchemaRegistryClient,
    topic: str,
    schema_str: str,
    events: list[dict[str, Any]],
) -> float:
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONF})
    serialize = AvroSerializer(
        registry, schema_str, conf={"auto.register.schemas": False, "use.latest.version": True}
    )
    ctx = SerializationContext(topic, MessageField.VALUE)
    serialize(events[0], ctx)

    def run() -> int:
        for event in events:
            while True:
                try:
                    producer.produce(topic, serialize(event, ctx), event["user_id"].encode())
                    break
                except BufferError:
                    producer.poll(0.05)
        assert producer.flush(60) == 0
        return len(events)

    return timed(run)


def consume_timed(next_batch: Callable[[], int], total: int) -> float:
    """Rate from the first non-empty batch to the last event."""
    got = 0
    started = 0.0
    deadline = time.monotonic() + 120
    while got < total:
        n = next_batch()
        if n and not started:
            started = time.perf_counter()
            first = n
        got += n
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {got} of {total} events arrived")
    return (got - first) / (time.perf_counter() - started)


def consume_raw(bootstrap: str, topic: str, schema: Any, total: int) -> float:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{uuid.uuid4().hex}"})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    reader = fastavro.schemaless_reader
    sink: list[Any] = []

    def batch() -> int:
        messages = consumer.consume(BATCH, 0.5)
        for message in messages:
            stream = io.BytesIO(message.value())
            stream.seek(5)
            sink.append(reader(stream, schema, None))
        sink.clear()
        return len(messages)

    rate = consume_timed(batch, total)
    consumer.close()
    return rate


def consume_ours(settings: Settings, ref: ProductRef, total: int) -> float:
    consumer = kafka.Consumer(
        ref, group_id=f"ours-{uuid.uuid4().hex}", settings=settings, from_beginning=True
    )

    def batch() -> int:
        return len(consumer.consume(BATCH, 0.5))

    rate = consume_timed(batch, total)
    assert consumer.dead_letters.count == 0
    consumer.close()
    return rate


def consume_confluent(
    bootstrap: str, registry: SchemaRegistryClient, topic: str, total: int
) -> float:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"cf-{uuid.uuid4().hex}"})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    deserialize = AvroDeserializer(registry)
    ctx = SerializationContext(topic, MessageField.VALUE)
    sink: list[Any] = []

    def batch() -> int:
        messages = consumer.consume(BATCH, 0.5)
        for message in messages:
            sink.append(deserialize(message.value(), ctx))
        sink.clear()
        return len(messages)

    rate = consume_timed(batch, total)
    consumer.close()
    return rate


def main() -> None:
    schema_str = (ROOT / "schemas/player/PlayEvent.avsc").read_text()
    parsed = fastavro.parse_schema(json.loads(schema_str))
    err.print(f"generating {EVENTS:,} PlayEvents")
    events = make_events(EVENTS)
    best: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedPlatform(state_dir=tmp, free_ports=True) as info,
    ):
        settings = Settings(
            kafka=KafkaSettings(bootstrap_servers=info.bootstrap_servers),
            registry=RegistrySettings(url=info.registry_url),
        )
        bootstrap = info.bootstrap_servers
        with SchemaRegistryClient({"url": info.registry_url}) as registry:
            for round_ in range(ROUNDS):
                refs = {
                    path: ProductRef(domain="bench", name=f"{path}_{round_}")
                    for path in ("raw", "ours", "cf")
                }
                for ref in refs.values():
                    create(bootstrap, ref.topic)
                    schema_id = registry.register_schema(ref.subject, Schema(schema_str, "AVRO"))
                figures = {
                    "raw_emit": produce_raw(
                        bootstrap, refs["raw"].topic, parsed, schema_id, events
                    ),
                    "emit": produce_ours(settings, refs["ours"], events),
                    "confluent_emit": produce_confluent(
                        bootstrap, registry, refs["cf"].topic, schema_str, events
                    ),
                    "raw_consume": consume_raw(bootstrap, refs["ours"].topic, parsed, EVENTS),
                    "consume": consume_ours(settings, refs["ours"], EVENTS),
                    "confluent_consume": consume_confluent(
                        bootstrap, registry, refs["ours"].topic, EVENTS
                    ),
                }
                for name, rate in figures.items():
                    best[name] = max(best.get(name, 0.0), rate)
                err.print(
                    f"round {round_ + 1}: "
                    + ", ".join(f"{k} {v:,.0f}/s" for k, v in figures.items())
                )
                AdminClient({"bootstrap.servers": bootstrap}).delete_topics(
                    [r.topic for r in refs.values()]
                )

    result = {
        "events": EVENTS,
        "emit_per_s": round(best["emit"]),
        "raw_emit_per_s": round(best["raw_emit"]),
        "emit_ratio": round(best["emit"] / best["raw_emit"], 3),
        "confluent_emit_per_s": round(best["confluent_emit"]),
        "confluent_emit_ratio": round(best["confluent_emit"] / best["raw_emit"], 3),
        "consume_per_s": round(best["consume"]),
        "raw_consume_per_s": round(best["raw_consume"]),
        "consume_ratio": round(best["consume"] / best["raw_consume"], 3),
        "confluent_consume_per_s": round(best["confluent_consume"]),
        "confluent_consume_ratio": round(best["confluent_consume"] / best["raw_consume"], 3),
    }
    table = Table(title=f"{EVENTS:,} PlayEvents, embedded broker, best of {ROUNDS}")
    for column in (
        "path",
        "raw /s",
        "ours /s",
        "ours / raw",
        "confluent /s",
        "confluent / raw",
        "target met",
    ):
        table.add_column(column)
    for side in ("emit", "consume"):
        table.add_row(
            side,
            f"{best['raw_' + side]:,.0f}",
            f"{best[side]:,.0f}",
            f"{result[side + '_ratio']:.2f}x",
            f"{best['confluent_' + side]:,.0f}",
            f"{result['confluent_' + side + '_ratio']:.2f}x",
            str(result[side + "_ratio"] >= TARGET),
        )
    err.print(table)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
