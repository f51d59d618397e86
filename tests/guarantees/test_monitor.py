"""The monitor on a real broker: products with known defects flip exactly the right guarantees
to breached, with the right observed values, and back to met when the defect stops; a healthy
product shows no breach; a restarted monitor does not count again."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka import Producer as RawProducer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from streams.catalog import Product
from streams.config import Settings
from streams.guarantees import Observation, observations
from streams.guarantees.runner import MONITOR_GROUP, Monitor
from streams.guarantees.watched import MonitorOptions
from streams.kafka import Producer
from streams.naming import dlq_topic
from streams.serialization import AvroEncoder
from tests.guarantees._products import publish

WINDOW_S = 6
SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Play",
    "namespace": "test.monitor",
    "doc": "One playback.",
    "fields": [
        {"name": "event_id", "type": "string", "doc": "Unique id of the event."},
        {"name": "user_id", "type": "string", "doc": "The listener."},
        {"name": "ms_played", "type": "long", "doc": "How long it played."},
        {
            "name": "event_time",
            "type": {"type": "long", "logicalType": "timestamp-millis"},
            "doc": "When the playback ended.",
        },
    ],
}


def descriptor(domain: str) -> Product:
    return Product.model_validate(
        {
            "name": "plays",
            "domain": domain,
            "version": 1,
            "kind": "source-aligned",
            "owner": {"team": "player-platform", "contact": "player@tunewave.example"},
            "description": {"purpose": "Every playback.", "usage": "Tests."},
            "classification": "internal",
            "outputPort": {
                "schema": f"schemas/{domain}/Play.avsc",
                "key": "user_id",
                "eventTime": "event_time",
                "partitions": 1,
                "retention": "1d",
            },
            "guarantees": {
                "freshness": "3s",
                "latency": "2s",
                "completeness": 0.9,
                "maxDuplicateShare": 0.05,
                "availability": 0.99,
                "validity": 0.9,
                "maxDeadLetters": 0,
            },
            "quality": [
                {"rule": "unique", "field": "event_id"},
                {"rule": "range", "field": "ms_played", "min": 0, "max": 1000},
            ],
        }
    )


@dataclass
class Watched:
    """One product of the test and how its producer misbehaves now."""

    name: str
    product: Product
    mode: str = "healthy"
    sent: int = 0

    def event(self) -> dict[str, Any]:
        self.sent += 1
        now = int(time.time() * 1000)
        event = {
            "event_id": str(uuid.uuid4()),
            "user_id": f"user-{self.sent % 5}",
            "ms_played": 500,
            "event_time": now,
        }
        if self.mode == "late" and self.sent % 2:
            event["event_time"] = now - 10_000  # every other one: fresh ones keep it fresh
        elif self.mode == "duplicates":
            event["event_id"] = "the-same-id"
        elif self.mode == "invalid":
            event["ms_played"] = 5000
        return event


DEFECTS = {
    "healthy": set(),
    "stalled": {"freshness"},
    "late": {"latency", "completeness"},
    "duplicates": {"duplicates"},
    "invalid": {"validity"},
    "poison": {"dead_letters"},
    "lagging": {"usage"},
}


@pytest.fixture
def mesh(settings: Settings) -> dict[str, Watched]:
    """One product per defect, published in the catalog with its schema and topic."""
    found: dict[str, Watched] = {}
    for name in DEFECTS:
        product = descriptor(f"t{uuid.uuid4().hex[:10]}")
        publish(settings, product, SCHEMA, dlq=True)
        found[name] = Watched(name, product)
    return found


def states(settings: Settings, topic: str, products: dict[str, Watched]) -> dict[str, set[str]]:
    """Per product of the test, its breached guarantees now."""
    latest = observations(settings=settings, topic=topic)
    by_topic: dict[str, list[Observation]] = {}
    for observation in latest:
        by_topic.setdefault(observation.topic, []).append(observation)
    return {
        name: {o.guarantee for o in by_topic.get(w.product.topic, []) if o.state == "breached"}
        for name, w in products.items()
    }


def test_each_defect_flips_exactly_its_guarantees_and_back(
    settings: Settings, mesh: dict[str, Watched]
) -> None:
    suffix = uuid.uuid4().hex[:8]
    options = MonitorOptions(
        window_s=WINDOW_S,
        publish_every_s=0.5,
        catalog_every_s=1.0,
        only=frozenset(w.product.topic for w in mesh.values()),
        state_topic=f"_mesh.test.state.{suffix}",
        observations_topic=f"_mesh.test.observations.{suffix}",
        alerts_topic=f"_mesh.test.alerts.{suffix}",
    )
    monitor = Monitor(settings=settings, options=options)
    stop = threading.Event()
    thread = threading.Thread(target=monitor.run, args=(stop,), daemon=True)
    thread.start()
    producer = Producer(settings=settings)
    lagging = mesh["lagging"].product.topic
    try:
        for name, watched in mesh.items():
            watched.mode = name

        raw = RawProducer({"bootstrap.servers": settings.kafka.bootstrap_servers})
        poison = dlq_topic(mesh["poison"].product.topic)

        def tick() -> None:
            for watched in mesh.values():
                if watched.mode == "stalled" and watched.sent >= 3:
                    continue  # three events, then nothing
                event = watched.event()
                producer.emit(watched.product.ref, event, key=event["user_id"])
                if watched.mode == "poison":  # dead letters while the defect lasts
                    raw.produce(poison, b"\x00poison", b"k")
            producer.flush()
            raw.flush(10)

        # A reader of "lagging" commits its first offset and stops.
        group = {"bootstrap.servers": settings.kafka.bootstrap_servers, "group.id": suffix}
        reader = Consumer(group)
        reader.commit(offsets=[TopicPartition(lagging, 0, 0)], asynchronous=False)

        want = {name: DEFECTS[name] for name in mesh}
        deadline = time.monotonic() + 60
        got: dict[str, set[str]] = {}
        while time.monotonic() < deadline:
            tick()
            got = states(settings, options.observations_topic or "", mesh)
            if got == want:
                break
            time.sleep(0.25)
        assert got == want
        # The defects stop: the window forgets them, and every guarantee is met again.
        for watched in mesh.values():
            watched.mode = "healthy"
        healthy = {name: set() for name in mesh}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            tick()
            end = mesh["lagging"].sent  # one partition, written only here: the end offset
            reader.commit(offsets=[TopicPartition(lagging, 0, end)], asynchronous=False)
            got = states(settings, options.observations_topic or "", mesh)
            if got == healthy:
                break
            time.sleep(0.25)
        assert got == healthy
        reader.close()
    finally:
        stop.set()
        thread.join(30)
        monitor.close()
        producer.close()


def test_a_restarted_monitor_does_not_count_again(
    settings: Settings, mesh: dict[str, Watched]
) -> None:
    watched = mesh["healthy"]
    suffix = uuid.uuid4().hex[:8]
    options = MonitorOptions(
        window_s=120,
        publish_every_s=3600,  # only when asked
        catalog_every_s=3600,
        only=frozenset({watched.product.topic}),
        state_topic=f"_mesh.test.state.{suffix}",
        observations_topic=f"_mesh.test.observations.{suffix}",
        alerts_topic=f"_mesh.test.alerts.{suffix}",
    )

    def produce(count: int) -> None:
        with Producer(settings=settings) as producer:
            for _ in range(count):
                event = watched.event()
                producer.emit(watched.product.ref, event, key=event["user_id"])

    def measure(expected: int) -> tuple[int, int]:
        monitor = Monitor(settings=settings, options=options)
        try:
            monitor.start()
            deadline = time.monotonic() + 30
            while monitor.events < expected and time.monotonic() < deadline:
                monitor.step(0.2)
            volume = next(o for o in monitor.publish() if o.guarantee == "volume")
        finally:
            monitor.close()
        assert volume.observed is not None
        return monitor.events, int(volume.observed)

    produce(30)
    assert measure(30) == (30, 30)
    produce(12)
    # It reads only the 12 new records, and its measures restored from the checkpoint still
    # hold the first 30: nothing missing, nothing counted twice.
    assert measure(12) == (12, 42)
    # It read as an assigned consumer: no group of its own, no rebalance of anyone.
    admin = AdminClient(settings.kafka.librdkafka())
    groups = admin.list_consumer_groups(request_timeout=10).result(10).valid
    assert MONITOR_GROUP not in {group.group_id for group in groups}


def test_each_closed_hour_is_judged_for_the_history(
    settings: Settings, mesh: dict[str, Watched]
) -> None:
    """Records appended two hours ago land in their hour: the observations carry the last
    closed hours, each judged alone (what `mesh product show` draws its sparklines from)."""
    watched = mesh["healthy"]
    hour = 3_600_000
    two_hours_ago = (int(time.time() * 1000) // hour - 2) * hour + 60_000
    with SchemaRegistryClient(settings.registry.client_conf()) as registry:
        schema_id = registry.get_latest_version(watched.product.ref.subject).schema_id
    encode = AvroEncoder(SCHEMA, schema_id=schema_id)
    raw = RawProducer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    for n in range(5):
        event = {**watched.event(), "event_time": two_hours_ago - 1000}
        if n == 4:
            event["ms_played"] = 5000  # one invalid of five
        raw.produce(watched.product.topic, encode(event), b"k", timestamp=two_hours_ago + n)
    assert raw.flush(10) == 0
    suffix = uuid.uuid4().hex[:8]
    options = MonitorOptions(
        window_s=60,
        publish_every_s=3600,
        catalog_every_s=3600,
        only=frozenset({watched.product.topic}),
        state_topic=f"_mesh.test.state.{suffix}",
        observations_topic=f"_mesh.test.observations.{suffix}",
        alerts_topic=f"_mesh.test.alerts.{suffix}",
    )
    monitor = Monitor(settings=settings, options=options)
    try:
        monitor.start()
        deadline = time.monotonic() + 30
        while monitor.events < 5 and time.monotonic() < deadline:
            monitor.step(0.2)
        published = {o.guarantee: o for o in monitor.publish()}
    finally:
        monitor.close()
    start = two_hours_ago // hour * hour
    volume = {at: value for at, value, _ in published["volume"].details["hours"]}  # type: ignore[misc,union-attr]
    assert volume[start] == 5
    validity = {at: (value, state) for at, value, state in published["validity"].details["hours"]}  # type: ignore[misc,union-attr]
    assert validity[start] == (0.8, "breached")  # promised 0.9
    assert published["volume"].observed == 0  # nothing in the last minute
