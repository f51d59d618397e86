"""Late events: copies of input records a derived product's windows had already closed for.

An event later than its window's allowed lateness is never counted in a wrong window nor
dropped silently: the drivers copy it (key, value and headers as they were) to
``<input topic>.late`` with headers saying which product refused it and where it came from,
so it can be inspected, counted against the product's completeness, or reprocessed.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaError, Message
from confluent_kafka import Producer as _KafkaProducer
from confluent_kafka.admin import AdminClient

from streams.config import Settings
from streams.errors import DeliveryError
from streams.kafka.client import build_client
from streams.kafka.headers import LATE_PRODUCT, LATE_SOURCE, pairs
from streams.kafka.topics import create_topic
from streams.naming import late_topic

__all__ = ["LATE_PRODUCT", "LATE_SOURCE", "LateRecords"]

logger = logging.getLogger(__name__)


class LateRecords:
    """Copies late input records to their ``.late`` topics (created on first use).

    Args:
        settings: Where Kafka is.
        product: The derived product's topic, written into every copy's headers.
    """

    def __init__(self, *, settings: Settings, product: str) -> None:
        self._settings = settings
        self._product = product.encode()
        self._producer: _KafkaProducer | None = None
        self._created: set[str] = set()
        self._failures: list[tuple[str, str]] = []
        self.count = 0

    def send(self, message: Message) -> None:
        """Copy one late record (a failure is reported by :meth:`flush`)."""
        topic = late_topic(str(message.topic()))
        if topic not in self._created:
            kafka = self._settings.kafka
            admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
            create_topic(admin, topic, timeout_s=10)
            self._created.add(topic)
            logger.warning(
                "%s: late events of %s go to %s; read them with `mesh tail %s --late`",
                self._product.decode(),
                message.topic(),
                topic,
                message.topic(),
            )
        if self._producer is None:
            conf: dict[str, Any] = self._settings.kafka.librdkafka(linger_ms=5)
            conf["enable.idempotence"] = True
            self._producer = build_client(_KafkaProducer, conf, settings=self._settings.kafka)
        source = f"{message.topic()}[{message.partition()}]@{message.offset()}"
        headers = [
            *pairs(message.headers()),
            (LATE_PRODUCT, self._product),
            (LATE_SOURCE, source.encode()),
        ]
        while True:
            try:
                self._producer.produce(
                    topic, message.value(), message.key(), headers=headers, on_delivery=self._done
                )
                break
            except BufferError:
                self._producer.poll(0.05)  # the queue is full: wait for deliveries
        self.count += 1

    def _done(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._failures.append((str(msg.topic()), err.str()))

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every copy is stored.

        Raises:
            DeliveryError: Some copies were not stored.
        """
        if self._producer is None:
            return
        remaining = self._producer.flush(timeout)
        failures, self._failures = self._failures, []
        if remaining or failures:
            raise DeliveryError(
                f"{remaining + len(failures)} late events were not stored in their .late topics "
                f"({'; '.join(f'{t}: {e}' for t, e in failures[:3]) or 'timed out'}); check "
                "the broker, then run again",
                undelivered=remaining + len(failures),
                failures=failures[:20],
            )

    def close(self, timeout: float = 30.0) -> None:
        """Store pending copies and release the producer."""
        try:
            self.flush(timeout)
        finally:
            self._producer = None
