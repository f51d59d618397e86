"""The state of agent and replay runs, folded from their OpenLineage events on ``_mesh.lineage``.

A run's events say what it did last, not whether it is still alive: a worker killed with
``kill -9`` never sends COMPLETE. So a run is ``running`` only while it shows signs of life: its
last event (START or a RUNNING heartbeat) is younger than :data:`LOST_AFTER` heartbeat intervals
(each run states its interval in the ``streams_worker`` facet; 60 s when absent). Older, it is
``lost``, with the time of its last sign of life. COMPLETE, FAIL and ABORT end a run
(``completed``, ``failed``, ``aborted``); the first of them wins, and OTHER events only add
metadata. :func:`fold_runs` is pure; :func:`read_runs` reads the topic.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import orjson
from confluent_kafka.admin import AdminClient

from streams.config import Settings
from streams.kafka.client import build_client
from streams.kafka.topics import read_to_end, topic_names
from streams.naming import lineage_topic

__all__ = [
    "ABORT_FACET",
    "DEFAULT_HEARTBEAT_S",
    "LOST_AFTER",
    "WORKER_FACET",
    "RunState",
    "RunStatus",
    "fold_runs",
    "read_runs",
]

logger = logging.getLogger(__name__)

RunStatus = Literal["running", "lost", "completed", "failed", "aborted"]

LOST_AFTER = 2.5
"""Heartbeat intervals without an event after which a run that never ended counts as lost."""

DEFAULT_HEARTBEAT_S = 60.0
"""The heartbeat interval assumed for a run whose events do not state one."""

WORKER_FACET = "streams_worker"
"""Our custom run facet: ``host``, ``pid`` and ``heartbeatSeconds`` of the process running it."""

ABORT_FACET = "streams_abort"
"""Our custom run facet of an ABORT: ``reason`` and ``supersededBy`` (the run that closed it)."""

_ENDS: dict[str, RunStatus] = {"COMPLETE": "completed", "FAIL": "failed", "ABORT": "aborted"}


@dataclass(frozen=True, slots=True)
class RunState:
    """What the events of one run say, as of their last one.

    Attributes:
        run_id: The OpenLineage run id.
        job: The job name (``<output topic>``, or with ``.replay`` for a replay).
        processing: ``STREAMING`` or ``BATCH`` (from the jobType facet; ``""`` if absent).
        outputs: The output dataset names (topics).
        started_at: The START event's time (None if it was not seen).
        last_seen: The time of the run's last START or RUNNING event: its last sign of life.
        ended_at: The time of the COMPLETE, FAIL or ABORT that ended it, if any.
        ended: ``completed``, ``failed`` or ``aborted``; None while it has not ended.
        host: The host of the process running it (from the ``streams_worker`` facet).
        pid: Its process id.
        heartbeat_s: How often it promised a RUNNING event.
        error: The FAIL's error message, or why it was aborted.
    """

    run_id: str
    job: str
    processing: str = ""
    outputs: tuple[str, ...] = ()
    started_at: datetime.datetime | None = None
    last_seen: datetime.datetime | None = None
    ended_at: datetime.datetime | None = None
    ended: RunStatus | None = None
    host: str | None = None
    pid: int | None = None
    heartbeat_s: float = DEFAULT_HEARTBEAT_S
    error: str | None = None

    def status(self, now: datetime.datetime) -> RunStatus:
        """``running`` or ``lost`` (no sign of life for :data:`LOST_AFTER` intervals) if the
        run has not ended, else how it ended."""
        if self.ended is not None:
            return self.ended
        if self.last_seen is None or self.gone_here():
            return "lost"
        silent = (now - self.last_seen).total_seconds()
        return "lost" if silent > LOST_AFTER * self.heartbeat_s else "running"

    def gone_here(self) -> bool:
        """Whether the run's process was on this host and no longer exists (e.g. kill -9):
        no need to wait for its missed heartbeats."""
        if self.host != socket.gethostname() or self.pid is None:
            return False
        return not pid_alive(self.pid)

    def to_dict(self, now: datetime.datetime) -> dict[str, Any]:
        """The JSON form, with its status as of ``now``."""

        def iso(value: datetime.datetime | None) -> str | None:
            return value.astimezone(datetime.UTC).isoformat() if value else None

        return {
            "run_id": self.run_id,
            "job": self.job,
            "processing": self.processing,
            "status": self.status(now),
            "started_at": iso(self.started_at),
            "last_seen": iso(self.last_seen),
            "ended_at": iso(self.ended_at),
            "host": self.host,
            "pid": self.pid,
            "heartbeat_s": self.heartbeat_s,
            "error": self.error,
        }


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host (signal 0 checks, sends nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        return True
    return True


def _apply(state: RunState, event: Mapping[str, Any]) -> RunState:
    kind = str(event.get("eventType", ""))
    when = datetime.datetime.fromisoformat(str(event["eventTime"]))
    job = event.get("job") or {}
    facets = (event.get("run") or {}).get("facets") or {}
    changes: dict[str, Any] = {}
    processing = ((job.get("facets") or {}).get("jobType") or {}).get("processingType")
    if processing and not state.processing:
        changes["processing"] = str(processing)
    outputs = tuple(str(d.get("name")) for d in event.get("outputs") or () if d.get("name"))
    if outputs and not state.outputs:
        changes["outputs"] = outputs
    worker = facets.get(WORKER_FACET)
    if isinstance(worker, Mapping):
        changes["host"] = str(worker.get("host") or "") or None
        pid = worker.get("pid")
        changes["pid"] = int(pid) if isinstance(pid, int) else None
        every = worker.get("heartbeatSeconds")
        if isinstance(every, int | float) and every > 0:
            changes["heartbeat_s"] = float(every)
    if kind == "START":
        changes["started_at"] = when
    alive = kind in ("START", "RUNNING") and state.ended is None
    if alive and (state.last_seen is None or when > state.last_seen):
        changes["last_seen"] = when
    if kind in _ENDS and state.ended is None:
        changes["ended"] = _ENDS[kind]
        changes["ended_at"] = when
        message = (facets.get("errorMessage") or {}).get("message") or (
            facets.get(ABORT_FACET) or {}
        ).get("reason")
        if message:
            changes["error"] = str(message)
    return replace(state, **changes) if changes else state


def fold_runs(events: Iterable[Mapping[str, Any]]) -> dict[str, RunState]:
    """The state of every run in ``events`` (OpenLineage RunEvents, any order), by run id.

    Events that are not run events (no ``run.runId`` or ``eventTime``) are skipped.
    """
    runs: dict[str, RunState] = {}
    for event in sorted(
        (e for e in events if _is_run_event(e)), key=lambda e: _time(e["eventTime"])
    ):
        run_id = str(event["run"]["runId"])
        state = runs.get(run_id) or RunState(run_id, str((event.get("job") or {}).get("name")))
        runs[run_id] = _apply(state, event)
    return runs


def _is_run_event(event: Any) -> bool:
    try:
        _time(event["eventTime"])
        return bool(event["run"]["runId"])
    except (KeyError, TypeError, ValueError):
        return False


def _time(value: Any) -> datetime.datetime:
    when = datetime.datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        raise ValueError("eventTime without a time zone")
    return when


def read_runs(
    settings: Settings, *, job_names: Iterable[str] | None = None, timeout_s: float = 30.0
) -> dict[str, RunState]:
    """The runs on ``_mesh.lineage`` (of ``job_names`` only, when given); none if it is absent.

    Raises:
        BrokerUnavailableError: Kafka cannot be reached.
    """
    kafka = settings.kafka
    topic = lineage_topic()
    admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
    if topic not in topic_names(admin, bootstrap=kafka.bootstrap_servers, timeout_s=timeout_s):
        return {}
    wanted = None if job_names is None else set(job_names)
    conf = kafka.librdkafka(group_id="streams-lineage-read")
    events: list[Any] = []
    for message in read_to_end(conf, topic, timeout_s=timeout_s):
        try:
            event = orjson.loads(message.value() or b"null")
        except orjson.JSONDecodeError as exc:
            logger.warning("%s offset %s is not JSON, skipped: %s", topic, message.offset(), exc)
            continue
        if wanted is None or _job_name(event) in wanted:
            events.append(event)
    return fold_runs(events)


def _job_name(event: Any) -> str | None:
    try:
        return str(event["job"]["name"])
    except (KeyError, TypeError):
        return None
