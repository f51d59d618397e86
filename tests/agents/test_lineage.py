"""OpenLineage run events: their shape (spec 2-0-2), keys, datasets, and the LineageRun API.

The required fields below are those of OpenLineage's JSON schema 2-0-2
(https://openlineage.io/spec/2-0-2/OpenLineage.json): a BaseEvent needs eventTime, producer and
schemaURL; a RunEvent also run (runId, a uuid) and job (namespace, name), its eventType one of
START/RUNNING/COMPLETE/ABORT/FAIL/OTHER; datasets need namespace and name; every facet
_producer and _schemaURL. The jobType facet (spec/facets/JobTypeJobFacet.json) needs
processingType and integration; errorMessage (ErrorMessageRunFacet.json) message and
programmingLanguage.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.agents.definition import DerivedProduct, Hopping, Session, load_definition
from streams.agents.lineage import (
    LINEAGE_TOPIC_CONFIG,
    Dataset,
    Heartbeat,
    LineageRun,
    agent_version,
    dataset_namespace,
    message_key,
    run_event,
)
from streams.catalog.agents import AgentRunRecord
from streams.catalog.runs import RunState, fold_runs
from streams.config import KafkaSettings, Settings
from streams.errors import DeserializationError, StreamsError
from streams.naming import agent_runs_topic, lineage_topic

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "products/player/hourly_play_sessions.py"
NOW = datetime.datetime(2026, 11, 30, 12, 0, 0, 123000, tzinfo=datetime.UTC)
SETTINGS = Settings(kafka=KafkaSettings(bootstrap_servers="broker-a:9092,broker-b:9092"))


def check_facet(facet: Mapping[str, Any], *required: str, custom: bool = False) -> None:
    for name in ("_producer", "_schemaURL", *required):
        assert isinstance(facet[name], str), name
        assert facet[name], name
    if custom:  # our own facets (prefixed streams_) extend the spec's base run facet
        assert facet["_schemaURL"] == (
            "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet"
        )
    else:
        assert facet["_schemaURL"].startswith("https://openlineage.io/spec/facets/")


def check_run_event(event: Mapping[str, Any]) -> None:
    """Every field the 2-0-2 schema requires, with its type and format."""
    assert (
        event["schemaURL"] == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    )
    assert event["eventType"] in {"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"}
    when = datetime.datetime.fromisoformat(event["eventTime"])
    assert when.tzinfo is not None
    assert ":" in event["producer"]  # a URI: scheme ':' ...
    assert str(uuid.UUID(event["run"]["runId"])) == event["run"]["runId"]
    assert isinstance(event["job"]["namespace"], str)
    assert isinstance(event["job"]["name"], str)
    for dataset in [*event["inputs"], *event["outputs"]]:
        assert isinstance(dataset["namespace"], str)
        assert isinstance(dataset["name"], str)
    check_facet(event["job"]["facets"]["jobType"], "processingType", "integration")
    for name, facet in event["run"].get("facets", {}).items():
        check_facet(facet, custom=name.startswith("streams_"))


def example() -> DerivedProduct:
    return load_definition(EXAMPLE)


class Sink:
    """Collects what a LineageRun sends; can be told to fail; ``history`` are earlier events."""

    def __init__(self, *, broken: bool = False, history: Sequence[dict[str, Any]] = ()) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.records: list[AgentRunRecord] = []
        self.broken = broken
        self.history = list(history)

    def runs(self, job_name: str) -> dict[str, RunState]:
        if self.broken:
            raise StreamsError("Kafka is down")
        events = [*self.history, *(event for _, event in self.sent)]
        return fold_runs(e for e in events if e["job"]["name"] == job_name)

    def send(self, key: str, event: Mapping[str, Any]) -> None:
        if self.broken:
            raise StreamsError("Kafka is down")
        self.sent.append((key, dict(event)))

    def record(self, run: AgentRunRecord) -> None:
        if self.broken:
            raise StreamsError("Kafka is down")
        self.records.append(run)


def test_names_and_topic_config() -> None:
    assert lineage_topic() == "_mesh.lineage"
    assert agent_runs_topic() == "_mesh.agent_runs"
    # A history, not a table: deleted after 7 days, never compacted.
    assert LINEAGE_TOPIC_CONFIG == {"cleanup.policy": "delete", "retention.ms": "604800000"}


def test_the_key_is_openlineage_kafka_transports() -> None:
    # KafkaTransport._get_run_message_key: f"run:{event.job.namespace}/{event.job.name}"
    assert message_key("streams", "player.x.v1") == "run:streams/player.x.v1"


@pytest.mark.parametrize(
    ("bootstrap", "namespace"),
    [
        ("127.0.0.1:9092", "kafka://127.0.0.1:9092"),
        ("a:1, b:2", "kafka://a:1"),
        ("PLAINTEXT://kafka.internal:9093", "kafka://kafka.internal:9093"),
    ],
)
def test_dataset_namespace_follows_openlineage_kafka_naming(bootstrap: str, namespace: str) -> None:
    assert dataset_namespace(bootstrap) == namespace


@pytest.mark.parametrize("event_type", ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL"])
def test_run_events_have_every_required_field(event_type: Any) -> None:
    error = ValueError("bad input") if event_type == "FAIL" else None
    run_id = str(uuid.uuid4())
    event = run_event(
        event_type=event_type,
        run_id=run_id,
        job_name="player.hourly_play_sessions.v1",
        processing="STREAMING",
        inputs=[Dataset("kafka://h:1", "player.play_events.v1")],
        outputs=[Dataset("kafka://h:1", "player.hourly_play_sessions.v1")],
        event_time=NOW,
        error=error,
    )
    check_run_event(event)
    assert event["eventType"] == event_type
    assert event["eventTime"] == "2026-11-30T12:00:00.123+00:00"
    assert event["run"]["runId"] == run_id
    assert event["job"]["namespace"] == "streams"
    assert event["inputs"] == [{"namespace": "kafka://h:1", "name": "player.play_events.v1"}]
    job_type = event["job"]["facets"]["jobType"]
    assert (job_type["processingType"], job_type["integration"], job_type["jobType"]) == (
        "STREAMING",
        "STREAMS",
        "AGENT",
    )
    if error is None:
        assert "facets" not in event["run"]
    else:
        facet = event["run"]["facets"]["errorMessage"]
        check_facet(facet, "message", "programmingLanguage")
        assert facet["message"] == "ValueError: bad input"
        assert facet["programmingLanguage"] == "PYTHON"


def test_run_event_refuses_a_naive_time_and_a_bad_run_id() -> None:
    args: dict[str, Any] = {
        "event_type": "START",
        "job_name": "j",
        "processing": "BATCH",
        "inputs": [],
        "outputs": [],
    }
    with pytest.raises(ValueError, match="timezone-aware"):
        run_event(run_id=str(uuid.uuid4()), event_time=NOW.replace(tzinfo=None), **args)
    with pytest.raises(ValueError, match="hexadecimal UUID"):
        run_event(run_id="not-a-uuid", event_time=NOW, **args)


def test_a_batch_run_is_start_then_complete() -> None:
    sink = Sink()
    with LineageRun(
        settings=SETTINGS, definition=example(), processing="BATCH", sink=sink, clock=lambda: NOW
    ) as run:
        assert [event["eventType"] for _, event in sink.sent] == ["START"]
    assert [event["eventType"] for _, event in sink.sent] == ["START", "COMPLETE"]
    keys = {key for key, _ in sink.sent}
    assert keys == {"run:streams/player.hourly_play_sessions.v1.replay"}
    assert {event["run"]["runId"] for _, event in sink.sent} == {run.run_id}
    for _, event in sink.sent:
        check_run_event(event)
        assert event["job"]["facets"]["jobType"]["processingType"] == "BATCH"
        assert event["job"]["facets"]["jobType"]["jobType"] == "REPLAY"
        assert event["inputs"] == [
            {"namespace": "kafka://broker-a:9092", "name": "player.play_events.v1"}
        ]
        assert event["outputs"] == [
            {"namespace": "kafka://broker-a:9092", "name": "player.hourly_play_sessions.v1"}
        ]
    (record,) = sink.records
    assert record == AgentRunRecord(
        job="player.hourly_play_sessions.v1.replay",
        inputs=("player.play_events.v1",),
        outputs=("player.hourly_play_sessions.v1",),
        agent_version=agent_version(example()),
        processing="BATCH",
        run_id=run.run_id,
        started_at=NOW,
        key="user_id",
        event_time="event_time",
        window_kind="tumbling",
        window_size_ms=3_600_000,
        allowed_lateness_ms=3_600_000,
    )


def test_the_run_record_names_hopping_and_session_windows() -> None:
    for window, fields in (
        (Hopping(timedelta(hours=1), timedelta(minutes=10)), ("hopping", 3_600_000, 600_000)),
        (Session(timedelta(minutes=30)), ("session", 1_800_000, None)),
    ):
        sink = Sink()
        definition = dataclasses.replace(example(), window=window)
        LineageRun(
            settings=SETTINGS, definition=definition, processing="STREAMING", sink=sink
        ).start()
        (record,) = sink.records
        assert (record.window_kind, record.window_size_ms, record.window_advance_ms) == fields


def test_a_failed_run_emits_fail_with_the_error_and_reraises() -> None:
    sink = Sink()
    with (
        pytest.raises(RuntimeError, match="broker vanished"),
        LineageRun(
            settings=SETTINGS, definition=example(), processing="BATCH", sink=sink, output_version=2
        ),
    ):
        raise RuntimeError("broker vanished")
    assert [event["eventType"] for _, event in sink.sent] == ["START", "FAIL"]
    fail = sink.sent[-1][1]
    assert fail["run"]["facets"]["errorMessage"]["message"] == "RuntimeError: broker vanished"
    assert "broker vanished" in fail["run"]["facets"]["errorMessage"]["stackTrace"]
    assert fail["outputs"][0]["name"] == "player.hourly_play_sessions.v2"
    assert sink.sent[-1][0] == "run:streams/player.hourly_play_sessions.v2.replay"


def test_a_streaming_run_as_the_live_driver_calls_it() -> None:
    sink = Sink()
    run = LineageRun(settings=SETTINGS, definition=example(), processing="STREAMING", sink=sink)
    run.start()
    run.running()
    run.running()
    run.complete()
    assert [event["eventType"] for _, event in sink.sent] == [
        "START",
        "RUNNING",
        "RUNNING",
        "COMPLETE",
    ]
    assert {key for key, _ in sink.sent} == {"run:streams/player.hourly_play_sessions.v1"}
    assert sink.sent[0][1]["job"]["facets"]["jobType"]["processingType"] == "STREAMING"
    assert sink.records[0].processing == "STREAMING"
    run.fail(KeyError("user_id"))
    assert sink.sent[-1][1]["eventType"] == "FAIL"


def test_lineage_failures_are_warnings_not_errors(caplog: pytest.LogCaptureFixture) -> None:
    run = LineageRun(
        settings=SETTINGS, definition=example(), processing="BATCH", sink=Sink(broken=True)
    )
    with caplog.at_level(logging.WARNING, logger="streams.agents.lineage"), run:
        pass
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        "agent run of player.hourly_play_sessions.v1.replay not recorded" in m for m in messages
    )
    assert any("COMPLETE event of run:streams/" in m and "Kafka is down" in m for m in messages)


def test_agent_version_is_a_hash_of_the_code_file(tmp_path: Path) -> None:
    code = EXAMPLE.read_text().replace("Path(__file__).parents[2]", f"Path({str(ROOT)!r})")
    first = tmp_path / "a" / "hourly_play_sessions.py"
    second = tmp_path / "b" / "hourly_play_sessions.py"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_text(code)
    second.write_text(code + "\n# a change\n")
    a, b = load_definition(first), load_definition(second)
    assert agent_version(a).startswith("sha256:")
    assert len(agent_version(a)) == 7 + 16
    assert agent_version(a) == agent_version(load_definition(first))
    assert agent_version(a) != agent_version(b)
    assert agent_version(dataclasses.replace(a, version=2)) == agent_version(a)


def test_agent_run_records_round_trip_and_bad_ones_are_named() -> None:
    record = AgentRunRecord(
        job="d.p.v1",
        inputs=("d.i.v1", "d.j.v2"),
        outputs=("d.p.v1",),
        agent_version="sha256:0123456789abcdef",
        processing="STREAMING",
        run_id=str(uuid.uuid4()),
        started_at=NOW,
    )
    assert AgentRunRecord.from_value(record.to_value()) == record
    with pytest.raises(DeserializationError, match=r"_mesh\.agent_runs") as info:
        AgentRunRecord.from_value(b'{"job": "x"}')
    assert info.value.reason == "agent-run"
    bad = {
        "job": "x",
        "inputs": [],
        "outputs": [],
        "agent_version": "v",
        "processing": "SERVICE",
        "run_id": "r",
        "started_at": NOW.isoformat(),
    }
    with pytest.raises(DeserializationError, match="STREAMING or BATCH"):
        AgentRunRecord.from_value(orjson.dumps(bad))


def test_a_heartbeat_beats_until_stopped() -> None:
    beats: list[float] = []
    heartbeat = Heartbeat(lambda: beats.append(time.monotonic()), every_s=0.01)
    deadline = time.monotonic() + 5
    while len(beats) < 3:
        assert time.monotonic() < deadline, "no heartbeat"
        time.sleep(0.01)
    heartbeat.stop()
    stopped = len(beats)
    time.sleep(0.05)
    assert len(beats) == stopped


def test_every_event_of_a_run_says_where_it_runs_and_how_often_it_beats() -> None:
    sink = Sink()
    with LineageRun(
        settings=SETTINGS,
        definition=example(),
        processing="STREAMING",
        sink=sink,
        heartbeat_s=7.5,
    ) as run:
        pass
    for _, event in sink.sent:
        check_run_event(event)
        worker = event["run"]["facets"]["streams_worker"]
        assert (worker["host"], worker["pid"]) == (socket.gethostname(), os.getpid())
        assert worker["heartbeatSeconds"] == 7.5
    (state,) = fold_runs(event for _, event in sink.sent).values()
    assert (state.run_id, state.heartbeat_s, state.pid) == (run.run_id, 7.5, os.getpid())
    assert state.status(NOW) == "completed"


def test_the_heartbeat_interval_is_injectable_and_beats_while_the_run_lasts() -> None:
    sink = Sink()
    with LineageRun(
        settings=SETTINGS, definition=example(), processing="BATCH", sink=sink, heartbeat_s=0.02
    ):
        deadline = time.monotonic() + 5
        while [e["eventType"] for _, e in sink.sent].count("RUNNING") < 2:
            assert time.monotonic() < deadline, "no RUNNING heartbeat"
            time.sleep(0.01)
        (state,) = fold_runs(event for _, event in sink.sent).values()
        assert state.status(datetime.datetime.now(datetime.UTC)) == "running"
    kinds = [e["eventType"] for _, e in sink.sent]
    assert kinds[0] == "START"
    assert kinds[-1] == "COMPLETE"
    assert set(kinds[1:-1]) == {"RUNNING"}
    with pytest.raises(ValueError, match="heartbeat_s must be positive"):
        LineageRun(settings=SETTINGS, definition=example(), processing="BATCH", heartbeat_s=0)


def _earlier(
    run_id: str, kind: str, at: datetime.datetime, *, host: str, pid: int
) -> dict[str, Any]:
    """An event of an earlier run of the live job, as another worker sent it."""
    return run_event(
        event_type=kind,  # type: ignore[arg-type]
        run_id=run_id,
        job_name="player.hourly_play_sessions.v1",
        processing="STREAMING",
        inputs=[],
        outputs=[],
        event_time=at,
        facets={"streams_worker": {"host": host, "pid": pid, "heartbeatSeconds": 10}},
    )


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_new_run_aborts_the_runs_of_its_job_it_supersedes() -> None:
    """Lost runs (silent for more than 2.5 heartbeats) and runs of a process of this host that
    no longer exists get ABORT, before the new START; running and ended runs are left alone."""
    here, dead = socket.gethostname(), _dead_pid()
    ids = {name: str(uuid.uuid4()) for name in ("lost", "dead", "alive", "recent", "ended")}
    minute = datetime.timedelta(minutes=1)
    history = [
        _earlier(ids["lost"], "START", NOW - 10 * minute, host="elsewhere", pid=1),
        _earlier(ids["lost"], "RUNNING", NOW - 5 * minute, host="elsewhere", pid=1),
        _earlier(ids["dead"], "START", NOW - minute / 6, host=here, pid=dead),
        _earlier(ids["alive"], "START", NOW - minute / 6, host=here, pid=os.getppid()),
        _earlier(ids["recent"], "START", NOW - 5 * minute, host="elsewhere", pid=2),
        _earlier(ids["recent"], "RUNNING", NOW - minute / 3, host="elsewhere", pid=2),
        _earlier(ids["ended"], "START", NOW - 10 * minute, host="elsewhere", pid=3),
        _earlier(ids["ended"], "COMPLETE", NOW - 9 * minute, host="elsewhere", pid=3),
    ]
    before = fold_runs(history)
    assert {name: before[i].status(NOW) for name, i in ids.items()} == {
        "lost": "lost",
        "dead": "lost",  # its process was on this host and is gone
        "alive": "running",
        "recent": "running",
        "ended": "completed",
    }
    assert before[ids["lost"]].last_seen == NOW - 5 * minute
    sink = Sink(history=history)
    run = LineageRun(
        settings=SETTINGS,
        definition=example(),
        processing="STREAMING",
        sink=sink,
        clock=lambda: NOW,
    )
    run.start()
    kinds = [(e["eventType"], e["run"]["runId"]) for _, e in sink.sent]
    assert sorted(kinds[:2]) == sorted([("ABORT", ids["lost"]), ("ABORT", ids["dead"])])
    assert kinds[2:] == [("START", run.run_id)]
    for _, event in sink.sent[:2]:
        check_run_event(event)
        facet = event["run"]["facets"]["streams_abort"]
        assert facet["supersededBy"] == run.run_id
        assert "no sign of life since" in facet["reason"]
        assert "streams_worker" not in event["run"]["facets"]  # not this process's run
    after = sink.runs("player.hourly_play_sessions.v1")
    assert {name: after[i].status(NOW) for name, i in ids.items()} == {
        "lost": "aborted",
        "dead": "aborted",
        "alive": "running",
        "recent": "running",
        "ended": "completed",
    }
    assert after[run.run_id].status(NOW) == "running"
    assert f"superseded by run {run.run_id}" in (after[ids["lost"]].error or "")


def test_unreadable_history_does_not_stop_the_run(caplog: pytest.LogCaptureFixture) -> None:
    class Unreadable(Sink):
        def runs(self, job_name: str) -> dict[str, RunState]:
            raise StreamsError("Kafka is down")

    sink = Unreadable()
    run = LineageRun(settings=SETTINGS, definition=example(), processing="STREAMING", sink=sink)
    with caplog.at_level(logging.WARNING, logger="streams.agents.lineage"):
        run.start()
    assert [e["eventType"] for _, e in sink.sent] == ["START"]
    assert any("earlier runs of" in r.getMessage() for r in caplog.records)
