"""Dead letters: undecodable messages go to ``<topic>.dlq`` with their error, never dropped."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient

from streams.config import Settings
from streams.errors import DeliveryError, DeserializationError
from streams.kafka import headers as std
from streams.kafka.topics import create_topic
from streams.naming import dlq_topic

__all__ = ["DeadLetters"]

logger = logging.getLogger(__name__)


class _Failed(list[str]):
    """Failed dead-letter deliveries (kept off DeadLetters to avoid a reference cycle)."""

    def append_error(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.append(f"{msg.topic()}: {err.str()}")


class DeadLetters:
    """Sends messages that cannot be decoded to their topic's dead-letter topic.

    The original key, value and headers are kept; headers ``dlq.error``, ``dlq.reason`` and
    ``dlq.original.{topic,partition,offset,timestamp}`` say what went wrong and where the message
    came from. :meth:`flush` must succeed before the original offsets are committed.
    """

    def __init__(self, *, settings: Settings) -> None:
        self._settings = settings
        self._producer: Producer | None = None
        self._created: set[str] = set()
        self._failed = _Failed()
        self.counts: Counter[str] = Counter()

    @property
    def count(self) -> int:
        """Messages dead-lettered so far."""
        return sum(self.counts.values())

    def _ensure_topic(self, topic: str) -> None:
        if topic in self._created:
            return
        create_topic(AdminClient(self._settings.kafka.librdkafka()), topic, timeout_s=10)
        self._created.add(topic)

    def send(self, message: Message, error: DeserializationError) -> None:
        """Dead-letter ``message`` because of ``error``."""
        topic = dlq_topic(str(message.topic()))
        self._ensure_topic(topic)
        if self._producer is None:
            conf: dict[str, Any] = self._settings.kafka.librdkafka()
            conf.update({"enable.idempotence": True, "on_delivery": self._failed.append_error})
            self._producer = Producer(conf)
        _, timestamp = message.timestamp()
        headers = std.pairs(message.headers())
        headers += [
            (std.DLQ_ERROR, str(error).encode()),
            (std.DLQ_REASON, error.reason.encode()),
            (std.DLQ_TOPIC, str(message.topic()).encode()),
            (std.DLQ_PARTITION, str(message.partition()).encode()),
            (std.DLQ_OFFSET, str(message.offset()).encode()),
            (std.DLQ_TIMESTAMP, str(timestamp).encode()),
        ]
        self._producer.produce(topic, message.value(), message.key(), headers=headers)
        self._producer.poll(0)
        self.counts[error.reason] += 1
        logger.warning(
            "dead-lettered %s[%s]@%s to %s: %s",
            message.topic(),
            message.partition(),
            message.offset(),
            topic,
            error,
        )

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every dead letter is stored; raise DeliveryError otherwise."""
        if self._producer is None:
            return
        remaining = self._producer.flush(timeout)
        if remaining or self._failed:
            failures = [(entry, "") for entry in self._failed[:20]]  # topic: error
            raise DeliveryError(
                f"{remaining + len(self._failed)} dead letters were not stored; the original "
                "offsets are not committed, so those messages will be read again",
                undelivered=remaining + len(self._failed),
                failures=failures,
            )

    def close(self, timeout: float = 30.0) -> None:
        """Store pending dead letters and release the producer."""
        try:
            self.flush(timeout)
        finally:
            if self._producer is not None:
                self._producer.close()
                self._producer = None
