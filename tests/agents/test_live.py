"""The live driver (`mesh agent run`) on a real broker: exact after kill -9, rebalances without
loss, dead letters and late events.

The expected output is the engine run in-process over the same input (its own correctness is
tested against an independent computation elsewhere): the product topic's last value per
(key, window) must equal it, whatever happened to the workers meanwhile.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer as RawProducer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from streams.agents.checkpoints import CheckpointStore
from streams.agents.definition import DerivedProduct, load_definition
from streams.agents.engine import InputRecord, Task
from streams.agents.lineage import LINEAGE_TOPIC
from streams.agents.replay import replay
from streams.config import Settings
from streams.kafka import Producer
from streams.kafka.topics import COMPACTED, read_to_end
from streams.naming import ProductRef, checkpoint_topic, dlq_topic, late_topic
from streams.serialization import AvroDecoder, AvroEncoder

REPO = Path(__file__).parents[2]
PARTITIONS = 4
HOURLY = "schemas/player/HourlyPlaySession.avsc"
HOUR = 3_600_000
BASE = 1_767_225_600_000  # 2026-01-01T00:00Z
DEFINITION = """
from datetime import timedelta
from pathlib import Path

from streams.agents.definition import DerivedProduct, InputPort, load_definition

_example = load_definition(Path({example!r}))
product = DerivedProduct(
    product="{domain}.hourly_play_sessions",
    version=1,
    inputs=(InputPort("{domain}.play_events", 1),),
    key="user_id",
    window=_example.window,
    allowed_lateness=_example.allowed_lateness,
    aggregation=_example.aggregation,
    # wall clock must not decide anything in these tests (but the one on idle partitions)
    idle_timeout=timedelta(seconds={idle}),
)
"""


@dataclass
class Derived:
    """A derived product of a fresh domain, its input with events, and where its code is."""

    root: Path
    input: ProductRef
    output: ProductRef
    settings: Settings
    definition: DerivedProduct

    def command(self, *extra: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "streams.cli",
            "agent",
            "run",
            self.output.id,
            "--root",
            str(self.root),
            "--bootstrap-servers",
            self.settings.kafka.bootstrap_servers,
            "--registry-url",
            self.settings.registry.url,
            "--batch-size",
            "100",
            "--batch-within",
            "0.2",
            *extra,
        ]


def _uuid(n: int) -> str:
    return str(uuid.UUID(int=n))


def plays(count: int, *, users: int = 40, seed: int = 7) -> list[dict[str, Any]]:
    """Play events over ~6 hours, slightly out of order, with a few very late ones."""
    events = []
    for n in range(count):
        at = BASE + n * (6 * HOUR // count) + ((n * 7919 + seed) % 600_000) - 300_000
        if n % 97 == 13:
            at -= 4 * HOUR  # offline play arriving late: past its window's grace once seen
        events.append(
            {
                "event_id": _uuid(n + 1),
                "event_time": at,
                "user_id": _uuid(10_000 + (n * 31 + seed) % users),
                "track_id": _uuid(20_000 + n % 57),
                "device": ("IOS", "WEB", "CAR")[n % 3],
                "country": "DE",
                "ms_played": 1000 + (n * 37) % 180_000,
                "context_type": "ALBUM",
                "context_id": None,
                "end_reason": ("TRACK_DONE", "SKIPPED_FORWARD")[n % 5 == 0],
                "offline": n % 97 == 13,
                "app_version": "8.9.12",
                "session_hint": None,
            }
        )
    return events


def _register(settings: Settings, subject: str, path: Path) -> None:
    with SchemaRegistryClient(settings.registry.client_conf()) as registry:
        registry.register_schema(subject, Schema(path.read_text(), "AVRO"))


@pytest.fixture
def derived(settings: Settings, tmp_path: Path, request: pytest.FixtureRequest) -> Derived:
    domain = f"t{uuid.uuid4().hex[:10]}"
    source = ProductRef(domain, "play_events")
    output = ProductRef(domain, "hourly_play_sessions")
    admin = AdminClient(settings.kafka.librdkafka())
    futures = admin.create_topics(
        [
            NewTopic(source.topic, num_partitions=PARTITIONS, replication_factor=1),
            NewTopic(output.topic, num_partitions=2, replication_factor=1, config=COMPACTED),
        ]
    )
    for future in futures.values():
        future.result(10)
    _register(settings, source.subject, REPO / "schemas/player/PlayEvent.avsc")
    _register(settings, output.subject, REPO / "schemas/player/HourlyPlaySession.avsc")
    code = tmp_path / "products" / domain / "hourly_play_sessions.py"
    code.parent.mkdir(parents=True)
    example = REPO / "products/player/hourly_play_sessions.py"
    idle = getattr(request, "param", 3600)
    code.write_text(DEFINITION.format(example=str(example), domain=domain, idle=idle))
    return Derived(tmp_path, source, output, settings, load_definition(code))


def produce(derived: Derived, events: list[dict[str, Any]]) -> None:
    with Producer(settings=derived.settings) as producer:
        for event in events:
            producer.emit(derived.input, event, key=event["user_id"])


OTHER = {"type": "record", "name": "Other", "fields": [{"name": "x", "type": "int"}]}


def produce_poison(derived: Derived, partition: int) -> None:
    """Three records the agent cannot count: not Avro at all, valid Avro of another schema
    (no user_id, no event_time), and a play with a null key (not partitioned by user_id)."""
    with SchemaRegistryClient(derived.settings.registry.client_conf()) as registry:
        other = registry.register_schema(
            f"{derived.input.domain}.other-value", Schema(json.dumps(OTHER), "AVRO")
        )
        play = registry.get_latest_version(derived.input.subject).schema_id
    encoded = AvroEncoder(OTHER, schema_id=other)({"x": 1})
    schema = (REPO / "schemas/player/PlayEvent.avsc").read_text()
    unkeyed = AvroEncoder(schema, schema_id=play)(plays(1, seed=3)[0])
    raw = RawProducer({"bootstrap.servers": derived.settings.kafka.bootstrap_servers})
    raw.produce(derived.input.topic, b"not avro", b"poison", partition=partition)
    raw.produce(derived.input.topic, encoded, b"poison", partition=partition)
    raw.produce(derived.input.topic, unkeyed, None, partition=partition)
    assert raw.flush(10) == 0


# --- reading results ----------------------------------------------------------------------


def _conf(settings: Settings) -> dict[str, Any]:
    return dict(settings.kafka.librdkafka(group_id=f"test-{uuid.uuid4().hex}"))


def input_records(derived: Derived) -> dict[int, list[InputRecord]]:
    """The input as the agent decodes it, per partition in offset order (poison left out)."""
    schema = (REPO / "schemas/player/PlayEvent.avsc").read_text()
    decoders: dict[int, AvroDecoder] = {}
    found: dict[int, list[InputRecord]] = {}
    for message in read_to_end(_conf(derived.settings), derived.input.topic):
        value = message.value()
        if value is None or value[:1] != b"\x00" or message.key() == b"poison":
            continue
        schema_id = int.from_bytes(value[1:5], "big")
        decoder = decoders.setdefault(schema_id, AvroDecoder(schema, schema_id=schema_id))
        found.setdefault(message.partition(), []).append(
            InputRecord(
                message.topic(),
                message.partition(),
                message.offset(),
                message.timestamp()[1],
                message.key(),
                decoder(value),
            )
        )
    return found


def expected(derived: Derived) -> tuple[dict[str, dict[str, Any]], int]:
    """The last value per output key of a crash-free run (one batch per task), and how many
    records were late."""
    last: dict[str, dict[str, Any]] = {}
    late = 0
    for partition, records in input_records(derived).items():
        task = Task(derived.definition, partition=partition, clock=lambda: 0.0)
        step = task.process(records)
        late += len(step.late)
        for update in step.updates:
            last[update.kafka_key] = _normal({**update.value, "final": update.final})
    return last, late


def _normal(value: dict[str, Any]) -> dict[str, Any]:
    """Timestamps as epoch ms, so values decoded from Avro compare with computed ones."""
    return json.loads(json.dumps(value, default=_ms))


def _ms(value: Any) -> Any:
    if hasattr(value, "timestamp"):
        return round(value.timestamp() * 1000)
    return str(value)


def actual(derived: Derived, topic: str | None = None) -> dict[str, dict[str, Any]]:
    """The product topic's (or ``topic``'s) last value per key."""
    schema = (REPO / "schemas/player/HourlyPlaySession.avsc").read_text()
    last: dict[str, dict[str, Any]] = {}
    for message in read_to_end(_conf(derived.settings), topic or derived.output.topic):
        value = message.value()
        decoder = AvroDecoder(schema, schema_id=int.from_bytes(value[1:5], "big"))
        last[message.key().decode()] = _normal(decoder(value))
    return last


def count(settings: Settings, topic: str) -> int:
    return sum(1 for _ in read_to_end(_conf(settings), topic))


def progress(derived: Derived) -> dict[int, int]:
    """Per task, the next input offset its checkpoint reflects."""
    with CheckpointStore(derived.output, partitions=PARTITIONS, settings=derived.settings) as store:
        found = store.read(range(PARTITIONS))
    return {
        task: checkpoint.offsets.get((derived.input.topic, task), 0)
        for task, checkpoint in found.items()
    }


def wait_for(what: str, check: Any, *, timeout_s: float, processes: list[Any]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        for process in processes:
            assert process.poll() is None, f"the agent exited with {process.returncode}"
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def ends(derived: Derived) -> dict[int, int]:
    last: dict[int, int] = {}
    for message in read_to_end(_conf(derived.settings), derived.input.topic):
        last[message.partition()] = message.offset() + 1
    return last


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started by a test; each is stopped by its PID at the end."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:  # SIGTERM first: a `--workers N` parent stops its workers by PID
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
    for process in started:
        try:
            process.wait(45)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)


def start(derived: Derived, agents: list[Any], *extra: str, log: str = "agent") -> Any:
    with (derived.root / f"{log}-{len(agents)}.log").open("wb") as stderr:
        process = subprocess.Popen(
            derived.command(*extra), cwd=derived.root, stderr=stderr, stdout=subprocess.DEVNULL
        )
    agents.append(process)
    return process


def logs(derived: Derived) -> str:
    return "\n".join(path.read_text()[-3000:] for path in sorted(derived.root.glob("*.log")))


def compare(derived: Derived) -> None:
    want, _ = expected(derived)
    got = actual(derived)
    missing = sorted(set(want) - set(got))
    wrong = sorted(key for key in want.keys() & got.keys() if want[key] != got[key])
    extra = sorted(set(got) - set(want))
    assert (len(missing), len(wrong), len(extra)) == (0, 0, 0), (
        f"missing {missing[:3]}, wrong {[(k, want[k], got[k]) for k in wrong[:2]]}, "
        f"extra {extra[:3]}\n{logs(derived)}"
    )


# --- the tests ----------------------------------------------------------------------------


def test_exact_after_kill_9_at_several_points(derived: Derived, agents: list[Any]) -> None:
    """kill -9 the worker after a few batches, twice; the restarts end where a crash-free run
    ends, and where a replay ends. Poison records go to the dead-letter topic, late plays to
    the late topic."""
    events = plays(3000)
    produce(derived, events[:1500])
    produce_poison(derived, partition=1)
    produce(derived, events[1500:])
    end = ends(derived)
    checkpoints = checkpoint_topic(derived.output)
    for kill_after in (4, 15):
        worker = start(derived, agents)
        wait_for(
            f"{kill_after} checkpoints",
            lambda n=kill_after: count(derived.settings, checkpoints) >= n,
            timeout_s=60,
            processes=[worker],
        )
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    assert progress(derived) != end, "the kills came too late: nothing was left to resume"
    worker = start(derived, agents)
    wait_for(
        "the end of the input", lambda: progress(derived) == end, timeout_s=90, processes=[worker]
    )
    compare(derived)
    reasons = {
        dict(message.headers())["dlq.reason"]
        for message in read_to_end(_conf(derived.settings), dlq_topic(derived.input.topic))
    }
    assert reasons == {b"not-framed", b"not-an-input", b"not-keyed-by-user_id"}, reasons
    _, late = expected(derived)
    assert late > 0
    assert count(derived.settings, late_topic(derived.input.topic)) >= late
    # The replay driver, run over the same input into version 2, ends where the live one did.
    v2 = ProductRef(derived.output.domain, derived.output.name, 2)
    admin = AdminClient(derived.settings.kafka.librdkafka())
    new = NewTopic(v2.topic, num_partitions=2, replication_factor=1, config=COMPACTED)
    admin.create_topics([new])[v2.topic].result(10)
    _register(derived.settings, v2.subject, REPO / HOURLY)
    replay(derived.definition, settings=derived.settings, start_ms=0, into_version=2)
    assert actual(derived, v2.topic) == actual(derived)


def _tasks_by_pid(log: Path) -> dict[int, set[int]]:
    """Which worker (by pid) took which tasks, from the workers' log lines."""
    found: dict[int, set[int]] = {}
    for line in log.read_text().splitlines():
        match = re.search(
            r"\[(\d+)\] streams\.agents\.batches: task (\d+) of .*: (fresh|restored)", line
        )
        if match:
            found.setdefault(int(match[1]), set()).add(int(match[2]))
    return found


