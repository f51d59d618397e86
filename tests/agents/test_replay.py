"""``replay()`` and ``mesh replay`` on both brokers, against an oracle computed in the test."""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka import Producer as RawProducer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from streams.agents.decoding import without_logical_types
from streams.agents.definition import DerivedProduct, InputPort, Session, load_definition
from streams.agents.replay import ReplayProgress, replay
from streams.cli import main
from streams.config import Settings
from streams.kafka.topics import read_to_end
from streams.local import PlatformInfo
from streams.serialization.avro import AvroDecoder, AvroEncoder
from tests.agents.test_hourly_play_sessions import HOUR, expected, play_events

ROOT = Path(__file__).parents[2]


def unmarked(text: str) -> str:
    """A schema without its ``pii`` marks: these tests compare user ids with an oracle's, and
    emit would pseudonymize them (PII protection has its own tests, tests/access)."""
    schema = json.loads(text)
    for field in schema["fields"]:
        field.pop("pii", None)
    return json.dumps(schema)


PLAY = unmarked((ROOT / "schemas/player/PlayEvent.avsc").read_text())
SESSION = unmarked((ROOT / "schemas/player/HourlyPlaySession.avsc").read_text())
PARTITIONS = 3
LATENESS = HOUR  # the example's allowed lateness


@dataclasses.dataclass
class Mesh:
    domain: str
    definition: DerivedProduct
    settings: Settings
    bootstrap: str
    play_id: int

    @property
    def input(self) -> str:
        return f"{self.domain}.play_events.v1"

    def output(self, version: int = 1) -> str:
        return f"{self.domain}.hourly_play_sessions.v{version}"


@pytest.fixture
def mesh(platform: PlatformInfo, settings: Settings) -> Iterator[Mesh]:
    """Input and output products in a fresh domain, the example's code pointed at them."""
    domain = f"t{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": platform.bootstrap_servers})
    topics = [f"{domain}.play_events.v1", f"{domain}.hourly_play_sessions.v1"]
    topics.append(f"{domain}.hourly_play_sessions.v2")
    # Records carry timestamps of 2023: Apache Kafka's retention check (every 5 min) would
    # delete them under the default 7-day retention, mid-test. Keep them forever.
    forever = {"retention.ms": "-1"}
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=PARTITIONS, config=forever) for t in topics]
    )
    for future in futures.values():
        future.result(10)
    with SchemaRegistryClient(platform.registry_conf()) as registry:
        play_id = registry.register_schema(f"{topics[0]}-value", Schema(PLAY, "AVRO"))
        for topic in topics[1:]:
            registry.register_schema(f"{topic}-value", Schema(SESSION, "AVRO"))
    example = load_definition(ROOT / "products/player/hourly_play_sessions.py")
    definition = dataclasses.replace(
        example,
        product=f"{domain}.hourly_play_sessions",
        inputs=(InputPort(f"{domain}.play_events", 1),),
    )
    yield Mesh(domain, definition, settings, platform.bootstrap_servers, play_id)
    admin.delete_topics(topics)


def partition_of(user: str) -> int:
    return int(uuid.UUID(user)) % PARTITIONS


def produce(mesh: Mesh, records: list[tuple[int, dict[str, Any] | bytes]]) -> None:
    """(Kafka timestamp, event or raw bytes) in order; a user's events to its own partition."""
    encode = AvroEncoder(PLAY, schema_id=mesh.play_id)
    # Idempotence keeps each partition in production order even when a send is retried (a
    # fresh topic on Kafka may refuse the first sends): the oracle relies on that order.
    producer = RawProducer(
        {"bootstrap.servers": mesh.bootstrap, "linger.ms": 20, "enable.idempotence": True}
    )
    for stamp, event in records:
        if isinstance(event, bytes):
            producer.produce(mesh.input, event, b"poison", partition=0, timestamp=stamp)
            continue
        user = event["user_id"]
        producer.produce(
            mesh.input, encode(event), user.encode(), partition=partition_of(user), timestamp=stamp
        )
    assert producer.flush(10) == 0


