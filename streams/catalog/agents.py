"""The agent-run catalog ``_mesh.agent_runs``: which products each agent reads and writes.

Descriptors say what a product is derived from (``inputPorts``); this topic says what running
code actually read and wrote. Each live agent and each replay publishes one record when it
starts, keyed by its job name (``<domain>.<name>.v<major>`` for the live agent, with
``.replay`` appended for a replay), so the compacted topic keeps the latest run of each job:
its inputs and outputs (product topics), the code's version (a hash of its file), how it
ran, and what it computes: the key field, the event-time field, the window (``tumbling``,
``hopping`` or ``session``, sizes in ms) and the allowed lateness, which the guarantees monitor
reads to tell which windows an aggregate's inputs imply. Records written before those fields
existed still parse (the fields are None). Readers keep the last value per key themselves
(BROKER.md: Tansu does not really compact).
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient

from streams.config import Settings
from streams.errors import BrokerUnavailableError, DeliveryError, DeserializationError
from streams.kafka.client import build_client
from streams.kafka.topics import COMPACTED, create_topic, read_to_end, topic_names
from streams.naming import agent_runs_topic

__all__ = ["AGENT_RUNS_TOPIC", "AgentRunRecord", "AgentRunStore", "Processing", "WindowKind"]

logger = logging.getLogger(__name__)

AGENT_RUNS_TOPIC = agent_runs_topic()
"""The compacted topic of agent runs, ``_mesh.agent_runs``."""

Processing = Literal["STREAMING", "BATCH"]
WindowKind = Literal["tumbling", "hopping", "session"]
_WINDOW_KINDS: tuple[WindowKind, ...] = ("tumbling", "hopping", "session")


@dataclass(frozen=True, slots=True)
class AgentRunRecord:
    """The latest run of one agent job.

    Attributes:
        job: The job name, the record's key (e.g. ``player.hourly_play_sessions.v1``).
        inputs: The topics it reads (``<domain>.<name>.v<major>``).
        outputs: The topics it writes.
        agent_version: The version of its code (``sha256:`` and the start of the file's hash).
        processing: ``STREAMING`` (a live agent) or ``BATCH`` (a replay).
        run_id: The OpenLineage run id of that run.
        started_at: When the run started (UTC).
        key: The input field the aggregation is keyed by (None: an older record).
        event_time: The input field holding the event time.
        window_kind: ``tumbling``, ``hopping`` or ``session``.
        window_size_ms: The window's size (a session's gap).
        window_advance_ms: A hopping window's advance.
        allowed_lateness_ms: How long after a window's end its events still count.
    """

    job: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    agent_version: str
    processing: Processing
    run_id: str
    started_at: datetime.datetime
    key: str | None = None
    event_time: str | None = None
    window_kind: WindowKind | None = None
    window_size_ms: int | None = None
    window_advance_ms: int | None = None
    allowed_lateness_ms: int | None = None

    def to_value(self) -> bytes:
        """The record value (JSON; the window as ``{"kind", "size_ms"[, "advance_ms"]}``)."""
        data: dict[str, Any] = {
            "job": self.job,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "agent_version": self.agent_version,
            "processing": self.processing,
            "run_id": self.run_id,
            "started_at": self.started_at.astimezone(datetime.UTC).isoformat(),
        }
        if self.key is not None:
            data["key"] = self.key
        if self.event_time is not None:
            data["event_time"] = self.event_time
        if self.window_kind is not None:
            window: dict[str, Any] = {"kind": self.window_kind, "size_ms": self.window_size_ms}
            if self.window_advance_ms is not None:
                window["advance_ms"] = self.window_advance_ms
            data["window"] = window
        if self.allowed_lateness_ms is not None:
            data["allowed_lateness_ms"] = self.allowed_lateness_ms
        return orjson.dumps(data)

    @classmethod
    def from_value(cls, value: bytes) -> AgentRunRecord:
        """Decode a value written by :meth:`to_value`.

        Raises:
            DeserializationError: It is not such a record (``reason="agent-run"``).
        """
        try:
            data: Any = orjson.loads(value)
            processing = data["processing"]
            if processing not in ("STREAMING", "BATCH"):
                raise ValueError(f"processing must be STREAMING or BATCH, not {processing!r}")
            window = data.get("window")
            kind, size, advance = None, None, None
            if window is not None:
                kind = window["kind"]
                if kind not in _WINDOW_KINDS:
                    raise ValueError(f"window kind must be tumbling, hopping or session: {kind!r}")
                size = _millis(window, "size_ms")
                advance = _millis(window, "advance_ms") if "advance_ms" in window else None
            lateness = data.get("allowed_lateness_ms")
            return cls(
                job=str(data["job"]),
                inputs=tuple(str(t) for t in data["inputs"]),
                outputs=tuple(str(t) for t in data["outputs"]),
                agent_version=str(data["agent_version"]),
                processing=processing,
                run_id=str(data["run_id"]),
                started_at=datetime.datetime.fromisoformat(str(data["started_at"])),
                key=None if data.get("key") is None else str(data["key"]),
                event_time=None if data.get("event_time") is None else str(data["event_time"]),
                window_kind=kind,
                window_size_ms=size,
                window_advance_ms=advance,
                allowed_lateness_ms=None if lateness is None else int(lateness),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise DeserializationError(
                f"agent-run record in {AGENT_RUNS_TOPIC} cannot be decoded: {exc!r}; the agent "
                "rewrites it the next time it starts",
                reason="agent-run",
                topic=AGENT_RUNS_TOPIC,
            ) from exc


def _millis(window: dict[str, Any], name: str) -> int:
    value = window.get(name)
    if type(value) is not int or value <= 0:
        raise ValueError(f"window {name} must be a positive integer of milliseconds, not {value!r}")
    return value


class AgentRunStore:
    """Reads and writes ``_mesh.agent_runs``.

    Args:
        settings: Where Kafka is.
        timeout_s: How long to wait for the broker and for acknowledgements.
    """

    def __init__(self, *, settings: Settings, timeout_s: float = 30.0) -> None:
        self._settings = settings
        self._timeout = timeout_s

    def _names(self) -> set[str]:
        kafka = self._settings.kafka
        admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
        return topic_names(admin, bootstrap=kafka.bootstrap_servers, timeout_s=self._timeout)

    def read(self) -> dict[str, AgentRunRecord]:
        """The latest record per job; an absent topic means no agent ran yet.

        Raises:
            BrokerUnavailableError: Kafka cannot be reached.
        """
        if AGENT_RUNS_TOPIC not in self._names():
            return {}
        conf = self._settings.kafka.librdkafka(group_id="streams-agent-runs-read")
        records: dict[str, AgentRunRecord] = {}
        for message in read_to_end(conf, AGENT_RUNS_TOPIC, timeout_s=self._timeout):
            key, value = message.key(), message.value()
            if key is None:
                continue
            job = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
            if value is None:
                records.pop(job, None)
                continue
            try:
                records[job] = AgentRunRecord.from_value(value)
            except DeserializationError as exc:
                logger.warning("skipping offset %s: %s", message.offset(), exc)
        return records

    def publish(self, record: AgentRunRecord) -> None:
        """Write ``record`` (keyed by its job) and wait for the acknowledgement.

        Raises:
            BrokerUnavailableError: Kafka cannot be reached or refused to create the topic.
            DeliveryError: Kafka did not acknowledge the record.
        """
        bootstrap = self._settings.kafka.bootstrap_servers
        if AGENT_RUNS_TOPIC not in self._names():
            kafka = self._settings.kafka
            admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
            try:
                create_topic(admin, AGENT_RUNS_TOPIC, config=COMPACTED, timeout_s=self._timeout)
            except KafkaException as exc:
                raise BrokerUnavailableError(
                    f"could not create {AGENT_RUNS_TOPIC!r} at {bootstrap}: {exc}",
                    bootstrap_servers=bootstrap,
                ) from exc
        conf = self._settings.kafka.librdkafka(
            acks="all", linger_ms=0, message_timeout_ms=int(self._timeout * 1000)
        )
        producer = build_client(Producer, conf, settings=self._settings.kafka)
        failures: list[tuple[str, str]] = []

        def delivered(err: KafkaError | None, _message: Message) -> None:
            if err is not None:
                failures.append((AGENT_RUNS_TOPIC, err.str()))

        producer.produce(
            AGENT_RUNS_TOPIC,
            key=record.job.encode(),
            value=record.to_value(),
            on_delivery=delivered,
        )
        remaining = producer.flush(self._timeout)
        if remaining or failures:
            raise DeliveryError(
                f"Kafka at {bootstrap} did not acknowledge the agent-run record of {record.job} "
                f"in {AGENT_RUNS_TOPIC}: {failures[0][1] if failures else 'timed out'}",
                undelivered=max(remaining, len(failures)),
                failures=failures,
            )
