"""Emit and consume with PII protection on, as a ratio of protection off, in the same run.

For each record (PlayEvent: one pseudonymized user_id, 5,000 listeners; ListenerRegistered: a
pseudonymized user_id and two encrypted fields, a new listener, hence a new data key, in every
event), each round emits the same events twice through ``streams.kafka.Producer.emit``:
plain, and protected (``FieldProtection.protect`` + ``KeyGate``, new keys published wrapped on
``_mesh.keys`` before the records), then consumes both topics with ``streams.kafka.Consumer``,
the protected one revealing every record with a ``KeyStore`` that reads ``_mesh.keys`` inside
the timed part. Best of ``rounds``; the order of the two paths alternates per round.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from confluent_kafka import Producer as RawProducer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from streams import kafka
from streams.access import (
    FieldProtection,
    KeyGate,
    KeyStore,
    LocalKeyProvider,
    Pseudonymizer,
    local_pseudonym_key,
)
from streams.avro import parse_schema
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


def _emit_plain(settings: Settings, ref: ProductRef, events: list[dict[str, Any]]) -> float:
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


def _emit_protected(
    settings: Settings,
    ref: ProductRef,
    events: list[dict[str, Any]],
    protection: FieldProtection,
    provider: LocalKeyProvider,
) -> float:
    producer = kafka.Producer(settings=settings, domain=ref.domain, config={"linger.ms": 5})
    keys = RawProducer(settings.kafka.librdkafka(linger_ms=5, enable_idempotence=True))
    gate = KeyGate(keys, provider=provider)
    emit = producer.emit

    def keyed(value: dict[str, Any]) -> None:  # keyed by the pseudonym, as the plain path
        emit(ref, value, key=value["user_id"])

    first = protection.protect(events[0])
    gate.send(first.key, first.new, keyed, first.value)
    gate.flush()
    producer.flush()
    started = time.perf_counter()
    protect, send = protection.protect, gate.send
    for event in events:
        protected = protect(event)
        send(protected.key, protected.new, keyed, protected.value)
    gate.flush(60)
    keys.flush(60)
    producer.flush(60)
    rate = len(events) / (time.perf_counter() - started)
    producer.close()
    return rate


def _consume(
    settings: Settings,
    ref: ProductRef,
    total: int,
    reveal: tuple[FieldProtection, KeyStore] | None,
) -> float:
    consumer = kafka.Consumer(
        ref, group_id=f"bench-{uuid.uuid4().hex}", settings=settings, from_beginning=True
    )
    got, started, first = 0, 0.0, 0
    deadline = time.monotonic() + 180
    sink: list[Any] = []
    while got < total:
        events = consumer.consume(BATCH, 0.5)
        if events and not started:
            started, first = time.perf_counter(), len(events)
            if reveal is not None:
                reveal[1].refresh()  # reading _mesh.keys is part of the protected path
        if reveal is not None:
            protection, store = reveal
            open_, get = protection.reveal, store.get
            sink.extend(open_(event.value, get) for event in events)
        else:
            sink.extend(event.value for event in events)
        sink.clear()
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
    bootstrap = settings.kafka.bootstrap_servers
    admin = AdminClient({"bootstrap.servers": bootstrap})
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as state, SchemaRegistryClient({"url": registry_url}) as sr:
        provider = LocalKeyProvider.in_state_dir(Path(state))
        pseudonyms = Pseudonymizer(local_pseudonym_key(Path(state)))
        KeyStore(settings.kafka, provider=provider).ensure_topic()
        for record, domain in RECORDS.items():
            schema_str = (ROOT / f"schemas/{domain}/{record}.avsc").read_text()
            parsed = parse_schema(schema_str)
            batch = events[record]
            best: dict[str, float] = {}
            for round_ in range(rounds):
                refs = {
                    side: ProductRef(domain="bench", name=f"{record.lower()}_{side}_{round_}")
                    for side in ("off", "on")
                }
                for ref in refs.values():
                    admin.create_topics([NewTopic(ref.topic, 1, 1)])[ref.topic].result(10)
                    sr.register_schema(ref.subject, Schema(schema_str, "AVRO"))
                # A new protection per round: every round creates (and publishes) its keys.
                protection = FieldProtection(
                    parsed, product=refs["on"].id, pseudonymizer=pseudonyms
                )
                store = KeyStore(settings.kafka, provider=provider)
                paths: dict[str, Callable[[], float]] = {
                    "emit_off": partial(_emit_plain, settings, refs["off"], batch),
                    "emit_on": partial(
                        _emit_protected, settings, refs["on"], batch, protection, provider
                    ),
                    "consume_off": partial(_consume, settings, refs["off"], len(batch), None),
                    "consume_on": partial(
                        _consume, settings, refs["on"], len(batch), (protection, store)
                    ),
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