def oracle(events: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], int]:
    """The product topic's expected last value per key, and how many events are late.

    Per partition in production order, an event is late when the partition's highest event
    time before it has passed its hour's end plus the lateness; once the input is exhausted,
    every hour that highest event time has passed that way is final.
    """
    counted: list[dict[str, Any]] = []
    late = 0
    marks = dict.fromkeys(range(PARTITIONS), -(2**63))
    for event in events:
        number = partition_of(event["user_id"])
        end = event["event_time"] // HOUR * HOUR + HOUR
        if end + LATENESS <= marks[number]:
            late += 1
        else:
            counted.append(event)
        marks[number] = max(marks[number], event["event_time"])
    found = {}
    for (user, start), value in expected(counted).items():
        final = start + HOUR + LATENESS <= marks[partition_of(user)]
        found[f"{user}@{start}"] = value | {"final": final}
    return found, late


def read_outputs(mesh: Mesh, topic: str) -> dict[str, dict[str, Any]]:
    decoders: dict[int, AvroDecoder] = {}
    last = {}
    with SchemaRegistryClient(mesh.settings.registry.client_conf()) as registry:
        for message in read_to_end({"bootstrap.servers": mesh.bootstrap}, topic):
            data = message.value()
            schema_id = int.from_bytes(data[1:5], "big")
            if schema_id not in decoders:
                text = registry.get_schema(schema_id).schema_str
                decoders[schema_id] = AvroDecoder(
                    without_logical_types(json.loads(text)), schema_id=schema_id
                )
            last[message.key().decode()] = decoders[schema_id](data)
    return last


def count(mesh: Mesh, topic: str) -> int:
    admin = AdminClient({"bootstrap.servers": mesh.bootstrap})
    if topic not in admin.list_topics(timeout=10).topics:
        return 0
    return sum(1 for _ in read_to_end({"bootstrap.servers": mesh.bootstrap}, topic))


