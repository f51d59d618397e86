"""Run states folded from OpenLineage events: running, lost, completed, failed, aborted."""

from __future__ import annotations

import datetime
import os
import socket
import subprocess
import sys
import uuid
from typing import Any

from streams.catalog.runs import DEFAULT_HEARTBEAT_S, LOST_AFTER, fold_runs

T0 = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
S = datetime.timedelta(seconds=1)


def event(
    kind: str, at: datetime.datetime, run_id: str, **facets: dict[str, Any]
) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": at.isoformat(),
        "run": {"runId": run_id, "facets": facets},
        "job": {
            "namespace": "streams",
            "name": "d.p.v1",
            "facets": {"jobType": {"processingType": "STREAMING"}},
        },
        "outputs": [{"namespace": "kafka://h:1", "name": "d.p.v1"}],
    }


def worker(every: float) -> dict[str, Any]:
    return {"host": "h", "pid": 42, "heartbeatSeconds": every}


def test_a_run_is_lost_after_two_and_a_half_silent_heartbeats() -> None:
    run = str(uuid.uuid4())
    (state,) = fold_runs([event("START", T0, run, streams_worker=worker(10))]).values()
    assert LOST_AFTER == 2.5
    assert (state.host, state.pid, state.heartbeat_s) == ("h", 42, 10.0)
    assert state.status(T0 + 25 * S) == "running"
    assert state.status(T0 + 26 * S) == "lost"
    assert state.last_seen == state.started_at == T0
    beats = [event("RUNNING", T0 + n * 10 * S, run) for n in (1, 2)]
    (state,) = fold_runs([*beats, event("START", T0, run, streams_worker=worker(10))]).values()
    assert state.last_seen == T0 + 20 * S  # events in any order
    assert state.status(T0 + 44 * S) == "running"
    assert state.status(T0 + 46 * S) == "lost"
    assert state.to_dict(T0 + 46 * S)["last_seen"] == "2026-11-30T12:00:20+00:00"


def test_without_our_facet_a_run_beats_every_60_seconds() -> None:
    (state,) = fold_runs([event("START", T0, "r")]).values()
    assert state.heartbeat_s == DEFAULT_HEARTBEAT_S == 60
    assert state.status(T0 + 149 * S) == "running"
    assert state.status(T0 + 151 * S) == "lost"


def test_the_first_end_wins_and_names_why() -> None:
    failed = [
        event("START", T0, "f"),
        event("FAIL", T0 + S, "f", errorMessage={"message": "KeyError: 'user_id'"}),
        event("COMPLETE", T0 + 2 * S, "f"),
    ]
    aborted = [
        event("START", T0, "a"),
        event("ABORT", T0 + S, "a", streams_abort={"reason": "no sign of life since 12:00"}),
        event("RUNNING", T0 + 2 * S, "a"),
    ]
    runs = fold_runs([*failed, *aborted, event("START", T0, "c"), event("COMPLETE", T0, "c")])
    later = T0 + datetime.timedelta(days=1)
    assert {r: s.status(later) for r, s in runs.items()} == {
        "f": "failed",
        "a": "aborted",
        "c": "completed",
    }
    assert runs["f"].error == "KeyError: 'user_id'"
    assert runs["f"].ended_at == T0 + S
    assert runs["a"].error == "no sign of life since 12:00"
    assert runs["a"].last_seen == T0  # a heartbeat after the end is no sign of life
    assert runs["c"].processing == "STREAMING"
    assert runs["c"].outputs == ("d.p.v1",)


def test_what_is_not_a_run_event_is_skipped() -> None:
    junk: list[Any] = [None, {}, {"eventTime": "yesterday", "run": {"runId": "x"}}]
    junk.append({"eventTime": "2026-11-30T12:00:00", "run": {"runId": "naive"}})
    assert fold_runs([*junk, event("START", T0, "r")]).keys() == {"r"}


def test_a_run_whose_process_is_gone_from_this_host_is_lost_at_once() -> None:
    """No need to wait for missed heartbeats when the process was here and is gone (kill -9)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    here = socket.gethostname()
    facets = {"host": here, "pid": gone.pid, "heartbeatSeconds": 60}
    (state,) = fold_runs([event("START", T0, str(uuid.uuid4()), streams_worker=facets)]).values()
    assert state.status(T0 + S) == "lost"
    mine = {"host": here, "pid": os.getpid(), "heartbeatSeconds": 60}
    (state,) = fold_runs([event("START", T0, str(uuid.uuid4()), streams_worker=mine)]).values()
    assert state.status(T0 + S) == "running"
    elsewhere = {"host": "another-host", "pid": gone.pid, "heartbeatSeconds": 60}
    (state,) = fold_runs([event("START", T0, str(uuid.uuid4()), streams_worker=elsewhere)]).values()
    assert state.status(T0 + S) == "running"  # only its heartbeats can tell
