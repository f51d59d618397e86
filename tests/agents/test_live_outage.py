"""`mesh agent run` while the schema registry is down for a while: the worker waits for it and
goes on, instead of exiting (a registry restart must not stop the derived products)."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Producer as RawProducer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from streams.agents.engine import InputRecord, Task
from streams.config import KafkaSettings, RegistrySettings, Settings
from streams.kafka.topics import read_to_end
from streams.local import PlatformInfo
from streams.registry import KafkaStorage
from streams.serialization import AvroDecoder, AvroEncoder
from tests.agents.test_live import (  # the live tests' fixtures and helpers
    REPO,
    Derived,
    _conf,
    _normal,
    actual,
    agents,
    derived,
    ends,
    logs,
    plays,
    produce,
    progress,
    start,
    wait_for,
)
from tests.helpers.processes import children, running
from tests.registry.conftest import ThreadedRegistry

__all__ = ["agents", "derived"]  # fixtures, used by name


class Registry:
    """A registry on the session's broker (its own log topic) that a test stops and restarts
    on the same port."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.topic = f"_schemas_test_{uuid.uuid4().hex[:12]}"
        self.server: ThreadedRegistry | None = self._new().start(writable_within_s=60)
        self.url = self.server.url  # the same while it is stopped and after its restart
        self.port = int(self.url.rsplit(":", 1)[1])

    def _new(self) -> ThreadedRegistry:
        return ThreadedRegistry(KafkaStorage(bootstrap_servers=self.bootstrap, topic=self.topic))

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def restart(self) -> None:
        # Reads are answered once the log is replayed; this test writes nothing afterwards.
        self.server = self._new().start(writable_within_s=None, port=self.port)


@pytest.fixture
def registry(platform: PlatformInfo) -> Iterator[Registry]:
    found = Registry(platform.bootstrap_servers)
    try:
        yield found
    finally:
        found.stop()


@pytest.fixture
def settings(platform: PlatformInfo, registry: Registry) -> Settings:
    """The platform's broker with the test's own registry (overrides the shared fixture)."""
    return Settings(
        kafka=KafkaSettings(bootstrap_servers=platform.bootstrap_servers),
        registry=RegistrySettings(url=registry.url),
    )


def evolved() -> dict[str, Any]:
    """PlayEvent with one more optional field: a new writer schema the agent has not seen."""
    schema = json.loads((REPO / "schemas/player/PlayEvent.avsc").read_text())
    extra = {"name": "mood", "type": ["null", "string"], "default": None, "doc": "Mood."}
    return {**schema, "fields": [*schema["fields"], extra]}


def produce_raw(derived: Derived, schema_id: int, events: list[dict[str, Any]]) -> None:
    """Events in the new schema, written without asking the registry (it is down)."""
    encode = AvroEncoder(evolved(), schema_id=schema_id)
    raw = RawProducer(
        {
            "bootstrap.servers": derived.settings.kafka.bootstrap_servers,
            "partitioner": "murmur2_random",  # as streams' Producer: same key, same partition
        }
    )
    for event in events:
        raw.produce(derived.input.topic, encode({**event, "mood": "calm"}), event["user_id"])
    assert raw.flush(10) == 0


def expected(derived: Derived, new_id: int) -> dict[str, dict[str, Any]]:
    """The last value per output key of one crash-free pass over the input (both schemas)."""
    schemas = {new_id: json.dumps(evolved())}
    old = (REPO / "schemas/player/PlayEvent.avsc").read_text()
    found: dict[int, list[InputRecord]] = {}
    for message in read_to_end(_conf(derived.settings), derived.input.topic):
        value = message.value()
        schema_id = int.from_bytes(value[1:5], "big")
        decoded = AvroDecoder(schemas.get(schema_id, old), schema_id=schema_id)(value)
        found.setdefault(message.partition(), []).append(
            InputRecord(
                message.topic(),
                message.partition(),
                message.offset(),
                message.timestamp()[1],
                message.key(),
                decoded,
            )
        )
    last: dict[str, dict[str, Any]] = {}
    for partition, records in found.items():
        step = Task(derived.definition, partition=partition, clock=lambda: 0.0).process(records)
        for update in step.updates:
            last[update.kafka_key] = _normal({**update.value, "final": update.final})
    return last


def hold_a_batch(
    derived: Derived, agents: list[Any], registry: Registry, events: list[dict[str, Any]]
) -> tuple[Any, dict[int, int], int]:
    """An agent over the first half of ``events``, then the registry stopped and the second half
    written in a schema the agent has not seen: its next batch is held. Returns the agent, the
    input ends it had checkpointed, and the new schema's id."""
    half = len(events) // 2
    produce(derived, events[:half])
    agent = start(derived, agents)
    first = ends(derived)
    wait_for(
        "the first events", lambda: progress(derived) == first, timeout_s=60, processes=[agent]
    )
    with SchemaRegistryClient({"url": registry.url}) as client:
        new_id = client.register_schema(
            derived.input.subject, Schema(json.dumps(evolved()), "AVRO")
        )
    registry.stop()
    produce_raw(derived, new_id, events[half:])
    log = derived.root / "agent-0.log"
    wait_for(
        "the worker to wait for the registry",
        lambda: f"needs schema id {new_id} is held" in log.read_text(),
        timeout_s=30,
        processes=[agent],
    )
    return agent, first, new_id


@pytest.mark.brokers("tansu")  # the registry's outage, not the broker, is under test
def test_the_worker_waits_for_the_registry_and_goes_on(
    derived: Derived, agents: list[Any], registry: Registry
) -> None:
    events = plays(800, seed=5)
    agent, first, new_id = hold_a_batch(derived, agents, registry, events)
    log = derived.root / "agent-0.log"
    assert registry.url in log.read_text()
    assert progress(derived) == first  # the batch is held: nothing past it is checkpointed
    registry.restart()
    end = ends(derived)
    wait_for(
        "the end of the input", lambda: progress(derived) == end, timeout_s=60, processes=[agent]
    )
    assert agent.poll() is None, logs(derived)
    assert "answered again" in log.read_text()
    want = expected(derived, new_id)
    assert actual(derived) == want, logs(derived)


@pytest.mark.brokers("tansu")
def test_a_worker_stopped_while_it_waits_for_the_registry_exits_without_a_checkpoint(
    derived: Derived, agents: list[Any], registry: Registry
) -> None:
    """SIGTERM while the batch process waits for the registry: the worker tells it to give up
    (the wait is in another process, so this crosses the process boundary), exits at once
    without acknowledging the held batch, and its batch process is gone too."""
    agent, first, _ = hold_a_batch(derived, agents, registry, plays(400, seed=6))
    log = derived.root / "agent-0.log"
    batch_processes = children(agent.pid)
    assert batch_processes, "the worker has a batch process"
    os.kill(agent.pid, signal.SIGTERM)
    assert agent.wait(30) == 70, logs(derived)  # a batch failed: nothing acknowledged
    assert "the worker is stopping" in log.read_text()
    assert progress(derived) == first
    for child in batch_processes:
        assert not running(child), f"batch process {child} outlived its worker"