def test_an_agent_started_later_joins_and_they_split(derived: Derived, agents: list[Any]) -> None:
    """The README: starting more workers elsewhere with the same product joins the same group.
    A second `mesh agent run` joins a running one: it takes tasks over from their checkpoints
    (a task is opened when its partition's next records arrive, or at the next idle check) and
    the output stays exact."""
    events = plays(2400, seed=13)
    produce(derived, events[:1200])
    first = start(derived, agents)
    wait_for(
        "the first agent to checkpoint every task",
        lambda: len(progress(derived)) == PARTITIONS,
        timeout_s=90,
        processes=[first],
    )
    second = start(derived, agents)
    rest = events[1200:]
    deadline = time.monotonic() + 90
    joined = derived.root / "agent-1.log"
    while not re.search(r"task \d+ of \S+: (fresh|restored)", joined.read_text()):
        # New plays until it takes tasks (a task is opened when its records arrive).
        assert time.monotonic() < deadline, f"the second agent took no task\n{logs(derived)}"
        assert first.poll() is None, logs(derived)
        assert second.poll() is None, logs(derived)
        chunk, rest = rest[:40], rest[40:]
        if chunk:
            produce(derived, chunk)
        time.sleep(1)
    if rest:
        produce(derived, rest)
    end = ends(derived)
    wait_for(
        "the end of the input",
        lambda: progress(derived) == end,
        timeout_s=90,
        processes=[first, second],
    )
    assert "restored at" in (derived.root / "agent-1.log").read_text()
    compare(derived)


