"""Emit and consume with PII protection on, as a ratio of protection off, in the same run.

For each record (PlayEvent: one pseudonymized user_id, 5,000 listeners; ListenerRegistered: a
pseudonymized user_id and two encrypted fields, a new listener, hence a new data key, in every
event), each round emits the same events twice through ``streams.kafka.Producer.emit``:
to a product whose schema has no ``pii`` marks (off) and to one with the marks (on: ``emit``
pseudonymizes, encrypts and publishes each batch of new data keys in one request to the
registry's key service), then consumes both topics with ``streams.kafka.Consumer`` (on: the
keys released by the registry, one request per fetch, every record revealed). Best of
``rounds``; the order of the two paths alternates per round.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from streams import kafka
from streams.config import Settings
from streams.naming import ProductRef

ROOT = Path(__file__).parents[1]
BATCH = 1000
TARGET = 0.5
RECORDS = {"PlayEvent": "player", "ListenerRegistered": "listeners"}


def registrations(n: int) -> list[dict[str, Any]]:
    rng = random.Random(11)
    regions = ["EUROPE", "NORTH_AMERICA", "ASIA_PACIFIC"]
    return [
        {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "event_time": 1_790_000_000_000 + i,
            "user_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "email": f"listener{i}@example.org",
            "display_name": None if i % 3 == 0 else f"Listener Number {i}",
            "country": "SE",
            "region": rng.choice(regions),
            "age_band": "AGE_25_34",
            "plan": "FREE",
            "marketing_opt_in": i % 2 == 0,
        }
        for i in range(n)
    ]


def _unmarked(schema_str: str) -> str:
    """The schema without its ``pii`` marks: the same records, protection off."""
    schema = json.loads(schema_str)
    for field in schema["fields"]:
        field.pop("pii", None)
    schema.pop("pii.subject", None)
    return json.dumps(schema)


def _emit(settings: Settings, ref: ProductRef, events: list[dict[str, Any]]) -> float:
    """``Producer.emit`` keyed by user_id: with pii marks it pseudonymizes, encrypts and
    publishes the new data keys in batches through the registry, transparently."""
    producer = kafka.Producer(settings=settings, domain=ref.domain, config={"linger.ms": 5})
    producer.emit(ref, events[0], key=events[0]["user_id"])  # resolve the schema, untimed
    producer.flush()
    started = time.perf_counter()
    emit = producer.emit
    for event in events:
        emit(ref, event, key=event["user_id"])
    producer.flush(60)
    rate = len(events) / (time.perf_counter() - started)
    producer.close()
    return rate


def _consume(settings: Settings, ref: ProductRef, total: int) -> float:
    """``Consumer.consume``: with pii marks it has the registry release the keys (one request
    per fetch) and reveals every record."""
    consumer = kafka.Consumer(
        ref, group_id=f"bench-{uuid.uuid4().hex}", settings=settings, from_beginning=True
    )
    got, started, first = 0, 0.0, 0
    deadline = time.monotonic() + 180
    while got < total:
        events = consumer.consume(BATCH, 0.5)
        if events and not started:
            started, first = time.perf_counter(), len(events)
        got += len(events)
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {got} of {total} events arrived")
    rate = (got - first) / (time.perf_counter() - started)
    consumer.close()
    return rate


def measure_protection(
    settings: Settings,
    registry_url: str,
    events: dict[str, list[dict[str, Any]]],
    *,
    rounds: int,
    log: Any,
) -> dict[str, Any]:
    """``{record: {emit_off_per_s, emit_on_per_s, emit_ratio, consume_...}}``."""
    admin = AdminClient(settings.kafka.librdkafka())
    results: dict[str, Any] = {}
    with SchemaRegistryClient(settings.registry.client_conf()) as sr:
        for record, domain in RECORDS.items():
            schema_on = (ROOT / f"schemas/{domain}/{record}.avsc").read_text()
            schemas = {"on": schema_on, "off": _unmarked(schema_on)}
            batch = events[record]
            best: dict[str, float] = {}
            for round_ in range(rounds):
                refs = {
                    side: ProductRef(domain="bench", name=f"{record.lower()}_{side}_{round_}")
                    for side in ("off", "on")
                }
                for side, ref in refs.items():
                    admin.create_topics([NewTopic(ref.topic, 1, 1)])[ref.topic].result(10)
                    sr.register_schema(ref.subject, Schema(schemas[side], "AVRO"))
                paths: dict[str, Callable[[], float]] = {
                    "emit_off": partial(_emit, settings, refs["off"], batch),
                    "emit_on": partial(_emit, settings, refs["on"], batch),
                    "consume_off": partial(_consume, settings, refs["off"], len(batch)),
                    "consume_on": partial(_consume, settings, refs["on"], len(batch)),
                }
                order = ["emit_off", "emit_on", "consume_off", "consume_on"]
                if round_ % 2:
                    order = ["emit_on", "emit_off", "consume_on", "consume_off"]
                figures = {name: paths[name]() for name in order}
                for name, rate in figures.items():
                    best[name] = max(best.get(name, 0.0), rate)
                log(
                    f"{record} round {round_ + 1}: "
                    + ", ".join(f"{k} {v:,.0f}/s" for k, v in figures.items())
                )
                for ref in refs.values():
                    admin.delete_topics([ref.topic])[ref.topic].result(30)
            results[record] = {
                "emit_off_per_s": round(best["emit_off"]),
                "emit_on_per_s": round(best["emit_on"]),
                "emit_ratio": round(best["emit_on"] / best["emit_off"], 3),
                "consume_off_per_s": round(best["consume_off"]),
                "consume_on_per_s": round(best["consume_on"]),
                "consume_ratio": round(best["consume_on"] / best["consume_off"], 3),
            }
    return results


def summary(results: dict[str, Any]) -> list[tuple[str, ...]]:
    """Table rows: record, side, off /s, on /s, on / off, target met."""
    rows = []
    for record, figures in results.items():
        for side in ("emit", "consume"):
            ratio = figures[f"{side}_ratio"]
            rows.append(
                (
                    record,
                    side,
                    f"{figures[side + '_off_per_s']:,}",
                    f"{figures[side + '_on_per_s']:,}",
                    f"{ratio:.2f}x",
                    str(ratio >= TARGET),
                )
            )
    return rows


if __name__ == "__main__":  # a quick look without the rest of bench_events
    print(json.dumps(registrations(1)))
