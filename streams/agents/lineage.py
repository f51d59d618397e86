"""OpenLineage run events (spec 2-0-2) for derived-product agents and replays, on ``_mesh.lineage``.

A run is one execution of an agent job: a live agent is a STREAMING job (START, RUNNING now and
then, COMPLETE on a clean stop, FAIL on an error), a replay a BATCH job (START, RUNNING now and
then while it lasts, then COMPLETE or FAIL). Every event of a run carries our ``streams_worker``
run facet (host, pid, heartbeat interval), so readers (:mod:`streams.catalog.runs`) can tell a
run that stopped showing signs of life (``lost``, e.g. after ``kill -9``) from a running one.
A starting run closes the runs of its job it supersedes with ABORT: those lost, and those of a
process on this host that no longer exists.

Every event names the job (namespace ``streams``; the output topic, with ``.replay``
appended for replays), the run (a uuid), and the input and output datasets named as
OpenLineage's naming spec names Kafka topics: namespace ``kafka://{bootstrap host}:{port}``,
name the topic. The job carries the ``jobType`` facet (processingType, integration ``STREAMS``,
jobType ``AGENT`` or ``REPLAY``); a FAIL carries the ``errorMessage`` run facet.

Events are JSON records on ``_mesh.lineage``, keyed ``run:<job namespace>/<job name>`` as the
OpenLineage Python client's ``KafkaTransport`` keys run events without a parent (so one job's
events stay in order on one partition), and readable by any OpenLineage consumer. The topic is
not compacted: it is a history of runs, and compacting on that key would keep only the last
event of each job, dropping the START of a running one. It keeps 7 days (set explicitly,
BROKER.md quirk 7): long enough for a lineage backend to catch up after an outage. What each
agent reads and writes is kept for good in the compacted ``_mesh.agent_runs``
(:mod:`streams.catalog.agents`), written when a run starts.

:func:`~streams.agents.runevent.run_event` builds the events (pure, re-exported here);
:class:`LineageRun` is what drivers call.
"""

from __future__ import annotations

import datetime
import hashlib
import inspect
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import orjson
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient

from streams.agents.definition import DerivedProduct, Hopping, Session, Tumbling
from streams.agents.runevent import (
    JOB_NAMESPACE,
    SCHEMA_URL,
    Dataset,
    EventType,
    dataset_namespace,
    message_key,
    run_event,
)
from streams.catalog.agents import AgentRunRecord, AgentRunStore, Processing, WindowKind
from streams.catalog.runs import ABORT_FACET, WORKER_FACET, RunState, pid_alive, read_runs
from streams.config import Settings
from streams.errors import StreamsError
from streams.kafka.client import build_client
from streams.kafka.topics import create_topic, topic_names
from streams.naming import ProductRef, lineage_topic

__all__ = [
    "JOB_NAMESPACE",
    "LINEAGE_TOPIC",
    "LINEAGE_TOPIC_CONFIG",
    "SCHEMA_URL",
    "Dataset",
    "EventType",
    "Heartbeat",
    "KafkaLineageSink",
    "LineageRun",
    "LineageSink",
    "agent_version",
    "dataset_namespace",
    "message_key",
    "run_event",
]

logger = logging.getLogger(__name__)

LINEAGE_TOPIC = lineage_topic()
"""``_mesh.lineage``."""

_MS = datetime.timedelta(milliseconds=1)

LINEAGE_TOPIC_CONFIG = {"cleanup.policy": "delete", "retention.ms": str(7 * 24 * 3600 * 1000)}
"""A history of runs kept 7 days (see the module docstring for why not compacted)."""


def agent_version(definition: DerivedProduct) -> str:
    """``sha256:<16 hex>`` of the file that defines the aggregation (the product's code)."""
    source = inspect.getsourcefile(type(definition.aggregation))
    data = Path(source).read_bytes() if source else repr(definition).encode()
    return f"sha256:{hashlib.sha256(data).hexdigest()[:16]}"


class LineageSink(Protocol):
    """Where events go: ``send(key, event)``. Injected in tests; Kafka by default."""

    def send(self, key: str, event: Mapping[str, Any]) -> None:
        """Deliver one event (raise :class:`~streams.errors.StreamsError` on failure)."""
        ...

    def record(self, run: AgentRunRecord) -> None:
        """Record in the catalog what the agent reads and writes."""
        ...

    def runs(self, job_name: str) -> Mapping[str, RunState]:
        """The runs of ``job_name`` so far, by run id (from the events sent)."""
        ...


