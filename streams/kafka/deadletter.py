"""Dead letters: undecodable messages go to ``<topic>.dlq`` with their error, never dropped."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient

from streams.config import Settings
from streams.errors import DeliveryError, DeserializationError
from streams.kafka import headers as std
from streams.kafka.client import build_client
from streams.kafka.topics import create_topic, read_to_end, topic_names
from streams.naming import dlq_topic

__all__ = ["DeadLetters", "error_text"]

logger = logging.getLogger(__name__)


Position = tuple[str, int, int]
"""Topic, partition and offset of an original message."""


class _Pending:
    """Dead letters not yet acknowledged, and those Kafka refused since the last flush.

    Kept off DeadLetters so librdkafka's callbacks do not hold it in a reference cycle.
    """

    def __init__(self) -> None:
        self.waiting: dict[int, Position] = {}
        self.failed: list[tuple[Position, str]] = []
        self._next = 0

    def add(self, position: Position) -> Callable[[KafkaError | None, Message], None]:
        """Track one dead letter; the delivery callback to produce it with."""
        key = self._next
        self._next += 1
        self.waiting[key] = position

        def delivered(err: KafkaError | None, msg: Message) -> None:
            position = self.waiting.pop(key, None)
            if err is not None and position is not None:
                self.failed.append((position, f"{msg.topic()}: {err.str()}"))

        return delivered

    def refuse(self, position: Position, error: str) -> None:
        """Record a dead letter Kafka refused before it was queued."""
        self.failed.append((position, error))

    def take(self) -> list[tuple[Position, str]]:
        """Every dead letter failed or still unacknowledged; forget them (a flush starts clean)."""
        late = [(position, "not acknowledged in time") for position in self.waiting.values()]
        lost = self.failed + late
        self.failed = []
        self.waiting.clear()
        return lost


def _origin(message: Message) -> Position:
    return (str(message.topic()), int(message.partition() or 0), int(message.offset() or 0))


def error_text(message: Message, error: DeserializationError) -> str:
    """The ``dlq.error`` header: the error, led by where the message was (``topic[p]@offset``)
    unless the error names it already, so the text alone says which message is meant."""
    where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
    text = str(error)
    return text if text.startswith(where) else f"{where}: {text}"


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode()


def dead_lettered(settings: Settings, topics: Iterable[str]) -> set[Position]:
    """The originals (topic, partition, offset) whose dead letters ``topics``' dead-letter
    topics hold already; a dead-letter topic that does not exist holds none (and is not
    created by asking)."""
    kafka = settings.kafka
    admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
    existing = topic_names(admin, bootstrap=kafka.bootstrap_servers, timeout_s=10)
    found: set[Position] = set()
    for topic in topics:
        if dlq_topic(topic) not in existing:
            continue
        for letter in read_to_end(kafka.librdkafka(), dlq_topic(topic)):
            headers = {k: v for k, v in std.pairs(letter.headers()) if v is not None}
            try:
                origin = (
                    _text(headers[std.DLQ_TOPIC]),
                    int(_text(headers[std.DLQ_PARTITION])),
                    int(_text(headers[std.DLQ_OFFSET])),
                )
            except (KeyError, ValueError, TypeError):  # not one of ours: nothing to match
                continue
            found.add(origin)
    return found


class DeadLetters:
    """Sends messages that cannot be decoded to their topic's dead-letter topic.

    The original key, value and headers are kept; headers ``dlq.error``, ``dlq.reason`` and
    ``dlq.original.{topic,partition,offset,timestamp}`` say what went wrong and where the message
    came from. :meth:`flush` must succeed before the original offsets are committed; when it
    fails, :attr:`unstored` lists the originals whose dead letters were lost, so the consumer can
    read them again.
    """

    def __init__(self, *, settings: Settings, already: Collection[Position] = ()) -> None:
        """``already``: originals whose dead letters are stored (see :func:`dead_lettered`);
        meeting one again counts it but writes no second letter (a replay re-reads them)."""
        self._settings = settings
        self._already = already
        self._producer: Producer | None = None
        self._created: set[str] = set()
        self._pending = _Pending()
        self.counts: Counter[str] = Counter()
        self.unstored: list[Position] = []

    @property
    def count(self) -> int:
        """Messages dead-lettered so far."""
        return sum(self.counts.values())

    def _ensure_topic(self, topic: str) -> None:
        if topic in self._created:
            return
        kafka = self._settings.kafka
        create_topic(
            build_client(AdminClient, kafka.librdkafka(), settings=kafka), topic, timeout_s=10
        )
        self._created.add(topic)

    def send(self, message: Message, error: DeserializationError, *, log: bool = True) -> None:
        """Dead-letter ``message`` because of ``error`` (a failure is reported by :meth:`flush`).

        ``log=False`` leaves out the warning line per message, for callers that summarize a
        reason that can hit every message (the agents' ``not-keyed-by-<field>``).
        """
        topic = dlq_topic(str(message.topic()))
        if self._already and _origin(message) in self._already:
            self.counts[error.reason] += 1
            return
        if topic not in self._created:
            self._ensure_topic(topic)
            logger.warning(
                "dead letters of %s go to %s; read them with `mesh tail %s --dead-letters`",
                message.topic(),
                topic,
                message.topic(),
            )
        if self._producer is None:
            conf: dict[str, Any] = self._settings.kafka.librdkafka()
            conf.update({"enable.idempotence": True})
            self._producer = build_client(Producer, conf, settings=self._settings.kafka)
        _, timestamp = message.timestamp()
        headers = std.pairs(message.headers())
        headers += [
            (std.DLQ_ERROR, error_text(message, error).encode()),
            (std.DLQ_REASON, error.reason.encode()),
            (std.DLQ_TOPIC, str(message.topic()).encode()),
            (std.DLQ_PARTITION, str(message.partition()).encode()),
            (std.DLQ_OFFSET, str(message.offset()).encode()),
            (std.DLQ_TIMESTAMP, str(timestamp).encode()),
        ]
        position = _origin(message)
        delivered = self._pending.add(position)
        while True:
            try:
                self._producer.produce(
                    topic, message.value(), message.key(), headers=headers, on_delivery=delivered
                )
                break
            except BufferError:
                self._producer.poll(0.05)  # the queue is full: wait for deliveries
            except KafkaException as exc:  # e.g. larger than message.max.bytes: report, go on
                delivered(None, message)  # never queued, so no callback will come for it
                self._pending.refuse(position, f"{topic}: {exc.args[0].str()}")
                break
        self._producer.poll(0)
        self.counts[error.reason] += 1
        if not log:
            return
        logger.warning(
            "dead-lettered %s[%s]@%s to %s: %s",
            message.topic(),
            message.partition(),
            message.offset(),
            topic,
            error,
        )

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every dead letter sent since the last flush is stored.

        Raises:
            DeliveryError: Some were not stored; it lists those of this flush only (the next
                flush starts clean) and :attr:`unstored` says where their originals are.
        """
        self.unstored = []
        if self._producer is None:
            return
        self._producer.flush(timeout)
        lost = self._pending.take()
        if lost:
            self.unstored = [position for position, _ in lost]
            raise DeliveryError(
                f"{len(lost)} dead letters were not stored ({lost[0][1]}); the offsets of their "
                "originals are not committed, so those messages will be read again",
                undelivered=len(lost),
                failures=[(f"{t}[{p}]@{o}", error) for (t, p, o), error in lost[:20]],
            )

    def close(self, timeout: float = 30.0) -> None:
        """Store pending dead letters and release the producer."""
        try:
            self.flush(timeout)
        finally:
            if self._producer is not None:
                self._producer.close()
                self._producer = None
