"""Benchmark: emit and consume+decode of PlayEvents against raw librdkafka + fastavro.

Three paths each way, in one run, on the chosen broker (below):
- raw: confluent-kafka ``Producer.produce`` / ``Consumer.consume`` + fastavro
  ``schemaless_writer`` / ``schemaless_reader`` with a pre-parsed schema and hand-written framing;
- ours: ``streams.kafka.Producer.emit`` / ``streams.kafka.Consumer.consume`` (validation,
  framing, standard headers, dead-letter checks);
- confluent: ``AvroSerializer`` / ``AvroDeserializer``.
A fourth producer path, raw plus the same three headers ``emit`` adds, shows how much of the
gap is the headers themselves. All producers share one configuration (linger.ms=5,
idempotence); all consumers read the same topic, and consumer timing starts at the first batch
so group joins are not counted.
``--broker tansu|kafka|both`` picks the broker (default tansu; with both, the figures are
printed side by side and the JSON line is ``{broker: figures}``).
Each measurement is the best of ``ROUNDS``, the paths running in a rotated order each round
(the in-memory broker slows as it fills). Targets: emit and consume >= 0.85x raw.
Then, on the same platform, emit and consume with PII protection on as a ratio of protection
off, for PlayEvent and ListenerRegistered (scripts/_protection_bench.py; target >= 0.5x), under
``"protection"`` in the JSON line. ``--protection-only`` measures only that.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
import uuid
from collections.abc import Callable
from functools import partial
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
from streams.naming import ProductRef

sys.path.insert(0, str(Path(__file__).parent))
import _brokers
import _protection_bench

EVENTS = 200_000
ROUNDS = 3
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
    bootstrap: str,
    topic: str,
    schema: Any,
    schema_id: int,
    events: list[dict[str, Any]],
    *,
    headers: bool = False,
) -> float:
    """The raw baseline; with ``headers``, plus the same three headers ``emit`` adds (to show
    how much of the difference is the headers themselves)."""
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONF})
    head = b"\x00" + schema_id.to_bytes(4, "big")
    writer = fastavro.schemaless_writer
    fixed = [("domain", b"bench"), ("content-type", b"application/vnd.confluent.avro")]

    def run() -> int:
        for event in events:
            buffer = io.BytesIO()
            buffer.write(head)
            writer(buffer, schema, event)
            extra = [*fixed, ("event_id", event["event_id"].encode())] if headers else None
            while True:
                try:
                    producer.produce(
                        topic, buffer.getvalue(), event["user_id"].encode(), headers=extra
                    )
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


def measure(
    kind: str, events: list[dict[str, Any]], *, protection_only: bool = False
) -> dict[str, Any]:
    """Best-of-``ROUNDS`` figures on a fresh platform whose broker is ``kind``."""
    if protection_only:
        with _brokers.platform(kind) as info:
            return {"broker": kind, "events": len(events), **_protection(info, events)}
    total = len(events)
    schema_str = (ROOT / "schemas/player/PlayEvent.avsc").read_text()
    parsed = fastavro.parse_schema(json.loads(schema_str))
    best: dict[str, float] = {}
    with _brokers.platform(kind) as info:
        err.print(f"platform: {kind} {info.bootstrap_servers}, registry {info.registry_url}")
        settings = Settings(
            kafka=KafkaSettings(bootstrap_servers=info.bootstrap_servers),
            registry=RegistrySettings(url=info.registry_url),
        )
        bootstrap = info.bootstrap_servers
        with SchemaRegistryClient(info.registry_conf()) as registry:
            for round_ in range(ROUNDS):
                refs = {
                    path: ProductRef(domain="bench", name=f"{path}_{round_}")
                    for path in ("raw", "rawh", "ours", "cf")
                }
                for ref in refs.values():
                    create(bootstrap, ref.topic)
                    schema_id = registry.register_schema(ref.subject, Schema(schema_str, "AVRO"))
                producers: dict[str, Callable[[], float]] = {
                    "raw_emit": partial(
                        produce_raw, bootstrap, refs["raw"].topic, parsed, schema_id, events
                    ),
                    "emit": partial(produce_ours, settings, refs["ours"], events),
                    "raw_headers_emit": partial(
                        produce_raw,
                        bootstrap,
                        refs["rawh"].topic,
                        parsed,
                        schema_id,
                        events,
                        headers=True,
                    ),
                    "confluent_emit": partial(
                        produce_confluent, bootstrap, registry, refs["cf"].topic, schema_str, events
                    ),
                }
                ours = refs["ours"].topic
                consumers: dict[str, Callable[[], float]] = {
                    "raw_consume": partial(consume_raw, bootstrap, ours, parsed, total),
                    "consume": partial(consume_ours, settings, refs["ours"], total),
                    "confluent_consume": partial(
                        consume_confluent, bootstrap, registry, ours, total
                    ),
                }
                # The broker slows as it fills, so each round runs the paths in another order.
                figures: dict[str, float] = {}
                admin = AdminClient({"bootstrap.servers": bootstrap})
                for group in (producers, consumers):
                    names = list(group)
                    shift = round_ % len(names)
                    for name in names[shift:] + names[:shift]:
                        figures[name] = group[name]()
                        # Keep the broker lean: only the topic the consumers read stays.
                        path = {
                            "raw_emit": "raw",
                            "raw_headers_emit": "rawh",
                            "confluent_emit": "cf",
                        }
                        if name in path:
                            gone = refs[path[name]].topic
                            admin.delete_topics([gone])[gone].result(30)
                for name, rate in figures.items():
                    best[name] = max(best.get(name, 0.0), rate)
                err.print(
                    f"round {round_ + 1}: "
                    + ", ".join(f"{k} {v:,.0f}/s" for k, v in figures.items())
                )
                admin.delete_topics([ours])[ours].result(30)
        protection = _protection(info, events)

    result: dict[str, Any] = {
        "broker": kind,
        "events": total,
        "emit_per_s": round(best["emit"]),
        "raw_emit_per_s": round(best["raw_emit"]),
        "emit_ratio": round(best["emit"] / best["raw_emit"], 3),
        "raw_emit_with_headers_per_s": round(best["raw_headers_emit"]),
        "emit_vs_raw_with_headers": round(best["emit"] / best["raw_headers_emit"], 3),
        "confluent_emit_per_s": round(best["confluent_emit"]),
        "confluent_emit_ratio": round(best["confluent_emit"] / best["raw_emit"], 3),
        "consume_per_s": round(best["consume"]),
        "raw_consume_per_s": round(best["raw_consume"]),
        "consume_ratio": round(best["consume"] / best["raw_consume"], 3),
        "confluent_consume_per_s": round(best["confluent_consume"]),
        "confluent_consume_ratio": round(best["confluent_consume"] / best["raw_consume"], 3),
        **protection,
    }
    table = Table(title=f"{total:,} PlayEvents on {kind}, best of {ROUNDS}")
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
    err.print(
        f"raw + the same 3 headers: {best['raw_headers_emit']:,.0f}/s; emit is "
        f"{result['emit_vs_raw_with_headers']:.2f}x of that (the headers alone cost "
        f"{1 - best['raw_headers_emit'] / best['raw_emit']:.0%} of raw on this broker)"
    )
    return result


def _protection(info: Any, events: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"protection": {record: figures}}``, printed as a table too."""
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers=info.bootstrap_servers),
        registry=RegistrySettings(url=info.registry_url),
    )
    batches = {
        "PlayEvent": events,
        "ListenerRegistered": _protection_bench.registrations(len(events)),
    }
    figures = _protection_bench.measure_protection(
        settings, info.registry_url, batches, rounds=ROUNDS, log=err.print
    )
    table = Table(title=f"{len(events):,} events, PII protection on vs off, best of {ROUNDS}")
    for column in ("record", "path", "off /s", "on /s", "on / off", "target met"):
        table.add_column(column)
    for row in _protection_bench.summary(figures):
        table.add_row(*row)
    err.print(table)
    return {"protection": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", nargs="?", type=int, default=EVENTS, help="events per path")
    parser.add_argument(
        "--protection-only",
        action="store_true",
        help="measure only emit and consume with PII protection on vs off",
    )
    _brokers.add_option(parser)
    args = parser.parse_args()
    err.print(f"generating {args.events:,} PlayEvents")
    events = make_events(args.events)
    _brokers.run(
        args.broker,
        partial(measure, events=events, protection_only=args.protection_only),
        title=f"{args.events:,} PlayEvents",
    )


if __name__ == "__main__":
    main()