def test_two_workers_one_killed_the_other_takes_over(derived: Derived, agents: list[Any]) -> None:
    """`--workers 2` splits the partitions; after kill -9 of one worker the other takes its
    partitions over from their checkpoints: nothing missing, nothing counted twice. SIGTERM to
    the parent stops the other worker too."""
    events = plays(2400, seed=11)
    produce(derived, events[:1200])
    parent = start(derived, agents, "--workers", "2")
    log = derived.root / "agent-0.log"
    pids: list[int] = []

    def split() -> bool:
        pids[:] = [int(p) for p in re.findall(r"worker \d of 2: pid (\d+)", log.read_text())]
        owners = _tasks_by_pid(log)
        together = len(pids) == 2 and all(owners.get(pid) for pid in pids)
        return together and len(progress(derived)) == PARTITIONS

    # Both own tasks and every task has a checkpoint: the victim's state must move over.
    wait_for("both workers to checkpoint tasks", split, timeout_s=90, processes=[parent])
    victim = max(pids, key=lambda pid: len(_tasks_by_pid(log)[pid]))
    os.kill(victim, signal.SIGKILL)
    produce(derived, events[1200:])
    end = ends(derived)
    wait_for(
        "the end of the input", lambda: progress(derived) == end, timeout_s=90, processes=[parent]
    )
    survivor = next(pid for pid in pids if pid != victim)
    assert _tasks_by_pid(log)[survivor] == set(range(PARTITIONS)), logs(derived)
    # Positions as log lines write them (topic[partition]@offset), not a Python dict's repr.
    assert re.search(r"restored at \S+\.v1\[\d+\]@\d+", log.read_text()), logs(derived)
    compare(derived)
    os.kill(parent.pid, signal.SIGTERM)
    assert parent.wait(60) != 0  # one worker died
    assert f"(pid {survivor}) stopped: exit code 0" in log.read_text(), logs(derived)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    # Each worker is a STREAMING OpenLineage run of the job named after the output topic: both
    # started; the survivor, stopped by SIGTERM, completed.
    conf = derived.settings.kafka.librdkafka(group_id="lineage-check")
    key = f"run:streams/{derived.output.topic}".encode()
    runs = [
        json.loads(m.value() or b"{}") for m in read_to_end(conf, LINEAGE_TOPIC) if m.key() == key
    ]
    kinds = [(run["eventType"], run["job"]["facets"]["jobType"]["processingType"]) for run in runs]
    assert kinds.count(("START", "STREAMING")) == 2, kinds
    assert ("COMPLETE", "STREAMING") in kinds, kinds