class KafkaLineageSink:
    """Events to ``_mesh.lineage``, agent runs to ``_mesh.agent_runs``, with our settings.

    Args:
        settings: Where Kafka is (``settings.kafka.librdkafka()``).
        timeout_s: How long to wait for the broker and for each acknowledgement.
    """

    def __init__(self, *, settings: Settings, timeout_s: float = 10.0) -> None:
        self._settings = settings
        self._timeout = timeout_s
        self._producer: Producer | None = None

    def _ensure(self) -> Producer:
        if self._producer is None:
            kafka = self._settings.kafka
            admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
            names = topic_names(admin, bootstrap=kafka.bootstrap_servers, timeout_s=self._timeout)
            if LINEAGE_TOPIC not in names:
                create_topic(
                    admin, LINEAGE_TOPIC, config=LINEAGE_TOPIC_CONFIG, timeout_s=self._timeout
                )
            conf = kafka.librdkafka(
                acks="all", linger_ms=0, message_timeout_ms=int(self._timeout * 1000)
            )
            self._producer = build_client(Producer, conf, settings=kafka)
        return self._producer

    def send(self, key: str, event: Mapping[str, Any]) -> None:
        """Write one event and wait for it to be acknowledged."""
        producer = self._ensure()
        failures: list[str] = []

        def delivered(err: KafkaError | None, _message: Message) -> None:
            if err is not None:
                failures.append(err.str())

        producer.produce(
            LINEAGE_TOPIC, key=key.encode(), value=orjson.dumps(event), on_delivery=delivered
        )
        if producer.flush(self._timeout) or failures:
            raise StreamsError(
                f"Kafka did not acknowledge a lineage event ({key}) on {LINEAGE_TOPIC}: "
                f"{failures[0] if failures else 'timed out'}"
            )

    def record(self, run: AgentRunRecord) -> None:
        """Publish the agent-run record."""
        AgentRunStore(settings=self._settings, timeout_s=self._timeout).publish(run)

    def runs(self, job_name: str) -> Mapping[str, RunState]:
        """The runs of ``job_name`` on ``_mesh.lineage``."""
        return read_runs(self._settings, job_names=[job_name], timeout_s=self._timeout)


