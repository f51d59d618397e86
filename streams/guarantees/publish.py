"""Publishing observations and alerts: the monitor's side of ``_mesh.observations`` and
``_mesh.alerts``.

``_mesh.observations`` is compacted (the latest observation per ``<topic>/<guarantee>`` key is
what counts); ``_mesh.alerts`` keeps every change of state for :data:`ALERTS_RETENTION_MS`. Both
have one partition, so a reader sees each key's records in the order they were written. Both
are created on first use with their configs set explicitly (the embedded broker reports only the
configs given at creation, see BROKER.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from types import TracebackType

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from streams.config import Settings
from streams.errors import BrokerUnavailableError, DeliveryError
from streams.guarantees.records import Alert, Observation
from streams.kafka.acked import send_acked
from streams.kafka.client import build_client
from streams.kafka.topics import COMPACTED, create_topic, topic_names
from streams.naming import alerts_topic as default_alerts_topic
from streams.naming import observations_topic as default_observations_topic

__all__ = ["ALERTS_CONFIG", "ALERTS_RETENTION_MS", "ObservationPublisher", "ensure_topic"]

logger = logging.getLogger(__name__)

ALERTS_RETENTION_MS = 7 * 24 * 3600 * 1000
"""How long ``_mesh.alerts`` keeps a change of state: 7 days."""

ALERTS_CONFIG = {"cleanup.policy": "delete", "retention.ms": str(ALERTS_RETENTION_MS)}
"""The configs ``_mesh.alerts`` is created with."""


def ensure_topic(
    settings: Settings, topic: str, config: dict[str, str], *, timeout_s: float = 30.0
) -> None:
    """Create ``topic`` (one partition, ``config``) unless it exists.

    Raises:
        BrokerUnavailableError: Kafka cannot be reached or refused to create the topic.
    """
    kafka = settings.kafka
    admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
    if topic in topic_names(admin, bootstrap=kafka.bootstrap_servers, timeout_s=timeout_s):
        return
    try:
        if create_topic(admin, topic, config=config, timeout_s=timeout_s):
            logger.info("created %s", topic)
    except KafkaException as exc:
        raise BrokerUnavailableError(
            f"could not create {topic!r}: {exc}; check that this client may create topics",
            bootstrap_servers=kafka.bootstrap_servers,
        ) from exc


class ObservationPublisher:
    """Writes observations and alerts. The producer is created lazily; usable as a context
    manager.

    Args:
        settings: Where Kafka is.
        observations_topic: Where observations go (default ``_mesh.observations``).
        alerts_topic: Where alerts go (default ``_mesh.alerts``).
        timeout_s: How long to wait for the broker and for acknowledgements.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        observations_topic: str | None = None,
        alerts_topic: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._settings = settings
        self._observations = observations_topic or default_observations_topic()
        self._alerts = alerts_topic or default_alerts_topic()
        self._timeout = timeout_s
        self._producer: Producer | None = None

    @property
    def observations_topic(self) -> str:
        """Where observations go."""
        return self._observations

    @property
    def alerts_topic(self) -> str:
        """Where alerts go."""
        return self._alerts

    def publish(self, observations: Iterable[Observation], alerts: Iterable[Alert] = ()) -> None:
        """Write ``observations`` and ``alerts`` and wait until Kafka acknowledged them all.

        Raises:
            BrokerUnavailableError: Kafka cannot be reached.
            DeliveryError: Kafka did not acknowledge some records.
        """
        self._send(
            [(self._observations, o.key, o.to_value()) for o in observations]
            + [(self._alerts, a.key, a.to_value()) for a in alerts]
        )

    def forget(self, keys: Iterable[str]) -> None:
        """Write tombstones for observation ``keys`` (``<topic>/<guarantee>``), e.g. of a
        retired product, so readers drop them.

        Raises:
            BrokerUnavailableError: Kafka cannot be reached.
            DeliveryError: Kafka did not acknowledge some tombstones.
        """
        self._send([(self._observations, key, None) for key in keys])

    def _send(self, records: Sequence[tuple[str, str, bytes | None]]) -> None:
        producer = self._producer or self._start()
        outgoing = [(topic, key.encode(), value) for topic, key, value in records]
        unacked = send_acked(producer, outgoing, timeout_s=self._timeout)
        if unacked:
            raise DeliveryError(
                f"Kafka did not acknowledge {unacked.count} of {len(records)} records for "
                f"{self._observations} / {self._alerts}: {unacked.reason}. Check the broker; "
                "the monitor publishes again at its next measurement.",
                undelivered=unacked.count,
                failures=unacked.failures,
            )

    def _start(self) -> Producer:
        ensure_topic(self._settings, self._observations, COMPACTED, timeout_s=self._timeout)
        ensure_topic(self._settings, self._alerts, ALERTS_CONFIG, timeout_s=self._timeout)
        kafka = self._settings.kafka
        conf = kafka.librdkafka(
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            message_timeout_ms=int(self._timeout * 1000),
        )
        self._producer = build_client(Producer, conf, settings=kafka)
        return self._producer

    def close(self) -> None:
        """Flush and drop the producer."""
        if self._producer is not None:
            self._producer.flush(self._timeout)
            self._producer = None

    def __enter__(self) -> ObservationPublisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