def history(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Events before the replay's start, and after it: out of order, some hours late."""
    rng = random.Random(seed)
    before = play_events(rng, 30)
    after = sorted(play_events(rng, 400), key=lambda e: e["event_time"])
    arrival = sorted(after, key=lambda e: e["event_time"] + rng.randrange(HOUR // 2))
    for _ in range(10):  # offline plays that arrive hours after their hour closed
        stale = dict(rng.choice(arrival[:50]), event_id=str(uuid.uuid4()))
        arrival.insert(rng.randrange(300, len(arrival)), stale)
    return before, arrival


T0 = 1_700_000_000_000  # Kafka timestamps of the records before the replay's start
T1 = T0 + 10 * HOUR


def test_a_replay_equals_the_oracle(mesh: Mesh) -> None:
    before, after = history(9)
    records: list[tuple[int, dict[str, Any] | bytes]] = [(T0 + i, e) for i, e in enumerate(before)]
    records.append((T1 + 1, b"not avro at all"))
    records += [(T1 + 2 + i, event) for i, event in enumerate(after)]
    produce(mesh, records)
    seen: list[ReplayProgress] = []
    result = replay(
        mesh.definition,
        settings=mesh.settings,
        start_ms=T1,
        batch_size=97,
        on_progress=seen.append,
    )
    want, late = oracle(after)
    assert late > 0
    assert sum(value["final"] for value in want.values()) > 10
    # The windows within the allowed lateness of the last events stay open, as live (README).
    assert not all(value["final"] for value in want.values())
    got = read_outputs(mesh, mesh.output())
    assert got == want
    assert (result.late, result.dead_letters, result.counted) == (late, 1, len(after) - late)
    assert result.read >= len(after) + 1
    assert seen[-1].read == result.read
    assert seen[-1].total >= result.read
    assert count(mesh, f"{mesh.input}.late") == late
    assert count(mesh, f"{mesh.input}.dlq") == 1
    # Again (a backfill re-run): the poison record is counted, its dead letter not written twice.
    again = replay(mesh.definition, settings=mesh.settings, start_ms=T1, batch_size=97)
    assert again.dead_letters == 1
    assert count(mesh, f"{mesh.input}.dlq") == 1
    assert read_outputs(mesh, mesh.output()) == want


def test_mesh_replay_into_a_new_version_with_a_time_range(mesh: Mesh, tmp_path: Path) -> None:
    _, after = history(10)
    produce(mesh, [(T1 + i * 1000, event) for i, event in enumerate(after)])
    # The domain's code, in a repository of its own.
    code = (ROOT / "products/player/hourly_play_sessions.py").read_text()
    code = code.replace('"player.hourly_play_sessions"', f'"{mesh.domain}.hourly_play_sessions"')
    code = code.replace('"player.play_events"', f'"{mesh.domain}.play_events"')
    folder = tmp_path / "products" / mesh.domain
    folder.mkdir(parents=True)
    (folder / "hourly_play_sessions.py").write_text(code)
    (tmp_path / "schemas" / "player").mkdir(parents=True)
    (tmp_path / "schemas/player/HourlyPlaySession.avsc").write_text(SESSION)
    middle = 200
    args = [
        "replay",
        f"{mesh.domain}.hourly_play_sessions",
        "--from",
        str(T1),
        "--to",
        str(T1 + middle * 1000),
        "--into-version",
        "2",
        "--root",
        str(tmp_path),
        "--output",
        "json",
        "--bootstrap-servers",
        mesh.bootstrap,
        "--registry-url",
        mesh.settings.registry.url,
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["topic"] == mesh.output(2)
    assert "nothing was counted" not in result.stderr
    # A --to before every record's Kafka timestamp (event time is not what it selects by).
    before = [*args[:3], str(T0), "--to", str(T0 + 1), *args[6:]]
    empty = CliRunner().invoke(main, before)
    assert empty.exit_code == 0, empty.output
    assert json.loads(empty.stdout)["counted"] == 0
    assert "nothing was counted" in empty.stderr
    assert "Kafka timestamp" in empty.stderr
    want, late = oracle(after[:middle])
    assert read_outputs(mesh, mesh.output(2)) == want
    assert summary["late"] == late
    assert count(mesh, mesh.output(1)) == 0


def test_events_not_keyed_by_the_user_go_to_the_dead_letter_topic_not_into_counts(
    mesh: Mesh, caplog: pytest.LogCaptureFixture
) -> None:
    """A producer that sends a user's plays with null (or other) keys spreads them over the
    partitions; each task would count a part of them under the same output key. They are
    dead-lettered with the reason instead, and a warning line per interval names the topic and
    count."""
    rng = random.Random(11)
    events = sorted(play_events(rng, 60), key=lambda e: e["event_time"])
    keyed, stray = events[:40], events[40:]
    user = keyed[0]["user_id"]
    for event in stray:
        event["user_id"] = user  # the same user's plays, on every partition
    produce(mesh, [(T1 + i, event) for i, event in enumerate(keyed)])
    encode = AvroEncoder(PLAY, schema_id=mesh.play_id)
    raw = RawProducer({"bootstrap.servers": mesh.bootstrap, "enable.idempotence": True})
    for i, event in enumerate(stray):
        key = None if i % 2 else b"someone-else"
        raw.produce(mesh.input, encode(event), key, partition=i % PARTITIONS, timestamp=T1 + 100)
    assert raw.flush(10) == 0
    caplog.set_level(logging.WARNING, logger="streams.agents.decoding")
    result = replay(mesh.definition, settings=mesh.settings, start_ms=T1)
    want, late = oracle(keyed)
    assert read_outputs(mesh, mesh.output()) == want  # the stray plays counted nowhere
    assert (result.dead_letters, result.counted) == (len(stray), len(keyed) - late)
    dead = list(read_to_end({"bootstrap.servers": mesh.bootstrap}, f"{mesh.input}.dlq"))
    assert len(dead) == len(stray)
    for message in dead:
        headers = dict(message.headers())
        assert headers["dlq.reason"] == b"not-keyed-by-user_id"
        assert b"must be keyed by its user_id" in headers["dlq.error"]
    assert {message.key() for message in dead} == {None, b"someone-else"}
    lines = [r.getMessage() for r in caplog.records if "not keyed by user_id" in r.getMessage()]
    # The first batch's at once, the rest when the replay ends: not a line per record.
    assert 1 <= len(lines) <= 2, lines
    assert f"of {mesh.input} ({len(stray)} in all)" in lines[-1]


def test_a_merged_session_leaves_no_trace_in_the_product_topic(mesh: Mesh) -> None:
    """Sessions emitted, then bridged by a late-arriving play: the topic keeps one session."""
    minute = 60_000
    rng = random.Random(5)
    user = str(uuid.UUID(int=rng.getrandbits(128)))
    plays = [dict(e, user_id=user) for e in play_events(rng, 3)]
    for play, at in zip(plays, (0, 40 * minute, 20 * minute), strict=True):
        play["event_time"] = T1 + at
    produce(mesh, [(T1 + i, play) for i, play in enumerate(plays)])
    sessions = dataclasses.replace(mesh.definition, window=Session(timedelta(minutes=30)))
    # One record per batch: both first sessions are written before the third play joins them.
    replay(sessions, settings=mesh.settings, start_ms=T1, batch_size=1)
    last: dict[str, bytes | None] = {}
    for message in read_to_end({"bootstrap.servers": mesh.bootstrap}, mesh.output()):
        last[message.key().decode()] = message.value()
    assert last[f"{user}@{T1 + 40 * minute}"] is None  # the tombstone of the merged session
    assert {key for key, value in last.items() if value is not None} == {f"{user}@{T1}"}
    assert read_session(mesh, last[f"{user}@{T1}"])["plays"] == 3


def read_session(mesh: Mesh, data: bytes | None) -> dict[str, Any]:
    assert data is not None
    with SchemaRegistryClient(mesh.settings.registry.client_conf()) as registry:
        schema_id = int.from_bytes(data[1:5], "big")
        text = registry.get_schema(schema_id).schema_str
    return AvroDecoder(without_logical_types(json.loads(text)), schema_id=schema_id)(data)


def test_an_aggregate_breaking_its_products_rules_is_dead_lettered_not_fatal(mesh: Mesh) -> None:
    # The output's registered rules say no session has a play: every aggregate breaks them. The
    # replay (as the live agent) sends each one to the product's dead letters and goes on.
    from confluent_kafka.schema_registry import RuleSet

    from streams.serialization.quality import QualitySpec, rule_set_for

    dlq = f"{mesh.output()}.dlq"
    admin = AdminClient({"bootstrap.servers": mesh.bootstrap})
    for future in admin.create_topics([NewTopic(dlq, num_partitions=1)]).values():
        future.result(10)
    rules = rule_set_for([QualitySpec("plays", "range", min=0, max=0)], dlq_topic=dlq)
    with SchemaRegistryClient(mesh.settings.registry.client_conf()) as registry:
        schema = Schema(SESSION, "AVRO", rule_set=RuleSet.from_dict(rules))
        registry.register_schema(f"{mesh.output()}-value", schema)
    _, after = history(11)
    produce(mesh, [(T1 + i, event) for i, event in enumerate(after)])
    result = replay(mesh.definition, settings=mesh.settings, start_ms=T1, batch_size=97)
    assert result.counted > 0
    assert read_outputs(mesh, mesh.output()) == {}
    assert count(mesh, dlq) > 0
    admin.delete_topics([dlq])
