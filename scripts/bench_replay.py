"""Benchmark: ``mesh replay`` of player.hourly_play_sessions against a plain confluent-kafka loop.

200,000 PlayEvents (Avro, 1,000 users, 24 hours of event time, 12 partitions) are written once;
then, on the same topic:
- baseline: ``assign`` + ``consume(10_000)`` + fastavro ``schemaless_reader`` (pre-parsed
  schema without logical types, hand-skipped header) into a dict keyed by (user, hour) with the
  same aggregate, its records written at the end with a raw producer;
- replay: ``streams.agents.replay.replay`` (the engine, checkpointable state, late and dead
  letter handling, per-batch updates through our Producer).
Each is the best of ``ROUNDS``. Target (issue 9): replay >= 0.7x the baseline. The replay's
final records are compared with the baseline's, record by record (``correct``).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from rich.console import Console

from streams.agents.decoding import without_logical_types
from streams.agents.definition import InputPort, load_definition
from streams.agents.replay import replay
from streams.config import KafkaSettings, RegistrySettings, Settings
from streams.serialization.avro import AvroEncoder

sys.path.insert(0, str(Path(__file__).parent))
import _brokers

EVENTS = 200_000
USERS = 1_000
PARTITIONS = 12
ROUNDS = 2
HOUR = 3_600_000
ROOT = Path(__file__).parents[1]
PLAY = (ROOT / "schemas/player/PlayEvent.avsc").read_text()
SESSION = (ROOT / "schemas/player/HourlyPlaySession.avsc").read_text()
err = Console(stderr=True)


def make_events() -> list[dict[str, Any]]:
    rng = random.Random(3)
    users = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(USERS)]
    tracks = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(20_000)]
    base = 1_790_000_000_000 // HOUR * HOUR
    return [
        {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "event_time": base + i * (24 * HOUR // EVENTS) + rng.randrange(60_000),
            "user_id": rng.choice(users),
            "track_id": rng.choice(tracks),
            "device": rng.choice(["IOS", "ANDROID", "WEB", "CAR"]),
            "country": "DE",
            "ms_played": rng.randrange(200_000),
            "context_type": "PLAYLIST",
            "context_id": None,
            "end_reason": rng.choice(["TRACK_DONE", "SKIPPED_FORWARD", "STOPPED"]),
            "offline": rng.random() < 0.1,
            "app_version": "8.9.12",
            "session_hint": None,
        }
        for i in range(EVENTS)
    ]


def baseline(bootstrap: str, topic: str, out: str) -> tuple[float, dict[str, dict[str, Any]]]:
    """The plain loop: consume, decode, aggregate in a dict, write the results at the end."""
    schema = fastavro.parse_schema(without_logical_types(json.loads(PLAY)))
    example = load_definition(ROOT / "products/player/hourly_play_sessions.py")
    aggregation = example.aggregation
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex}",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    began = time.perf_counter()
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    windows: dict[tuple[str, int], Any] = {}
    pending = set(range(PARTITIONS))
    read = fastavro.schemaless_reader
    while pending:
        for message in consumer.consume(10_000, timeout=0.5):
            if message.error() is not None:
                if message.error().code() == KafkaError._PARTITION_EOF:
                    pending.discard(message.partition())
                continue
            buffer = io.BytesIO(message.value())
            buffer.seek(5)
            event = read(buffer, schema)
            t = event["event_time"]
            name = (event["user_id"], t - t % HOUR)
            acc = windows.get(name)
            if acc is None:
                acc = windows[name] = aggregation.init()
            aggregation.add(acc, event)
    results = {}
    from streams.agents.definition import Window

    for (user, start), acc in windows.items():
        value = aggregation.result(acc, user, Window(start, start + HOUR)) | {"final": True}
        results[f"{user}@{start}"] = value
        producer.produce(out, json.dumps(value).encode(), f"{user}@{start}".encode())
    producer.flush()
    seconds = time.perf_counter() - began
    consumer.close()
    return seconds, results


def measure(kind: str) -> dict[str, Any]:
    with _brokers.platform(kind) as info:
        settings = Settings(
            kafka=KafkaSettings(bootstrap_servers=info.bootstrap_servers),
            registry=RegistrySettings(url=info.registry_url),
        )
        domain = f"bench{uuid.uuid4().hex[:6]}"
        source, target = f"{domain}.play_events.v1", f"{domain}.hourly_play_sessions.v1"
        admin = AdminClient({"bootstrap.servers": info.bootstrap_servers})
        topics = [source, target, f"{domain}.baseline"]
        for future in admin.create_topics(
            [NewTopic(t, num_partitions=PARTITIONS) for t in topics]
        ).values():
            future.result(30)
        with SchemaRegistryClient(info.registry_conf()) as registry:
            play_id = registry.register_schema(f"{source}-value", Schema(PLAY, "AVRO"))
            registry.register_schema(f"{target}-value", Schema(SESSION, "AVRO"))
        encode = AvroEncoder(PLAY, schema_id=play_id)
        producer = Producer(
            {
                "bootstrap.servers": info.bootstrap_servers,
                "linger.ms": 20,
                "enable.idempotence": True,
            }
        )
        err.print(f"[{kind}] writing {EVENTS:,} PlayEvents")
        for event in make_events():
            user = event["user_id"]
            while True:
                try:
                    producer.produce(
                        source, encode(event), user.encode(), partition=hash(user) % PARTITIONS
                    )
                    break
                except BufferError:
                    producer.poll(0.1)
        producer.flush()
        example = load_definition(ROOT / "products/player/hourly_play_sessions.py")
        definition = dataclasses.replace(
            example,
            product=f"{domain}.hourly_play_sessions",
            inputs=(InputPort(f"{domain}.play_events", 1),),
        )
        base_s, replay_s = float("inf"), float("inf")
        expected: dict[str, dict[str, Any]] = {}
        result = None
        for round_ in range(ROUNDS):
            seconds, expected = baseline(info.bootstrap_servers, source, f"{domain}.baseline")
            base_s = min(base_s, seconds)
            began = time.perf_counter()
            result = replay(definition, settings=settings, start_ms=0, batch_size=20_000)
            replay_s = min(replay_s, time.perf_counter() - began)
            err.print(
                f"[{kind}] round {round_ + 1}: baseline {seconds:.2f}s, replay {replay_s:.2f}s"
            )
        assert result is not None
        finals = _finals(info.bootstrap_servers, target, settings)
        closed = {k: v for k, v in expected.items() if k in finals}
        correct = bool(finals) and finals == closed and result.late == 0
        figures = {
            "broker": kind,
            "baseline_per_s": round(EVENTS / base_s),
            "replay_per_s": round(EVENTS / replay_s),
            "replay_ratio": round(base_s / replay_s, 3),
            "finals": len(finals),
            "correct": correct,
        }
        err.print(figures)
        return figures


def _finals(bootstrap: str, topic: str, settings: Settings) -> dict[str, dict[str, Any]]:
    from streams.kafka.topics import read_to_end
    from streams.serialization.avro import AvroDecoder

    decoders: dict[int, AvroDecoder] = {}
    found: dict[str, dict[str, Any]] = {}
    with SchemaRegistryClient(settings.registry.client_conf()) as registry:
        for message in read_to_end({"bootstrap.servers": bootstrap}, topic):
            data = message.value()
            schema_id = int.from_bytes(data[1:5], "big")
            if schema_id not in decoders:
                text = registry.get_schema(schema_id).schema_str
                decoders[schema_id] = AvroDecoder(
                    without_logical_types(json.loads(text)), schema_id=schema_id
                )
            value = decoders[schema_id](data)
            if value["final"]:
                found[message.key().decode()] = value
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _brokers.add_option(parser)
    args = parser.parse_args()
    _brokers.run(args.broker, measure, title="replay")


if __name__ == "__main__":
    main()