@pytest.mark.parametrize("derived", [2], indirect=True)  # idle_timeout: 2 s
def test_a_silent_partition_follows_the_others_and_its_windows_become_final(
    derived: Derived, agents: list[Any]
) -> None:
    """The issue: "an idle timeout so one silent partition does not stall everything". Plays
    stop arriving on partition 0 while the others go on: once it has been silent for the idle
    timeout, its task follows the other tasks' watermark and its last windows are emitted
    final, with the same values as a crash-free run. The worker logs its assignment at once."""
    worker = start(derived, agents, "--idle-check", "0.5")
    log = derived.root / "agent-0.log"
    wait_for(
        "the worker to log its assignment",
        lambda: "assigned partitions [0, 1, 2, 3]" in log.read_text(),
        timeout_s=60,
        processes=[worker],
    )
    produce(derived, plays(800, seed=5))
    partition_of = {
        str(r.value["user_id"]): part
        for part, records in input_records(derived).items()
        for r in records
    }
    quiet = {user for user, part in partition_of.items() if part == 0}
    talkers = sorted(user for user, part in partition_of.items() if part != 0)
    assert quiet
    assert talkers

    def silent_windows_final() -> bool:
        got = actual(derived)
        mine = [v for k, v in got.items() if k.split("@")[0] in quiet]
        return bool(mine) and all(v["final"] for v in mine)

    # Only the other partitions get plays, hours later: they move on, partition 0 goes quiet.
    deadline, n = time.monotonic() + 90, 0
    while not silent_windows_final():
        assert time.monotonic() < deadline, f"partition 0's windows stayed open\n{logs(derived)}"
        assert worker.poll() is None, logs(derived)
        later = plays(20, seed=n)
        for i, event in enumerate(later):
            event["user_id"] = talkers[(n + i) % len(talkers)]
            event["event_time"] = BASE + 12 * HOUR + n * 60_000 + i
            event["offline"] = False
        produce(derived, later)
        n += 1
        time.sleep(0.5)
    want, _ = expected(derived)
    got = actual(derived)
    for key, value in want.items():
        if key.split("@")[0] in quiet:
            assert got[key] == {**value, "final": True}, key
