"""The monitor on a real broker checks an aggregate's windows against its inputs: a window the
agent did not emit final breaches completeness with the exact share and is named; its final
brings it back to met. The agent's output is produced by hand (a faust worker is too slow here)."""

from __future__ import annotations

import datetime
import threading
import time
import uuid
from typing import Any

from confluent_kafka import Producer as RawProducer
from confluent_kafka.admin import AdminClient

from streams.agents import late as agents_late
from streams.catalog import Product
from streams.catalog.agents import AgentRunRecord, AgentRunStore
from streams.config import Settings
from streams.guarantees import Observation, observations
from streams.guarantees.duplicates import id_hash
from streams.guarantees.runner import Monitor
from streams.guarantees.watched import MonitorOptions
from streams.kafka import Producer
from streams.kafka.headers import LATE_PRODUCT
from streams.kafka.topics import create_topic
from streams.naming import late_topic
from streams.serialization import AvroEncoder
from tests.guarantees._products import publish

SIZE = 10_000
TIME = {"type": "long", "logicalType": "timestamp-millis"}
PLAY: dict[str, Any] = {
    "type": "record",
    "name": "Play",
    "namespace": "test.windows",
    "doc": "One playback.",
    "fields": [
        {"name": "event_id", "type": "string", "doc": "Unique id of the event."},
        {"name": "user_id", "type": "string", "doc": "The listener."},
        {"name": "event_time", "type": TIME, "doc": "When the playback ended."},
    ],
}
SESSION: dict[str, Any] = {
    "type": "record",
    "name": "Session",
    "namespace": "test.windows",
    "doc": "The plays of one listener in one window.",
    "fields": [
        {"name": "window_start", "type": TIME, "doc": "Start of the window."},
        {"name": "window_end", "type": TIME, "doc": "End of the window."},
        {"name": "event_time", "type": TIME, "doc": "The latest play counted."},
        {"name": "user_id", "type": "string", "doc": "The listener."},
        {"name": "plays", "type": "long", "doc": "Plays counted."},
        {"name": "final", "type": "boolean", "doc": "Whether the window is settled."},
    ],
}


def descriptor(domain: str, name: str, record: str, **changes: Any) -> Product:
    return Product.model_validate(
        {
            "name": name,
            "domain": domain,
            "version": 1,
            "kind": "source-aligned",
            "owner": {"team": "player-platform", "contact": "player@tunewave.example"},
            "description": {"purpose": "Tests.", "usage": "Tests."},
            "classification": "internal",
            "outputPort": {
                "schema": f"schemas/{domain}/{record}.avsc",
                "key": "user_id",
                "eventTime": "event_time",
                "partitions": 1,
                "retention": "1d",
            },
            "guarantees": {
                "freshness": "1h",
                "latency": "1h",
                "completeness": 0.99,
                "maxDuplicateShare": 1.0,
                "availability": 0.99,
            },
            **changes,
        }
    )


def completeness(settings: Settings, topic: str, product: Product) -> Observation | None:
    found = [
        o
        for o in observations(settings=settings, topic=topic)
        if o.topic == product.topic and o.guarantee == "completeness"
    ]
    return found[-1] if found else None