class LineageRun:
    """One run of an agent job and its OpenLineage events; what the drivers call.

    Used as a context manager: on entry it records the agent in the catalog, closes the runs of
    the same job it supersedes (ABORT), emits START and starts a RUNNING heartbeat every
    ``heartbeat_s``; on exit it stops the heartbeat and emits COMPLETE (a clean exit) or FAIL
    with the exception. Lineage never stops the data: a failure to publish is logged as a
    warning.

    Args:
        settings: Where Kafka is.
        definition: The derived product.
        processing: STREAMING (live) or BATCH (replay).
        output_version: The major version written, when not the definition's (a backfill).
        sink: Where events go (default: Kafka with ``settings``).
        clock: The event time source (tests inject one).
        heartbeat_s: Seconds between RUNNING events; readers call a run lost after
            :data:`~streams.catalog.runs.LOST_AFTER` intervals without one.
        alive: Whether a process of this host with that pid exists (tests inject one).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        definition: DerivedProduct,
        processing: Processing,
        output_version: int | None = None,
        sink: LineageSink | None = None,
        clock: Callable[[], datetime.datetime] | None = None,
        heartbeat_s: float = 60.0,
        alive: Callable[[int], bool] | None = None,
    ) -> None:
        if heartbeat_s <= 0:
            raise ValueError(f"heartbeat_s must be positive, not {heartbeat_s}")
        ref = definition.ref
        output = ProductRef(ref.domain, ref.name, output_version or ref.major)
        namespace = dataset_namespace(settings.kafka.bootstrap_servers)
        self.definition = definition
        self.processing: Processing = processing
        self.run_id = str(uuid.uuid4())
        self.job_name = output.topic if processing == "STREAMING" else f"{output.topic}.replay"
        self.key = message_key(JOB_NAMESPACE, self.job_name)
        self.inputs = tuple(Dataset(namespace, port.ref.topic) for port in definition.inputs)
        self.outputs = (Dataset(namespace, output.topic),)
        self.version = agent_version(definition)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.heartbeat_s = heartbeat_s
        self._sink: LineageSink = sink or KafkaLineageSink(settings=settings)
        self._clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self._alive = alive or pid_alive
        self._heartbeat: Heartbeat | None = None

    def event(
        self,
        event_type: EventType,
        error: BaseException | None = None,
        *,
        run_id: str | None = None,
        facets: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The event of this run (or of ``run_id``, a run of the same job) (not sent).

        Events of this run carry the ``streams_worker`` facet; ``facets`` replace it.
        """
        worker = {"host": self.host, "pid": self.pid, "heartbeatSeconds": self.heartbeat_s}
        return run_event(
            event_type=event_type,
            run_id=run_id or self.run_id,
            job_name=self.job_name,
            processing=self.processing,
            inputs=self.inputs,
            outputs=self.outputs,
            event_time=self._clock(),
            error=error,
            facets={WORKER_FACET: worker} if facets is None else facets,
        )

    def _send(self, event: dict[str, Any]) -> None:
        try:
            self._sink.send(self.key, event)
        except (StreamsError, KafkaException) as exc:
            logger.warning(
                "lineage: %s event of %s not published: %s", event["eventType"], self.key, exc
            )

    def _emit(self, event_type: EventType, error: BaseException | None = None) -> None:
        self._send(self.event(event_type, error))

    def superseded(self, runs: Mapping[str, RunState]) -> list[RunState]:
        """The runs of this job that never ended and are gone: lost (no sign of life for
        too long), or run by a process of this host that no longer exists."""
        now = self._clock()
        found = []
        for state in runs.values():
            if state.run_id == self.run_id or state.ended is not None:
                continue
            here = state.host == self.host and state.pid is not None
            dead = here and (state.pid == self.pid or not self._alive(state.pid or 0))
            if dead or state.status(now) == "lost":
                found.append(state)
        return found

    def close_superseded(self) -> list[str]:
        """Emit ABORT for each run :meth:`superseded` closes; returns their run ids."""
        try:
            runs = self._sink.runs(self.job_name)
        except (StreamsError, KafkaException) as exc:
            logger.warning("lineage: earlier runs of %s not read: %s", self.job_name, exc)
            return []
        closed = []
        for state in self.superseded(runs):
            seen = state.last_seen.isoformat(timespec="seconds") if state.last_seen else "never"
            where = f" (pid {state.pid} on {state.host})" if state.pid else ""
            reason = f"no sign of life since {seen}{where}; superseded by run {self.run_id}"
            facet = {"reason": reason, "supersededBy": self.run_id}
            self._send(self.event("ABORT", run_id=state.run_id, facets={ABORT_FACET: facet}))
            logger.info("lineage: run %s of %s aborted: %s", state.run_id, self.job_name, reason)
            closed.append(state.run_id)
        return closed

    def start(self) -> None:
        """Record the agent in the catalog, close the runs it supersedes, emit START."""
        definition = self.definition
        window = definition.window
        # What the guarantees monitor needs to tell which windows the inputs imply.
        kind: WindowKind = (
            "tumbling"
            if isinstance(window, Tumbling)
            else "hopping"
            if isinstance(window, Hopping)
            else "session"
        )
        size = window.gap if isinstance(window, Session) else window.size
        record = AgentRunRecord(
            job=self.job_name,
            inputs=tuple(d.name for d in self.inputs),
            outputs=tuple(d.name for d in self.outputs),
            agent_version=self.version,
            processing=self.processing,
            run_id=self.run_id,
            started_at=self._clock(),
            key=definition.key,
            event_time=definition.event_time,
            window_kind=kind,
            window_size_ms=size // _MS,
            window_advance_ms=window.advance // _MS if isinstance(window, Hopping) else None,
            allowed_lateness_ms=definition.lateness_ms,
        )
        try:
            self._sink.record(record)
        except (StreamsError, KafkaException) as exc:
            logger.warning("lineage: agent run of %s not recorded: %s", self.job_name, exc)
        self.close_superseded()
        self._emit("START")

    def running(self) -> None:
        """Emit RUNNING (a sign of life)."""
        self._emit("RUNNING")

    def complete(self) -> None:
        """Emit COMPLETE."""
        self._emit("COMPLETE")

    def fail(self, error: BaseException) -> None:
        """Emit FAIL with ``error``."""
        self._emit("FAIL", error)

    def __enter__(self) -> LineageRun:
        self.start()
        self._heartbeat = Heartbeat(self.running, every_s=self.heartbeat_s)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        if exc is None:
            self.complete()
        else:
            self.fail(exc)


class Heartbeat:
    """Calls ``beat`` (e.g. :meth:`LineageRun.running`) every ``every_s`` seconds, on a daemon
    thread, until :meth:`stop`."""

    def __init__(self, beat: Callable[[], None], *, every_s: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(beat, every_s), name="lineage-running", daemon=True
        )
        self._thread.start()

    def _run(self, beat: Callable[[], None], every_s: float) -> None:
        while not self._stop.wait(every_s):
            beat()

    def stop(self) -> None:
        """Stop beating (waits for a beat in progress)."""
        self._stop.set()
        self._thread.join(timeout=5)