def test_a_window_not_emitted_breaches_completeness_until_its_final_comes(
    settings: Settings,
) -> None:
    assert agents_late.LATE_PRODUCT == LATE_PRODUCT  # the header the agents write
    domain = f"t{uuid.uuid4().hex[:10]}"
    plays = descriptor(domain, "plays", "Play")
    sessions = descriptor(
        domain,
        "sessions",
        "Session",
        kind="aggregate",
        inputPorts=[{"product": f"{domain}.plays", "version": 1}],
    )
    play_schema_id = publish(settings, plays, PLAY)
    publish(settings, sessions, SESSION)
    late = late_topic(plays.topic)
    create_topic(AdminClient(settings.kafka.librdkafka()), late)

    # Four due windows with u1 and u2 each, one event moving the input's time past them; u3's
    # only event in the second window came late (the agent routed it to .late): 8 pairs due.
    base = (int(time.time() * 1000) - 120_000) // SIZE * SIZE
    events: list[dict[str, Any]] = [
        {"event_id": str(uuid.uuid4()), "user_id": user, "event_time": base + w * SIZE + 5}
        for w in range(4)
        for user in ("u1", "u2")
    ]
    events.append({"event_id": "e-tick", "user_id": "u1", "event_time": base + 5 * SIZE})
    refused: dict[str, Any] = {"event_id": "e-late", "user_id": "u3", "event_time": base + SIZE + 7}
    producer = Producer(settings=settings)
    raw = RawProducer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    try:
        for event in [*events, refused]:
            producer.emit(plays.ref, event, key=event["user_id"])
        value = AvroEncoder(PLAY, schema_id=play_schema_id)(refused)
        raw.produce(late, value, b"u3", headers=[(LATE_PRODUCT, sessions.topic.encode())])
        assert raw.flush(10) == 0

        def final(user: str, window: int) -> None:
            start = base + window * SIZE
            record = {
                "window_start": start,
                "window_end": start + SIZE,
                "event_time": start + 5,
                "user_id": user,
                "plays": 1,
                "final": True,
            }
            producer.emit(sessions.ref, record, key=f"{user}@{start}")

        for window in range(4):
            for user in ("u1", "u2"):
                if (user, window) != ("u2", 2):
                    final(user, window)
        producer.flush()
        suffix = uuid.uuid4().hex[:8]
        options = MonitorOptions(
            window_s=60,
            publish_every_s=0.5,
            catalog_every_s=1.0,
            window_grace_s=1.0,
            only=frozenset({plays.topic, sessions.topic}),
            state_topic=f"_mesh.test.state.{suffix}",
            observations_topic=f"_mesh.test.observations.{suffix}",
            alerts_topic=f"_mesh.test.alerts.{suffix}",
        )
        topic = options.observations_topic or ""
        monitor = Monitor(settings=settings, options=options)
        stop = threading.Event()
        thread = threading.Thread(target=monitor.run, args=(stop,), daemon=True)
        thread.start()
        try:
            # The usual order: the monitor has read the inputs (and outputs) before the agent
            # first runs and says what its windows are; it reads the inputs' past again then.
            deadline = time.monotonic() + 20
            while monitor.events < len(events) + 1 + 7 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert monitor.events == len(events) + 1 + 7
            AgentRunStore(settings=settings).publish(
                AgentRunRecord(
                    job=sessions.topic,
                    inputs=(plays.topic,),
                    outputs=(sessions.topic,),
                    agent_version="sha256:0123456789abcdef",
                    processing="STREAMING",
                    run_id=str(uuid.uuid4()),
                    started_at=datetime.datetime.now(datetime.UTC),
                    key="user_id",
                    event_time="event_time",
                    window_kind="tumbling",
                    window_size_ms=SIZE,
                    allowed_lateness_ms=0,
                )
            )

            found = None
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                found = completeness(settings, topic, sessions)
                if found is not None and found.state == "breached":
                    break
                time.sleep(0.25)
            assert found is not None
            assert (found.state, found.observed) == ("breached", 7 / 8)
            details = found.details
            assert (details["expected"], details["emitted"], details["late"]) == (8, 7, 1)
            missing = {"key": "u2", "key_hash": f"{id_hash('u2'):016x}"}
            assert details["missing"] == [{**missing, "window_start_ms": base + 2 * SIZE}]
            # The input product is source-aligned: its completeness is the on-time share.
            plain = completeness(settings, topic, plays)
            assert plain is not None
            assert "measure" not in plain.details

            final("u2", 2)  # the missing final comes
            producer.flush()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                found = completeness(settings, topic, sessions)
                if found is not None and found.state == "met":
                    break
                time.sleep(0.25)
            assert found is not None
            assert (found.state, found.observed) == ("met", 1.0)
            assert found.details["missing"] == []
        finally:
            stop.set()
            thread.join(30)
            monitor.close()
    finally:
        producer.close()
